"""What the training loop keeps count of: the clock (throughput and time left),
the running loss and accuracy of an epoch, and the best epoch so far with a copy
of its weights."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from core.finetune.evaluation import Evaluation


class Meter:
    """The clock of one fine-tune. Throughput counts the training steps alone (not
    evaluation, not the callbacks); the time left is the average step times the
    steps to go plus the average evaluation times the evaluations to go."""

    def __init__(self):
        self.started = self.training_started = self.epoch_started = self.clock_started = time.perf_counter()
        self.train_seconds = self.eval_seconds = 0.0
        self.steps = self.examples = self.tokens = self.evaluations = 0
        self.total_steps = self.total_evaluations = 0

    def training_begins(self, total_steps: int, total_evaluations: int) -> None:
        self.training_started = time.perf_counter()
        self.total_steps, self.total_evaluations = total_steps, total_evaluations

    def epoch_begins(self) -> None:
        self.epoch_started = time.perf_counter()

    def step_begins(self) -> None:
        self.clock_started = time.perf_counter()

    def step_ends(self, examples: int, tokens: int) -> None:
        self.train_seconds += time.perf_counter() - self.clock_started
        self.steps += 1
        self.examples += examples
        self.tokens += tokens

    def evaluation_begins(self) -> None:
        self.clock_started = time.perf_counter()

    def evaluation_ends(self) -> None:
        self.eval_seconds += time.perf_counter() - self.clock_started
        self.evaluations += 1

    @property
    def seconds(self) -> float:
        """Since the fine-tune was called: loading included."""
        return time.perf_counter() - self.started

    @property
    def load_seconds(self) -> float:
        return self.training_started - self.started

    @property
    def elapsed(self) -> float:
        """Since training began."""
        return time.perf_counter() - self.training_started

    @property
    def epoch_seconds(self) -> float:
        return time.perf_counter() - self.epoch_started

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.train_seconds if self.train_seconds else 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.train_seconds if self.train_seconds else 0.0

    def eta(self) -> float:
        """Estimated seconds left, evaluations included."""
        left = (self.total_steps - self.steps) * self.train_seconds / max(1, self.steps)
        if self.evaluations:
            left += (self.total_evaluations - self.evaluations) * self.eval_seconds / self.evaluations
        return left


@dataclass
class Tally:
    """One epoch's training loss and accuracy, each batch measured just before the weights changed."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0

    def add(self, loss: float, right: int, rows: int) -> None:
        self.loss_sum += loss * rows
        self.correct += right
        self.seen += rows

    @property
    def loss(self) -> float:
        return self.loss_sum / self.seen

    @property
    def accuracy(self) -> float:
        return self.correct / self.seen


class BestEpoch:
    """The epoch with the best evaluation accuracy so far (ties: lower evaluation
    loss; without evaluation: simply the latest), with a copy of its weights, so
    early stopping and a blown-up loss can go back to it."""

    def __init__(self):
        self.epoch: int | None = None
        self.score = (-1.0, -math.inf)        # (accuracy, -loss): bigger is better
        self.weights: dict | None = None
        self.evaluation: Evaluation | None = None

    def offer(self, model, epoch: int, evaluation: Evaluation | None) -> bool:
        """Keep this epoch if it is the best so far; True when it was kept."""
        score = (evaluation.accuracy, -evaluation.loss) if evaluation else None
        if score is not None and score <= self.score:
            return False
        self.epoch, self.evaluation, self.weights = epoch, evaluation, trainable_snapshot(model)
        if score is not None:
            self.score = score
        return True


def trainable_snapshot(model) -> dict:
    """A copy of the numbers that training changes (frozen ones never move)."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def restore(model, snapshot: dict) -> None:
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in snapshot.items():
            params[name].copy_(value)
