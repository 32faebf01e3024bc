"""How a sentence becomes one vector for the new dense layer: BERT's own [CLS]
summary through its pooler (dense + tanh), or the mean of every real token's
hidden state. The bundled all-MiniLM-L6-v2 was trained as a sentence encoder
with mean pooling, so its mean vectors already place similar sentences close
together; its pooler is a leftover of MiniLM's pretraining. What each scored:
benchmarks/FINETUNE.md.

The choice is stored in the model's own config (`classifier_pooling`, the name
ModernBERT uses for the same thing), so a saved and re-loaded model pools the
same way; `apply_pooling` makes a loaded transformers model honour it, and
after that `model(input_ids, attention_mask).logits` is right everywhere.
"""

from __future__ import annotations

POOLING_CHOICES = ("cls", "mean", "unit-mean")   # unit-mean: the mean scaled to length 1 (cosine)


def pooling_of(model) -> str:
    """'cls' (what transformers does unless told otherwise), 'mean' or 'unit-mean'."""
    return getattr(model.config, "classifier_pooling", None) or "cls"


def pools_tokens(model) -> bool:
    """True when the new layer reads an average of the tokens rather than [CLS]."""
    return pooling_of(model) != "cls"


def sentence_vector(model, hidden, mask):
    """The averaged tokens, as `pooling_of(model)` wants them: as they are ('mean'),
    or scaled to length 1 ('unit-mean', as sentence-transformers' Normalize does;
    the new layer then scores cosines)."""
    import torch.nn.functional as F

    vector = mean_of_tokens(hidden, mask)
    return F.normalize(vector, dim=-1) if pooling_of(model) == "unit-mean" else vector


def mean_of_tokens(hidden, mask):
    """Average of the real tokens' vectors ([CLS] and [SEP] included, padding not):
    (batch, tokens, hidden) -> (batch, hidden)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def _mean_instead_of_pooler(encoder, args, kwargs, output):
    """Forward hook on BertModel: its `pooler_output` becomes the (unit) mean of the tokens."""
    import torch

    mask = kwargs.get("attention_mask")
    if mask is None and len(args) > 1:
        mask = args[1]
    hidden = output["last_hidden_state"]
    if mask is None:
        mask = torch.ones(hidden.shape[:2], dtype=torch.long, device=hidden.device)
    output["pooler_output"] = sentence_vector(encoder, hidden, mask)
    return output


def apply_pooling(model, pooling: str | None = None):
    """Make `model` pool as `pooling` (or as its config says) and record it in the config.
    Mean pooling leaves the pooler unused, so its numbers stop training. Returns the model."""
    pooling = pooling or pooling_of(model)
    if pooling not in POOLING_CHOICES:
        raise ValueError(f"Pooling must be one of {', '.join(POOLING_CHOICES)}.")
    model.config.classifier_pooling = pooling
    encoder = model.base_model   # shares model.config, so the hook sees the choice
    if pooling != "cls" and not getattr(encoder, "_pools_by_mean", False):
        encoder.register_forward_hook(_mean_instead_of_pooler, with_kwargs=True)
        encoder._pools_by_mean = True
        pooler = getattr(encoder, "pooler", None)
        for p in (pooler.parameters() if pooler is not None else ()):
            p.requires_grad_(False)
    return model


def init_head_from_centroids(model, features, targets, scale: float = 10.0) -> None:
    """Start the new dense layer at the class centres instead of at random: row c of
    its weight points along the average direction of class c's sentence vectors,
    sized so a logit is about `scale` x the cosine to that centre; biases 0. With a
    few examples per label the model then starts as a nearest-centroid classifier
    and fine-tuning refines it. `features`: (sentences, hidden), `targets`: label index each."""
    import torch
    import torch.nn.functional as F

    features = features.float()
    targets = torch.as_tensor(targets, device=features.device)
    centres = torch.zeros(model.classifier.out_features, features.shape[1], device=features.device)
    centres.index_add_(0, targets, F.normalize(features, dim=-1))
    centres = F.normalize(centres, dim=-1)
    typical_norm = features.norm(dim=-1).mean().clamp(min=1e-6)
    with torch.no_grad():
        model.classifier.weight.copy_(centres * (scale / typical_norm))
        model.classifier.bias.zero_()
