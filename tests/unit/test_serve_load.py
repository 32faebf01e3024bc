"""The bounded load generator (core/serve/load.py) and the served predict function
(core/serve/prediction.py) on a tiny random BERT classifier."""

import statistics
from concurrent.futures import Future

import pytest

from core.serve import (
    BadText, Classifier, DynamicBatcher, LoadResult, check_texts, load_against_batcher, percentile,
    poisson_arrivals, run_load,
)
from core.serve.load import MAX_DURATION_S


def echo(items):
    return [f"{item}!" for item in items]


def test_percentile_worked_example():
    assert percentile([10, 20, 30, 40], 50) == 25.0
    assert percentile([10, 20, 30, 40], 100) == 40
    assert percentile([5], 99) == 5
    assert percentile([], 50) is None


def test_poisson_arrivals_are_seeded_bounded_and_have_the_asked_rate():
    assert poisson_arrivals(50, 8, 1000, seed=3) == poisson_arrivals(50, 8, 1000, seed=3)
    assert poisson_arrivals(50, 8, 1000, seed=3) != poisson_arrivals(50, 8, 1000, seed=4)
    times = poisson_arrivals(50, 8, 1000, seed=0)
    assert times == sorted(times) and 0 < times[0] and times[-1] < 8
    assert len(poisson_arrivals(1000, 8, 100)) == 100               # the count bound wins
    many = poisson_arrivals(100, 1000, 50_000, seed=1)
    gaps = [b - a for a, b in zip(many, many[1:])]
    assert statistics.mean(gaps) == pytest.approx(1 / 100, rel=0.05)
    assert statistics.stdev(gaps) == pytest.approx(1 / 100, rel=0.05)  # exponential: sd = mean
    assert poisson_arrivals(float("inf"), 1, 7) == [0.0] * 7        # a burst, for saturation
    with pytest.raises(ValueError, match="above 0"):
        poisson_arrivals(0, 1, 10)


def test_a_load_against_the_batcher_answers_every_request_and_reports_percentiles():
    with DynamicBatcher(echo, max_batch_size=8, batch_wait_s=0.005) as batcher:
        result = run_load(batcher.submit, rate_per_s=400, duration_s=0.25, max_requests=60, seed=0,
                          label="echo")
    assert isinstance(result, LoadResult) and result.label == "echo"
    assert result.sent == result.answered == len(poisson_arrivals(400, 0.25, 60, seed=0))
    assert (result.failed, result.rejected, result.unanswered) == (0, 0, 0)
    assert 0 <= result.p50_ms <= result.p95_ms <= result.p99_ms
    assert result.throughput_per_s > 0
    assert set(result.summary()) >= {"p50_ms", "p95_ms", "p99_ms", "throughput_per_s", "sent"}


def test_refusals_and_errors_are_counted_not_timed():
    calls = iter(range(100))

    def flaky_submit(text):
        n = next(calls)
        if n % 3 == 0:
            raise RuntimeError("busy")
        future = Future()
        if n % 3 == 1:
            future.set_exception(ValueError("bad text"))
        else:
            future.set_result("ok")
        return future

    result = run_load(flaky_submit, rate_per_s=float("inf"), max_requests=9)
    assert (result.sent, result.rejected, result.failed, result.answered) == (9, 3, 3, 3)
    assert result.errors == ["bad text"] * 3 and len(result.latencies_ms) == 3


def test_a_load_stops_when_asked_and_never_outlives_its_bounds():
    asked = iter([False, False, True])
    with DynamicBatcher(echo, max_batch_size=4, batch_wait_s=0.001) as batcher:
        result = run_load(batcher.submit, rate_per_s=float("inf"), max_requests=50,
                          should_stop=lambda: next(asked, True))
    assert result.sent == 2 and result.answered == 2


def test_a_load_never_sends_more_than_the_hard_cap(monkeypatch):
    import core.serve.load as load

    monkeypatch.setattr(load, "MAX_REQUESTS", 25)
    done = Future()
    done.set_result("ok")
    result = run_load(lambda text: done, rate_per_s=float("inf"), max_requests=10 ** 9)
    assert result.sent == result.answered == 25


def test_the_duration_is_capped_whatever_is_asked(monkeypatch):
    import core.serve.load as load

    assert MAX_DURATION_S == 10.0          # the page's promise: at most about 10 s of load
    monkeypatch.setattr(load, "MAX_DURATION_S", 0.2)
    done = Future()
    done.set_result("ok")
    result = run_load(lambda text: done, rate_per_s=100, duration_s=3600, max_requests=10_000, seed=5)
    assert result.sent == len(poisson_arrivals(100, 0.2, 10_000, seed=5)) < 60


