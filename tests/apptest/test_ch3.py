"""Chapter 3's page in AppTest: start, progress, stop, queue, results, bad input.

Fine-tunes here use the tiny random BERT (tests/conftest.py) on a few shipped
sentences per label, so each takes well under a second. The fragment that polls
the job doesn't tick in AppTest: tests wait for the worker, then run() again.
"""

import io
import json
import re
import threading
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import finetune as ft
from core import jobs
from apptest_pages import uploader

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/ch3_finetune.py"


def open_page(model_dir=None, **state) -> AppTest:
    """Like apptest_pages.open_page, with session state set before the first run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if model_dir:
        at.session_state["ch3_model_folder"] = model_dir
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def quick_settings(at, per_label=5, epochs=2):
    at.select_slider(key="ch3_per_label").set_value(per_label)
    at.slider(key="ch3_epochs").set_value(epochs)
    at.select_slider(key="ch3_batch").set_value(8)
    return at.run()


def wait_for(job, steps=None, timeout=60):
    """Until the job has `steps` steps (or has finished, if steps is None)."""
    event = threading.Event()
    for _ in range(int(timeout / 0.02)):
        snap = job.snapshot()
        if (steps is None and snap.finished) or (steps is not None and len(snap.steps) >= steps):
            return snap
        event.wait(0.02)
    raise AssertionError(f"job never got there: {job.snapshot().status}")


def train_to_the_end(at):
    """Press Start, wait for the background job to end, rerun (the fragment that
    polls doesn't tick in AppTest): the page then shows that run's results."""
    at.button(key="ch3_start").click().run()
    snap = wait_for(at.session_state["ch3_job"])
    at.run()
    assert not at.exception, at.exception
    return snap


def texts(at, kind):
    """What the reader sees: Markdown's backslash escapes (of a visitor's text) removed."""
    return [re.sub(r"\\(.)", r"\1", str(element.value)) for element in getattr(at, kind)]


def chart_titles(at):
    titles = []
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        title = spec.get("layout", {}).get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


@pytest.fixture
def gated_finetune(monkeypatch):
    """The real fine-tune, but each step waits for the test's go-ahead: lets a test
    click Stop or look at the queue while a job is certainly still running."""
    real = ft.finetune
    gate = threading.Semaphore(0)

    def finetune(train, eval=None, config=None, on_step=None, on_epoch=None, should_stop=lambda: False):
        def step(report):
            on_step(report)
            gate.acquire(timeout=60)
        return real(train, eval, config, on_step=step, on_epoch=on_epoch, should_stop=should_stop)

    monkeypatch.setattr(ft, "finetune", finetune)
    return gate


def test_page_shows_the_data_and_the_knobs_before_training():
    at = open_page()
    assert at.title[0].value == "Fine-tune BERT, live"
    assert "Sentences per label" in chart_titles(at)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Training sentences"]) >= 8 * 40
    assert int(metrics["Evaluation sentences"]) >= 8 * 15
    assert not at.button(key="ch3_start").disabled
    assert "ch3_job" not in at.session_state
    defaults = ft.FinetuneConfig()  # the knobs start at core's tuned defaults
    assert at.select_slider(key="ch3_lr").value == defaults.learning_rate
    assert at.slider(key="ch3_epochs").value == defaults.epochs
    assert at.select_slider(key="ch3_batch").value == defaults.batch_size
    assert at.selectbox(key="ch3_freeze").value == defaults.freeze
    assert at.number_input(key="ch3_freeze_layers").value == defaults.freeze_layers
    assert not at.number_input(key="ch3_freeze_layers").disabled


def test_frozen_layers_knob_reaches_the_fine_tune_and_only_counts_with_frozen_embeddings(tiny_bert_dir):
    at = quick_settings(open_page(tiny_bert_dir), per_label=3, epochs=1)
    at.selectbox(key="ch3_freeze").set_value("encoder").run()
    assert at.number_input(key="ch3_freeze_layers").disabled      # the whole encoder is frozen anyway
    at.selectbox(key="ch3_freeze").set_value("embeddings").run()
    at.number_input(key="ch3_freeze_layers").set_value(1).run()
    train_to_the_end(at)
    result = at.session_state["ch3_result"]
    assert (result.config.freeze, result.config.freeze_layers) == ("embeddings", 1)
    # The tiny BERT has 2 layers: the page says which part learned and how many numbers that is.
    caption = next(c.value for c in at.caption if "numbers learned" in c.value)
    assert "layer 2, the pooler and the new layer on top" in caption and "layer 1 kept" in caption
    assert "computed once, before the first step" in caption      # the frozen layer ran once, up front
    assert caption.startswith(f"{result.trainable_parameters:,} of {result.total_parameters:,} numbers learned")
    assert 0 < result.trainable_parameters < result.total_parameters


def test_quick_demo_subset_shrinks_the_training_set():
    at = quick_settings(open_page(), per_label=5)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training sentences"] == "40"  # 8 labels x 5


def test_start_shows_progress_then_results(tiny_bert_dir):
    at = quick_settings(open_page(tiny_bert_dir), per_label=5, epochs=2)
    at.button(key="ch3_start").click().run()
    assert not at.exception, at.exception
    job = at.session_state["ch3_job"]
    assert at.button(key="ch3_start").disabled  # one run per visitor at a time
    assert len(at.get("progress")) == 1
    # Visit another page while it trains and come back: same job, same knobs.
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert at.session_state["ch3_job"] is job
    assert at.slider(key="ch3_epochs").value == 2
    assert at.select_slider(key="ch3_per_label").value == 5
    wait_for(job)
    at.run()
    assert not at.exception, at.exception
    assert job.snapshot().status == jobs.DONE
    titles = chart_titles(at)
    assert "Training vs evaluation accuracy" in titles
    assert "Each step: loss and batch accuracy" in titles
    assert "Confusion matrix (evaluation sentences)" in titles
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Evaluation accuracy"].endswith("%")
    report = next(df.value for df in at.dataframe if "f1-score" in df.value.columns)
    assert list(report.columns) == ["precision", "recall", "f1-score", "support"]
    # every evaluation sentence was scored, each label on its own row
    assert report.loc["macro avg", "support"] == int(metrics["Evaluation sentences"])
    assert len(report) == 8 + 2
    # the other chapters get the model, and "try it" answers with one bar per label
    finetuned = at.session_state["finetuned"]
    assert len(finetuned.labels) == 8
    assert "Probability per label (softmax)" in chart_titles(at)
    assert not at.button(key="ch3_start").disabled


def test_stop_takes_effect_within_one_step_and_keeps_the_model(tiny_bert_dir, gated_finetune):
    at = quick_settings(open_page(tiny_bert_dir), per_label=10, epochs=5)
    at.button(key="ch3_start").click().run()
    job = at.session_state["ch3_job"]
    wait_for(job, steps=1)  # step 1 done; the worker waits at the gate
    at.run()
    assert "Step 1 of" in at.get("progress")[0].proto.text
    at.button(key="ch3_stop").click().run()
    gated_finetune.release(1000)
    snap = wait_for(job)
    at.run()
    assert not at.exception, at.exception
    assert snap.status == jobs.STOPPED
    assert len(snap.steps) == 1
    assert snap.result.cancelled
    assert any("Stopped after 1 of" in text for text in texts(at, "info"))
    assert at.session_state["finetuned"].result is snap.result  # what it learned is kept
    assert "Confusion matrix (evaluation sentences)" in chart_titles(at)


def test_second_visitor_is_queued_and_can_cancel(tiny_bert_dir, gated_finetune):
    first = quick_settings(open_page(tiny_bert_dir), per_label=2, epochs=1)
    first.button(key="ch3_start").click().run()
    running = first.session_state["ch3_job"]
    wait_for(running, steps=1)
    second = quick_settings(open_page(tiny_bert_dir), per_label=2, epochs=1)
    second.button(key="ch3_start").click().run()
    waiting = second.session_state["ch3_job"]
    assert waiting.snapshot().status == jobs.QUEUED
    assert "Queued: you are next" in second.get("progress")[0].proto.text
    second.button(key="ch3_cancel").click().run()
    assert wait_for(waiting).status == jobs.STOPPED
    second.run()
    assert any("cancelled before it started" in text for text in texts(second, "info"))
    assert "finetuned" not in second.session_state
    gated_finetune.release(1000)
    assert wait_for(running).status == jobs.DONE


def test_exploding_learning_rate_stops_with_a_message_and_keeps_earlier_results(tiny_bert_dir, monkeypatch):
    at = quick_settings(open_page(tiny_bert_dir), per_label=5, epochs=1)
    train_to_the_end(at)
    good = at.session_state["finetuned"]

    # AdamW bounds each update by the learning rate, so a real blow-up takes a huge
    # rate and many steps; make the loss "become NaN" on the third step instead.
    from core.finetune import loop

    real_step, calls = loop.train_step, []

    def train_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ft.TrainingDiverged("The loss became nan: the weights blew up. Lower the learning rate.")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "train_step", train_step)
    at.select_slider(key="ch3_lr").set_value(1.0)
    at.run()
    snap = train_to_the_end(at)
    assert snap.result.diverged and len(snap.steps) == 2
    errors = texts(at, "error")
    assert any(text.startswith("Training stopped: The loss became nan") for text in errors), errors
    assert at.session_state["finetuned"] is good  # the earlier model stays in use
    assert "Confusion matrix (evaluation sentences)" in chart_titles(at)


def test_download_zip_loads_back_and_bad_zips_get_a_message(tiny_bert_dir):
    from core import model_io

    at = quick_settings(open_page(tiny_bert_dir), per_label=2, epochs=1)
    train_to_the_end(at)
    result = at.session_state["ch3_result"]
    assert at.get("download_button")  # the page offers the zip
    saved = model_io.model_zip_bytes(result)  # exactly what the download button serves

    uploader(at, "ch3_zip_").set_value(("finetuned-bert.zip", saved, "application/zip")).run()
    assert not at.exception, at.exception
    assert any("Loaded finetuned-bert.zip" in text for text in texts(at, "success"))
    loaded = at.session_state["finetuned"]
    assert loaded.result is None and list(loaded.labels) == list(result.labels)
    same = ft.predict_proba(loaded.model, loaded.tokenizer, ["my card was declined"], loaded.labels)[0]
    before = ft.predict_proba(result.model, result.tokenizer, ["my card was declined"], result.labels)[0]
    assert same == pytest.approx(before, abs=1e-5)  # the same weights came back

    uploader(at, "ch3_zip_").set_value(("broken.zip", b"PK\x03\x04 not really a zip", "application/zip")).run()
    assert not at.exception, at.exception
    assert any("That zip can't be used" in text and "not a zip" in text for text in texts(at, "error"))
    assert at.session_state["finetuned"] is loaded  # nothing lost

    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("pytorch_model.bin", b"\x80\x04 pickle")
    uploader(at, "ch3_zip_").set_value(("other.zip", foreign.getvalue(), "application/zip")).run()
    assert any("pickle" in text for text in texts(at, "error"))
    assert at.session_state["ch3_result"] is result
    assert "Confusion matrix (evaluation sentences)" in chart_titles(at)


GOOD_CSV = ("sentence,category\n"
            + "".join(f"too expensive for us {i},price\n" for i in range(6))
            + "".join(f"my card was declined {i},credit\n" for i in range(6))
            + "Too expensive for us 0!,price\n"   # a repeat, after normalising
            + ",price\n").encode()                  # an empty sentence


def upload(at, kind, name, content):
    uploader(at, f"ch3_{kind}_csv_").set_value((name, content, "text/csv"))
    return at.run()


def test_uploaded_csv_is_described_and_split_when_no_eval_file():
    at = open_page()
    at.radio(key="ch3_source").set_value("My own CSV files").run()
    assert at.button(key="ch3_start").disabled  # nothing to train on yet
    upload(at, "train", "mine.csv", GOOD_CSV)
    assert not at.exception, at.exception
    page_text = " ".join(texts(at, "markdown"))
    assert 'Sentences from column "sentence", labels from column "category"' in page_text
    warnings = " ".join(texts(at, "warning"))
    assert "empty sentence dropped (rows 15)" in warnings
    assert "repeat an earlier sentence" in warnings
    metrics = {m.label: m.value for m in at.metric}
    # 13 sentences; 20% of each label held out: 1 of 7 price, 1 of 6 credit
    assert (metrics["Training sentences"], metrics["Evaluation sentences"]) == ("11", "2")
    assert not at.button(key="ch3_start").disabled


@pytest.mark.parametrize("content, message", [
    (b"label,text\nprice,caf\xe9 is too dear\ncredit,declined\n", "is not UTF-8"),
    (b"foo,bar,baz\n1,2,3\n4,5,6\n", "Found no sentence and label columns in bad.csv"),
    (b"label,text\nprice,too dear\nprice,way too much\n", 'has the label "price"'),
    (b"label,text\nprice,too dear\nprice,way too much\ncredit,card declined\n", '"credit" has only 1 row'),
    (b"label,text\nprice,\ncredit,  \n", "Every sentence in bad.csv is empty"),
    (b"label,text\n" + b"price,too dear\n" * 20_001, "the limit is 20,000"),
    (b"x" * (10 * 1024 * 1024 + 10), "the limit for one file"),
])
def test_bad_training_csv_gets_one_clear_message(content, message):
    at = open_page()
    at.radio(key="ch3_source").set_value("My own CSV files").run()
    upload(at, "train", "bad.csv", content)
    assert not at.exception, at.exception
    errors = texts(at, "error")
    assert any(message in text for text in errors), errors
    assert at.button(key="ch3_start").disabled


def test_columns_can_be_chosen_when_detection_fails():
    at = open_page()
    at.radio(key="ch3_source").set_value("My own CSV files").run()
    content = ("why,what\n" + "".join(f"too dear {i},price\nno card {i},credit\n" for i in range(5))).encode()
    upload(at, "train", "odd.csv", content)
    assert any("Found no sentence and label columns" in text for text in texts(at, "error"))
    at.selectbox(key="ch3_train_text_col").set_value("why")
    at.selectbox(key="ch3_train_label_col").set_value("what").run()
    assert not texts(at, "error")
    assert 'Sentences from column "why", labels from column "what"' in " ".join(texts(at, "markdown"))


def test_eval_file_with_a_label_training_lacks_is_refused_and_results_stay(tiny_bert_dir):
    at = quick_settings(open_page(tiny_bert_dir), per_label=2, epochs=1)
    train_to_the_end(at)
    result = at.session_state["ch3_result"]
    at.radio(key="ch3_source").set_value("My own CSV files").run()
    upload(at, "train", "mine.csv", GOOD_CSV)
    upload(at, "eval", "other.csv", b"label,text\nprice,too dear\nshipping,took weeks\n")
    errors = texts(at, "error")
    assert any('labels the training data lacks: "shipping"' in e or 'label the training data lacks: "shipping"' in e
               for e in errors), errors
    assert at.session_state["ch3_result"] is result
    assert "Confusion matrix (evaluation sentences)" in chart_titles(at)


def test_two_runs_on_one_chart_batch_16_vs_4(tiny_bert_dir):
    at = quick_settings(open_page(tiny_bert_dir), per_label=5, epochs=2)
    at.select_slider(key="ch3_batch").set_value(16).run()
    train_to_the_end(at)
    at.select_slider(key="ch3_batch").set_value(4).run()
    train_to_the_end(at)
    assert [run["name"] for run in at.session_state["ch3_runs"]] == [
        f"Run 1 · batch 16 · lr {ft.FinetuneConfig().learning_rate:g} · 2 ep",
        f"Run 2 · batch 4 · lr {ft.FinetuneConfig().learning_rate:g} · 2 ep"]
    at.selectbox(key="ch3_compare").set_value(at.session_state["ch3_runs"][0]["name"]).run()
    assert not at.exception, at.exception
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "Training vs evaluation accuracy" in json.dumps(json.loads(c.proto.spec).get("layout", {})))
    names = [trace["name"] for trace in spec["data"]]
    assert names == ["evaluation (unseen file)", "training", "Run 1: training", "Run 1: evaluation"]
    steps_per_epoch = {trace["name"]: len(trace["x"]) for trace in spec["data"]}
    assert steps_per_epoch["training"] == steps_per_epoch["Run 1: training"] == 2  # epochs on the same axis


# --------------------------------------------------------------------------- BANKING77


def test_banking77_ten_shot_trains_on_770_sentences_and_scores_on_a_seeded_test_sample(tiny_bert_dir):
    from core import banking77

    at = open_page(tiny_bert_dir)
    at.radio(key="ch3_source").set_value("BANKING77 (77 banking intents)").run()
    assert not at.exception, at.exception
    assert at.select_slider(key="ch3_b77_shots").value == 10  # the paper's few-shot setting
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training sentences"] == "770"  # 77 intents x 10
    assert metrics["Evaluation sentences"] == str(banking77.EVAL_SAMPLE)
    captions = " ".join(texts(at, "caption"))
    assert "CC BY 4.0" in captions and "PolyAI" in captions and "Casanueva" in captions
    at.radio(key="ch3_b77_eval").set_value("test").run()
    assert {m.label: m.value for m in at.metric}["Evaluation sentences"] == "3080"

    at.select_slider(key="ch3_b77_shots").set_value(5)
    at.radio(key="ch3_b77_eval").set_value("sample")
    at.slider(key="ch3_epochs").set_value(1)
    at.run()
    assert {m.label: m.value for m in at.metric}["Training sentences"] == "385"
    snap = train_to_the_end(at)
    assert snap.status == jobs.DONE
    assert len(at.session_state["finetuned"].labels) == 77
    assert "Confusion matrix (evaluation sentences)" in chart_titles(at)
    report = next(df.value for df in at.dataframe if "f1-score" in df.value.columns)
    assert report.loc["macro avg", "support"] == banking77.EVAL_SAMPLE


def test_the_start_explanation_follows_the_default_settings():
    at = open_page()
    explained = " ".join(texts(at, "markdown"))
    defaults = ft.FinetuneConfig()
    assert f"the lowest {defaults.freeze_layers} layers" in explained
    assert f"the demo runs {defaults.epochs}" in explained
    if defaults.pooling == "mean":
        assert "mean pooling" in explained and "summarise" not in explained
