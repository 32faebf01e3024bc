"""Dynamic batching: many callers, one model call per batch.

Nx.Serving's idea (the interview: "100 requests overlapping within a 10
millisecond timeframe" should be ONE predict call, not 100): requests wait in a
queue, and a batch runs as soon as EITHER it has `max_batch_size` requests OR
the oldest request has waited `batch_wait_s`. The same two knobs are Ray
Serve's `@serve.batch(max_batch_size, batch_wait_timeout_s)` and Triton's
`max_queue_delay_microseconds`.

    batcher = DynamicBatcher(classifier.predict_batch, max_batch_size=32, batch_wait_s=0.010,
                             validate=check_text)
    future = batcher.submit("the price is outrageous")   # returns at once
    future.result()                                       # this caller's own Prediction
    batcher.close()                                       # answers everyone still waiting

Promises:
- each caller gets the answer to ITS item (a concurrent.futures.Future);
- a bad item fails alone: `validate` runs per item before batching, and if the
  batched call raises anyway, the batch is retried one item at a time;
- the queue is bounded: past `max_queue` waiting items `submit` raises ServerBusy;
- `close()` drains: every accepted item gets its answer (or, with drain=False,
  a ShuttingDown error), and the worker thread has ended when it returns.

One worker thread runs the batches one after another: on a CPU, two model calls
at once only fight over the same cores.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from core.serve.stats import BatcherStats, StatsSnapshot

DEFAULT_MAX_BATCH = 32
DEFAULT_WAIT_S = 0.010       # the interview's 10 ms
DEFAULT_MAX_QUEUE = 1024
LONGEST_NAP_S = 0.5          # the worker re-reads the clock at least this often


class ServerBusy(RuntimeError):
    """The queue is full; str(error) says so in a sentence."""


class ShuttingDown(RuntimeError):
    """The batcher is closing and did not (or will not) run this item."""


@dataclass
class _Waiting:
    item: Any
    future: Future
    submitted: float          # clock() when it arrived


def run_isolated(predict_many: Callable[[list], Sequence], items: list) -> list[tuple[Any, Exception | None]]:
    """(result, None) or (None, error) per item, in order. One call for the whole batch;
    if that call fails (or miscounts its answers), each item is run alone, so only
    the bad item fails. Ray Serve's @serve.batch method uses this too."""
    try:
        return [(result, None) for result in _checked_call(predict_many, items)]
    except Exception as error:  # noqa: BLE001 - someone in the batch is bad: find out who
        if len(items) == 1:
            return [(None, error)]
    outcomes = []
    for item in items:
        try:
            (result,) = _checked_call(predict_many, [item])
            outcomes.append((result, None))
        except Exception as error:  # noqa: BLE001 - this item's error goes to this caller only
            outcomes.append((None, error))
    return outcomes


def _checked_call(predict_many, items: list) -> list:
    results = list(predict_many(items))
    if len(results) != len(items):
        raise RuntimeError(f"The model gave {len(results)} answers for {len(items)} texts.")
    return results


