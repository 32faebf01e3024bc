"""Engines: what the HTTP front end calls to get predictions. Each one takes a
request's checked texts and returns their Predictions in order, or raises:
ServerBusy / ShuttingDown (try later), BadText (the caller's fault), anything
else (the model's fault).

    LocalEngine   the DynamicBatcher in this process (core/serve/batcher.py)
    RayEngine     the same predict_batch as a Ray Serve deployment (core/serve/ray_engine.py)
"""

from __future__ import annotations

from typing import Sequence

from core.serve.batcher import DEFAULT_MAX_BATCH, DEFAULT_MAX_QUEUE, DEFAULT_WAIT_S, DynamicBatcher
from core.serve.prediction import Classifier, Prediction, check_text

ANSWER_TIMEOUT_S = 30.0   # a request that waits longer than this gets a 504, not a hung connection


class LocalEngine:
    name = "local"

    def __init__(self, classifier: Classifier, max_batch_size: int = DEFAULT_MAX_BATCH,
                 batch_wait_s: float = DEFAULT_WAIT_S, max_queue: int = DEFAULT_MAX_QUEUE):
        self.classifier = classifier
        self.batcher = DynamicBatcher(classifier.predict_batch, max_batch_size=max_batch_size,
                                      batch_wait_s=batch_wait_s, max_queue=max_queue, validate=check_text)

    def predict(self, texts: Sequence[str], timeout: float = ANSWER_TIMEOUT_S) -> list[Prediction]:
        # All of a request's texts go in together; each may share a batch with other requests'.
        futures = self.batcher.submit_many(list(texts))
        return [future.result(timeout) for future in futures]

    def describe(self) -> dict:
        return {**self.classifier.describe(), "engine": self.name,
                "max_batch_size": self.batcher.max_batch_size,
                "batch_wait_ms": self.batcher.batch_wait_s * 1000}

    def close(self) -> None:
        self.batcher.close(drain=True)
