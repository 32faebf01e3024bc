"""Every page of the app, once: its chapter, file, title, icon and place in the story.

app.py's navigation, the home page, every page's Prev/Next and the tests all read
this list. Adding a page is one line here plus its file under pages/.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    path: str          # the page script, relative to the app's folder
    title: str
    icon: str          # a Material icon: it ships with Streamlit's font, so it renders offline
    chapter: str
    light: bool = True  # renders without importing torch, transformers or scikit-learn
    on_path: bool = True  # on the talk's path: Prev / Next and the arrow keys lead through it

    @property
    def name(self) -> str:
        """The page's URL path: pages/ch3_finetune.py -> ch3_finetune."""
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")


@dataclass(frozen=True)
class Chapter:
    title: str
    blurb: str         # one line on the home page


START = Chapter("Start", "")
CH1 = Chapter("1 · A network from scratch",
              "Input × weight. FizzBuzz as numbers, weighted sums, a weight per class, softmax, error — "
              "then learning as search, and why fizzbuzz needs a hidden layer.")
CH2 = Chapter("2 · Words to vectors",
              "Numbers were easy; words are not. One-hot vs embeddings, the tokenizer's ids, what BERT gives "
              "back, and a map of sentences.")
CH3 = Chapter("3 · Fine-tune BERT",
              "Put one dense layer on BERT's [CLS] summary and teach it why customers cancel orders — "
              "train vs evaluation accuracy, as it happens.")
CH4 = Chapter("4 · Lessons",
              "The talk's hard-won lessons, run as experiments: diverse data, label noise, batch size, "
              "over- and underfitting, other models, weight diagnostics, hardware.")

CH5 = Chapter("5 · Which model?",
              "Deep learning is one tool among several: rules first, a competition on what the business needs, "
              "why accuracy lies on fraud, and where labels come from.")

CH6 = Chapter("6 · Into production",
              "A model is code plus numbers; a pretrained start against an empty one; serving many requests "
              "with dynamic batching; retraining while the data drifts.")

END = Chapter("The end", "")

CHAPTERS = (START, CH1, CH2, CH3, CH4, CH5, CH6, END)

# In the order the talk tells it: Next on each page leads to the line below it.
PAGES = (
    Page("pages/home.py", "FizzBuzz to BERT", ":material/home:", START.title),
    # The hour before the talk, not part of it: in the sidebar, skipped by Next.
    Page("pages/preflight.py", "Pre-flight", ":material/flight_takeoff:", START.title, on_path=False),
    Page("pages/ch1_multiplication.py", "Multiplication", ":material/close:", CH1.title),
    Page("pages/ch1_confidence.py", "Confidence and error", ":material/percent:", CH1.title),
    Page("pages/ch1_learning.py", "Learning is search", ":material/landscape:", CH1.title),
    Page("pages/ch1_framework.py", "The framework way", ":material/build:", CH1.title),
    Page("pages/ch2_onehot.py", "One-hot vs embeddings", ":material/abc:", CH2.title, light=False),
    Page("pages/ch2_tokenizer.py", "The tokenizer", ":material/content_cut:", CH2.title, light=False),
    Page("pages/ch2_bert_output.py", "What BERT gives back", ":material/psychology:", CH2.title, light=False),
    Page("pages/ch2_embedding_map.py", "Embedding map", ":material/map:", CH2.title, light=False),
    Page("pages/ch3_finetune.py", "Live fine-tune", ":material/local_fire_department:", CH3.title, light=False),
    Page("pages/ch4_diverse.py", "Diverse data", ":material/diversity_3:", CH4.title),
    Page("pages/ch4_noise.py", "Label noise", ":material/blur_on:", CH4.title),
    Page("pages/ch4_batch.py", "Batch size", ":material/stacks:", CH4.title),
    Page("pages/ch4_fitting.py", "Over- and underfitting", ":material/show_chart:", CH4.title),
    Page("pages/ch4_models.py", "Other models", ":material/swap_horiz:", CH4.title),
    Page("pages/ch4_weights.py", "Weights without data", ":material/monitor_weight:", CH4.title),
    Page("pages/ch4_hardware.py", "Hardware", ":material/memory:", CH4.title),
    Page("pages/ch5_rules.py", "Rules first", ":material/rule:", CH5.title),
    Page("pages/ch5_compete.py", "A model competition", ":material/leaderboard:", CH5.title, light=False),
    Page("pages/ch5_fraud.py", "When accuracy lies", ":material/credit_card_off:", CH5.title, light=False),
    Page("pages/ch5_labels.py", "Where labels come from", ":material/label:", CH5.title, light=False),
    Page("pages/ch6_numbers.py", "Code plus numbers", ":material/data_object:", CH6.title, light=False),
    Page("pages/ch6_scratch.py", "Pretrained vs from scratch", ":material/compare_arrows:", CH6.title),
    Page("pages/ch6_serving.py", "Serving with dynamic batching", ":material/dns:", CH6.title, light=False),
    Page("pages/ch6_monitor.py", "Retrain and monitor", ":material/monitor_heart:", CH6.title, light=False),
    Page("pages/closing.py", "Build something", ":material/celebration:", END.title),   # stays last
)

HOME = PAGES[0]


def url_path(entry: Page) -> str:
    """Where the browser finds a page: the home page at the app's root, the rest by name."""
    return "" if entry is HOME else entry.name


def page(path: str) -> Page:
    """The registry's entry for a page file ('pages/x.py', or a full path ending in it)."""
    for entry in PAGES:
        if path == entry.path or path.endswith("/" + entry.path):
            return entry
    raise KeyError(f"{path} is not in ui/registry.py")


# The pages the talk walks through, in order (every page but the speaker's own checks).
PATH = tuple(entry for entry in PAGES if entry.on_path)


def position(entry: Page) -> int | None:
    """1 for the home page, len(PATH) for the last; None for a page off the path."""
    return PATH.index(entry) + 1 if entry.on_path else None


def place(entry: Page) -> str:
    """Where a page sits in the talk, as its header and footer say it: 'page 3 of 26'."""
    number = position(entry)
    return f"page {number} of {len(PATH)}" if number else "before the talk"


def before(entry: Page) -> Page | None:
    """The page Prev leads to: the path's page before this one (for a page off the
    path, the last path page listed above it)."""
    earlier = [e for e in PAGES[:PAGES.index(entry)] if e.on_path]
    return earlier[-1] if earlier else None


def after(entry: Page) -> Page | None:
    later = [e for e in PAGES[PAGES.index(entry) + 1:] if e.on_path]
    return later[0] if later else None


def pages_of(chapter: Chapter) -> list[Page]:
    return [entry for entry in PAGES if entry.chapter == chapter.title]