class DynamicBatcher:
    def __init__(self, predict_many: Callable[[list], Sequence], max_batch_size: int = DEFAULT_MAX_BATCH,
                 batch_wait_s: float = DEFAULT_WAIT_S, max_queue: int = DEFAULT_MAX_QUEUE,
                 validate: Callable[[Any], Any] | None = None, clock: Callable[[], float] = time.monotonic,
                 name: str = "dynamic-batcher"):
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1.")
        if batch_wait_s < 0:
            raise ValueError("batch_wait_s can't be negative.")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1.")
        self.predict_many = predict_many
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_s
        self.max_queue = max_queue
        self.validate = validate
        self.clock = clock               # injectable: tests move time by hand
        self.stats = BatcherStats()
        self._queue: deque[_Waiting] = deque()
        self._changed = threading.Condition()
        self._closing = False
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    # --- the callers' side ---------------------------------------------------------------

    def submit(self, item) -> Future:
        """Queue one item; its Future holds the answer (or this item's own error).
        Raises ServerBusy when the queue is full, ShuttingDown after close()."""
        return self.submit_many([item])[0]

    def submit_many(self, items: Sequence) -> list[Future]:
        """Queue several items together, all or none: a request is never half accepted.
        An item that fails `validate` gets a Future holding that error, and is not queued."""
        futures, accepted = [], []
        now = self.clock()
        for item in items:
            future: Future = Future()
            futures.append(future)
            try:
                if self.validate is not None:
                    self.validate(item)
            except Exception as error:  # noqa: BLE001 - the caller's own error, in its own Future
                future.set_exception(error)
                self.stats.answered(0.0, ok=False)
                continue
            accepted.append(_Waiting(item, future, now))
        with self._changed:
            if self._closing:
                self.stats.rejected(len(accepted))
                raise ShuttingDown("The server is shutting down and takes no new requests.")
            if len(self._queue) + len(accepted) > self.max_queue:
                self.stats.rejected(len(accepted))
                raise ServerBusy(f"The server is busy: {len(self._queue)} requests are already waiting "
                                 f"(the limit is {self.max_queue}); try again in a moment.")
            self._queue.extend(accepted)
            self._changed.notify()
        return futures

    def predict(self, item, timeout: float | None = None):
        """submit(item).result(timeout): one caller, blocking."""
        return self.submit(item).result(timeout)

    @property
    def waiting(self) -> int:
        """Items queued and not yet in a batch."""
        with self._changed:
            return len(self._queue)

    def snapshot(self) -> StatsSnapshot:
        return self.stats.snapshot()

    def poke(self) -> None:
        """Make the worker re-read the clock now (a test that moved a fake clock calls this)."""
        with self._changed:
            self._changed.notify_all()

    # --- shutting down -------------------------------------------------------------------

    def close(self, drain: bool = True, timeout: float | None = 30.0) -> bool:
        """Stop taking items. drain=True: run everything already queued (without waiting
        out the window) and answer it; drain=False: answer it with ShuttingDown.
        Returns True once the worker thread has ended (False if `timeout` passed first)."""
        with self._changed:
            self._closing = True
            dropped = [] if drain else list(self._queue)
            if not drain:
                self._queue.clear()
            self._changed.notify_all()
        for waiting in dropped:
            self._answer(waiting, error=ShuttingDown("The server shut down before running this request."))
        self._worker.join(timeout)
        return not self._worker.is_alive()

    @property
    def closed(self) -> bool:
        return self._closing and not self._worker.is_alive()

    def __enter__(self) -> "DynamicBatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the worker's side ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run_batch(batch)

    def _next_batch(self) -> list[_Waiting] | None:
        """Block until a batch is due: full, or its oldest item has waited the window
        (or we are closing: then at once). None when closed and nothing is left."""
        with self._changed:
            while True:
                if not self._queue:
                    if self._closing:
                        return None
                    self._changed.wait(LONGEST_NAP_S)
                    continue
                if len(self._queue) >= self.max_batch_size or self._closing:
                    break
                left = self._queue[0].submitted + self.batch_wait_s - self.clock()
                if left <= 0:
                    break
                self._changed.wait(min(left, LONGEST_NAP_S))
            batch = [self._queue.popleft() for _ in range(min(self.max_batch_size, len(self._queue)))]
        # A caller that cancelled its Future while waiting is not run.
        return [w for w in batch if w.future.set_running_or_notify_cancel()]

    def _run_batch(self, batch: list[_Waiting]) -> None:
        if not batch:
            return
        started = self.clock()
        self.stats.batch_started(len(batch), [started - w.submitted for w in batch])
        for waiting, (result, error) in zip(batch, run_isolated(self.predict_many, [w.item for w in batch])):
            self._answer(waiting, result=result, error=error)

    def _answer(self, waiting: _Waiting, result=None, error: BaseException | None = None) -> None:
        try:
            if error is not None:
                waiting.future.set_exception(error)
            else:
                waiting.future.set_result(result)
        except InvalidStateError:     # the caller cancelled it while it was still queued
            return
        self.stats.answered(self.clock() - waiting.submitted, ok=error is None)
