"""A bounded load test: requests arrive at random (a seeded Poisson process, like
independent visitors) at a chosen rate, and we time each one from the moment it
was DUE, not from when it was finally sent, so a backed-up sender can't hide
its queueing delay (coordinated omission).

    with DynamicBatcher(classifier.predict_batch, max_batch_size=16) as batcher:
        result = run_load(batcher.submit, rate_per_s=50, duration_s=5)
    result.p95_ms, result.throughput_per_s

    compare_batching(classifier, rate_per_s=50)   # the page's two arms side by side

Bounded twice: at most `duration_s` (capped at MAX_DURATION_S) of arrivals and
`max_requests` requests, then at most `settle_s` more for the last answers.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Sequence

from core.serve.batcher import DynamicBatcher
from core.serve.stats import percentile

MAX_DURATION_S = 10.0
MAX_REQUESTS = 5_000
SETTLE_S = 10.0
SAMPLE_TEXTS = (
    "the price is outrageous", "my card was declined", "delivery takes weeks",
    "I found a better deal at another store", "the website crashed at checkout",
    "nobody answered my emails", "I changed my mind", "just cancel the order please",
)


def poisson_arrivals(rate_per_s: float, duration_s: float, max_requests: int, seed: int = 0) -> list[float]:
    """Arrival times (seconds from the start) of a Poisson process: independent gaps,
    exponentially distributed with mean 1/rate. Same seed, same arrivals.
    rate=inf (or 0 duration) means everyone arrives at once: a burst, for saturation."""
    if rate_per_s == float("inf"):
        return [0.0] * max_requests
    if rate_per_s <= 0:
        raise ValueError("The request rate must be above 0 per second.")
    rng = random.Random(seed)
    times, t = [], rng.expovariate(rate_per_s)
    while t < duration_s and len(times) < max_requests:
        times.append(t)
        t += rng.expovariate(rate_per_s)
    return times


@dataclass(frozen=True)
class LoadResult:
    label: str                   # e.g. "batched (32, 10 ms)" or "one at a time"
    rate_per_s: float            # asked for (inf: a burst)
    sent: int
    answered: int                # answered with a result
    failed: int                  # answered with an error (each an error message in `errors`)
    rejected: int                # refused at submit (queue full, shutting down)
    unanswered: int              # still open when the settle time ran out
    seconds: float               # first arrival -> last answer
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    errors: list[str] = field(repr=False, default_factory=list)

    def latency_ms(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)

    @property
    def p50_ms(self) -> float | None:
        return self.latency_ms(50)

    @property
    def p95_ms(self) -> float | None:
        return self.latency_ms(95)

    @property
    def p99_ms(self) -> float | None:
        return self.latency_ms(99)

    @property
    def throughput_per_s(self) -> float:
        """Answered requests per second of wall time."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict:
        """JSON-ready figures for a table or a chart."""
        return {"label": self.label, "rate_per_s": self.rate_per_s, "sent": self.sent,
                "answered": self.answered, "failed": self.failed, "rejected": self.rejected,
                "unanswered": self.unanswered, "seconds": round(self.seconds, 3),
                "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "p99_ms": self.p99_ms,
                "throughput_per_s": round(self.throughput_per_s, 1)}


class _Tally:
    """Answers as they come back, from whichever thread completes them."""

    def __init__(self, total: int):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.last_answer = 0.0
        self.open = total
        self.all_in = threading.Event()
        if total == 0:
            self.all_in.set()

    def done(self, due: float, future: Future) -> None:
        now = time.perf_counter()
        error = future.exception() if not future.cancelled() else RuntimeError("cancelled")
        with self.lock:
            if error is None:
                self.latencies.append((now - due) * 1000)
            else:
                self.errors.append(str(error) or type(error).__name__)
            self.last_answer = max(self.last_answer, now)
            self.open -= 1
            if self.open == 0:
                self.all_in.set()

    def refused(self) -> None:
        with self.lock:
            self.open -= 1
            if self.open == 0:
                self.all_in.set()


def run_load(submit: Callable[[str], Future], rate_per_s: float = 50, duration_s: float = 5.0,
             max_requests: int = 1_000, seed: int = 0, texts: Sequence[str] = SAMPLE_TEXTS,
             label: str = "", settle_s: float = SETTLE_S,
             should_stop: Callable[[], bool] | None = None) -> LoadResult:
    """Send texts to `submit` (which must return a Future at once: `batcher.submit`,
    or `executor.submit(http_call, text)`) at Poisson arrival times, then wait for
    the answers. Never runs longer than duration + settle seconds."""
    duration_s = min(duration_s, MAX_DURATION_S)
    arrivals = poisson_arrivals(rate_per_s, duration_s, min(max_requests, MAX_REQUESTS), seed)
    rng = random.Random(seed + 1)
    tally = _Tally(len(arrivals))
    rejected = sent = 0
    start = time.perf_counter()
    for offset in arrivals:
        if should_stop is not None and should_stop():
            break
        due = start + offset
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent += 1
        try:
            future = submit(rng.choice(texts))
        except Exception:  # noqa: BLE001 - refused at the door (busy, closing): counted, not timed
            rejected += 1
            tally.refused()
            continue
        future.add_done_callback(lambda f, due=due: tally.done(due, f))
    for _ in range(len(arrivals) - sent):   # stopped early: those never went out
        tally.refused()
    tally.all_in.wait(settle_s)
    with tally.lock:
        latencies, errors = list(tally.latencies), list(tally.errors)
        end = tally.last_answer or time.perf_counter()
        unanswered = tally.open
    first_due = start + arrivals[0] if arrivals else start
    return LoadResult(label=label or "load", rate_per_s=rate_per_s, sent=sent, answered=len(latencies),
                      failed=len(errors), rejected=rejected, unanswered=unanswered,
                      seconds=max(end - first_due, 0.0), latencies_ms=latencies, errors=errors)


