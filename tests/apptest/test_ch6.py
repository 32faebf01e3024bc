"""Chapter 6's pages in AppTest: what a visitor sees on each. Models are the tiny random
BERT (tests/conftest.py) or the bundled one; background runs are joined, then the page reruns
(fragments don't tick in AppTest)."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import models
from core.trained import TrainedModel

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["credit", "lead time", "price"]


def open_page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart(at, key: str) -> dict:
    found = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id]
    assert found, [c.proto.id for c in at.get("plotly_chart")]
    return found[0]


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def frame(at, column: str):
    """The page's table that has this column (AppTest's dataframes carry no key)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def all_text(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "success") for e in getattr(at, kind))


@pytest.fixture(scope="module")
def tiny_trained(tiny_bert_dir):
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    return TrainedModel.loaded(models.load_classifier(tiny_bert_dir, LABELS), models.load_tokenizer(tiny_bert_dir),
                               LABELS, name="tiny test model")


def wait_and_rerun(at, job_key: str) -> None:
    if job_key in at.session_state:     # else it ended and was collected within the click's own run
        assert at.session_state[job_key].join(120), "the background run did not end"
    at.run()
    assert not at.exception, [e.value for e in at.exception]


# ------------------------------------------------------------------ a model is code plus numbers

def test_the_layer_table_adds_up_and_shows_what_a_fine_tune_moved():
    import torch

    labels = ["price", "credit"]
    model = models.load_classifier(models.BUNDLED, labels).eval()
    with torch.no_grad():                       # a "fine-tune" that moved one bias of layer 5: 384 numbers
        model.bert.encoder.layer[5].output.dense.bias.add_(0.01)
    trained = TrainedModel.loaded(model, models.load_tokenizer(models.BUNDLED), labels, name="one layer moved")
    at = open_page("ch6_numbers", finetuned=trained)
    count = sum(p.numel() for p in model.parameters())
    assert metric(at, "numbers in the model") == f"{count:,}"
    assert metric(at, "numbers the fine-tune changed") == "384"
    assert metric(at, "numbers it added (the new layer)") == f"{384 * 2 + 2:,}"
    table = frame(at, "mean |change|")
    assert table["numbers"].sum() == count
    assert table.loc[table["name"] == "bert.encoder.layer.5.output.dense.bias", "changed"].item() == 384
    blocks = chart(at, "ch6_numbers_blocks")["data"][0]
    share = dict(zip(blocks["x"], blocks["y"]))
    assert share["layer 5"] > 0 and share["layer 4"] == 0 and share["new head"] == 100
    side = frame(at, "random numbers say")
    assert len(side) == 8 and {"these numbers say", "random numbers say"} <= set(side.columns)


def test_without_a_fine_tuned_model_it_says_so_and_links_to_chapter_3():
    at = open_page("ch6_numbers")
    assert "You have no fine-tuned model yet" in all_text(at)
    assert any("chapter 3" in link.label for link in at.get("page_link"))
    assert metric(at, "numbers the fine-tune changed") == "0"


def test_a_broken_zip_is_a_sentence_and_keeps_the_model(tiny_trained):
    at = open_page("ch6_numbers", finetuned=tiny_trained)
    before = metric(at, "numbers in the model")
    assert "no pretrained numbers here to compare it with" in all_text(at)   # a tiny BERT, not the bundled one
    upload = [w for w in at.get("file_uploader") if str(w.key).startswith("ch6_zip_")][0]
    upload.set_value(("model.zip", b"not a zip at all", "application/zip")).run()
    assert not at.exception
    assert any("can't be used" in str(e.value) for e in at.error)
    assert metric(at, "numbers in the model") == before


# ------------------------------------------------------------------ pretrained vs from scratch

def test_scratch_page_shows_the_recorded_curves_and_a_live_run_replaces_them(monkeypatch):
    from core import pretraining

    def quick(epochs, seconds_each, seed, on_step, on_epoch, should_stop):
        arms = {arm: {"curve": [{"arm": arm, "epoch": 1, "eval_accuracy": acc}], "eval_accuracy": acc}
                for arm, acc in (("pretrained", 0.9), ("random", 0.2))}
        return {"settings": {"epochs": epochs, "seconds_each": seconds_each, "seed": seed, "learning_rate": 1e-4,
                             "train_sentences": 400, "eval_sentences": 160}, "arms": arms}

    monkeypatch.setattr(pretraining, "compare_job", quick)   # before the page binds it to its Start button
    at = open_page("ch6_scratch")
    names = [trace["name"] for trace in chart(at, "ch6_scratch_chart")["data"]]
    assert names == [pretraining.ARM_TITLES["pretrained"], pretraining.ARM_TITLES["random"]]
    assert "recorded" in all_text(at)
    at.button(key="ch6_scratch_start").click().run()
    wait_and_rerun(at, "ch6_scratch_job")
    assert "measured live just now" in all_text(at)
    shown = all_text(at)
    assert "from pretrained numbers **90.0%**" in shown and "from random numbers **20.0%**" in shown, shown


# ------------------------------------------------------------------ serving

def test_a_short_bounded_load_shows_p50_p95_p99_beside_one_at_a_time(tiny_trained):
    at = open_page("ch6_serving", finetuned=tiny_trained)
    assert "Nx.Serving" in all_text(at)
    at.slider(key="ch6_serve_rate").set_value(40)
    at.slider(key="ch6_serve_seconds").set_value(0.5)
    at.multiselect(key="ch6_serve_sizes").set_value([8]).run()
    at.button(key="ch6_serve_start").click().run()
    wait_and_rerun(at, "ch6_serve_job")
    table = frame(at, "p95 ms")
    assert list(table["setting"]) == ["one at a time", "batched (up to 8, wait 10 ms)"]
    for column in ("p50 ms", "p95 ms", "p99 ms"):
        assert (table[column] > 0).all()
    assert (table["p50 ms"] <= table["p99 ms"]).all()
    latency = chart(at, "ch6_serve_latency")
    assert [trace["name"] for trace in latency["data"]] == ["p50", "p95", "p99"]
    assert "Measured here at 40 requests/s" in all_text(at)


# ------------------------------------------------------------------ retrain and monitor

def test_retrain_adds_v2_and_rollback_deploys_v1_again():
    at = open_page("ch6_monitor")
    versions = frame(at, "trained on weeks")
    assert list(versions["version"]) == ["v1 (deployed)"]
    weekly = chart(at, "ch6_monitor_chart")
    assert [t["name"].split(" (")[0] for t in weekly["data"]] == ["false negatives", "false positives"]
    at.slider(key="ch6_monitor_week").set_value(10).run()
    at.button(key="ch6_monitor_retrain").click().run()
    versions = frame(at, "trained on weeks")
    assert list(versions["version"]) == ["v1", "v2 (deployed)"]
    assert list(versions["trained on weeks"]) == ["0–0", "0–10"]
    assert "Trained v2 on weeks 0–10" in all_text(at)
    at.selectbox(key="ch6_monitor_pick").set_value("v1").run()
    at.button(key="ch6_monitor_rollback").click().run()
    versions = frame(at, "trained on weeks")
    assert list(versions["version"]) == ["v1 (deployed)", "v2"]
    assert "Rolled back: v1 is deployed again." in all_text(at)
