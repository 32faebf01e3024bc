"""Chapter 3: fine-tune a pretrained BERT to say why a customer cancelled an order.

The model is the talk's: the pretrained BERT reads the sentence, its summary of
the whole sentence (the hidden state of the [CLS] token, passed through BERT's
pretrained pooler, a dense layer with tanh) goes into ONE new dense layer with
one output per label, and softmax turns those outputs into probabilities. For
the talk's 8 labels on the bundled BERT that new layer is a 384 x 8 matrix plus
8 biases: 3,080 new numbers on top of 22.7 million pretrained ones.
`transformers.AutoModelForSequenceClassification` builds exactly that, through
`core.models.load_classifier`.

Fine-tuning is then the same loop as FizzBuzz in chapter 1, on one screen
(`finetune` below): data -> batches (padded per batch, to the longest sentence
in it, not to a fixed 64) -> forward -> loss (cross-entropy) -> backward ->
AdamW step -> learning rate schedule (warm up, then decay linearly to zero) ->
evaluate on sentences the model never trained on -> report. The only additions
are the hooks a live page needs: `on_step` / `on_epoch` callbacks and a
`should_stop` flag that is checked before every step.

Training accuracy in the reports is measured the way the talk's progress bar
measures it: on each batch just before the weights change, averaged over the
epoch. It runs ahead of evaluation accuracy on unseen sentences (talk: 98% vs
90%); the gap is the lesson.

Usage from a page (one worker thread, see ENGINEERING.md):

    result = finetune(train, eval, FinetuneConfig(epochs=4),
                      on_step=job.add_step, on_epoch=job.add_epoch,
                      should_stop=job.stop_event.is_set)
    predict_proba(result.model, result.tokenizer, ["too expensive"], result.labels)
    # -> [{"price": 0.93, "credit": 0.01, ...}]

From a shell: `python -m core.finetune --json` (see `main`).

torch and transformers are imported inside functions, never at import time.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from core import models

FREEZE_CHOICES = ("none", "embeddings", "encoder")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


# ---------------------------------------------------------------- settings & reports


@dataclass
class FinetuneConfig:
    """Every knob of one fine-tune. The defaults are the demo settings, chosen on the
    shipped evaluation set (never on challenge.csv): 4 epochs at 2e-4, with the
    embeddings and the lower half of the bundled BERT (3 of 6 layers) frozen, reach
    96.3% evaluation accuracy with seeds 0, 1 and 2 in ~9 s of training on a 2-core
    CPU; figures and timings: benchmarks/finetune_demo.py, benchmarks/FINETUNE.md."""

    model_id: str = models.BUNDLED
    epochs: int = 4
    batch_size: int = 16          # the talk's choice: smaller batches generalised better
    learning_rate: float = 2e-4   # AdamW's step size at the top of the schedule
    warmup_ratio: float = 0.1     # first 10% of steps: learning rate climbs from 0
    weight_decay: float = 0.01
    max_length: int = 64          # longer sentences are cut; batches pad only to their longest
    seed: int = 0
    freeze: str = "embeddings"    # "none" | "embeddings" (token table etc.) | "encoder" (train only the head)
    freeze_layers: int = 3        # with freeze="embeddings": the lowest N transformer layers stay pretrained too
    early_stopping_patience: int | None = None  # stop after N epochs without better eval accuracy
    device: str = "auto"          # "auto" = CUDA, else Apple MPS, else CPU
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
            "device": self.device,
            "trainable_parameters": self.trainable_parameters,
            "total_parameters": self.total_parameters,
            "frozen_layers": self.frozen_layers,
            "config": asdict(self.config),
            "history": [asdict(h) for h in self.history],
        }


# ---------------------------------------------------------------- data -> numbers


@dataclass
class Batch:
    """One batch, padded to its longest sentence. Either token ids for the whole
    model, or (when the bottom of BERT is frozen, see `run_frozen_bottom`) the
    hidden states the frozen layers already produced, where training starts."""

    mask: Any                  # 1 = a real token, 0 = padding
    ids: Any = None            # (batch, tokens) vocabulary ids
    hidden: Any = None         # or (batch, tokens, hidden size), entering layer `start_layer`
    start_layer: int = 0


@dataclass
class Encoded:
    """Sentences tokenized once, up front (re-tokenizing every epoch is wasted work):
    token ids per sentence, unpadded, and the label index of each. After
    `run_frozen_bottom` also each sentence's hidden states above the frozen layers."""

    texts: list[str]
    ids: list[list[int]]
    targets: list[int]
    pad_id: int = 0
    hidden: list | None = None   # per sentence: (its tokens, hidden size), computed once
    start_layer: int = 0         # the first layer that still has to run on `hidden`

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, rows: Sequence[int], device: str = "cpu") -> Batch:
        """The sentences at `rows`, padded together and moved to `device`."""
        ids, mask = pad_batch([self.ids[i] for i in rows], self.pad_id)
        if self.hidden is None:
            return Batch(mask=mask.to(device), ids=ids.to(device))
        return Batch(mask=mask.to(device), hidden=pad_hidden([self.hidden[i] for i in rows]),
                     start_layer=self.start_layer)


