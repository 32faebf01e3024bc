"""Chapter 4's lesson pages in AppTest: the shipped precomputed results appear at once
with the numbers in the file; one small experiment runs live on the tiny BERT and
replaces them; stopping midway, a results file from another version and a model
that isn't here all end in a clear message with nothing lost."""

import json

import pytest
from apptest_pages import chart, open_page
from streamlit.testing.v1 import AppTest

from core import lessons


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_precomputed_results_are_shown_with_their_provenance():
    shipped = lessons.load_precomputed()
    at = open_page("ch4_noise", timeout=120)
    assert at.title[0].value == lessons.EXPERIMENTS["label_noise"].title
    assert f"computed **{shipped.created[:10]}" in captions(at)
    noise = chart(at, "Accuracy as more training labels are wrong")
    expected = [100 * p["eval_accuracy"] for p in shipped.results["label_noise"]["data"]["points"]]
    assert noise["data"][0]["y"] == pytest.approx(expected)
    assert "**Recorded**" in captions(at) and "throughout" in captions(at)  # the load while it ran
    diverse = chart(open_page("ch4_diverse", timeout=120), "Three training sets")
    assert diverse["data"][1]["y"] == pytest.approx([100 * a["eval_accuracy"]
                                                    for a in shipped.results["diverse_data"]["data"]["arms"]])
    models = chart(open_page("ch4_models", timeout=120), "Accuracy on unseen sentences: measured here")
    assert "BERT (from the talk)" in models["data"][0]["y"]
    assert "90% (the talk's)" in models["data"][0]["text"]
    alpha = chart(open_page("ch4_weights", timeout=120), "alpha of every weight matrix")
    assert len(alpha["data"][0]["x"]) == len(shipped.results["weights"]["data"]["layers"])


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_lesson_one_draws_its_spread_and_says_what_the_shipped_seeds_show():
    shipped = lessons.load_precomputed().results["diverse_data"]["data"]
    at = open_page("ch4_diverse", timeout=120)
    bars = chart(at, "Three training sets")["data"][1]
    assert bars["error_y"]["visible"] is True
    assert bars["error_y"]["array"] == pytest.approx([100 * a["eval_accuracy_sd"] for a in shipped["arms"]])
    seeds = len(shipped["arms"][0]["eval_accuracy_runs"])
    assert seeds >= 5 and f"mean of **{seeds} runs**" in captions(at)
    # The words follow the numbers: whichever way the shipped seeds fell, the page says that way.
    equal = shipped["comparisons"]["equal_size"]
    expected = {"higher": "new sentences beat rephrased ones", "lower": "the rephrased set scored higher",
                "unclear": "too close to call"}[equal["verdict"]]
    assert expected in markdown(at)
    assert f"{100 * equal['mean']:+.1f} points" in markdown(at) or f"{-100 * equal['mean']:+.1f} points" in markdown(at)
    assert "This run does not show the talk's lesson" not in markdown(at) or equal["verdict"] == "lower"


@pytest.mark.parametrize("page, key", [("ch4_noise", "label_noise"), ("ch4_batch", "batch_size"),
                                       ("ch4_models", "models"), ("ch4_fitting", "fitting")])
def test_every_seeded_lesson_shows_its_spread(page, key):
    at = open_page(page, timeout=120)
    data = lessons.load_precomputed().results[key]["data"]
    items = data[lessons.EXPERIMENTS[key].required[0]]
    runs = max(len(v) for i in items for k, v in i.items() if k.endswith("_runs") or k == "seeds")
    assert runs >= 3 and f"mean of **{runs} runs**" in captions(at)
    specs = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    drawn = [t for spec in specs for t in spec["data"]
             if (t.get("error_y") or {}).get("visible") or (t.get("error_x") or {}).get("visible")
             or t.get("fill") == "toself"]
    assert drawn, "no error bars or bands on the page"


def test_batch_words_agree_with_the_batch_time_chart():
    points = lessons.load_precomputed().results["batch_size"]["data"]["points"]
    at = open_page("ch4_batch", timeout=120)
    timing = lessons.base.difference(points[0]["seconds_per_epoch_runs"], points[-1]["seconds_per_epoch_runs"])
    words = markdown(at)
    expected = {"higher": "longer for the small batch", "lower": "the *small* batch was",
                "unclear": "about the same per epoch"}[timing["verdict"]]
    assert expected in words


