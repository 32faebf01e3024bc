"""Every computation longer than a second, as a background job: started, watched,
stopped, queued.

Streamlit reruns the page script on every click, and a rerun kills any loop
running in the script thread. So the work runs in a plain worker thread
instead, and the page only *watches* it: every second it takes a `snapshot()`
of the job (status, the reports so far, the result) and redraws.

    job = submit(lambda on_step, on_epoch, should_stop: train(...), kind="finetune")
    job.snapshot().status        # "queued" -> "running" -> "done"
    job.stop()                   # the loop sees should_stop() at its next step

One hosted process serves every visitor. So each kind of work waits its turn in
its own process-wide first-come-first-served queue, with a few slots that run at
once; the rest show "queued" with their place in line and can be cancelled
while they wait. The kinds are independent: a chapter 1 network trains while a
BERT fine-tune holds the fine-tune slot. Each line is bounded, so a crowd can't
pile up threads: past MAX_WAITING waiting jobs, submit() raises QueueFull.

One visitor must not be able to hold the server: a job may run at most
$MAX_JOB_SECONDS (none by default; set on a hosted copy), after which it stops
like a Stop click and says why; a session (`owner`) may have only one job
waiting per line (AlreadyQueued); the presenter's jobs (`priority=True`, see
`is_presenter`) go to the head of the line. A finished job lets go of its
`work` (the closure holds the page's globals, which hold the previous job and
its model), and `forget_result()` lets a page that filed the result elsewhere
drop the job's own reference, so a session keeps only its current model.

Nothing here touches streamlit: the worker must never call `st.*` (it has no
script context) and the page must never block on the worker.
"""

from __future__ import annotations

import functools
import hmac
import os
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
STOPPED = "stopped"
FAILED = "failed"
FINISHED = (DONE, STOPPED, FAILED)

# The kinds of work. Chapter 3's fine-tunes and chapter 4's lesson reruns both train a
# BERT and keep both CPU cores busy, so they share one kind.
FINETUNE = "finetune"
TRAINING = "training"  # chapter 1's small NumPy networks
COMPUTE = "compute"  # anything else over about a second: t-SNE, near-duplicate checks...
KINDS = (FINETUNE, TRAINING, COMPUTE)

SLOTS_ENV = "MAX_CONCURRENT_FINETUNES"
MAX_SECONDS_ENV = "MAX_JOB_SECONDS"
PRESENTER_KEY_ENV = "PRESENTER_KEY"
TRAINING_SLOTS = 2  # a NumPy FizzBuzz network is small: a run takes seconds on one core
COMPUTE_SLOTS = 1
MAX_WAITING = 20  # per kind

# The work a job runs: work(on_step, on_epoch, should_stop) -> result.
# on_step/on_epoch take one report each; should_stop() is checked every step.
Work = Callable[[Callable[[Any], None], Callable[[Any], None], Callable[[], bool]], Any]


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job at one moment: safe to draw from in the page."""

    status: str
    position: int  # place in the queue (1 = next to run); 0 when not waiting
    steps: list = field(default_factory=list)  # every step report so far
    epochs: list = field(default_factory=list)  # every epoch report so far
    result: Any = None
    error: str | None = None
    stop_requested: bool = False
    stop_reason: str | None = None  # why the server stopped it (the time limit); None after a Stop click
    queued_seconds: float = 0.0
    running_seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def last_step(self):
        return self.steps[-1] if self.steps else None

    @property
    def last_epoch(self):
        return self.epochs[-1] if self.epochs else None


class QueueFull(Exception):
    """Too many jobs of this kind are waiting: the page shows the message."""

    def __init__(self, waiting: int):
        jobs_are = "1 job is" if waiting == 1 else f"{waiting} jobs are"
        super().__init__(f"{jobs_are} waiting already; try again in a minute.")


class Busy(QueueFull):
    """A computation the page waits for didn't get a slot in time: the page shows the message."""

    def __init__(self, seconds: float):
        Exception.__init__(self, f"The server is busy with other visitors' work and this didn't start within "
                                 f"{seconds:g} seconds; try again in a minute.")


