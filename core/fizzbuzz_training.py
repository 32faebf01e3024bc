"""Chapter 1's FizzBuzz network trained as a background job (core/jobs.py), for a live page.

scratch.train is a plain generator of epochs; training_work adapts it to the work a
job runs, work(on_step, on_epoch, should_stop) -> result, and live_state reads a job's
snapshot back as what the page draws:

    job = jobs.submit(training_work(config), meta={"config": config}, kind=jobs.TRAINING)
    state = live_state(job.snapshot(), config)   # status, epoch, history, params, message
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, replace

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


# A short pause per checkpoint lets the small network's curves be watched as they grow
# (500 epochs of the 2 -> 3 -> 4 network take well under a second otherwise).
WATCH_PAUSE_SECONDS = 0.03


def watch_pause(config: scratch.TrainConfig) -> float:
    """The pause per checkpoint of a run watched live (the page, a recording): the binary
    encoding's wide network is slow enough on its own."""
    return WATCH_PAUSE_SECONDS if config.encoding == "mod" else 0.0


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


def main(argv: list[str] | None = None) -> int:
    """`python -m core.fizzbuzz_training [--encoding mod] [--epochs N] ... [--record FILE]`:
    one run as the page trains it (same checkpoints, same pauses); --record saves it for a replay."""
    import argparse

    from core import recording

    parser = argparse.ArgumentParser(prog="python -m core.fizzbuzz_training",
                                     description="Train chapter 1's FizzBuzz network as the page does.")
    parser.add_argument("--encoding", choices=fizzbuzz.ENCODINGS, default="mod")
    parser.add_argument("--hidden", type=int, help="hidden units (0: one layer); default: the page's")
    parser.add_argument("--lr", type=float, help="learning rate; default: the page's")
    parser.add_argument("--epochs", type=int, help="default: the page's")
    parser.add_argument("--seed", type=int, help="default: the page's")
    parser.add_argument("--record", metavar="FILE", help="save the run as a recording the page can replay")
    args = parser.parse_args(argv)
    chosen = {"hidden_size": args.hidden, "learning_rate": args.lr, "epochs": args.epochs, "seed": args.seed}
    config = replace(scratch.default_config(args.encoding), **{k: v for k, v in chosen.items() if v is not None})
    problems = scratch.validate_config(config)
    if problems:
        print(f"error: {problems[0]}", file=sys.stderr)
        return 2
    recorder = recording.Recorder(recording.CH1, settings=asdict(config))
    result = training_work(config, pause_seconds=watch_pause(config))(recorder.on_step, recorder.on_epoch,
                                                                      lambda: False)
    test_set = fizzbuzz.train_test_split(config.encoding)[1]
    right = round(scratch.accuracy(result.params, test_set) * 100)
    print(f"{config.layers_text}: {result.status} after {len(result.history)} checkpoints, {right}/100 right "
          f"{result.message}".rstrip())
    if args.record:
        summary = {"status": result.status, "message": result.message, "params": result.params,
                   "right_of_100": right}
        path = recording.save(recorder.finish(summary), args.record)
        print(f"recorded {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
