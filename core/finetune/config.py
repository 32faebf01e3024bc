"""What goes into a fine-tune and what comes out: the settings, the reports sent
while it runs, the errors, and the result handed back."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from core import models
from core.trained import TrainedModel

FREEZE_CHOICES = ("none", "embeddings", "encoder")
POOLING_CHOICES = ("cls", "mean", "unit-mean")   # core.finetune.pooling
HEAD_INIT_CHOICES = ("random", "centroids")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
START_CHOICES = ("pretrained", "random")


@dataclass
class FinetuneConfig:
    """Every knob of one fine-tune. The defaults are the demo settings, chosen on the
    shipped evaluation set (never on challenge.csv): 2 epochs at 2e-4, the embeddings
    and the lowest 4 of the bundled BERT's 6 layers frozen, the new layer reading the
    mean of the tokens and starting at the class centres. How they were chosen and
    what they measured: benchmarks/FINETUNE.md. `core.finetune.auto.choose_settings`
    picks other values for few examples per label (BANKING77)."""

    model_id: str = models.BUNDLED
    epochs: int = 2
    batch_size: int = 16          # the talk's choice: smaller batches generalised better
    learning_rate: float = 2e-4   # AdamW's step size at the top of the schedule
    warmup_ratio: float = 0.1     # first 10% of steps: learning rate climbs from 0
    weight_decay: float = 0.01
    max_length: int = 64          # longer sentences are cut; batches pad only to their longest
    seed: int = 0
    freeze: str = "embeddings"    # "none" | "embeddings" (token table etc.) | "encoder" (train only the head)
    freeze_layers: int = 4        # with freeze="embeddings": the lowest N transformer layers stay pretrained too
    early_stopping_patience: int | None = None  # stop after N epochs without better eval accuracy
    pooling: str = "mean"         # "cls": [CLS] through BERT's pooler | "mean": average of the tokens | "unit-mean"
    head_init: str = "centroids"  # "random" | "centroids": the new layer starts at the class centres
    contrastive_passes: int = 0   # passes of a contrastive warm-up on sentence pairs before the classifier
    head_scale: float = 10.0      # centroid start: a logit is about this x the cosine to the class centre
    layer_lr_decay: float = 1.0   # each layer below the top learns at this fraction of the one above
    device: str = "auto"          # "auto" = CUDA, else Apple MPS, else CPU
    start: str = "pretrained"     # "random": the same code with random numbers, trained from scratch (chapter 6)
    eval_every_epoch: bool = True

    def problems(self) -> list[str]:
        """Plain sentences for settings that can't train; empty when all is well."""
        found = []
        if not isinstance(self.epochs, int) or self.epochs < 1:
            found.append("Epochs must be a whole number of at least 1.")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            found.append("Batch size must be a whole number of at least 1.")
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
                and self.learning_rate > 0):
            found.append("The learning rate must be a positive number, e.g. 0.0001.")
        if not 0 <= self.warmup_ratio < 1:
            found.append("Warm-up must be a fraction of the steps between 0 and 1.")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            found.append("Weight decay must be zero or a positive number.")
        if not isinstance(self.max_length, int) or not 8 <= self.max_length <= 512:
            found.append("Max length must be between 8 and 512 tokens.")
        if self.freeze not in FREEZE_CHOICES:
            found.append(f"Freeze must be one of {', '.join(FREEZE_CHOICES)}.")
        if not isinstance(self.freeze_layers, int) or self.freeze_layers < 0:
            found.append("Frozen layers must be a whole number, 0 or more.")
        if self.pooling not in POOLING_CHOICES:
            found.append(f"Pooling must be one of {', '.join(POOLING_CHOICES)}.")
        if self.head_init not in HEAD_INIT_CHOICES:
            found.append(f"Head start must be one of {', '.join(HEAD_INIT_CHOICES)}.")
        if not isinstance(self.contrastive_passes, int) or self.contrastive_passes < 0:
            found.append("Contrastive warm-up passes must be a whole number, 0 or more.")
        if not (isinstance(self.head_scale, (int, float)) and math.isfinite(self.head_scale) and self.head_scale > 0):
            found.append("The head scale must be a positive number.")
        if not (isinstance(self.layer_lr_decay, (int, float)) and 0 < self.layer_lr_decay <= 1):
            found.append("Layer learning-rate decay must be above 0 and at most 1.")
        if self.start not in START_CHOICES:
            found.append(f"Start must be one of {', '.join(START_CHOICES)}.")
        if self.device not in DEVICE_CHOICES:
            found.append(f"Device must be one of {', '.join(DEVICE_CHOICES)}.")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            found.append("Early-stopping patience must be at least 1 epoch (or off).")
        return found