def texts_and_labels(data) -> tuple[list[str], list[str]]:
    """Accept a LabelledTexts-like object (.texts, .labels) or a (texts, labels) pair."""
    if hasattr(data, "texts") and hasattr(data, "labels"):
        texts, labels = data.texts, data.labels
    else:
        texts, labels = data
    texts, labels = [str(t) for t in texts], [str(y) for y in labels]
    if len(texts) != len(labels):
        raise FinetuneError(f"{len(texts)} sentences but {len(labels)} labels: every sentence needs one label.")
    return texts, labels


def label_names(data, labels: Sequence[str]) -> list[str]:
    """The model's outputs, in order: the dataset's own label list if it has one,
    else the labels sorted by name (deterministic for any file)."""
    declared = getattr(data, "label_names", None) or getattr(data, "names", None)
    if declared:
        return [str(n) for n in declared]
    return sorted(set(labels))


def check_data(train, eval=None) -> tuple[list[str], list[str], list[str], list[str] | None, list[str] | None]:
    """(train_texts, train_labels, label_names, eval_texts, eval_labels), or a
    FinetuneError saying in one sentence what is wrong."""
    train_texts, train_y = texts_and_labels(train)
    if not train_texts:
        raise FinetuneError("The training data has no sentences.")
    labels = label_names(train, train_y)
    unknown = sorted(set(train_y) - set(labels))
    if unknown:
        raise FinetuneError(f"Training labels {unknown} are not in the dataset's label list.")
    if len(set(train_y)) < 2:
        raise FinetuneError("The training data has only one label; a classifier needs at least two.")
    if eval is None:
        return train_texts, train_y, labels, None, None
    eval_texts, eval_y = texts_and_labels(eval)
    if not eval_texts:
        raise FinetuneError("The evaluation data has no sentences.")
    missing = sorted(set(eval_y) - set(train_y))
    if missing:
        raise FinetuneError(
            f"The evaluation data has labels the training data never shows: {', '.join(missing)}. "
            "The model can't learn a label it never sees."
        )
    return train_texts, train_y, labels, eval_texts, eval_y