class AlreadyQueued(QueueFull):
    """This session already has a job waiting in this line. A QueueFull, so a page
    that shows QueueFull's message shows this one too."""

    def __init__(self):
        Exception.__init__(self, "You already have a job waiting in the queue; cancel it or wait for it to start.")


class JobQueue:
    """First come, first served, at most `slots` jobs running at a time and at
    most `max_waiting` waiting for one.

    A threading.BoundedSemaphore would also limit how many run, but it doesn't
    promise order and can't say "you are 3rd in line"; this keeps a waiting
    line (a deque) guarded by one Condition.
    """

    def __init__(self, slots: int = 1, max_waiting: int = MAX_WAITING):
        if slots < 1:
            raise ValueError("a queue needs at least one slot")
        if max_waiting < 1:
            raise ValueError("a queue needs room for at least one waiting job")
        self.slots = slots
        self.max_waiting = max_waiting
        self._running: set[Job] = set()
        self._waiting: deque[Job] = deque()
        self._changed = threading.Condition()

    def position(self, job: Job) -> int:
        """1 for the job that runs next, 2 for the one after...; 0 if not waiting."""
        with self._changed:
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return 0

    def running_count(self) -> int:
        with self._changed:
            return len(self._running)

    def presenter_running(self) -> bool:
        with self._changed:
            return any(job.priority for job in self._running)

    def waiting_count(self) -> int:
        with self._changed:
            return len(self._waiting)

    def join_line(self, job: Job) -> None:
        """Queue `job` at the back (a priority job: behind the other priority jobs,
        ahead of everyone else, even when the line is full). Raises QueueFull when
        the line is full, AlreadyQueued when the job's owner already has one waiting."""
        with self._changed:
            if job.owner is not None and any(other.owner == job.owner and not other.stop_requested
                                             for other in self._waiting):  # a cancelled one is leaving
                raise AlreadyQueued()
            if job.priority:
                self._waiting.insert(sum(1 for other in self._waiting if other.priority), job)
                return
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(len(self._waiting))
            self._waiting.append(job)

    def wait_for_turn(self, job: Job) -> bool:
        """Block until `job` is first in line and a slot is free (True), or until
        it is cancelled while waiting (False). The job must have joined the line."""
        with self._changed:
            while True:
                if job.stop_requested:
                    self._leave(job)
                    return False
                if self._waiting and self._waiting[0] is job and len(self._running) < self.slots:
                    self._waiting.popleft()
                    self._running.add(job)
                    self._changed.notify_all()
                    return True
                # Timeout only as a safety net; cancel() and release() notify.
                self._changed.wait(timeout=1.0)

    def release(self, job: Job) -> None:
        """Give the slot back (called in `finally`, so a crash can't leak it)."""
        with self._changed:
            self._running.discard(job)
            self._leave(job)
            self._changed.notify_all()

    def wake(self) -> None:
        """Let waiting jobs re-check their stop flag (a cancel while queued)."""
        with self._changed:
            self._changed.notify_all()

    def _leave(self, job: Job) -> None:
        try:
            self._waiting.remove(job)
        except ValueError:
            pass
        self._changed.notify_all()


