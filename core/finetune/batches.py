"""Data -> numbers: check the sentences and labels, tokenize them once, and cut
them into batches padded only as far as each batch needs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from core.finetune.config import FinetuneError


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

    def lengths(self) -> list[int]:
        """Tokens per sentence, [CLS] and [SEP] included."""
        return [len(ids) for ids in self.ids]

    def batch(self, rows: Sequence[int], device: str = "cpu") -> Batch:
        """The sentences at `rows`, padded together and moved to `device`."""
        ids, mask = pad_batch([self.ids[i] for i in rows], self.pad_id)
        if self.hidden is None:
            return Batch(mask=mask.to(device), ids=ids.to(device))
        return Batch(mask=mask.to(device), hidden=pad_hidden([self.hidden[i] for i in rows]),
                     start_layer=self.start_layer)

    def targets_of(self, rows: Sequence[int], device: str = "cpu"):
        """The label index of each sentence at `rows`, as a tensor on `device`."""
        import torch

        return torch.tensor([self.targets[i] for i in rows], device=device)


@dataclass
class CheckedData:
    """Training and evaluation data that can be trained on, as plain lists."""

    train_texts: list[str]
    train_labels: list[str]
    labels: list[str]                   # the model's outputs, in order
    eval_texts: list[str] | None = None
    eval_labels: list[str] | None = None


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


def check_data(train, eval=None) -> CheckedData:
    """The data as plain lists, or a FinetuneError saying in one sentence what is wrong."""
    train_texts, train_y = texts_and_labels(train)
    if not train_texts:
        raise FinetuneError("The training data has no sentences.")
    labels = label_names(train, train_y)
    unknown = sorted(set(train_y) - set(labels))
    if unknown:
        raise FinetuneError(f"Training labels {unknown} are not in the dataset's label list.")
    if len(set(train_y)) < 2:
        raise FinetuneError("The training data has only one label; a classifier needs at least two.")
    from core.datasets import MAX_LABELS

    if len(labels) > MAX_LABELS:  # every view built from labels grows with them (confusion: labels^2)
        raise FinetuneError(f"The training data has {len(labels):,} labels; this app fine-tunes at most {MAX_LABELS}.")
    if eval is None:
        return CheckedData(train_texts, train_y, labels)
    eval_texts, eval_y = texts_and_labels(eval)
    if not eval_texts:
        raise FinetuneError("The evaluation data has no sentences.")
    missing = sorted(set(eval_y) - set(train_y))
    if missing:
        raise FinetuneError(
            f"The evaluation data has labels the training data never shows: {', '.join(missing)}. "
            "The model can't learn a label it never sees."
        )
    return CheckedData(train_texts, train_y, labels, eval_texts, eval_y)


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
    width = max(r.shape[0] for r in rows)
    out = rows[0].new_zeros((len(rows), width, rows[0].shape[1]))
    for i, row in enumerate(rows):
        out[i, : row.shape[0]] = row
    return out


def shuffled_batches(lengths: Sequence[int], batch_size: int, rng: random.Random, group: int = 8) -> list[list[int]]:
    """A fresh random order every epoch, cut into batches (48 rows, batch 16 -> 3 steps),
    with one twist for speed: within each random group of 8 batches, sentences of
    similar length go together, so a batch pads less (on the shipped training set
    about a third fewer padded tokens per epoch; see benchmarks/FINETUNE.md)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * group):
        chunk = sorted(order[start: start + batch_size * group], key=lambda i: lengths[i])
        batches += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
