"""The pretrained model every visitor shares, and the picker that chooses it."""

from __future__ import annotations

import streamlit as st

from core import models
from ui.formats import as_text
from ui.messages import friendly_error


def tokenizer(model_id: str = models.BUNDLED):
    """Shared by every visitor (read-only). core.models keeps at most
    MAX_CACHED_MODELS of them, one per model however its folder is spelled."""
    with st.spinner("Loading the tokenizer…"):
        return models.shared_tokenizer(model_id)


def encoder(model_id: str = models.BUNDLED):
    """Shared by every visitor: read-only, never fine-tuned in place. Bounded like `tokenizer`."""
    with st.spinner("Loading the pretrained model…"):
        return models.shared_encoder(model_id)


ANOTHER_MODEL = "another model…"


def picker_ids() -> list[str]:
    """What the picker offers: on a hosted copy only the allow-list, and no typed box."""
    if models.is_hosted():
        return list(models.allowed_models())
    return [c.id for c in models.CHOICES] + [ANOTHER_MODEL]


def model_picker(key: str = "model_id", label: str = "Model") -> str:
    """Choose a model from the registry, or (not on a hosted copy) type any hub id or
    local folder; falls back to the bundled BERT with a message when the chosen one
    can't be loaded here. Returns the id in use."""
    ids = picker_ids()
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]  # e.g. a link made on a local copy, opened on a hosted one

    def describe(model_id):
        if model_id == ANOTHER_MODEL:
            return "Another model…"
        # Short enough for the picker's width ("Bundled BERT", "RoBERTa base"): the full name
        # and whether it is on this machine are said under it.
        known = models.choice(model_id)
        return known.label.split(" (")[0] if known else model_id

    chosen = st.selectbox(label, ids, key=key, format_func=describe)
    if chosen == ANOTHER_MODEL:
        chosen = st.text_input("Model id on the hub, or a folder", key=f"{key}_typed",
                               max_chars=models.MAX_ID_LENGTH + 1,
                               placeholder="e.g. prajjwal1/bert-tiny").strip()
        if not chosen:
            st.caption("Type a model id; the bundled BERT is used until then.")
            return models.BUNDLED
    try:
        tokenizer(chosen)
    except models.ModelUnavailable as error:
        friendly_error(str(error))
        return models.BUNDLED
    known = models.choice(chosen)
    st.caption(f"{known.label}: {known.note}" if known else f"{as_text(chosen)}, loaded from this machine.")
    if known and not known.bundled and not models.is_cached(chosen):
        st.caption("Not on this machine yet: it downloads from the hub on first use.")
    return chosen
