"""Pre-flight: the colours, the checks, and a fine-tune prediction that adds up."""

import pytest

from core import preflight
from core.finetune import FinetuneConfig

TEXTS = ["too expensive", "way too pricey", "card declined", "payment failed", "delivery too slow",
         "weeks of wait", "found a better deal", "another store was cheaper"] * 3
LABELS = ["price", "price", "credit", "credit", "slow", "slow", "competitor", "competitor"] * 3


@pytest.mark.parametrize("seconds, colour", [(12, "green"), (20, "green"), (25, "amber"), (30, "amber"),
                                             (31, "red"), (float("nan"), "red"), (float("inf"), "red")])
def test_a_time_is_green_within_the_budget_amber_to_one_and_a_half_times_it_then_red(seconds, colour):
    assert preflight.grade(seconds, 20) == colour


def test_memory_and_load_get_their_colours_and_say_what_was_found():
    gib = 1024 ** 3
    assert preflight.memory_check(6 * gib).status == "green"
    assert preflight.memory_check(int(1.5 * gib)).status == "amber"
    low = preflight.memory_check(gib // 2)
    assert (low.status, low.value) == ("red", "0.5 GiB")
    assert preflight.load_check(1.5, cores=2).status == "green"
    assert preflight.load_check(3.0, cores=2).status == "amber"
    busy = preflight.load_check(8.4, cores=2)
    assert (busy.status, busy.value) == ("red", "8.4 on 2 cores")


def test_free_memory_is_read_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    2097152 kB\n")
    assert preflight.available_memory(str(meminfo)) == 2 * 1024 ** 3


def test_the_bundled_model_loads_with_the_network_off():
    check = preflight.model_offline()
    assert check.status == "green", check.detail
    assert "6 layers" in check.detail


def test_the_prediction_is_load_plus_steps_plus_evaluations_of_the_real_config(tiny_bert_dir):
    config = FinetuneConfig(model_id=tiny_bert_dir, epochs=3, batch_size=4, freeze="none")
    data = (TEXTS, LABELS)
    p = preflight.predict_finetune(steps=3, train=data, eval=data, config=config)
    assert (p.total_steps, p.evaluations, p.measured_steps) == (3 * 6, 3, 3)   # 24 rows / 4 per batch, 3 epochs
    assert p.seconds == pytest.approx(p.load_seconds + p.first_step_seconds + 17 * p.step_seconds
                                      + 3 * p.eval_seconds)
    assert p.step_seconds > 0 and p.eval_seconds > 0
    assert p.config["epochs"] == 3
    slow = preflight.Prediction(**{**p.__dict__, "seconds": 45.0})
    assert slow.check().status == "red" and "45 s predicted" == slow.check().value


def test_lessons_are_scaled_by_how_fast_this_machine_trains_now():
    fast = preflight.Prediction(seconds=10, load_seconds=1, first_step_seconds=0.1,
                                step_seconds=preflight.REFERENCE_STEP_SECONDS / 2, eval_seconds=0.5, total_steps=50,
                                evaluations=2, measured_steps=4, measured_seconds=3)
    slow = preflight.Prediction(**{**fast.__dict__, "step_seconds": preflight.REFERENCE_STEP_SECONDS * 3})
    precomputed = {"label_noise": {"seconds": 100.0}, "weights": {"seconds": 0}}
    (now,) = preflight.predict_lessons(fast, precomputed)          # a result with no time is left out
    assert (now.name, now.value, now.status) == ("Chapter 4: label noise", "50 s predicted", "green")
    assert preflight.predict_lessons(slow, precomputed)[0].status == "red"
    shipped = preflight.predict_lessons(fast)
    assert len(shipped) >= 7 and all(check.name.startswith("Chapter 4: ") for check in shipped)


def test_run_checks_reports_each_check_as_it_is_known(monkeypatch):
    green = preflight.Check("x", "fine", "green")
    for name in ("model_offline", "memory_check", "load_check"):
        monkeypatch.setattr(preflight, name, lambda green=green: green)
    prediction = preflight.Prediction(seconds=30, load_seconds=1, first_step_seconds=0.1,
                                      step_seconds=preflight.REFERENCE_STEP_SECONDS, eval_seconds=0.5,
                                      total_steps=50, evaluations=2, measured_steps=4, measured_seconds=3)
    monkeypatch.setattr(preflight, "predict_finetune", lambda steps: prediction)
    seen = []
    report = preflight.run_checks(on_step=seen.append)
    assert seen == report.checks and report.prediction is prediction
    assert [c.name for c in seen[:4]] == ["x", "x", "x", "Chapter 3 fine-tune"]
    assert seen[3].status == "amber"            # 30 s against the 20 s budget


def test_no_fine_tune_is_timed_when_the_model_does_not_load(monkeypatch):
    monkeypatch.setattr(preflight, "model_offline", lambda: preflight.Check("Bundled model, offline", "did not load", "red"))
    monkeypatch.setattr(preflight, "predict_finetune", lambda steps: pytest.fail("timed anyway"))
    report = preflight.run_checks()
    assert report.prediction is None and report.checks[0].status == "red"


def test_warming_fills_the_shared_model_and_the_embedding_cache():
    from core import embedding_cache

    took = preflight.warm_caches()
    assert set(took) == {"tokenizer", "model", "embeddings of train.csv", "embeddings of eval.csv",
                         "embeddings of challenge.csv"}
    assert embedding_cache.is_cached(preflight.shipped_sentences("eval"))