class Job:
    """One piece of work running (or waiting to run) in its own worker thread.

    Everything the worker writes and the page reads goes through `_lock`, and
    the page only ever reads copies (`snapshot()`), so a redraw never sees a
    half-updated job.
    """

    def __init__(self, work: Work, queue: JobQueue, meta: dict | None = None, owner: str | None = None,
                 priority: bool = False, max_seconds: float | None = None):
        self.meta = dict(meta or {})  # e.g. the hyperparameters, for labelling charts
        self.owner = owner  # who submitted it (a session id): one waiting job per owner and line
        self.priority = priority  # the presenter's job: head of the line
        self.max_seconds = max_seconds  # wall-time cap once running; None = no limit
        self._stop_reason: str | None = None
        self._work = work
        self._queue = queue
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._status = QUEUED
        self._steps: list = []
        self._epochs: list = []
        self._result = None
        self._error: str | None = None
        self._created = time.monotonic()
        self._started: float | None = None
        self._finished: float | None = None
        self._thread = threading.Thread(target=self._run, name="background-job", daemon=True)

    # --- the page's side -------------------------------------------------

    def start(self) -> Job:
        """Join the queue (QueueFull if it is full) and start the worker thread."""
        self._queue.join_line(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop: a queued job is cancelled at once, a running one
        stops at its next step and keeps what it learned so far."""
        self._stop.set()
        self._queue.wake()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to finish (tests and the CLI); True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    def snapshot(self) -> JobSnapshot:
        now = time.monotonic()
        with self._lock:
            status = self._status
            started, finished = self._started, self._finished
            snap = dict(
                status=status,
                steps=list(self._steps),
                epochs=list(self._epochs),
                result=self._result,
                error=self._error,
                stop_requested=self._stop.is_set(),
                stop_reason=self._stop_reason,
            )
        position = self._queue.position(self) if status == QUEUED else 0
        queued_until = started or finished or now
        running_seconds = ((finished or now) - started) if started else 0.0
        return JobSnapshot(position=position, queued_seconds=queued_until - self._created,
                           running_seconds=running_seconds, **snap)

    def claim_if_finished(self) -> JobSnapshot | None:
        """The final snapshot, handed out once: a page calls this on every rerun and
        files the result (history, model, messages) the first time it is not None."""
        snap = self.snapshot()
        if not snap.finished:
            return None
        with self._lock:
            if self.meta.get("claimed"):
                return None
            self.meta["claimed"] = True
        return snap

    def forget_result(self) -> None:
        """Drop the job's reference to its result once the page has filed it (e.g.
        as the session's model): the next run's job then can't keep it alive."""
        with self._lock:
            self._result = None

    # --- the worker's side -----------------------------------------------

    def _should_stop(self) -> bool:
        """The work's should_stop(): a Stop click, or the wall-time cap reached."""
        if self._stop.is_set():
            return True
        if self.max_seconds is not None and self._started is not None \
                and time.monotonic() - self._started > self.max_seconds:
            with self._lock:
                self._stop_reason = (f"Stopped by the server after {_duration(self.max_seconds)}, "
                                     "the longest one job may run here.")
            self._stop.set()
            return True
        return False

    def _on_step(self, report) -> None:
        with self._lock:
            self._steps.append(report)

    def _on_epoch(self, report) -> None:
        with self._lock:
            self._epochs.append(report)

    def _finish(self, status: str, result=None, error: str | None = None) -> None:
        with self._lock:
            self._status = status
            self._result = result
            self._error = error
            self._finished = time.monotonic()

    def _run(self) -> None:
        try:
            if not self._queue.wait_for_turn(self):
                self._finish(STOPPED, error="Cancelled while waiting in the queue.")
                self._work = None
                return
        except BaseException as error:  # noqa: BLE001 - never leave a job "queued" forever
            self._queue.release(self)
            self._finish(FAILED, error=describe_error(error))
            self._work = None
            return
        try:
            with self._lock:
                self._status = RUNNING
                self._started = time.monotonic()
            result = self._work(self._on_step, self._on_epoch, self._should_stop)
            self._finish(STOPPED if self._stop.is_set() else DONE, result=result)
            del result
        except BaseException as error:  # noqa: BLE001 - the page shows the message
            self._finish(FAILED, error=describe_error(error))
        finally:
            # The closure holds the submitting page's globals (and through them the
            # session's previous job and model): let it go as soon as it's done.
            self._work = None
            self._queue.release(self)
            if self.priority:
                page_turns().presenter_may_have_ended()


def describe_error(error: BaseException) -> str:
    """One readable sentence for the page: the message, or the error's name."""
    message = str(error).strip()
    return message or type(error).__name__


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"


def configured_max_seconds(environ=os.environ) -> float | None:
    """The wall-time cap per job: $MAX_JOB_SECONDS, unset (no cap) by default."""
    try:
        value = float(environ.get(MAX_SECONDS_ENV, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def is_presenter(key: str | None, expected: str | None = None, environ=os.environ) -> bool:
    """True when `key` is the presenter key (`expected`, e.g. from Streamlit
    secrets, else $PRESENTER_KEY). No key configured: nobody is the presenter.
    compare_digest takes the same time however much of the key matches."""
    expected = expected if expected is not None else environ.get(PRESENTER_KEY_ENV, "")
    if not key or not expected:
        return False
    return hmac.compare_digest(str(key).encode("utf-8"), str(expected).encode("utf-8"))


def configured_slots(environ=os.environ) -> int:
    """How many fine-tunes may run at once: $MAX_CONCURRENT_FINETUNES, default 1."""
    try:
        return max(1, int(environ.get(SLOTS_ENV, "1")))
    except ValueError:
        return 1


def slots_for(kind: str, environ=os.environ) -> int:
    """How many jobs of this kind run at once."""
    if kind == FINETUNE:
        return configured_slots(environ)
    if kind == TRAINING:
        return TRAINING_SLOTS
    if kind == COMPUTE:
        return COMPUTE_SLOTS
    raise ValueError(f"Unknown kind of job {kind!r}; choose one of {', '.join(KINDS)}.")


_queues: dict[str, JobQueue] = {}
_queues_lock = threading.Lock()


def queue_for(kind: str) -> JobQueue:
    """The one queue of this kind, shared by every visitor of this process."""
    with _queues_lock:
        if kind not in _queues:
            _queues[kind] = JobQueue(slots_for(kind))
        return _queues[kind]


def presenter_job_running() -> bool:
    """True while a job of the presenter's (priority=True) runs in any line."""
    with _queues_lock:
        queues = list(_queues.values())
    return any(queue.presenter_running() for queue in queues)


# Queues bound the heavy work, but thirty visitors clicking through light pages still ask
# for a script run each, and enough of them starve the speaker's fine-tune: of CPU, and of
# the GIL, which its thread gives up at every torch kernel and then waits up to 5 ms to get
# back from a page run (measured: 30 visitors opening a page every 2 s made the demo
# fine-tune 18x slower; letting them through one at a time, still 6x). So while a
# presenter's job runs, the other visitors' page runs go one at a time and together use
# at most PAGE_TURN_SHARE of the time: after a run of d seconds the next waits
# d * (1 / share - 1) (asleep, holding no GIL). PAGE_TURN_GRACE_SECONDS after the
# presenter's job ends (time for the speaker's page to draw the results first), everyone
# waiting goes at once; nobody waits more than PAGE_TURN_WAIT_SECONDS (slow, never stuck).
PAGE_TURN_SHARE = 0.25
PAGE_TURN_GRACE_SECONDS = 3.0
PAGE_TURN_WAIT_SECONDS = 30.0


class PageTurns:
    """One page run at a time, for the visitors who are not the presenter, while the
    presenter's job runs; see page_run_turn."""

    def __init__(self, share: float = PAGE_TURN_SHARE, presenter_running: Callable[[], bool] | None = None,
                 grace_seconds: float = PAGE_TURN_GRACE_SECONDS):
        self.share, self.grace_seconds = share, grace_seconds
        self._running = presenter_running or presenter_job_running
        self._changed = threading.Condition()
        self._busy = False
        self._next_start = 0.0
        self._ended_at = float("-inf")

    def gating(self) -> bool:
        """The presenter's job runs, or ended less than the grace period ago."""
        return self._running() or time.monotonic() - self._ended_at < self.grace_seconds

    def presenter_may_have_ended(self) -> None:
        """Called when a priority job ends: if it was the last, whoever waits goes once the
        grace period is over."""
        if self._running():
            return
        with self._changed:
            self._ended_at = time.monotonic()
        wake = threading.Timer(self.grace_seconds, self._wake_everyone)
        wake.daemon = True
        wake.start()

    def _wake_everyone(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _take(self, deadline: float) -> bool:
        """Wait for the turn; False if the presenter's job ended or the deadline passed first."""
        with self._changed:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self.gating():
                    return False
                self._changed.wait(timeout=left)
            if not self.gating():
                return False
            self._busy = True
            gap = self._next_start - time.monotonic()
            while gap > 0 and self.gating():   # the gap: asleep, woken if the presenter ends
                self._changed.wait(timeout=min(gap, deadline - time.monotonic()))
                if time.monotonic() >= deadline:
                    break
                gap = self._next_start - time.monotonic()
            return True

    def _give_back(self, took_seconds: float) -> None:
        with self._changed:
            self._busy = False
            self._next_start = time.monotonic() + took_seconds * (1 / self.share - 1)
            self._changed.notify(1)

    @contextmanager
    def turn(self, presenter: bool, wait_seconds: float = PAGE_TURN_WAIT_SECONDS):
        if presenter or not self.gating():
            yield False
            return
        took = self._take(time.monotonic() + wait_seconds)
        started = time.monotonic()
        try:
            yield True
        finally:
            if took:
                self._give_back(time.monotonic() - started)


_page_turns: PageTurns | None = None


def page_turns() -> PageTurns:
    """The one PageTurns of this process (made on first use, under the queues' lock)."""
    global _page_turns
    with _queues_lock:
        if _page_turns is None:
            _page_turns = PageTurns()
        return _page_turns


def page_run_turn(presenter: bool, wait_seconds: float = PAGE_TURN_WAIT_SECONDS):
    """Around one page run: the presenter's run, or any run while no presenter job runs,
    goes at once (yields False); anyone else's waits its turn (yields True)."""
    return page_turns().turn(presenter, wait_seconds)


_DEFAULT = object()


def submit(work: Work, meta: dict | None = None, kind: str = FINETUNE,
           queue: JobQueue | None = None, *, owner: str | None = None, priority: bool = False,
           max_seconds: float | None = _DEFAULT) -> Job:
    """Put `work` in line with the other jobs of its kind (or in `queue`) and start its
    worker thread; returns at once. Raises QueueFull when too many are waiting, or
    AlreadyQueued (a QueueFull) when `owner` already has a job waiting in that line.
    `priority=True` (the presenter) goes to the head of the line; `max_seconds`
    caps the running time (default $MAX_JOB_SECONDS, or no cap)."""
    if max_seconds is _DEFAULT:
        max_seconds = configured_max_seconds()
    return Job(work, queue or queue_for(kind), meta, owner=owner, priority=priority,
               max_seconds=max_seconds).start()


# How long a page waits for a slot for work it needs before drawing (a t-SNE map, a
# near-duplicate check) before it gives up with a sentence instead.
BOUNDED_WAIT_SECONDS = 30.0


def _call(fn, args, kwargs, on_step, on_epoch, should_stop):
    """The work of `run_bounded`: fn's result, or the exception it raised (re-raised by the caller)."""
    try:
        return (True, fn(*args, **kwargs))
    except Exception as error:  # noqa: BLE001 - re-raised in the caller's thread, type intact
        return (False, error)


def run_bounded(fn, *args, kind: str = COMPUTE, owner: str | None = None, priority: bool = False,
                wait_seconds: float | None = None, queue: JobQueue | None = None, **kwargs):
    """fn(*args, **kwargs) computed in the pool of `kind` and waited for: at most
    slots_for(kind) such computations run at once however many visitors ask, so a
    crowd queues instead of sharing the CPU thirty ways. Returns fn's result or
    raises its exception; QueueFull when the line is full, AlreadyQueued when
    `owner` already waits in it, Busy when no slot came within `wait_seconds`
    (default BOUNDED_WAIT_SECONDS; the request then leaves the line)."""
    job = submit(functools.partial(_call, fn, args, kwargs), kind=kind, queue=queue, owner=owner,
                 priority=priority, max_seconds=None)
    wait_seconds = BOUNDED_WAIT_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    while not job.join(timeout=0.05):
        if job.status == QUEUED and not job.stop_requested and time.monotonic() > deadline:
            job.stop()  # cancelled while waiting: it leaves the line at once
    snap = job.snapshot()
    if snap.result is None:  # cancelled before it started (a job that started runs to its end)
        if snap.status == STOPPED:
            raise Busy(wait_seconds)
        raise RuntimeError(snap.error or "The computation did not finish.")
    ok, value = snap.result
    if not ok:
        raise value
    return value
