"""Freezing: which part of the pretrained BERT keeps its numbers, and the shortcut
that follows from it. Frozen layers turn a sentence into the same numbers in
every epoch, so for a BERT classifier they run once, before training, and each
step starts above them (`run_frozen_bottom`, `rest_of_bert`). Measured speed-ups
and the check that the shortcut gives the same numbers: benchmarks/FINETUNE.md."""

from __future__ import annotations

from typing import Sequence

from core.finetune.batches import Batch, Encoded, pad_batch
from core.finetune.pooling import pooling_of, pools_tokens, sentence_vector

REPLAY_BUDGET_BYTES = 256 * 2**20   # keep at most this much of frozen-layer output in memory


def encoder_layers(model) -> list:
    """BERT's stack of transformer layers, bottom first (6 in the bundled model); [] if unknown."""
    base = model.base_model
    stack = getattr(base, "encoder", None) or getattr(base, "transformer", None)
    return list(getattr(stack, "layer", None) or [])


def frozen_layer_count(what: str, layers: int, total_layers: int) -> int:
    """How many transformer layers, from the bottom, stay as pretrained when `what`
    is frozen and `layers` were asked for, in a model with `total_layers`.
    With "embeddings" at least the top layer always learns."""
    if what == "encoder":
        return total_layers
    if what == "embeddings":
        return max(0, min(layers, total_layers - 1))
    return 0


def describe_freeze(config, total_layers: int) -> str:
    """'embeddings + 2 lowest layers' - what stays as pretrained, in words, for a
    model with `total_layers` (asking for more layers than it has freezes all but the top one)."""
    count = frozen_layer_count(config.freeze, config.freeze_layers, total_layers)
    if config.freeze == "embeddings" and count:
        return f"embeddings + {count} lowest layer{'s' if count > 1 else ''}"
    return config.freeze


def frozen_bottom(model, count: int) -> list:
    """The embeddings and the lowest `count` layers: the frozen modules under the
    first layer that learns (empty when no layer is frozen)."""
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
        count = frozen_layer_count(what, layers, len(encoder_layers(model)))
        frozen = [model.base_model.embeddings, *encoder_layers(model)[:count]]
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


def can_run_frozen_bottom_once(model, data: Encoded, layers: int) -> bool:
    """Frozen layers can be run once, up front, for a BERT classifier whose frozen output
    fits the memory budget. (Other architectures still train correctly, running every layer every step.)"""
    from transformers import BertForSequenceClassification

    if layers < 1 or not isinstance(model, BertForSequenceClassification):
        return False
    if pooling_of(model) == "cls" and model.bert.pooler is None:
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
    """Compute what the frozen part says about every sentence, once: the embeddings
    and the lowest `layers` layers, kept unpadded. Each training step then starts
    at layer `layers` + 1."""
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
    """BERT from layer `start_layer` up, to one vector per sentence: with [CLS]
    pooling the remaining layers (the top one for [CLS] only) and the pooler
    (dense + tanh); with mean pooling every remaining layer, then the average of
    the real tokens. The same vectors as the whole model's `pooler_output`."""
    layers, hidden = encoder_layers(model)[batch.start_layer:], batch.hidden
    if pools_tokens(model):
        return sentence_vector(model, through_layers(layers, hidden, batch.mask), batch.mask)
    if layers:
        hidden = top_layer_for_cls(layers[-1], through_layers(layers[:-1], hidden, batch.mask), batch.mask)
    return model.base_model.pooler(hidden)


def sentence_vectors_of(model, batch: Batch):
    """What the new dense layer reads: one vector per sentence of the batch."""
    if batch.hidden is not None:
        return rest_of_bert(model, batch)
    return model.base_model(input_ids=batch.ids, attention_mask=batch.mask).pooler_output


def logits_of(model, batch: Batch):
    """One score per label for every sentence in the batch: the same logits as `model(...)` gives."""
    if batch.hidden is not None:
        return model.classifier(model.dropout(rest_of_bert(model, batch)))
    return model(input_ids=batch.ids, attention_mask=batch.mask).logits