@dataclass
class StepReport:
    """Sent to `on_step` after every training step (one batch)."""

    epoch: int                  # 1-based
    step: int                   # 1-based, counted over the whole run
    total_steps: int
    loss: float                 # this batch's cross-entropy
    accuracy: float             # this batch's accuracy, 0..1, before the weights changed
    learning_rate: float        # the rate this step used
    examples_per_second: float  # training throughput so far
    tokens_per_second: float    # real (non-padding) tokens per second so far
    elapsed: float              # seconds since training began (after the model loaded)
    eta: float                  # estimated seconds left, evaluation included


@dataclass
class EpochReport:
    """Sent to `on_epoch` after every epoch (and its evaluation)."""

    epoch: int
    train_loss: float
    train_accuracy: float            # running accuracy over the epoch's batches
    eval_loss: float | None          # None without evaluation data (or eval_every_epoch=False)
    eval_accuracy: float | None
    elapsed: float                   # seconds since training began
    seconds: float                   # this epoch alone, evaluation included


@dataclass
class EvalPredictions:
    """What the model said about every evaluation sentence: for the confusion
    matrix, per-class scores and the list of mistakes."""

    texts: list[str]
    y_true: list[str]
    y_pred: list[str]
    confidence: list[float]     # probability of the predicted label

    def mistakes(self) -> list[tuple[str, str, str, float]]:
        """(text, true label, predicted label, confidence) for every miss."""
        return [(t, yt, yp, c) for t, yt, yp, c in
                zip(self.texts, self.y_true, self.y_pred, self.confidence) if yt != yp]


class TrainingDiverged(Exception):
    """The loss became NaN or infinite: the learning rate is too high for this model."""


class FinetuneError(ValueError):
    """Data or settings that can't be trained on; str(error) is one sentence for the user."""


@dataclass
class FinetuneResult:
    model: Any                       # a transformers model, eval mode, on `device`
    tokenizer: Any
    labels: list[str]                # label names, index = model output
    config: FinetuneConfig
    history: list[EpochReport]
    steps: list[StepReport]
    train_accuracy: float | None     # of the epoch whose weights the model holds
    eval_accuracy: float | None      # of the returned model on the evaluation data
    eval_loss: float | None
    seconds: float                   # whole call: model load + training + evaluation
    tokens_per_second: float
    examples_per_second: float
    best_epoch: int | None           # epoch with the best eval accuracy (None without eval)
    cancelled: bool = False          # should_stop() said stop; everything learned so far is kept
    stopped_early: bool = False      # early stopping ended it; weights are the best epoch's
    diverged: str | None = None      # the TrainingDiverged message, if the loss blew up
    device: str = "cpu"
    warning: str | None = None       # e.g. it trained to chance: accuracy no better than guessing
    eval_predictions: EvalPredictions | None = None
    load_seconds: float = 0.0        # part of `seconds` spent loading the pretrained model
    weights_epoch: int | None = None  # which epoch's weights the model holds (None: mid-epoch)
    trainable_parameters: int = 0    # numbers that learned (the rest kept their pretrained values)
    total_parameters: int = 0
    frozen_layers: int = 0           # transformer layers kept as pretrained, from the bottom
    total_layers: int = 0
    frozen_ran_once: bool = False    # their output was computed once, before training (run_frozen_bottom)

    def summary(self) -> dict:
        """Plain numbers (JSON-ready): what the CLI prints with --json."""
        return {
            "model": self.config.model_id,
            "labels": list(self.labels),
            "epochs": len(self.history),
            "train_accuracy": self.train_accuracy,
            "eval_accuracy": self.eval_accuracy,
            "eval_loss": self.eval_loss,
            "seconds": round(self.seconds, 3),
            "load_seconds": round(self.load_seconds, 3),
            "tokens_per_second": round(self.tokens_per_second, 1),
            "examples_per_second": round(self.examples_per_second, 2),
            "best_epoch": self.best_epoch,
            "cancelled": self.cancelled,
            "stopped_early": self.stopped_early,
            "diverged": self.diverged,
            "warning": self.warning,
            "device": self.device,
            "trainable_parameters": self.trainable_parameters,
            "total_parameters": self.total_parameters,
            "frozen_layers": self.frozen_layers,
            "config": asdict(self.config),
            "history": [asdict(h) for h in self.history],
        }

    def as_trained(self, name: str) -> TrainedModel:
        """This fine-tune as the model every chapter shares."""
        return TrainedModel.from_result(self, name)
