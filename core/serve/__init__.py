"""Chapter 6: serving a fine-tuned model to many callers with dynamic batching.

One idea per module:
    prediction  the function every engine serves: Classifier.predict_batch(texts) -> [Prediction]
    batcher     DynamicBatcher: a queue, a batch when full or when the oldest has waited the window
    stats       what the batcher counts: batch sizes, per-request latency; percentile()
    load        a bounded load test: seeded Poisson arrivals, p50/p95/p99 and throughput
    engines     LocalEngine: the batcher in this process, behind the HTTP front end
    ray_engine  RayEngine: the same predict_batch as a Ray Serve deployment (optional extra)
    http_api    the HTTP contract on the standard library's ThreadingHTTPServer
    cli         `python -m core.serve --model DIR --port N`

From a page (the model is the chapter-3 TrainedModel):

    classifier = Classifier.from_trained(trained)
    with DynamicBatcher(classifier.predict_batch, max_batch_size=16, batch_wait_s=0.010,
                        validate=check_text) as batcher:
        batcher.submit("the price is outrageous").result()   # -> Prediction
        result = run_load(batcher.submit, rate_per_s=50, duration_s=5)
    result.p50_ms, result.p95_ms, result.p99_ms, result.throughput_per_s
    batcher.snapshot().batch_sizes

    compare_batching(classifier, rate_per_s=50, duration_s=5)   # both arms, same arrivals

Nothing here imports torch, transformers or ray at import time.
"""

from core.serve.batcher import DynamicBatcher, ServerBusy, ShuttingDown, run_isolated
from core.serve.load import (
    LoadResult, batched_label, compare_batching, load_against_batcher, poisson_arrivals, run_load,
)
from core.serve.prediction import (
    MAX_TEXT_CHARS, MAX_TEXTS_PER_REQUEST, MAX_TOKENS, BadText, Classifier, Prediction, check_text, check_texts,
    predict_batch,
)
from core.serve.stats import BatcherStats, StatsSnapshot, percentile

__all__ = [
    "DynamicBatcher", "ServerBusy", "ShuttingDown", "run_isolated",
    "LoadResult", "batched_label", "compare_batching", "load_against_batcher", "poisson_arrivals", "run_load",
    "MAX_TEXT_CHARS", "MAX_TEXTS_PER_REQUEST", "MAX_TOKENS", "BadText", "Classifier", "Prediction", "check_text",
    "check_texts", "predict_batch",
    "BatcherStats", "StatsSnapshot", "percentile",
]
