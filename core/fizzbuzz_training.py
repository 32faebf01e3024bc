"""Chapter 1's FizzBuzz network trained as a background job (core/jobs.py), for a live page.

scratch.train is a plain generator of epochs; training_work adapts it to the work a
job runs, work(on_step, on_epoch, should_stop) -> result, and live_state reads a job's
snapshot back as what the page draws:

    job = jobs.submit(training_work(config), meta={"config": config}, kind=jobs.TRAINING)
    state = live_state(job.snapshot(), config)   # status, epoch, history, params, message
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core import fizzbuzz, jobs, scratch

# About this many points on the curves however many epochs: enough to watch them grow,
# and the job's reports (each carries the weights) stay small even at 20,000 epochs.
CHECKPOINTS = 60

# A run's statuses: a job's, plus how its training ended.
QUEUED, RUNNING, DONE, STOPPED, FAILED = jobs.QUEUED, jobs.RUNNING, jobs.DONE, jobs.STOPPED, jobs.FAILED
DIVERGED = "diverged"
CANCELLED = "cancelled"  # stopped while waiting in the queue, before any training


@dataclass(frozen=True)
class Progress:
    """A step report: the weights at a checkpoint, from which the page draws the 10 × 10 grid
    of predictions and the per-class scores."""

    epoch: int
    params: dict


def checkpoint_interval(config: scratch.TrainConfig) -> int:
    return max(1, config.epochs // CHECKPOINTS)


def training_work(config: scratch.TrainConfig, report_every: int | None = None,
                  pause_seconds: float = 0.0) -> jobs.Work:
    """The run as a job's work. At every checkpoint: on_epoch(Checkpoint), on_step(Progress)
    and a `pause_seconds` sleep, so a run that takes a second can be watched. should_stop()
    is checked after every epoch. Returns a scratch.RunResult with the final weights and the
    history; a learning rate that diverges comes back as status "diverged" with its message,
    not as an error. Raises ValueError (one sentence) for knobs out of range, before any work."""
    problems = scratch.validate_config(config)
    if problems:
        raise ValueError(problems[0])
    every = report_every or checkpoint_interval(config)

    def work(on_step, on_epoch, should_stop) -> scratch.RunResult:
        history: list[scratch.Checkpoint] = []
        params = None
        try:
            for epoch, params, checkpoint in scratch.train(config, report_every=every):
                if checkpoint:
                    history.append(checkpoint)
                    on_epoch(checkpoint)
                    on_step(Progress(epoch, params))
                    time.sleep(pause_seconds)
                if should_stop():
                    if not checkpoint:  # the page shows the weights it stopped with
                        on_step(Progress(epoch, params))
                    return scratch.RunResult(config, params, history, STOPPED, f"Stopped at epoch {epoch:,}.")
        except scratch.Diverged as diverged:
            return scratch.RunResult(config, diverged.last_good_params, history, DIVERGED, str(diverged))
        return scratch.RunResult(config, params, history, DONE)

    return work


def untrained(config: scratch.TrainConfig) -> dict:
    """The random starting weights a run with this config begins from."""
    return scratch.init_network(fizzbuzz.input_size(config.encoding), config.hidden_size, config.seed,
                                bias=config.bias)


@dataclass(frozen=True)
class LiveState:
    """What the page draws for a run, whatever state its job is in."""

    config: scratch.TrainConfig
    status: str  # queued, running, done, stopped, diverged, cancelled or failed
    epoch: int  # the epoch `params` come from; 0 before training
    history: list
    params: dict
    message: str = ""
    position: int = 0  # place in the queue while queued (1 = next)

    @property
    def finished(self) -> bool:
        return self.status not in (QUEUED, RUNNING)


def live_state(snap: jobs.JobSnapshot, config: scratch.TrainConfig) -> LiveState:
    latest = snap.last_step
    epoch = latest.epoch if latest else 0
    if isinstance(snap.result, scratch.RunResult):
        result = snap.result
        return LiveState(config, result.status, epoch, result.history, result.params, result.message)
    params = latest.params if latest else untrained(config)
    status = {jobs.STOPPED: CANCELLED}.get(snap.status, snap.status)  # stopped with no result: never ran
    return LiveState(config, status, epoch, snap.epochs, params, snap.error or "", snap.position)
