"""The pretrained model every visitor shares, and the picker that chooses it."""

from __future__ import annotations

import streamlit as st

from core import models
from ui.messages import friendly_error


@st.cache_resource(show_spinner="Loading the tokenizer…")
def tokenizer(model_id: str = models.BUNDLED):
    return models.load_tokenizer(model_id)


@st.cache_resource(show_spinner="Loading the pretrained model…")
def encoder(model_id: str = models.BUNDLED):
    """Shared by every visitor: read-only, never fine-tuned in place."""
    return models.load_encoder(model_id)


ANOTHER_MODEL = "another model…"


def model_picker(key: str = "model_id", label: str = "Model") -> str:
    """Choose a model from the registry, or type any hub id or local folder; falls
    back to the bundled BERT with a message when the chosen one can't be loaded
    here. Returns the id in use."""
    ids = [c.id for c in models.CHOICES] + [ANOTHER_MODEL]

    def describe(model_id):
        if model_id == ANOTHER_MODEL:
            return "Another model…"
        # Short enough for the picker's width ("Bundled BERT", "RoBERTa base"): the full name
        # and whether it is on this machine are said under it.
        return models.choice(model_id).label.split(" (")[0]

    chosen = st.selectbox(label, ids, key=key, format_func=describe)
    if chosen == ANOTHER_MODEL:
        chosen = st.text_input("Model id on the hub, or a folder", key=f"{key}_typed",
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
    st.caption(f"{known.label}: {known.note}" if known else f"{chosen}, loaded from this machine.")
    if known and not known.bundled and not models.is_cached(chosen):
        st.caption("Not on this machine yet: it downloads from the hub on first use.")
    return chosen
