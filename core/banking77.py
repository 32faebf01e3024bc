"""BANKING77, the real data set next to the app's own: 13,083 online-banking
questions over 77 intents (PolyAI, CC BY 4.0; core/data/banking77/README.md).

    load("train") -> LabelledTexts   10,003 sentences (35-187 per intent)
    load("test")  -> LabelledTexts    3,080 sentences (40 per intent)
    few_shot(train, 10, seed=0)      exactly 10 random sentences of every intent,
                                     the same 770 for the same seed; k=None: all of them
    sample(test, 500, seed=0)        500 random test sentences (seeded), in file order
    FEW_SHOT_CHOICES                 (5, 10, 20, None): the page's "k per intent" choices
    PUBLISHED                        the paper's Table 3 accuracies, 10 examples per intent

The paper's few-shot setting draws k training examples per intent and evaluates on
the whole test set; `few_shot` + `load("test")` is exactly that. Nothing here imports torch.
"""

from __future__ import annotations

import random
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from core.datasets import DatasetError, LabelledTexts, read_csv

DIR = Path(__file__).resolve().parent / "data" / "banking77"
SPLITS = ("train", "test")
FEW_SHOT_CHOICES = (5, 10, 20, None)    # None: every training sentence
INTENTS = 77
EVAL_SAMPLE = 500                       # a live run's quick evaluation: a seeded sample of the test set
CARD = DIR / "README.md"                # the dataset card: source, licence, the paper's numbers
SOURCE_URL = "https://github.com/PolyAI-LDN/task-specific-datasets"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
ATTRIBUTION = "BANKING77 by PolyAI (Casanueva et al. 2020), CC BY 4.0."

# Casanueva et al. 2020, "Efficient Intent Detection with Dual Sentence Encoders", Table 3:
# accuracy (%) on the whole test set with 10 training examples per intent.
PUBLISHED = {
    "BERT-Large, fine-tuned": 83.42,
    "ConveRT": 83.32,
    "USE": 84.23,
    "USE+ConveRT": 85.19,
}


@lru_cache(maxsize=None)
def load(split: str = "train") -> LabelledTexts:
    """The shipped train or test file (columns text, category)."""
    if split not in SPLITS:
        raise DatasetError(f"BANKING77 has no '{split}' split; choose one of {', '.join(SPLITS)}.")
    # The shipped file, not a visitor's: its 77 intents are above the upload cap of 50 labels.
    return read_csv(DIR / f"{split}.csv", text_column="text", label_column="category", max_rows=20_000,
                    max_labels=INTENTS)


def rows_by_label(data: LabelledTexts) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(data.labels):
        rows[label].append(i)
    return rows


def few_shot(data: LabelledTexts, per_label: int | None, seed: int = 0) -> LabelledTexts:
    """Exactly `per_label` sentences of every label, drawn at random with `seed`
    (each label's draw depends only on the seed and that label), kept in file
    order; per_label=None keeps everything. A label with fewer sentences is an error."""
    if per_label is None:
        return data
    if not isinstance(per_label, int) or per_label < 1:
        raise DatasetError("Examples per label must be a whole number of at least 1.")
    keep = []
    for label, rows in sorted(rows_by_label(data).items()):
        if len(rows) < per_label:
            raise DatasetError(f"Label '{label}' has only {len(rows)} sentences; {per_label} were asked for.")
        keep += random.Random(f"{seed}:{label}").sample(rows, per_label)
    return data.subset(sorted(keep))


def sample(data: LabelledTexts, size: int | None, seed: int = 0) -> LabelledTexts:
    """`size` sentences drawn at random with `seed`, in file order (a quicker
    evaluation than the whole test set); None or a size >= len(data): all of it."""
    if size is None or size >= len(data):
        return data
    if size < 1:
        raise DatasetError("A sample needs at least 1 sentence.")
    return data.subset(sorted(random.Random(seed).sample(range(len(data)), size)))


def shot_folds(data: LabelledTexts, folds: int, seed: int = 0) -> list[tuple[LabelledTexts, LabelledTexts]]:
    """Cross-validation over the training shots: every label's sentences are dealt
    (seeded) into `folds` parts; fold i holds out part i of every label. 10 per
    label, 5 folds -> 5 x (8 train, 2 held out per label)."""
    parts: list[list[int]] = [[] for _ in range(folds)]
    for label, rows in sorted(rows_by_label(data).items()):
        rows = rows[:]
        random.Random(f"{seed}:{label}:folds").shuffle(rows)
        for j, row in enumerate(rows):
            parts[j % folds].append(row)
    out = []
    for i in range(folds):
        held = set(parts[i])
        out.append((data.subset(r for r in range(len(data)) if r not in held), data.subset(sorted(held))))
    return out


def card() -> str:
    """The dataset card (core/data/banking77/README.md) as Markdown."""
    return CARD.read_text(encoding="utf-8")
