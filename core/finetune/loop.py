"""The training loop, on one screen (`finetune`): data -> batches (padded per
batch, to the longest sentence in it) -> forward -> loss (cross-entropy) ->
backward -> AdamW step -> learning rate schedule (warm up, then decay linearly
to zero) -> evaluate on sentences the model never trained on -> report. The
only additions to chapter 1's FizzBuzz loop are the hooks a live page needs:
`on_step` / `on_epoch` callbacks and a `should_stop` flag checked before every step.

Training accuracy in the reports is measured the way the talk's progress bar
measures it: on each batch just before the weights change, averaged over the
epoch. It runs ahead of evaluation accuracy on unseen sentences (talk: 98% vs
90%); the gap is the lesson.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from core import models
from core.finetune.batches import Batch, CheckedData, Encoded, check_data, encode, shuffled_batches
from core.finetune.contrastive import contrastive_warmup
from core.finetune.config import (
    EpochReport, FinetuneConfig, FinetuneError, FinetuneResult, StepReport, TrainingDiverged,
)
from core.finetune.evaluation import Evaluation, evaluate_encoded, sentence_vectors
from core.finetune.frozen import (
    can_run_frozen_bottom_once, encoder_layers, freeze, frozen_bottom, frozen_layer_count, logits_of,
    run_frozen_bottom, train_mode,
)
from core.finetune.pooling import apply_pooling, init_head_from_centroids
from core.finetune.tracking import BestEpoch, Meter, Tally, restore


def finetune(train, eval=None, config: FinetuneConfig | None = None,
             on_step: Callable[[StepReport], Any] | None = None,
             on_epoch: Callable[[EpochReport], Any] | None = None,
             should_stop: Callable[[], bool] = lambda: False) -> FinetuneResult:
    """Fine-tune `config.model_id` on `train`, evaluating on `eval` after every epoch.

    Never loses work: stop (should_stop() true), early stopping and a diverging
    loss all end the run normally and return a FinetuneResult with the history so
    far and a usable model. Raises FinetuneError for unusable data or settings and
    models.ModelUnavailable for a model that can't be loaded.
    """
    import torch

    config = config or FinetuneConfig()
    problems = config.problems()
    if problems:
        raise FinetuneError(problems[0])
    data = check_data(train, eval)
    meter = Meter()
    device = pick_device(config.device)

    # Data and model. The seed fixes the new layer's random start, the dropout and the order of batches.
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    setup = prepare(config, data, device)
    config, model, train_set, eval_set = setup.config, setup.model, setup.train_set, setup.eval_set
    start_from_the_shots(setup, config, rng, device, should_stop)
    lengths = train_set.lengths()

    # Optimizer and learning-rate schedule.
    total_steps = math.ceil(len(train_set) / config.batch_size) * config.epochs
    optimizer = make_optimizer(model, config)
    schedule = warmup_then_linear_decay(total_steps, round(config.warmup_ratio * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    meter.training_begins(total_steps, planned_evaluations(config, eval_set))

    run = Run()
    for epoch in range(1, config.epochs + 1):
        # Train: one pass over the data in a fresh random order, one batch per step.
        meter.epoch_begins()
        train_mode(model, setup.frozen)
        run.tally = Tally()
        for rows in shuffled_batches(lengths, config.batch_size, rng):
            if should_stop():
                run.cancelled = True
                break
            meter.step_begins()
            batch = train_set.batch(rows, device)
            learning_rate = max(scheduler.get_last_lr())
            try:
                loss, right = train_step(model, batch, train_set.targets_of(rows, device), optimizer, scheduler)
            except TrainingDiverged as blew_up:
                run.diverged = str(blew_up)
                break
            meter.step_ends(examples=len(rows), tokens=int(batch.mask.sum()))
            run.tally.add(loss, right, len(rows))
            run.evaluation = None   # the weights just changed
            report = StepReport(
                epoch=epoch, step=meter.steps, total_steps=total_steps, loss=loss, accuracy=right / len(rows),
                learning_rate=learning_rate, examples_per_second=meter.examples_per_second,
                tokens_per_second=meter.tokens_per_second, elapsed=meter.elapsed, eta=meter.eta())
            run.steps.append(report)
            if on_step:
                on_step(report)
        if run.cancelled or run.diverged or not run.tally.seen:
            break

        # Evaluate on sentences the model never trained on.
        if eval_set is not None and (config.eval_every_epoch or epoch == config.epochs):
            meter.evaluation_begins()
            run.evaluation = evaluate_encoded(model, eval_set, device)
            meter.evaluation_ends()
        report = EpochReport(
            epoch=epoch, train_loss=run.tally.loss, train_accuracy=run.tally.accuracy,
            eval_loss=run.evaluation.loss if run.evaluation else None,
            eval_accuracy=run.evaluation.accuracy if run.evaluation else None,
            elapsed=meter.elapsed, seconds=meter.epoch_seconds)
        run.history.append(report)
        if on_epoch:
            on_epoch(report)

        # Early stopping: after `patience` epochs without beating the best one, go back to it.
        improved = run.best.offer(model, epoch, run.evaluation)
        patience = config.early_stopping_patience
        if not improved and patience and epoch - run.best.epoch >= patience:
            run.stopped_early = True
            break

    return hand_back(run, setup, config, meter, device)


def pick_device(wanted: str = "auto") -> str:
    import torch

    if wanted != "auto":
        if wanted == "cuda" and not torch.cuda.is_available():
            raise FinetuneError("No CUDA GPU is available here; use device 'auto' or 'cpu'.")
        if wanted == "mps" and not torch.backends.mps.is_available():
            raise FinetuneError("Apple MPS is not available here; use device 'auto' or 'cpu'.")
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def planned_evaluations(config: FinetuneConfig, eval_set: Encoded | None) -> int:
    """How many times the loop will evaluate: every epoch, only after the last one, or never."""
    if eval_set is None:
        return 0
    return config.epochs if config.eval_every_epoch else 1


@dataclass
class Setup:
    """The model ready to train and the sentences ready to feed it."""

    config: FinetuneConfig    # as asked, or with [CLS] and a random start for a model that isn't a BERT
    model: Any
    tokenizer: Any
    labels: list[str]
    train_set: Encoded
    eval_set: Encoded | None
    frozen: list              # modules that keep their pretrained numbers and run without dropout
    frozen_layers: int        # transformer layers among them, from the bottom
    total_layers: int
    frozen_ran_once: bool     # their output was computed once, before training
    trainable: int            # numbers that learn


def prepare(config: FinetuneConfig, data: CheckedData, device: str) -> Setup:
    """The pretrained model with its new dense layer, part of it frozen, and the
    sentences tokenized once. Frozen layers of a BERT classifier run now, once."""
    tokenizer = models.load_tokenizer(config.model_id)
    model = models.load_classifier(config.model_id, data.labels)
    if config.start == "random":      # the same code, its numbers drawn at random (seeded by config.seed)
        model = type(model)(model.config)
    model = model.to(device)
    if not is_bert_classifier(model):   # mean pooling and the centroid start are written for BERT's head
        config = replace(config, pooling="cls", head_init="random")
    apply_pooling(model, config.pooling)
    total_layers = len(encoder_layers(model))
    frozen_layers = frozen_layer_count(config.freeze, config.freeze_layers, total_layers)
    trainable = freeze(model, config.freeze, frozen_layers)
    train_set = encode(tokenizer, data.train_texts, data.train_labels, data.labels, config.max_length)
    eval_set = None
    if data.eval_texts:
        eval_set = encode(tokenizer, data.eval_texts, data.eval_labels, data.labels, config.max_length)
    ran_once = can_run_frozen_bottom_once(model, train_set, frozen_layers)
    if ran_once:
        train_set = run_frozen_bottom(model, train_set, frozen_layers, device)
        if eval_set is not None:
            eval_set = run_frozen_bottom(model, eval_set, frozen_layers, device)
    return Setup(config=config, model=model, tokenizer=tokenizer, labels=data.labels, train_set=train_set, eval_set=eval_set,
                 frozen=frozen_bottom(model, frozen_layers), frozen_layers=frozen_layers,
                 total_layers=total_layers, frozen_ran_once=ran_once, trainable=trainable)


def start_from_the_shots(setup: Setup, config: FinetuneConfig, rng: random.Random, device: str,
                         should_stop: Callable[[], bool]) -> None:
    """Optional, before the first epoch: a short contrastive warm-up on pairs of
    training sentences, then the new dense layer started at the class centres."""
    if config.contrastive_passes:
        contrastive_warmup(setup.model, setup.train_set, config.contrastive_passes, config.learning_rate, rng,
                           device, frozen=setup.frozen, should_stop=should_stop)
    if config.head_init == "centroids":
        vectors = sentence_vectors(setup.model, setup.train_set, device)
        init_head_from_centroids(setup.model, vectors, setup.train_set.targets, config.head_scale)


def is_bert_classifier(model) -> bool:
    from transformers import BertForSequenceClassification

    return isinstance(model, BertForSequenceClassification)


def warmup_then_linear_decay(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Learning-rate multiplier per step: 0 -> 1 over the warm-up, then 1 -> 0.
    10 steps, 1 warm-up: step 0 -> 0.0, step 1 -> 1.0, step 5 -> 0.56, step 10 -> 0.0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def make_optimizer(model, config: FinetuneConfig):
    """AdamW (the talk's Adam, with weight decay kept apart from the gradient).
    Biases and LayerNorm scales get no decay, as in BERT's original recipe and HF Trainer.
    With layer_lr_decay below 1, layer k from the top learns at lr x decay^k (the head at lr)."""
    import torch

    groups: dict[tuple[float, float], list] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            decay = 0.0 if p.ndim < 2 else config.weight_decay
            rate = config.learning_rate * config.layer_lr_decay ** layers_below_top(model, name)
            groups.setdefault((decay, rate), []).append(p)
    groups = [{"params": ps, "weight_decay": decay, "lr": rate} for (decay, rate), ps in groups.items()]
    try:   # one fused kernel for all tensors (Trainer's default too); not every device has it
        return torch.optim.AdamW(groups, lr=config.learning_rate, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(groups, lr=config.learning_rate)


def layers_below_top(model, name: str) -> int:
    """0 for the head, pooler and top layer; k for the k-th layer below the top;
    one more than the lowest layer for the embeddings."""
    total = len(encoder_layers(model))
    for part in name.split("."):
        if part.isdigit() and ".layer." in name:
            return total - 1 - int(part)
    return total if "embeddings" in name else 0


def train_step(model, batch: Batch, targets, optimizer, scheduler) -> tuple[float, int]:
    """One batch: forward -> loss -> backward -> AdamW step -> next learning rate.
    Returns (loss, how many of the batch it got right before the update)."""
    import torch
    import torch.nn.functional as F

    logits = logits_of(model, batch)
    loss = F.cross_entropy(logits.float(), targets)
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"The loss became {loss.item()}: the weights blew up. Lower the learning rate "
            f"(it was {max(g['initial_lr'] for g in optimizer.param_groups):g}) and train again."
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # Trainer's default too: one odd batch can't throw the weights far.
    torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
    optimizer.step()
    scheduler.step()
    correct = int((logits.argmax(-1) == targets).sum())
    return loss.item(), correct


@dataclass
class Run:
    """What happened so far: the reports, the best epoch, and why training ended."""

    history: list[EpochReport] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)
    best: BestEpoch = field(default_factory=BestEpoch)
    tally: Tally = field(default_factory=Tally)   # the current (at the end: the last) epoch's training
    evaluation: Evaluation | None = None          # of the weights as they are now; None once they change
    cancelled: bool = False
    stopped_early: bool = False
    diverged: str | None = None


def hand_back(run: Run, setup: Setup, config: FinetuneConfig, meter: Meter, device: str) -> FinetuneResult:
    """The model with the weights worth keeping, and what is known about them.
    After early stopping or a blown-up loss: the best epoch's weights. After a stop
    in the middle of an epoch: the weights as they are (of no epoch). Else the last epoch's."""
    model, eval_set = setup.model, setup.eval_set
    if (run.stopped_early or run.diverged) and run.best.weights is not None:
        restore(model, run.best.weights)
        weights_epoch, evaluation = run.best.epoch, run.best.evaluation
    elif run.diverged or not run.history or (run.cancelled and run.tally.seen):
        weights_epoch, evaluation = None, run.evaluation
    else:
        weights_epoch, evaluation = run.history[-1].epoch, run.evaluation
    run.best.weights = None  # free the copy
    model.eval()
    if evaluation is None and eval_set is not None:
        evaluation = evaluate_encoded(model, eval_set, device)

    warning = chance_warning(evaluation.accuracy if evaluation else None, eval_set.targets if evaluation else [],
                             len(setup.labels), config.learning_rate) if run.history and not run.cancelled else None
    held = next((h for h in run.history if h.epoch == weights_epoch), None)
    if held:
        train_accuracy = held.train_accuracy
    else:
        train_accuracy = run.tally.accuracy if run.tally.seen else None
    return FinetuneResult(
        model=model, tokenizer=setup.tokenizer, labels=setup.labels, config=config,
        history=run.history, steps=run.steps, train_accuracy=train_accuracy,
        eval_accuracy=evaluation.accuracy if evaluation else None,
        eval_loss=evaluation.loss if evaluation else None,
        seconds=meter.seconds, tokens_per_second=meter.tokens_per_second,
        examples_per_second=meter.examples_per_second,
        best_epoch=run.best.epoch if eval_set is not None else None,
        cancelled=run.cancelled, stopped_early=run.stopped_early, diverged=run.diverged, device=device,
        eval_predictions=evaluation.predictions(eval_set, setup.labels) if evaluation else None,
        load_seconds=meter.load_seconds, weights_epoch=weights_epoch,
        trainable_parameters=setup.trainable, total_parameters=sum(p.numel() for p in model.parameters()),
        frozen_layers=setup.frozen_layers, total_layers=setup.total_layers,
        frozen_ran_once=setup.frozen_ran_once, warning=warning,
    )


# Within this many points of what guessing gets, a model has learned nothing usable.
CHANCE_MARGIN = 0.05


def chance_warning(accuracy: float | None, true_labels, label_count: int, learning_rate: float) -> str | None:
    """A sentence when evaluation accuracy is no better than guessing: the bigger of
    1/labels and always answering the commonest label (lr 1 on the demo data: 12.5%
    with 8 balanced labels). None when the model beat that, or without evaluation."""
    if accuracy is None or label_count < 2 or not len(true_labels):
        return None
    counts: dict = {}
    for y in true_labels:
        counts[y] = counts.get(y, 0) + 1
    chance = max(1 / label_count, max(counts.values()) / len(true_labels))
    if accuracy > chance + CHANCE_MARGIN:
        return None
    advice = (f"the learning rate {learning_rate:g} is probably too high; try 5e-5"
              if learning_rate > 1e-3 else "more epochs or a higher learning rate may help")
    return (f"Evaluation accuracy ended at {accuracy:.1%}, no better than guessing ({chance:.1%} with "
            f"{label_count} labels): the model learned nothing usable, and {advice}.")
