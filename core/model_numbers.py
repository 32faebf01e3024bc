"""Chapter 6: a model is code plus numbers.

The interview: you "serialize your parameter map", keep "the definition of your
model, which is just code", and pass the trained parameters into the prediction
function. This module takes a model apart that way:

    layer_table(model)                 every tensor: name, shape, how many numbers, bytes
    total_numbers(rows)                the sum, equal to the model's parameter count
    changes_from(finetuned, pretrained)  per tensor: how many numbers the fine-tune moved, and how far
    by_block(changes)                  the same per block (embeddings, layer 0..N-1, pooler, new head)
    same_code_random_numbers(model, seed)  the same architecture with fresh random numbers
    predict_both(...)                  the same sentences through both

torch is imported inside functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

CHANGED_ABOVE = 1e-7    # a number counts as changed when it moved more than this (float32 noise is far smaller)


@dataclass(frozen=True)
class TensorRow:
    name: str             # e.g. "bert.encoder.layer.0.attention.self.query.weight"
    shape: tuple[int, ...]
    numbers: int          # product of the shape
    bytes: int            # numbers x bytes per number (4 for float32)
    dtype: str


def layer_table(model) -> list[TensorRow]:
    """Every parameter tensor of `model`, in the model's own order. The numbers add
    up to sum(p.numel() for p in model.parameters()): nothing hidden."""
    rows = []
    for name, tensor in model.named_parameters():
        rows.append(TensorRow(name=name, shape=tuple(tensor.shape), numbers=int(tensor.numel()),
                              bytes=int(tensor.numel() * tensor.element_size()),
                              dtype=str(tensor.dtype).removeprefix("torch.")))
    return rows


def total_numbers(rows: Sequence[TensorRow]) -> int:
    return sum(row.numbers for row in rows)


def total_bytes(rows: Sequence[TensorRow]) -> int:
    return sum(row.bytes for row in rows)


def block_of(name: str) -> str:
    """Which part of a BERT a tensor belongs to: 'embeddings', 'layer 3', 'pooler',
    'new head' (the dense layer the fine-tune added) or 'other'."""
    found = re.search(r"encoder\.layer\.(\d+)\.", name)
    if found:
        return f"layer {found.group(1)}"
    if "embeddings." in name:
        return "embeddings"
    if "pooler." in name:
        return "pooler"
    if name.startswith(("classifier.", "score.")):
        return "new head"
    return "other"


@dataclass(frozen=True)
class TensorChange:
    name: str
    block: str
    numbers: int
    changed: int                  # numbers that moved more than CHANGED_ABOVE (all of them for a new tensor)
    mean_abs_change: float | None  # average |fine-tuned - pretrained|; None for a new tensor
    max_abs_change: float | None
    relative_change: float | None  # ||change|| / ||pretrained||: 0.01 = moved by 1% of its size
    new: bool                      # no pretrained value to compare with (the new head)


def _pretrained_name(name: str, pretrained_names: set[str]) -> str | None:
    """The classifier's 'bert.encoder.layer.0...' is the plain encoder's 'encoder.layer.0...'."""
    if name in pretrained_names:
        return name
    bare = name.split(".", 1)[1] if "." in name else name
    return bare if bare in pretrained_names else None


def changes_from(finetuned, pretrained) -> list[TensorChange]:
    """Per tensor of `finetuned`, how far its numbers are from `pretrained`'s (a model or
    a state dict). A tensor with no pretrained counterpart of the same shape is new."""
    import torch

    before = pretrained.state_dict() if hasattr(pretrained, "state_dict") else dict(pretrained)
    names = set(before)
    out = []
    with torch.no_grad():
        for name, tensor in finetuned.named_parameters():
            match = _pretrained_name(name, names)
            old = before.get(match) if match else None
            if old is None or tuple(old.shape) != tuple(tensor.shape):
                out.append(TensorChange(name, block_of(name), int(tensor.numel()), int(tensor.numel()),
                                        None, None, None, True))
                continue
            delta = (tensor.detach().float().cpu() - old.detach().float().cpu()).abs()
            size = float(old.float().norm())
            out.append(TensorChange(
                name=name, block=block_of(name), numbers=int(tensor.numel()),
                changed=int((delta > CHANGED_ABOVE).sum()), mean_abs_change=float(delta.mean()),
                max_abs_change=float(delta.max()),
                relative_change=float(delta.norm()) / size if size > 0 else None, new=False))
    return out


@dataclass(frozen=True)
class BlockChange:
    block: str
    numbers: int
    changed: int
    mean_abs_change: float | None   # over the block's compared (not new) numbers
    new: bool

    @property
    def changed_share(self) -> float:
        return self.changed / self.numbers if self.numbers else 0.0


def by_block(changes: Sequence[TensorChange]) -> list[BlockChange]:
    """Changes summed per block, in model order (embeddings first, the new head last)."""
    order: dict[str, list[TensorChange]] = {}
    for change in changes:
        order.setdefault(change.block, []).append(change)
    out = []
    for block, members in order.items():
        compared = [m for m in members if not m.new]
        weight = sum(m.numbers for m in compared)
        mean = sum(m.mean_abs_change * m.numbers for m in compared) / weight if weight else None
        out.append(BlockChange(block, sum(m.numbers for m in members), sum(m.changed for m in members), mean,
                               new=not compared))
    return out


def changed_summary(changes: Sequence[TensorChange]) -> dict:
    """The headline: how many numbers the fine-tune moved, of how many, and how many it added."""
    total = sum(c.numbers for c in changes)
    added = sum(c.numbers for c in changes if c.new)
    moved = sum(c.changed for c in changes if not c.new)
    kept = total - added - moved
    return {"total": total, "added": added, "moved": moved, "kept": kept,
            "moved_share": moved / (total - added) if total > added else 0.0}


def same_code_random_numbers(model, seed: int = 0):
    """A fresh model of exactly `model`'s class and config (the code), with random
    numbers in place of the trained ones. `model` is not touched."""
    import torch

    torch.manual_seed(seed)
    fresh = type(model)(model.config)
    return fresh.eval()


def predict_labels(model, tokenizer, labels: Sequence[str], texts: Sequence[str]) -> list[tuple[str, float]]:
    """(label, confidence) per sentence, one batch."""
    from core.serve.prediction import predict_batch

    return [(p.label, p.confidences[p.label]) for p in predict_batch(model, tokenizer, labels, texts)]


@dataclass(frozen=True)
class SideBySide:
    texts: list[str]
    trained: list[tuple[str, float]]    # the trained numbers' answers
    random: list[tuple[str, float]]     # the same code with random numbers
    truth: list[str | None]


def predict_both(model, tokenizer, labels: Sequence[str], texts: Sequence[str],
                 truth: Sequence[str | None] | None = None, seed: int = 0) -> SideBySide:
    """The same sentences through the trained model and through the same code with random numbers."""
    texts = list(texts)
    random_model = same_code_random_numbers(model, seed)
    if hasattr(model.config, "classifier_pooling"):        # chapter 3's mean pooling is a hook, not config
        from core.finetune.pooling import apply_pooling

        apply_pooling(random_model, model.config.classifier_pooling)
    return SideBySide(texts, predict_labels(model, tokenizer, labels, texts),
                      predict_labels(random_model, tokenizer, labels, texts),
                      list(truth) if truth is not None else [None] * len(texts))


def centroid_classifier(train_texts: Sequence[str], train_labels: Sequence[str], model_id: str | None = None):
    """(model, tokenizer, labels): the pretrained BERT with its new dense layer set to
    the class centres of `train_texts` (mean pooling), no training step at all. What
    the chapter-6 pages use when this visitor has no fine-tuned model yet."""
    from core import models
    from core.finetune.batches import encode
    from core.finetune.evaluation import sentence_vectors
    from core.finetune.pooling import apply_pooling, init_head_from_centroids

    model_id = model_id or models.BUNDLED
    labels = sorted(set(train_labels))
    tokenizer = models.load_tokenizer(model_id)
    model = models.load_classifier(model_id, labels).eval()
    apply_pooling(model, "mean")
    data = encode(tokenizer, list(train_texts), list(train_labels), labels, 64)
    init_head_from_centroids(model, sentence_vectors(model, data, "cpu"), data.targets)
    return model.eval(), tokenizer, labels
