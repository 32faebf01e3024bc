"""What every lesson shares: its settings, the progress it reports, and the
bookkeeping of the several fine-tunes one experiment runs.

An experiment is a function `run(settings, should_stop, on_progress, train=None,
eval=None) -> dict`. `should_stop` is checked before every training step (a
stopped experiment returns what it finished, marked stopped, with a message);
`on_progress` gets a `Progress` after every step, for a live progress bar. The
dict it returns is `envelope(...)`: the same outside for every experiment.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import asdict, dataclass

from core import models


class LessonError(ValueError):
    """Settings or data an experiment can't run on; str(error) is one sentence for the user."""


@dataclass
class Progress:
    """Sent to on_progress while an experiment runs."""

    fraction: float       # 0..1 of the whole experiment
    message: str          # "Run 2 of 6: 10% of labels flipped — epoch 3, step 4 of 8"
    partial: dict | None = None  # the result so far (finished runs only)


@dataclass
class Settings:
    """What every experiment shares: one fine-tune's knobs, sized for a live demo.

    Small on purpose: 15 sentences per label (120 in all), 2 epochs of batch 16
    at chapter 3's learning rate, the embeddings and the lowest 4 layers frozen,
    so the frozen layers run once per sentence (core/finetune/frozen.py) and one
    fine-tune takes a few seconds on a 2-core CPU. Every arm runs once per seed
    (`seeds` of them, from `seed` up): a seed picks the sentences where an
    experiment samples them, the start of the new layer and the batch order, so
    the spread over seeds says how much of a difference is luck. Sentences are
    cut at 32 tokens (the longest shipped one has 24).
    """

    model_id: str = models.BUNDLED
    per_label: int = 15            # training sentences per label
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 2e-4
    max_length: int = 32
    freeze: str = "embeddings"
    freeze_layers: int = 4         # chapter 3's default: the lowest 4 of 6 layers run once, before training
    seed: int = 0                  # the first seed
    seeds: int = 3                 # runs per arm, with seeds seed, seed+1, ...

    def problems(self) -> list[str]:
        found = []
        if not isinstance(self.per_label, int) or self.per_label < 1:
            found.append("Sentences per label must be a whole number of at least 1.")
        if not isinstance(self.seeds, int) or not 1 <= self.seeds <= 20:
            found.append("Seeds must be a whole number from 1 to 20.")
        found.extend(self.finetune_config().problems())
        return found

    def finetune_config(self, **changes):
        from core import finetune

        values = dict(model_id=self.model_id, epochs=self.epochs, batch_size=self.batch_size,
                      learning_rate=self.learning_rate, max_length=self.max_length,
                      freeze=self.freeze, freeze_layers=self.freeze_layers, seed=self.seed,
                      eval_every_epoch=False)
        values.update(changes)
        return finetune.FinetuneConfig(**values)

    def describe(self) -> str:
        """'15 sentences per label, 2 epochs, batch 16, learning rate 0.0002, max 32 tokens,
        embeddings + 4 lowest layers frozen, seeds 0-2'."""
        return (f"{self.per_label} sentences per label, {self.epochs} epochs, batch {self.batch_size}, "
                f"learning rate {self.learning_rate:g}, max {self.max_length} tokens, "
                f"{frozen_words(self.freeze, self.freeze_layers)}, {seeds_words(self.seed, self.seeds)}")

    def seed_list(self) -> list[int]:
        """The seeds every arm runs with: seed 0 and seeds 3 -> [0, 1, 2]."""
        return list(range(self.seed, self.seed + max(1, int(self.seeds))))


def frozen_words(freeze: str, layers: int = 0) -> str:
    """'embeddings', 4 -> 'embeddings + 4 lowest layers frozen'."""
    if freeze == "embeddings" and layers:
        return f"embeddings + {layers} lowest layers frozen"
    return {"none": "nothing frozen", "embeddings": "word embeddings frozen",
            "encoder": "encoder frozen"}.get(freeze, str(freeze))


def seeds_words(seed: int, seeds: int) -> str:
    """0, 1 -> 'seed 0'; 0, 5 -> 'seeds 0-4 (5 runs per arm)'."""
    seeds = max(1, int(seeds or 1))
    return f"seed {seed}" if seeds == 1 else f"seeds {seed}-{seed + seeds - 1} ({seeds} runs per arm)"


def spread(values) -> dict:
    """Mean, sample standard deviation, lowest and highest of several seeds' values:
    [0.9, 0.8, 1.0] -> mean 0.9, sd 0.1, min 0.8, max 1.0, n 3. One value has sd 0."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return {"mean": None, "sd": None, "min": None, "max": None, "n": 0}
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return {"mean": mean, "sd": sd, "min": min(values), "max": max(values), "n": len(values)}


def combined(runs: list[dict], measured=("train_accuracy", "eval_accuracy", "seconds")) -> dict:
    """One arm over its seeds: the first run's description, and for every measured
    value its mean (under its own name, so a chart reads it as before), its standard
    deviation (`<name>_sd`) and every seed's value (`<name>_runs`)."""
    if not runs:
        return {}
    arm = dict(runs[0])
    for name in measured:
        values = [run.get(name) for run in runs]
        if all(v is None for v in values):
            continue
        stats = spread(values)
        arm[name] = stats["mean"]
        arm[f"{name}_sd"] = stats["sd"]
        arm[f"{name}_runs"] = values
    arm["seeds"] = [run.get("seed") for run in runs]
    return arm