def encode(tokenizer, texts: Sequence[str], labels: Sequence[str], label_list: Sequence[str],
           max_length: int) -> Encoded:
    """'The price is outrageous' -> [101, 1996, 3976, 2003, 25506, 102] ([CLS] ... [SEP]), no padding yet."""
    index = {name: i for i, name in enumerate(label_list)}
    ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"] if texts else []
    return Encoded(list(texts), [list(x) for x in ids], [index[y] for y in labels],
                   tokenizer.pad_token_id or 0)


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int):
    """Pad to the longest sentence IN THIS BATCH: 16 sentences of ~12 tokens cost
    16 x 12, not 16 x 64. The attention mask tells BERT which positions are real."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def pad_hidden(rows: Sequence):
    """Stack per-sentence hidden states (tokens x hidden size) into one zero-padded tensor."""
    import torch

    width = max(r.shape[0] for r in rows)
    out = rows[0].new_zeros((len(rows), width, rows[0].shape[1]))
    for i, row in enumerate(rows):
        out[i, : row.shape[0]] = row
    return out


def shuffled_batches(lengths: Sequence[int], batch_size: int, rng: random.Random, group: int = 8) -> list[list[int]]:
    """A fresh random order every epoch, cut into batches (48 rows, batch 16 -> 3 steps),
    with one twist for speed: within each random group of 8 batches, sentences of
    similar length go together, so a batch pads less. On the shipped 400 sentences
    (5 to 24 tokens) that cuts the padded tokens per epoch from ~7,700 to ~5,000."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * group):
        chunk = sorted(order[start: start + batch_size * group], key=lambda i: lengths[i])
        batches += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


# ---------------------------------------------------------------- model plumbing


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


BF16_DEVICES: tuple[str, ...] = ()   # devices where bf16 autocast was MEASURED to help: none so far


def autocast(device: str):
    """bf16 autocast only on devices where it was measured to help, else full fp32.
    On this project's CPU bf16 made steps slower (batch 16 x 16: 183 -> 232 ms
    for the whole model; ~20x slower for the upper layers alone), and no GPU was
    available to measure CUDA, so the list is empty: add "cuda" after measuring
    (benchmarks/finetune_demo.py on the GPU machine)."""
    import contextlib

    import torch

    if device in BF16_DEVICES:
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def encoder_layers(model) -> list:
    """BERT's stack of transformer layers, bottom first (6 in the bundled model); [] if unknown."""
    base = model.base_model
    stack = getattr(base, "encoder", None) or getattr(base, "transformer", None)
    return list(getattr(stack, "layer", None) or [])


def frozen_layer_count(model, what: str, layers: int = 0) -> int:
    """How many transformer layers, from the bottom, `freeze(model, what, layers)` keeps
    as pretrained. With "embeddings" at least the top layer always learns."""
    total = len(encoder_layers(model))
    if what == "encoder":
        return total
    if what == "embeddings":
        return max(0, min(layers, total - 1))
    return 0


def describe_freeze(config: "FinetuneConfig") -> str:
    """'embeddings + 2 lowest layers' - what stays as pretrained, in words."""
    if config.freeze == "embeddings" and config.freeze_layers:
        return f"embeddings + {config.freeze_layers} lowest layer{'s' if config.freeze_layers > 1 else ''}"
    return config.freeze


def frozen_bottom(model, what: str, layers: int = 0) -> list:
    """The frozen modules under the first layer that learns (empty when no layer is frozen)."""
    count = frozen_layer_count(model, what, layers)
    if count == 0:
        return []
    return [model.base_model.embeddings, *encoder_layers(model)[:count]]


def freeze(model, what: str, layers: int = 0) -> int:
    """Stop gradients for part of the model; returns how many numbers still train.
    "embeddings": the token table (11.7M of the bundled model's 22.7M numbers) and
    position table stay as pretrained, and so do the lowest `layers` transformer
    layers (3 by default: 5.3M more; the 3 layers above learn). "encoder":
    everything pretrained stays; only the new dense layer learns (what the seed
    articles call 'train only the head')."""
    if what == "encoder":
        frozen = [model.base_model]
    elif what == "embeddings":
        frozen = frozen_bottom(model, what, layers) or [model.base_model.embeddings]
    else:
        frozen = []
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_mode(model, frozen: Sequence = ()) -> None:
    """Dropout on for the layers that learn; frozen layers are a fixed feature
    extractor, so they run as in evaluation (no dropout): the same numbers every epoch."""
    model.train()
    for module in frozen:
        module.eval()


# ---------------------------------------------------------------- frozen layers run once

REPLAY_BUDGET_BYTES = 256 * 2**20   # keep at most this much of frozen-layer output in memory


