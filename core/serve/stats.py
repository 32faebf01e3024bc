"""What a batcher keeps count of, for the page's charts: how big each batch was,
and how long each request took from arriving to being answered."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Sequence

KEEP_LAST = 10_000   # bounded: a long-running server must not grow without end


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default:
    percentile([10, 20, 30, 40], 50) -> 25.0. None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class StatsSnapshot:
    batch_sizes: list[int]        # every batch run, in order (the last KEEP_LAST)
    latencies_s: list[float]      # per request: submitted -> answered
    waits_s: list[float]          # per request: submitted -> its batch started
    answered: int                 # requests answered (results and errors), all time
    failed: int                   # of which with an error
    rejected: int                 # refused at the door: queue full or shutting down

    @property
    def batches(self) -> int:
        return len(self.batch_sizes)

    @property
    def mean_batch_size(self) -> float | None:
        return sum(self.batch_sizes) / len(self.batch_sizes) if self.batch_sizes else None

    def latency_ms(self, q: float) -> float | None:
        value = percentile(self.latencies_s, q)
        return None if value is None else value * 1000


class BatcherStats:
    """Thread-safe counters: the worker records, the page takes snapshots."""

    def __init__(self, keep_last: int = KEEP_LAST):
        self._lock = threading.Lock()
        self._batch_sizes: deque[int] = deque(maxlen=keep_last)
        self._latencies: deque[float] = deque(maxlen=keep_last)
        self._waits: deque[float] = deque(maxlen=keep_last)
        self._answered = self._failed = self._rejected = 0

    def batch_started(self, size: int, waits_s: Sequence[float]) -> None:
        with self._lock:
            self._batch_sizes.append(size)
            self._waits.extend(waits_s)

    def answered(self, latency_s: float, ok: bool) -> None:
        with self._lock:
            self._latencies.append(latency_s)
            self._answered += 1
            self._failed += 0 if ok else 1

    def rejected(self, count: int = 1) -> None:
        with self._lock:
            self._rejected += count

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(list(self._batch_sizes), list(self._latencies), list(self._waits),
                                 self._answered, self._failed, self._rejected)