def difference(first: list[float], second: list[float]) -> dict:
    """Seed-by-seed difference first - second, and whether it is clear: its mean is
    more than two standard errors away from zero (a rough 95% check that works for
    3-10 seeds). {'mean', 'sd', 'n', 'wins' (seeds where first > second),
    'verdict': 'higher' | 'lower' | 'unclear'}.
    [0.9, 0.92, 0.91] vs [0.8, 0.83, 0.8] -> mean +0.10, verdict 'higher'."""
    pairs = [(a - b) for a, b in zip(first, second) if a is not None and b is not None]
    stats = spread(pairs)
    verdict = "unclear"
    if stats["n"] >= 2:
        margin = 2 * stats["sd"] / stats["n"] ** 0.5
        if stats["mean"] - margin > 0:
            verdict = "higher"
        elif stats["mean"] + margin < 0:
            verdict = "lower"
    return {"mean": stats["mean"], "sd": stats["sd"], "n": stats["n"],
            "wins": sum(p > 0 for p in pairs), "losses": sum(p < 0 for p in pairs), "verdict": verdict}


def check(settings: Settings) -> None:
    """Refuse settings before anything loads: the first problem, as one sentence."""
    problems = settings.problems()
    if problems:
        raise LessonError(problems[0])


class Runs:
    """Bookkeeping shared by the experiments: how many fine-tunes, which one is
    running, progress messages, and stopping."""

    def __init__(self, total: int, should_stop, on_progress):
        self.total = max(1, total)
        self.done = 0
        self.completed = 0  # runs that finished (not stopped, not diverged)
        self.should_stop = should_stop
        self.on_progress = on_progress or (lambda progress: None)
        self.stopped = False
        self.partial: dict | None = None

    def tell(self, within: float, message: str) -> None:
        self.on_progress(Progress(min(1.0, (self.done + within) / self.total), message, self.partial))

    def finetune(self, train, eval, config, label: str):
        """Fine-tune one arm; returns (FinetuneResult, complete?)."""
        from core import finetune

        run_number = self.done + 1

        def on_step(report):
            self.tell(report.step / report.total_steps,
                      f"Run {run_number} of {self.total}: {label} — epoch {report.epoch}, "
                      f"step {report.step} of {report.total_steps}")

        self.tell(0.0, f"Run {run_number} of {self.total}: {label} — loading the model")
        result = finetune.finetune(train, eval, config, on_step=on_step, should_stop=self.should_stop)
        complete = not result.cancelled and result.diverged is None
        if result.cancelled:
            self.stopped = True
        self.done += 1
        self.completed += complete
        return result, complete

    def finished(self, partial: dict) -> None:
        self.partial = partial
        self.tell(0.0, f"{self.done} of {self.total} runs done")


def accuracy_on(result, data) -> float:
    """Accuracy of a fine-tuned model on `data`, measured in eval mode (no dropout)."""
    from core import finetune

    _, accuracy, _ = finetune.evaluate(result.model, result.tokenizer, data, result.labels,
                                       max_length=result.config.max_length)
    return accuracy


def arm_summary(result, train, name: str, **extra) -> dict:
    """One fine-tune as a chart needs it: its name, size, accuracies, time and seed."""
    return {
        "name": name,
        "seed": result.config.seed,
        "rows": len(train),
        "train_accuracy": accuracy_on(result, train) if result.history else None,
        "eval_accuracy": result.eval_accuracy,
        "epochs": len(result.history),
        "seconds": round(result.seconds, 2),
        **extra,
    }


def envelope(name: str, settings: Settings, started: float, runs: Runs | None, data: dict,
             stopped_message: str | None = None) -> dict:
    """Every result looks the same from outside: what ran, with what, when, where, how long."""
    from core import hardware

    stopped = bool(runs and runs.stopped)
    message = None
    if stopped:
        message = stopped_message or (
            f"Stopped after {runs.completed} of {runs.total} runs: the finished runs are kept, "
            "the interrupted one is left out.")
    return {
        "experiment": name,
        "settings": asdict(settings),
        "computed_at": now(),
        "machine": hardware.machine_description(),
        "seconds": round(time.perf_counter() - started, 2),
        "stopped": stopped,
        "message": message,
        "data": data,
    }


def now() -> str:
    """The time in UTC to the second, as results files record it: '2026-11-23T14:00:00+00:00'."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def percent(fraction: float | None) -> str:
    """0.875 -> '88%'; None (not measured) -> '-'. For terminal headlines."""
    return "-" if fraction is None else f"{100 * fraction:.0f}%"