def can_run_frozen_bottom_once(model, data: "Encoded", layers: int) -> bool:
    """Frozen layers can be run once, up front, for a BERT classifier whose frozen output
    fits the memory budget. (Other architectures still train correctly, running every layer every step.)"""
    from transformers import BertForSequenceClassification

    if layers < 1 or not isinstance(model, BertForSequenceClassification) or model.bert.pooler is None:
        return False
    tokens = sum(len(ids) for ids in data.ids)
    return tokens * model.config.hidden_size * 4 <= REPLAY_BUDGET_BYTES


def padding_blocker(mask, dtype):
    """Added to the attention scores: 0 for real tokens, a huge negative number for
    padding, so after softmax no token pays any attention to padding."""
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def through_layers(layers: Sequence, hidden, mask):
    """Hidden states through transformer layers, every token of every sentence."""
    blocked = padding_blocker(mask, hidden.dtype)
    for layer in layers:
        hidden = layer(hidden, blocked)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return hidden


def top_layer_for_cls(layer, hidden, mask):
    """The pooler reads only [CLS], so the top layer only has to finish [CLS]: every
    token still offers a key and a value, but only [CLS] asks a query and goes through
    the feed-forward part. Same numbers for [CLS], about a fifth of the layer's work."""
    import torch.nn.functional as F

    attention = layer.attention.self

    def by_head(x):  # (batch, tokens, hidden) -> (batch, heads, tokens, head size)
        return x.view(x.shape[0], x.shape[1], -1, attention.attention_head_size).transpose(1, 2)

    query = by_head(attention.query(hidden[:, :1]))
    key, value = by_head(attention.key(hidden)), by_head(attention.value(hidden))
    context = F.scaled_dot_product_attention(
        query, key, value, attn_mask=padding_blocker(mask, hidden.dtype),
        dropout_p=attention.dropout.p if attention.training else 0.0, scale=attention.scaling)
    context = context.transpose(1, 2).reshape(hidden.shape[0], 1, -1)
    attended = layer.attention.output(context, hidden[:, :1])      # dense, dropout, add & LayerNorm
    return layer.output(layer.intermediate(attended), attended)     # feed-forward, add & LayerNorm


def run_frozen_bottom(model, data: Encoded, layers: int, device: str, batch_size: int = 64) -> Encoded:
    """Frozen layers turn a sentence into the same numbers in every epoch, so compute
    them once: the embeddings and the lowest `layers` layers, for every sentence, kept
    unpadded. Each training step then starts at layer `layers` + 1: with 3 of the
    bundled model's 6 layers frozen, one step of batch 16 takes ~75 ms instead of ~160 ms."""
    import dataclasses

    import torch

    base = model.base_model
    hidden: list = [None] * len(data)
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            rows = order[start: start + batch_size]
            ids, mask = pad_batch([data.ids[i] for i in rows], data.pad_id)
            ids, mask = ids.to(device), mask.to(device)
            states = through_layers(encoder_layers(model)[:layers], base.embeddings(input_ids=ids), mask)
            for j, i in enumerate(rows):
                hidden[i] = states[j, : len(data.ids[i])].clone()
    model.train(was_training)
    return dataclasses.replace(data, hidden=hidden, start_layer=layers)


def rest_of_bert(model, batch: Batch):
    """BERT from layer `start_layer` up: the remaining layers (the top one for [CLS]
    only), the pooler on [CLS] (dense + tanh), dropout, and the new dense layer:
    the same logits as `model(...)` gives."""
    layers, hidden = encoder_layers(model)[batch.start_layer:], batch.hidden
    if layers:
        hidden = top_layer_for_cls(layers[-1], through_layers(layers[:-1], hidden, batch.mask), batch.mask)
    return model.classifier(model.dropout(model.base_model.pooler(hidden)))


