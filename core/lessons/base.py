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

    Small on purpose: 15 sentences per label (120 in all) and 4 epochs of
    batch 16 with the word-embedding table frozen, so an experiment of several
    fine-tunes fits in about a minute on a 2-core CPU (the README's benchmark
    table has the measured times). Sentences are cut at 32 tokens (the longest
    shipped one has 24).
    """

    model_id: str = models.BUNDLED
    per_label: int = 15            # training sentences per label
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 1e-4
    max_length: int = 32
    freeze: str = "embeddings"
    freeze_layers: int = 0         # every transformer layer learns, so the lessons show the whole model moving
    seed: int = 0

    def problems(self) -> list[str]:
        found = []
        if not isinstance(self.per_label, int) or self.per_label < 1:
            found.append("Sentences per label must be a whole number of at least 1.")
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
        """'15 sentences per label, 4 epochs, batch 16, learning rate 0.0001, max 32 tokens,
        word embeddings frozen, seed 0'."""
        frozen = {"none": "nothing frozen", "embeddings": "word embeddings frozen",
                  "encoder": "encoder frozen"}.get(self.freeze, self.freeze)
        return (f"{self.per_label} sentences per label, {self.epochs} epochs, batch {self.batch_size}, "
                f"learning rate {self.learning_rate:g}, max {self.max_length} tokens, {frozen}, seed {self.seed}")


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
    """One fine-tune as a chart needs it: its name, size, accuracies and time."""
    return {
        "name": name,
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