def test_hardware_shows_the_timed_chapter3_run_beside_the_estimate():
    data = lessons.load_precomputed().results["hardware"]["data"]
    at = open_page("ch4_hardware", timeout=120)
    times = chart(at, "One fine-tune")["data"][0]
    assert times["y"][0] == "Chapter 3's fine-tune (timed)" and times["x"][0] == data["chapter3"]["seconds"]
    assert "every layer (estimate)" in " ".join(times["y"])
    assert "**Recorded**" in captions(at)


def run_live(at: AppTest, key: str) -> None:
    at.button(key=f"ch4_run_{key}").click().run()
    job = at.session_state["ch4_job"]
    assert job.join(120), "the live experiment did not finish"
    at.run()  # run_every fragments don't tick in AppTest: rerun by hand once the worker is done


def test_one_experiment_runs_live_on_the_tiny_model(tiny_bert_dir):
    at = open_page("ch4_noise", timeout=120)
    at.text_input(key="ch4_model").set_value(tiny_bert_dir).run()
    at.slider(key="ch4_label_noise_per_label").set_value(2)
    at.slider(key="ch4_label_noise_epochs").set_value(1)
    at.slider(key="ch4_label_noise_seeds").set_value(1)
    at.multiselect(key="ch4_label_noise_noise_levels").set_value([0, 50]).run()
    run_live(at, "label_noise")
    assert not at.exception
    noise = chart(at, "Accuracy as more training labels are wrong")
    assert noise["data"][0]["x"] == [0, 50]
    live = at.session_state["ch4_live"]["label_noise"]
    assert noise["data"][0]["y"] == pytest.approx([100 * p["eval_accuracy"] for p in live["data"]["points"]])
    assert "Measured here now in this session" in captions(at)
    assert tiny_bert_dir in captions(at)
    # The other lessons still show the precomputed numbers.
    at.switch_page("pages/ch4_batch.py").run()
    assert "**Recorded**" in captions(at)


def test_stopping_midway_keeps_the_finished_runs_and_says_so(tiny_bert_dir):
    at = open_page("ch4_batch", timeout=120)
    at.text_input(key="ch4_model").set_value(tiny_bert_dir).run()
    at.slider(key="ch4_batch_size_per_label").set_value(2)
    at.slider(key="ch4_batch_size_seeds").set_value(1)
    at.slider(key="ch4_batch_size_epochs").set_value(12).run()
    at.button(key="ch4_run_batch_size").click().run()
    job = at.session_state["ch4_job"]
    # Let the first run (batch 8: 2 steps x 12 epochs) finish, then press Stop.
    import time

    deadline = time.time() + 60
    while time.time() < deadline:
        last = job.snapshot().last_step
        if last is not None and last.partial and last.partial.get("points"):
            break
        time.sleep(0.05)
    job.stop()
    assert job.join(60)
    at.run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "Stopped after" in warnings and "finished runs are kept" in warnings
    kept = at.session_state["ch4_live"]["batch_size"]["data"]["points"]
    assert 1 <= len(kept) < 4
    assert chart(at, "Accuracy by batch size")["data"][0]["x"] == [str(p["batch_size"]) for p in kept]


def test_a_results_file_from_another_version_is_refused_and_nothing_is_lost():
    at = open_page("ch4_noise", timeout=120)
    before = chart(at, "Accuracy as more training labels are wrong")["data"][0]["y"]
    document = json.loads(lessons.PRECOMPUTED.read_text())
    document["version"] = 99
    at.file_uploader(key="ch4_upload").set_value(("old.json", json.dumps(document).encode(), "application/json"))
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert "format version 99" in errors and "results shown before are kept" in errors
    assert chart(at, "Accuracy as more training labels are wrong")["data"][0]["y"] == before
    at.file_uploader(key="ch4_upload").set_value(("broken.json", b"{ half a file", "application/json"))
    at.run()
    assert "not valid JSON" in " ".join(e.value for e in at.error)
    assert not at.exception


def test_a_model_that_is_not_here_disables_live_runs_with_a_message():
    at = open_page("ch4_noise", timeout=120)
    at.text_input(key="ch4_model").set_value("roberta-base").run()
    assert "'roberta-base' is not on this machine" in " ".join(e.value for e in at.error)
    assert at.button(key="ch4_run_label_noise").disabled
    assert not at.exception