def logits_of(model, batch: Batch):
    """One score per label for every sentence in the batch."""
    if batch.hidden is not None:
        return rest_of_bert(model, batch)
    return model(input_ids=batch.ids, attention_mask=batch.mask).logits


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
    Biases and LayerNorm scales get no decay, as in BERT's original recipe and HF Trainer."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    try:   # one fused kernel for all tensors: ~5% faster steps on CPU, more on GPUs (Trainer's default too)
        return torch.optim.AdamW(groups, lr=config.learning_rate, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(groups, lr=config.learning_rate)


class BestEpoch:
    """The epoch with the best evaluation accuracy so far (ties: lower evaluation
    loss; without evaluation: simply the latest), with a copy of its weights, so
    early stopping and a blown-up loss can go back to it."""

    def __init__(self):
        self.epoch: int | None = None
        self.score = (-1.0, -math.inf)        # (accuracy, -loss): bigger is better
        self.weights: dict | None = None
        self.evaluation = None

    def offer(self, model, epoch: int, evaluation) -> bool:
        score = (evaluation[1], -evaluation[0]) if evaluation else None
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


# ---------------------------------------------------------------- the loop


def train_step(model, batch: Batch, targets, optimizer, scheduler, device: str) -> tuple[float, int]:
    """One batch: forward -> loss -> backward -> AdamW step -> next learning rate.
    Returns (loss, how many of the batch it got right before the update)."""
    import torch
    import torch.nn.functional as F

    with autocast(device):
        logits = logits_of(model, batch)
    loss = F.cross_entropy(logits.float(), targets)
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"The loss became {loss.item()}: the weights blew up. Lower the learning rate "
            f"(it was {optimizer.param_groups[0]['initial_lr']:g}) and train again."
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # Trainer's default too: one odd batch can't throw the weights far.
    torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
    optimizer.step()
    scheduler.step()
    correct = int((logits.argmax(-1) == targets).sum())
    return loss.item(), correct


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
    train_texts, train_y, labels, eval_texts, eval_y = check_data(train, eval)
    started = time.perf_counter()
    device = pick_device(config.device)

    # Data and model. The seed fixes the new layer's random start, the dropout and the order of batches.
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tokenizer = models.load_tokenizer(config.model_id)
    model = models.load_classifier(config.model_id, labels).to(device)
    trainable = freeze(model, config.freeze, config.freeze_layers)
    frozen = frozen_bottom(model, config.freeze, config.freeze_layers)
    train_set = encode(tokenizer, train_texts, train_y, labels, config.max_length)
    eval_set = encode(tokenizer, eval_texts, eval_y, labels, config.max_length) if eval_texts else None
    frozen_count = frozen_layer_count(model, config.freeze, config.freeze_layers)
    frozen_ran_once = can_run_frozen_bottom_once(model, train_set, frozen_count)
    if frozen_ran_once:   # frozen layers: once, not every epoch
        train_set = run_frozen_bottom(model, train_set, frozen_count, device)
        if eval_set is not None:
            eval_set = run_frozen_bottom(model, eval_set, frozen_count, device)
    lengths = [len(ids) for ids in train_set.ids]
    load_seconds = time.perf_counter() - started

    # Loss, optimizer, schedule.
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    optimizer = make_optimizer(model, config)
    schedule = warmup_then_linear_decay(total_steps, round(config.warmup_ratio * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    history: list[EpochReport] = []
    steps: list[StepReport] = []
    best = BestEpoch()
    cancelled = stopped_early = False
    diverged = None
    examples = tokens = step = 0
    train_seconds = eval_seconds = 0.0
    last_evaluation = None   # evaluation of the weights as they are now (None once they change)
    t0 = time.perf_counter()

    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        train_mode(model, frozen)
        loss_sum = correct = seen = 0.0
        for rows in shuffled_batches(lengths, config.batch_size, rng):
            if should_stop():
                cancelled = True
                break
            tick = time.perf_counter()
            batch = train_set.batch(rows, device)
            targets = torch.tensor([train_set.targets[i] for i in rows], device=device)
            learning_rate = scheduler.get_last_lr()[0]
            try:
                loss, right = train_step(model, batch, targets, optimizer, scheduler, device)
            except TrainingDiverged as blew_up:
                diverged = str(blew_up)
                break
            last_evaluation = None
            step += 1
            examples += len(rows)
            tokens += int(batch.mask.sum())
            train_seconds += time.perf_counter() - tick
            loss_sum, correct, seen = loss_sum + loss * len(rows), correct + right, seen + len(rows)
            report = StepReport(
                epoch=epoch, step=step, total_steps=total_steps, loss=loss, accuracy=right / len(rows),
                learning_rate=learning_rate, examples_per_second=examples / train_seconds,
                tokens_per_second=tokens / train_seconds, elapsed=time.perf_counter() - t0,
                eta=_eta(step, total_steps, train_seconds, eval_seconds, epoch, config, eval_set),
            )
            steps.append(report)
            if on_step:
                on_step(report)
        if cancelled or diverged or seen == 0:
            break

        # Evaluate on sentences the model never trained on.
        evaluation = None
        if eval_set is not None and (config.eval_every_epoch or epoch == config.epochs):
            tick = time.perf_counter()
            evaluation = last_evaluation = evaluate_encoded(model, eval_set, device)
            eval_seconds += time.perf_counter() - tick
        report = EpochReport(
            epoch=epoch, train_loss=loss_sum / seen, train_accuracy=correct / seen,
            eval_loss=evaluation[0] if evaluation else None, eval_accuracy=evaluation[1] if evaluation else None,
            elapsed=time.perf_counter() - t0, seconds=time.perf_counter() - epoch_start,
        )
        history.append(report)
        if on_epoch:
            on_epoch(report)

        # Early stopping: after `patience` epochs without beating the best one, go back to it.
        if not best.offer(model, epoch, evaluation) and config.early_stopping_patience \
                and epoch - best.epoch >= config.early_stopping_patience:
            stopped_early = True
            break

    # Which weights to hand back: the best epoch's after early stopping or a blow-up, else the latest.
    weights_epoch = history[-1].epoch if history and not (cancelled and seen) and not diverged else None
    if (stopped_early or diverged) and best.weights is not None:
        restore(model, best.weights)
        weights_epoch, last_evaluation = best.epoch, best.evaluation
    best.weights = None  # free the copy
    model.eval()

    evaluation = last_evaluation or (evaluate_encoded(model, eval_set, device) if eval_set is not None else None)
    held = next((h for h in history if h.epoch == weights_epoch), None)
    return FinetuneResult(
        model=model, tokenizer=tokenizer, labels=labels, config=config, history=history, steps=steps,
        train_accuracy=held.train_accuracy if held else (correct / seen if seen else None),
        eval_accuracy=evaluation[1] if evaluation else None,
        eval_loss=evaluation[0] if evaluation else None,
        seconds=time.perf_counter() - started,
        tokens_per_second=tokens / train_seconds if train_seconds else 0.0,
        examples_per_second=examples / train_seconds if train_seconds else 0.0,
        best_epoch=best.epoch if eval_set is not None else None, cancelled=cancelled, stopped_early=stopped_early, diverged=diverged,
        device=device, load_seconds=load_seconds, weights_epoch=weights_epoch,
        trainable_parameters=trainable, total_parameters=sum(p.numel() for p in model.parameters()),
        frozen_layers=frozen_count, total_layers=len(encoder_layers(model)), frozen_ran_once=frozen_ran_once,
        eval_predictions=EvalPredictions(
            texts=eval_set.texts, y_true=[labels[i] for i in eval_set.targets],
            y_pred=[labels[i] for i in evaluation[2]], confidence=evaluation[3],
        ) if evaluation else None,
    )


def _eta(step, total_steps, train_seconds, eval_seconds, epoch, config, eval_set) -> float:
    """Seconds left: the average step so far times the steps left, plus evaluations to come."""
    left = (total_steps - step) * train_seconds / step
    if eval_set is not None and epoch > 1 and config.eval_every_epoch:
        left += eval_seconds / (epoch - 1) * (config.epochs - epoch + 1)
    return left


# ---------------------------------------------------------------- using the model


def evaluate_encoded(model, data: Encoded, device: str | None = None, batch_size: int = 64):
    """(mean loss, accuracy, predicted label index per row, confidence per row).
    Sorted by length so each batch pads little; no gradients, dropout off."""
    import torch
    import torch.nn.functional as F

    device = device or str(next(model.parameters()).device)
    was_training = model.training
    model.eval()
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    predicted, confidence = [0] * len(data), [0.0] * len(data)
    loss_sum = 0.0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start: start + batch_size]
            with autocast(device):
                logits = logits_of(model, data.batch(rows, device)).float()
            if data.targets:
                targets = torch.tensor([data.targets[i] for i in rows], device=logits.device)
                loss_sum += float(F.cross_entropy(logits, targets, reduction="sum"))
            probs = logits.softmax(-1)
            best_prob, best_index = probs.max(-1)
            for row, p, c in zip(rows, best_index.tolist(), best_prob.tolist()):
                predicted[row], confidence[row] = p, c
    model.train(was_training)
    if not data.targets:
        return None, None, predicted, confidence
    right = sum(p == t for p, t in zip(predicted, data.targets))
    return loss_sum / len(data), right / len(data), predicted, confidence


def evaluate(model, tokenizer, data, labels: Sequence[str], max_length: int = 64,
             batch_size: int = 64) -> tuple[float, float, list[str]]:
    """(loss, accuracy, predicted label names) of a model on labelled data: the
    talk's Axon evaluator run on a different CSV."""
    texts, y = texts_and_labels(data)
    unknown = sorted(set(y) - set(labels))
    if unknown:
        raise FinetuneError(f"The data has labels this model doesn't know: {', '.join(unknown)}.")
    loss, accuracy, predicted, _ = evaluate_encoded(
        model, encode(tokenizer, texts, y, labels, max_length), batch_size=batch_size)
    return loss, accuracy, [labels[i] for i in predicted]


def predict_proba(model, tokenizer, texts: Sequence[str], labels: Sequence[str],
                  max_length: int = 64) -> list[dict[str, float]]:
    """One {label: probability} per sentence, probabilities summing to 1 (softmax):
    predict_proba(..., ["the price is outrageous"], labels)[0]["price"] -> e.g. 0.94."""
    import torch

    texts = [str(t) for t in texts]
    if not texts:
        return []
    device = str(next(model.parameters()).device)
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    was_training = model.training
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(ids), 64):
            batch, mask = pad_batch(ids[start: start + 64], tokenizer.pad_token_id or 0)
            logits = model(input_ids=batch.to(device), attention_mask=mask.to(device)).logits.float()
            for row in logits.softmax(-1).tolist():
                out.append({name: p for name, p in zip(labels, row)})
    model.train(was_training)
    return out


# ---------------------------------------------------------------- command line


def _parse_args(argv):
    import argparse

    defaults = FinetuneConfig()
    parser = argparse.ArgumentParser(
        prog="python -m core.finetune",
        description="Fine-tune a BERT to classify why customers cancelled (the shipped data unless --train is given).",
    )
    parser.add_argument("--train", help="training CSV (label and text columns); default: the shipped train.csv")
    parser.add_argument("--eval", help="evaluation CSV; default: the shipped eval.csv (or a split of --train)")
    parser.add_argument("--model", default=defaults.model_id, help="registry id, hub id or model folder")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="peak learning rate")
    parser.add_argument("--warmup", type=float, default=defaults.warmup_ratio, help="warm-up fraction of the steps")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--max-length", type=int, default=defaults.max_length)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--freeze", choices=FREEZE_CHOICES, default=defaults.freeze,
                        help="keep as pretrained: none, the embeddings (plus --freeze-layers), or the whole encoder")
    parser.add_argument("--freeze-layers", type=int, default=defaults.freeze_layers, metavar="N",
                        help="with --freeze embeddings: also keep the lowest N transformer layers")
    parser.add_argument("--early-stopping", type=int, default=None, metavar="EPOCHS",
                        help="stop after this many epochs without better evaluation accuracy")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=defaults.device)
    parser.add_argument("--output", help="write the fine-tuned model folder here (safetensors, config, tokenizer, labels)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout; progress goes to stderr")
    return parser.parse_args(argv)


