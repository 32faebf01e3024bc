"""Frozen BERT sentence vectors, computed once per list of sentences.

Chapter 5's competition and labelling game train small classifiers on top of
what the bundled BERT makes of each sentence. Those vectors never change for a
given model and text list, so they are computed once and reused; the seconds
the first computation took are kept with them, so a model that needs them can
still be charged honestly for the BERT pass it relies on.

    embed_texts(texts, model_id=BUNDLED, tokenizer=None, encoder=None) -> Embedded(vectors, seconds)
    is_cached(texts, model_id=BUNDLED) -> True when embed_texts would answer at once
    encoder_bytes(model_id) -> size of the encoder's weights file (what serving it costs on disk)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from core import models

MAX_CACHED_SETS = 16        # each set is rows x 384 float32: 400 sentences are 0.6 MB

_cache: "OrderedDict[tuple, Embedded]" = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Embedded:
    vectors: np.ndarray     # (len(texts), hidden), float32, read-only
    seconds: float          # how long the BERT pass took when first computed


@lru_cache(maxsize=2)
def _loaded(model_id: str):
    return models.load_tokenizer(model_id), models.load_encoder(model_id)


def _key(texts: Sequence[str], model_id: str, pooling: str) -> tuple:
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()
    return model_id, pooling, len(texts), digest


def embed_texts(texts: Sequence[str], model_id: str = models.BUNDLED, pooling: str = "mean",
                tokenizer=None, encoder=None) -> Embedded:
    """Mean-pooled sentence vectors of `texts`, from the cache when this model has
    seen exactly this list before. Pass tokenizer and encoder when the caller has
    them loaded already (they must be `model_id`'s)."""
    import time

    from core import embeddings

    texts = [str(t) for t in texts]
    key = _key(texts, model_id, pooling)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if tokenizer is None or encoder is None:
        tokenizer, encoder = _loaded(model_id)
    started = time.perf_counter()
    vectors = embeddings.sentence_embeddings(tokenizer, encoder, texts, pooling=pooling)
    vectors.setflags(write=False)
    found = Embedded(vectors, time.perf_counter() - started)
    with _lock:
        _cache[key] = found
        while len(_cache) > MAX_CACHED_SETS:
            _cache.popitem(last=False)
    return found


def is_cached(texts: Sequence[str], model_id: str = models.BUNDLED, pooling: str = "mean") -> bool:
    """True when embed_texts(texts, model_id) would come from the cache: a page can
    then use it at once instead of starting a background job for the BERT pass."""
    with _lock:
        return _key([str(t) for t in texts], model_id, pooling) in _cache


def encoder_bytes(model_id: str = models.BUNDLED) -> int:
    """Bytes of the encoder's weights on disk: model.safetensors in its folder,
    or, for a hub model not saved locally, its parameters' bytes (what the file would hold)."""
    folder = Path(models.resolve(model_id))
    weights = folder / "model.safetensors"
    if weights.is_file():
        return weights.stat().st_size
    _, encoder = _loaded(model_id)
    return int(sum(p.numel() * p.element_size() for p in encoder.parameters()))


def clear() -> None:
    with _lock:
        _cache.clear()