def batched_label(max_batch_size: int, batch_wait_s: float) -> str:
    if max_batch_size == 1:
        return "one at a time"
    return f"batched (up to {max_batch_size}, wait {batch_wait_s * 1000:g} ms)"


def load_against_batcher(predict_many: Callable[[list], Sequence], rate_per_s: float, duration_s: float = 5.0,
                         max_batch_size: int = 32, batch_wait_s: float = 0.010, max_requests: int = 1_000,
                         seed: int = 0, texts: Sequence[str] = SAMPLE_TEXTS,
                         should_stop: Callable[[], bool] | None = None) -> tuple[LoadResult, list[int]]:
    """A fresh batcher over `predict_many`, one bounded load, closed again.
    max_batch_size=1 is "one at a time": the same queue, one model call per request.
    Returns (the result, the size of every batch it ran)."""
    batcher = DynamicBatcher(predict_many, max_batch_size=max_batch_size,
                             batch_wait_s=batch_wait_s if max_batch_size > 1 else 0.0,
                             max_queue=max(max_requests, 1))
    try:
        result = run_load(batcher.submit, rate_per_s, duration_s, max_requests, seed, texts,
                          label=batched_label(max_batch_size, batch_wait_s), should_stop=should_stop)
    finally:
        batcher.close(drain=False)
    return result, batcher.snapshot().batch_sizes


def compare_batching(classifier, rate_per_s: float = 50, duration_s: float = 5.0, max_batch_size: int = 32,
                     batch_wait_s: float = 0.010, max_requests: int = 1_000, seed: int = 0,
                     texts: Sequence[str] = SAMPLE_TEXTS,
                     should_stop: Callable[[], bool] | None = None) -> dict[str, LoadResult]:
    """The same arrivals against one-at-a-time and against the batcher:
    {"one at a time": LoadResult, "batched": LoadResult}. At most 2 x duration_s of load."""
    alone, _ = load_against_batcher(classifier.predict_batch, rate_per_s, duration_s, 1, 0.0,
                                    max_requests, seed, texts, should_stop)
    batched, _ = load_against_batcher(classifier.predict_batch, rate_per_s, duration_s, max_batch_size,
                                      batch_wait_s, max_requests, seed, texts, should_stop)
    return {"one at a time": alone, "batched": batched}


MAX_SWEEP_SECONDS = 10.0     # all settings of one sweep together: a page's load is bounded
MAX_RATE_PER_S = 400.0


def sweep(predict_many: Callable[[list], Sequence], rate_per_s: float, settings: Sequence[tuple[int, float]],
          seconds_each: float = 2.0, seed: int = 0, texts: Sequence[str] = SAMPLE_TEXTS,
          on_result: Callable[[dict], None] | None = None, settle_s: float = 5.0,
          should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """The same seeded arrivals against each (max_batch_size, batch_wait_s) in `settings`
    ((1, 0) is one at a time), one after another. Bounded: the arrivals of all settings
    together last at most MAX_SWEEP_SECONDS, the rate at most MAX_RATE_PER_S, and each
    setting waits at most `settle_s` for its last answers (the rest count as unanswered).
    Returns one summary dict per setting (LoadResult.summary() plus the batch sizes)."""
    settings = list(settings)[:8]
    rate_per_s = max(1.0, min(float(rate_per_s), MAX_RATE_PER_S))
    seconds_each = max(0.2, min(float(seconds_each), MAX_SWEEP_SECONDS / max(len(settings), 1)))
    max_requests = int(rate_per_s * seconds_each * 2) + 10
    out = []
    for max_batch_size, batch_wait_s in settings:
        if should_stop is not None and should_stop():
            break
        batcher = DynamicBatcher(predict_many, max_batch_size=int(max_batch_size),
                                 batch_wait_s=float(batch_wait_s) if max_batch_size > 1 else 0.0,
                                 max_queue=max_requests)
        try:
            result = run_load(batcher.submit, rate_per_s, seconds_each, max_requests, seed, texts,
                              label=batched_label(int(max_batch_size), float(batch_wait_s)), settle_s=settle_s,
                              should_stop=should_stop)
        finally:
            batcher.close(drain=False)
        sizes = batcher.snapshot().batch_sizes
        summary = {**result.summary(), "max_batch_size": int(max_batch_size),
                   "batch_wait_ms": float(batch_wait_s) * 1000 if max_batch_size > 1 else 0.0,
                   "batches": len(sizes), "mean_batch_size": sum(sizes) / len(sizes) if sizes else None}
        out.append(summary)
        if on_result is not None:
            on_result(summary)
    return out


def sweep_job(predict_many, rate_per_s: float, settings, seconds_each: float, seed: int,
              on_step, on_epoch, should_stop) -> list[dict]:
    """`sweep` with core.jobs' signature (use functools.partial): each setting's figures
    are reported as one 'epoch' as soon as it has run."""
    return sweep(predict_many, rate_per_s, settings, seconds_each, seed, on_result=on_epoch,
                 should_stop=should_stop)