def _load_data(args):
    """(train, eval) as LabelledTexts: shipped files unless paths are given; an
    --train without --eval is split (stratified) into train and evaluation parts."""
    from core import datasets

    train = datasets.read_csv(args.train) if args.train else datasets.load_shipped("train")
    if args.eval:
        eval = datasets.read_csv(args.eval)
    elif args.train:
        train, eval = datasets.stratified_split(train, seed=args.seed)
    else:
        eval = datasets.load_shipped("eval")
    return datasets.align_labels(train, eval)


def _say(out, text: str) -> None:
    print(text, file=out, flush=True)


def main(argv=None) -> int:
    """`python -m core.finetune --json` -> one JSON object; errors -> one line on stderr, exit 2."""
    import json
    import os
    import signal
    import threading

    args = _parse_args(argv)
    out = sys.stderr if args.json else sys.stdout
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    previous_handler = signal.getsignal(signal.SIGINT)
    try:
        train, eval = _load_data(args)         # bad files fail fast, before torch is imported
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()       # no "newly initialized weights" table
        hf_logging.disable_progress_bar()
        from core import model_io

        config = FinetuneConfig(
            model_id=args.model, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
            warmup_ratio=args.warmup, weight_decay=args.weight_decay, max_length=args.max_length,
            seed=args.seed, freeze=args.freeze, freeze_layers=args.freeze_layers, early_stopping_patience=args.early_stopping, device=args.device,
        )
        problems = config.problems()
        if problems:
            raise FinetuneError(problems[0])
        epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
        _say(out, f"Fine-tuning {config.model_id} on {len(train.texts)} sentences, "
                  f"evaluating on {len(eval.texts)} ({epochs}, batch {config.batch_size}, "
                  f"lr {config.learning_rate:g}, freeze {describe_freeze(config)}). "
                  "Ctrl-C stops and keeps what was learned.")

        # First Ctrl-C: stop after the current step, keep the result; a second one quits.
        stop = threading.Event()

        def on_interrupt(*_):
            stop.set()
            signal.signal(signal.SIGINT, signal.SIG_DFL)

        signal.signal(signal.SIGINT, on_interrupt)

        def on_epoch(e: EpochReport) -> None:
            evaluated = (f"  eval loss {e.eval_loss:.3f} acc {e.eval_accuracy:6.1%}"
                         if e.eval_accuracy is not None else "")
            _say(out, f"epoch {e.epoch:>2}/{config.epochs}  train loss {e.train_loss:.3f} "
                      f"acc {e.train_accuracy:6.1%}{evaluated}  {e.seconds:5.1f} s")

        result = finetune(train, eval, config, on_epoch=on_epoch, should_stop=stop.is_set)
        summary = result.summary()
        summary.update(train_examples=len(train.texts), eval_examples=len(eval.texts))
        if args.output:
            summary["output"] = str(model_io.save_model_folder(result, args.output))
        for note in (result.diverged,
                     "Stopped by Ctrl-C; the model keeps what it learned." if result.cancelled else None,
                     f"Early stopping: kept epoch {result.weights_epoch}." if result.stopped_early else None):
            if note:
                _say(out, note)
        if args.json:
            print(json.dumps(summary))
        else:
            _say(out, f"train accuracy {result.train_accuracy:.1%}  eval accuracy {result.eval_accuracy:.1%}  "
                      f"({result.seconds:.1f} s, {result.tokens_per_second:,.0f} tokens/s on {result.device})"
                      if result.eval_accuracy is not None else f"done in {result.seconds:.1f} s")
            if args.output:
                _say(out, f"saved to {summary['output']}")
        return 3 if result.diverged else 0
    except Exception as error:  # noqa: BLE001 - the CLI promises one line, never a traceback
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        known = type(error).__name__ in {"FinetuneError", "DatasetError", "ModelUnavailable", "ModelZipError"}
        print(f"error: {message}" if known else f"error ({type(error).__name__}): {message}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, previous_handler)


if __name__ == "__main__":
    sys.exit(main())
