"""View helpers the chapter-2 pages share.

Text boxes that survive navigation and refuse empty input without losing the
last good text, the model picker with a safe fallback, cached calls into
core/embeddings.py (so a rerun with the same input is instant), and the
heatmaps the pages draw.
"""

from __future__ import annotations

import unicodedata

import plotly.graph_objects as go
import streamlit as st

from core import embeddings as emb
from core import models
from ui import bert, settings
from ui.formats import as_text, short
from ui.messages import friendly_error

ss = st.session_state

TALK_SENTENCE = "The price is outrageous"


def text_input(label: str, key: str, default: str = TALK_SENTENCE, area: bool = False,
               empty: str = "The text is empty, so there is nothing to read.", **kwargs) -> str:
    """A text box that refuses an empty text with a message and keeps showing the
    last good one, so the page never goes blank. Returns the text to use."""
    settings.keep({key: default})
    widget = st.text_area if area else st.text_input
    text = widget(label, key=key, **kwargs)
    good_key = f"{key}__last_good"
    if text and text.strip():
        ss[good_key] = text
        return text
    last = ss.get(good_key, default)
    friendly_error(f"{empty} Still showing: “{short(last)}”.")
    return last


def pick_model(key: str = "ch2_model", need_encoder: bool = True) -> str:
    """The registry's picker, one choice for the whole chapter (it survives page
    changes). If the chosen model's weights can't load either, the bundled BERT
    is used with a message. Returns the model id in use."""
    settings.keep({key: models.BUNDLED}, allowed={key: [c.id for c in models.CHOICES] + [bert.ANOTHER_MODEL]})
    model_id = bert.model_picker(key=key, label="Model")
    if need_encoder:
        try:
            bert.encoder(model_id)
        except models.ModelUnavailable as error:
            friendly_error(str(error))
            model_id = models.BUNDLED
    return model_id


def text_and_model(label: str, key: str, default: str = TALK_SENTENCE, need_encoder: bool = True, **text_kwargs):
    """The row every chapter-2 page opens with: the text to work on, wide, and the model
    picker beside it. Returns (text, model id, the text's column for anything that goes under it)."""
    col_text, col_model = st.columns([2.2, 1])
    with col_model:
        model_id = pick_model(need_encoder=need_encoder)
    with col_text:
        text = text_input(label, key, default, **text_kwargs)
    return text, model_id, col_text


# ---------------------------------------------------------------- cached computation

@st.cache_data(show_spinner=False, max_entries=256)
def tokenized(model_id: str, text: str, pad_to: int | None = None) -> emb.Tokenized:
    return emb.tokenize(bert.tokenizer(model_id), text, pad_to=pad_to)


@st.cache_data(show_spinner="BERT is reading the text…", max_entries=64)
def hidden_states(model_id: str, text: str) -> emb.HiddenStates:
    return emb.hidden_states(bert.tokenizer(model_id), bert.encoder(model_id), text)


@st.cache_data(show_spinner=False, max_entries=64)
def word_in_context(model_id: str, sentence: str, word: str):
    return emb.word_in_context(bert.tokenizer(model_id), bert.encoder(model_id), sentence, word)


@st.cache_data(show_spinner="Embedding the sentences…", max_entries=32)
def sentence_embeddings(model_id: str, texts: tuple[str, ...], pooling: str = "mean"):
    return emb.sentence_embeddings(bert.tokenizer(model_id), bert.encoder(model_id), list(texts), pooling=pooling)


# ---------------------------------------------------------------- shared notes and charts

def describe_unknown(pieces: list[str]) -> str:
    """'🧀' -> '🧀 (CHEESE WEDGE)': emoji may not render on a projector, names do."""
    named = []
    for piece in pieces:
        names = [unicodedata.name(ch, f"U+{ord(ch):04X}") for ch in piece[:3]]
        named.append(f"{as_text(piece)} ({', '.join(names).title()})")
    return ", ".join(named)


def show_notes(tok: emb.Tokenized, tokenizer=None) -> None:
    """Truncation, [UNK] and padding notes as warnings the user can't miss."""
    for note in tok.notes:
        st.warning(note, icon=":material/info:")
    if tokenizer is not None and "[UNK]" in tok.tokens:
        unknown = emb.unknown_characters(tokenizer, tok.text)
        if unknown:
            st.caption("Unknown to the vocabulary: " + describe_unknown(unknown[:8]) +
                       ". BERT's uncased vocabulary holds English word pieces and a few thousand single "
                       "characters; most emoji and many Chinese, Japanese or Korean characters are not among them.")


def heatmap(z, x, y, title: str, colorscale="RdBu", zmid=0.0, zmin=None, zmax=None, text_auto=False,
            x_title: str = "", y_title: str = "", hover: str | None = None) -> go.Figure:
    fig = go.Figure(go.Heatmap(
        z=z, x=x, y=y, colorscale=colorscale, zmid=zmid, zmin=zmin, zmax=zmax,
        texttemplate="%{z:.2f}" if text_auto else None, textfont=dict(size=15),
        hovertemplate=hover, colorbar=dict(thickness=14),
    ))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title)
    fig.update_yaxes(autorange="reversed")
    return fig


def similarity_heatmap(matrix, labels: list[str], title: str, x_labels: list[str] | None = None) -> go.Figure:
    """A cosine similarity matrix with every number printed (readable from the back row).
    x_labels: shorter names for the columns when the row labels are long."""
    unique = unique_labels(labels)
    fig = heatmap(matrix, x_labels or unique, unique, title, colorscale="Viridis", zmid=None, zmin=-0.2, zmax=1.0,
                  text_auto=len(labels) <= 14, hover="%{y} · %{x}: %{z:.3f}<extra></extra>")
    # The numbers are printed in the cells: the colour bar would only steal width.
    fig.update_traces(showscale=len(labels) > 14)
    return fig


def unique_labels(labels: list[str]) -> list[str]:
    """Plotly merges equal axis labels; number repeats ('the', 'the ²')."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out