def test_a_request_never_answered_is_reported_as_unanswered_after_the_settle_time():
    never = Future()
    result = run_load(lambda text: never, rate_per_s=float("inf"), max_requests=2, settle_s=0.05)
    assert (result.sent, result.answered, result.unanswered) == (2, 0, 2)


def test_one_at_a_time_runs_single_calls_and_batching_groups_a_burst():
    alone, alone_sizes = load_against_batcher(echo, float("inf"), max_batch_size=1, max_requests=30)
    batched, batched_sizes = load_against_batcher(echo, float("inf"), max_batch_size=8, batch_wait_s=0.05,
                                                  max_requests=30)
    assert alone.label == "one at a time" and alone_sizes == [1] * 30
    assert batched.label == "batched (up to 8, wait 50 ms)"
    assert sum(batched_sizes) == 30 and max(batched_sizes) <= 8 and len(batched_sizes) < 30
    assert alone.answered == batched.answered == 30


# --- the served predict function ---------------------------------------------------------

@pytest.fixture(scope="module")
def classifier(tiny_classifier_dir):
    return Classifier.from_folder(tiny_classifier_dir)


def test_predict_batch_gives_one_prediction_per_text_in_order(classifier):
    texts = ["the price is too expensive", "card declined", "delivery is way too slow for me to wait weeks"]
    batch = classifier.predict_batch(texts)
    assert len(batch) == 3 and classifier.labels == ("credit", "lead time", "price")
    for prediction in batch:
        assert set(prediction.confidences) == set(classifier.labels)
        assert sum(prediction.confidences.values()) == pytest.approx(1.0, abs=1e-5)
        assert prediction.label == max(prediction.confidences, key=prediction.confidences.get)
    # Padding to the longest in the batch changes nothing: each alone gives the same numbers.
    for text, together in zip(texts, batch):
        (alone,) = classifier.predict_batch([text])
        assert alone.label == together.label
        assert alone.confidences == pytest.approx(together.confidences, abs=1e-5)
    assert batch[0].to_json() == {"label": batch[0].label, "confidences": batch[0].confidences}


def test_predict_batch_cuts_long_texts_at_the_token_limit(classifier):
    short = Classifier(classifier.model, classifier.tokenizer, classifier.labels, max_length=8)
    long_text = "the price " * 400
    assert short.predict_batch([long_text])[0].confidences == pytest.approx(
        short.predict_batch(["the price the price the price"])[0].confidences, abs=1e-5)  # both cut to 8 tokens
    assert classifier.predict_batch([]) == []


def test_from_trained_takes_anything_with_model_tokenizer_and_labels(classifier):
    from core.trained import TrainedModel

    trained = TrainedModel.loaded(classifier.model, classifier.tokenizer, classifier.labels, name="Run 1")
    served = Classifier.from_trained(trained)
    assert served.name == "Run 1" and served.model is classifier.model
    assert served.predict_batch(["too expensive"])[0].label == classifier.predict_batch(["too expensive"])[0].label


@pytest.mark.parametrize("texts, message", [
    ("just a string", "must be a list"),
    ([], "empty; send at least one"),
    ([""], r"texts\[0\]: A text is empty"),
    (["fine", "   \n"], r"texts\[1\]: A text is empty"),
    (["fine", 3], r"texts\[1\]: Each text must be a string, not int"),
    (["x" * 1001], "1,001 characters; the limit is 1,000"),
    (["x"] * 65, "65 texts in one request; the limit is 64"),
])
def test_bad_texts_are_refused_in_one_sentence(texts, message):
    with pytest.raises(BadText, match=message):
        check_texts(texts)


def test_a_sweep_runs_every_setting_on_the_same_arrivals_and_is_bounded():
    import time as _time

    from core.serve import load

    calls = []

    def predict_many(texts):
        calls.append(len(texts))
        _time.sleep(0.002)
        return [t.upper() for t in texts]

    reported = []
    rows = load.sweep(predict_many, rate_per_s=100, settings=[(1, 0.0), (8, 0.005)], seconds_each=0.5,
                      on_result=reported.append)
    assert [r["label"] for r in rows] == ["one at a time", "batched (up to 8, wait 5 ms)"] and reported == rows
    alone, batched = rows
    assert alone["sent"] == batched["sent"] > 0                 # the same seeded arrivals
    assert alone["mean_batch_size"] == 1 and batched["mean_batch_size"] >= 1
    assert all(r["answered"] == r["sent"] and r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] for r in rows)
    assert max(calls) <= 8
    long = load.sweep(predict_many, rate_per_s=10_000, settings=[(1, 0.0)] * 3, seconds_each=60)
    assert all(r["sent"] <= load.MAX_RATE_PER_S * load.MAX_SWEEP_SECONDS / 3 + 10 for r in long)
