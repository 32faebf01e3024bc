"""Chapter 2 · Embedding map: every cancellation sentence as a point, coloured by its reason.

Sentence embeddings (384 numbers each) of the shipped dataset, squashed to 2-D
with PCA or t-SNE. The visitor adds sentences, sees where they land and which
sentences are truly nearest in the original 384 dimensions. When chapter 3 has
fine-tuned a model in this session, the same map from its embeddings sits
beside the pretrained one: the clusters pull apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import embeddings as emb
from core import jobs, projection
from ui import ch2, charts, live, settings
from ui.formats import as_text
from ui.messages import friendly_error

ss = st.session_state

SPLITS = {"train": "Training file", "eval": "Evaluation file", "both": "Both files"}
MY_SENTENCES = "I found the same thing for half the price elsewhere\nYour website kept crashing at checkout"
NEIGHBOURS = 5
SEED = 0
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
FALLBACK = [  # only used if the shipped dataset can't be read: the page keeps working
    ("price", "The price was outrageous"), ("price", "Way too expensive"), ("price", "I can't justify the cost"),
    ("lead time", "Delivery takes far too long"), ("lead time", "Six weeks is too long to wait"),
    ("lead time", "It won't arrive in time"), ("error", "Checkout kept failing"), ("error", "The site crashed"),
    ("error", "I got an error when paying"), ("unresponsive", "Nobody answered my emails"),
    ("unresponsive", "Support never called back"), ("unresponsive", "No reply for a week"),
]


@st.cache_data(show_spinner=False)
def load_sentences(split: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(texts, labels, problem) for the chosen file(s); problem is '' when all is well."""
    try:
        from core import datasets

        parts = ["train", "eval"] if split == "both" else [split]
        texts, labels = [], []
        for part in parts:
            data = datasets.load_shipped(part)
            texts += list(data.texts)
            labels += list(data.labels)
        return tuple(texts), tuple(labels), ""
    except Exception as error:  # noqa: BLE001 - any failure: say so and show the small built-in sample
        labels, texts = zip(*FALLBACK)
        return tuple(texts), tuple(labels), f"The shipped dataset could not be read ({error}); showing a small built-in sample."


@st.cache_data(show_spinner="Drawing the map…", max_entries=32)
def pretrained_map(model_id: str, texts: tuple[str, ...], mine: tuple[str, ...], pooling: str, method: str,
                   metric: str) -> tuple[np.ndarray, np.ndarray, projection.Map]:
    vectors = ch2.sentence_embeddings(model_id, texts, pooling)
    extra = ch2.sentence_embeddings(model_id, mine, pooling) if mine else vectors[:0]
    return vectors, extra, project(vectors, extra, method, metric)


def project(vectors, extra, method: str, metric: str) -> projection.Map:
    """PCA at once; t-SNE (seconds of CPU) through the server's bounded pool."""
    if method == "PCA":
        return projection.map_with_extras(vectors, extra, method, seed=SEED, metric=metric)
    return live.bounded(projection.map_with_extras, vectors, extra, method, seed=SEED, metric=metric)


def finetuned_map(finetuned, texts, mine, pooling, method, metric):
    """Like pretrained_map, for the session's own fine-tuned model. Kept in session
    state (the model isn't shared, so it can't live in a process-wide cache)."""
    key = (id(finetuned.model), hash(texts), hash(mine), pooling, method, metric)
    cache = ss.setdefault("ch2_map_ft_cache", {})
    if key not in cache:
        encoder = finetuned.model.base_model
        vectors = emb.sentence_embeddings(finetuned.tokenizer, encoder, list(texts), pooling=pooling)
        extra = emb.sentence_embeddings(finetuned.tokenizer, encoder, list(mine), pooling=pooling)
        cache.clear()  # one map at a time: a few hundred KB, not a growing pile
        cache[key] = (vectors, extra, project(vectors, extra, method, metric))
    return cache[key]


def draw_map(result: projection.Map, texts, labels, mine, title: str, key: str, height: int) -> None:
    label_order = sorted(set(labels))
    colors = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(label_order)}
    fig = go.Figure()
    labels_array = np.asarray(labels)
    for label in label_order:
        chosen = np.flatnonzero(labels_array == label)
        fig.add_trace(go.Scattergl(
            x=result.points[chosen, 0].tolist(), y=result.points[chosen, 1].tolist(), mode="markers", name=label,
            marker=dict(size=8, color=colors[label], opacity=0.75),
            customdata=[[texts[i]] for i in chosen],
            hovertemplate=f"<b>{label}</b><br>%{{customdata[0]}}<extra></extra>",
        ))
    if len(mine):
        fig.add_trace(go.Scatter(
            x=result.extra_points[:, 0].tolist(), y=result.extra_points[:, 1].tolist(), mode="markers+text", name="your sentences",
            text=[f"#{i + 1}" for i in range(len(mine))], textposition="top center", textfont=dict(size=18),
            marker=dict(size=20, symbol="star", color="black", line=dict(color="white", width=1.5)),
            customdata=[[s] for s in mine], hovertemplate="<b>yours</b><br>%{customdata[0]}<extra></extra>",
        ))
    if result.method == "PCA":
        fig.update_xaxes(title=f"PC1 ({result.explained[0]:.0%} of the variance)")
        fig.update_yaxes(title=f"PC2 ({result.explained[1]:.0%})")
    else:
        fig.update_xaxes(title="t-SNE 1 (no units)", showticklabels=False)
        fig.update_yaxes(title="t-SNE 2", showticklabels=False)
    # Full width, the title on the top row and the 8 reasons in a column to the right:
    # nothing sits on top of anything else.
    charts.show(fig, key=key, height=height, title=dict(text=title), legend_right=True)


# ---------------------------------------------------------------- controls
st.title("Embedding map")
st.markdown("#### Each cancellation reason as a point: sentences that mean the same thing should land together.")

col_a, col_b, col_c, col_d = st.columns([1.1, 1, 1, 1.3])
with col_a:
    settings.keep({"ch2_map_split": "train"}, allowed={"ch2_map_split": SPLITS})
    split = st.selectbox("Sentences", list(SPLITS), format_func=SPLITS.get, key="ch2_map_split")
with col_b:
    settings.keep({"ch2_map_method": "PCA"}, allowed={"ch2_map_method": projection.METHODS})
    method = st.radio("Projection", projection.METHODS, key="ch2_map_method", horizontal=True,
                      help="PCA: fast, keeps straight-line geometry. t-SNE: keeps near neighbours near, slower.")
with col_c:
    settings.keep({"ch2_map_metric": "cosine"}, allowed={"ch2_map_metric": emb.METRICS})
    metric = st.radio("Similarity", emb.METRICS, key="ch2_map_metric", horizontal=True,
                      format_func=lambda m: {"cosine": "Cosine", "euclidean": "Euclidean"}[m],
                      help="Used to find nearest neighbours (and by t-SNE). Cosine: direction only. "
                           "Euclidean: straight-line distance, length counts.")
    settings.keep({"ch2_map_pooling": "mean"}, allowed={"ch2_map_pooling": emb.POOLINGS})
    pooling = st.radio("Sentence vector", emb.POOLINGS, key="ch2_map_pooling", horizontal=True,
                       format_func=lambda p: {"mean": "Mean", "cls": "[CLS]"}[p])
with col_d:
    model_id = ch2.pick_model()

texts, labels, problem = load_sentences(split)
if problem:
    st.warning(problem, icon=":material/info:")

# The sentence box above the map: you see your sentence land while you type it.
settings.keep({"ch2_map_mine": MY_SENTENCES})
mine_raw = st.text_area("Your sentences (one per line; they appear as ★ on the map)", key="ch2_map_mine", height=80,
                        max_chars=5_000)
mine = [s.strip()[:1000] for s in mine_raw.splitlines() if s.strip()][:10]
if not mine:
    st.info("Add a sentence above to see where it lands and which sentences are its nearest neighbours.",
            icon=":material/edit:")
mine = tuple(mine)
map_slot = st.container()

try:
    vectors, mine_vectors, result = pretrained_map(model_id, texts, mine, pooling, method, metric)
except jobs.QueueFull as busy:  # t-SNE's pool is full: PCA needs no slot
    friendly_error(f"{busy} Showing the PCA map meanwhile.")
    method = "PCA"
    vectors, mine_vectors, result = pretrained_map(model_id, texts, mine, pooling, method, metric)

# ---------------------------------------------------------------- the map(s)
finetuned = ss.get("finetuned")
ft_result = None
if finetuned is not None:
    try:
        with map_slot, st.spinner("Reading every sentence with the fine-tuned model to draw its map…"):
            ft_vectors, ft_mine_vectors, ft_result = finetuned_map(finetuned, texts, mine, pooling, method, metric)
    except Exception as error:  # noqa: BLE001 - a half-made model must not take the page down
        friendly_error(f"The fine-tuned model in this session could not embed the sentences: {error}")

with map_slot:
    subtitle = f"{len(texts)} sentences, {len(set(labels))} reasons"
    if ft_result is not None:
        # One above the other, each the page's full width: side by side, each was half a map.
        draw_map(result, texts, labels, mine, f"Before: pretrained · {subtitle}", "ch2_map_chart", 480)
        draw_map(ft_result, texts, labels, mine, f"After: fine-tuned ({finetuned.name})", "ch2_map_ft_chart", 480)
        before = emb.neighbour_agreement(vectors, labels, NEIGHBOURS, metric)
        after = emb.neighbour_agreement(ft_vectors, labels, NEIGHBOURS, metric)
        st.markdown(
            f"Same sentences, same projection, two models. Nearest neighbours (in all dimensions) sharing the "
            f"sentence's reason: **{before:.0%} pretrained → {after:.0%} fine-tuned**. "
            + ("Fine-tuning pulled the reasons apart: that is what the classifier's single dense layer needs."
               if after > before else "This fine-tune hasn't separated the reasons yet: try more epochs in chapter 3.")
        )
    else:
        draw_map(result, texts, labels, mine, f"Pretrained BERT · {subtitle}", "ch2_map_chart", 520)
        st.markdown(f"Nearest neighbours (in all {vectors.shape[1]} dimensions) sharing the sentence's reason: "
                    f"**{emb.neighbour_agreement(vectors, labels, NEIGHBOURS, metric):.0%}** "
                    f"(by chance: about {1 / max(1, len(set(labels))):.0%}).")
        st.page_link("pages/ch3_finetune.py", icon=":material/local_fire_department:",
                     label="Fine-tune a model in chapter 3 and come back: its map appears here beside this one.")

if method == "PCA":
    st.markdown(
        f"**PCA kept {result.explained_total:.0%} of the spread** (PC1 {result.explained[0]:.1%}, "
        f"PC2 {result.explained[1]:.1%}); the other {1 - result.explained_total:.0%} lives in the "
        f"{vectors.shape[1] - 2} directions this picture can't show. Your sentences are placed on the fitted map, "
        "so adding one never moves the others."
    )
else:
    st.markdown(
        "**t-SNE** arranges points so that near neighbours stay near (seed fixed, so the same input gives the same "
        "map). Cluster sizes and the gaps *between* clusters mean little, and every new sentence recomputes the "
        "whole map."
    )

# ---------------------------------------------------------------- neighbours
if mine:
    st.header("Nearest neighbours, measured in all the dimensions")
    st.caption(
        f"Ranked by {'cosine similarity (higher = closer)' if metric == 'cosine' else 'Euclidean distance (lower = closer)'} "
        f"in the original {vectors.shape[1]} numbers. Two points that look close on a 2-D map may not be: the map "
        "threw most of the information away. The last column checks how many of the true neighbours are also "
        "among the closest points on the map."
    )
    score_name = "cosine" if metric == "cosine" else "distance"
    for i, sentence in enumerate(mine):
        true = emb.nearest_neighbours(mine_vectors[i], vectors, k=NEIGHBOURS, metric=metric)
        flat = emb.nearest_neighbours(result.extra_points[i], result.points, k=NEIGHBOURS, metric="euclidean")
        on_map = {n.index for n in flat}
        votes = pd.Series([labels[n.index] for n in true]).value_counts()
        with st.container():
            st.markdown(f"**★ #{i + 1}** “{as_text(sentence)}”  \nNeighbours vote **{as_text(votes.index[0])}** "
                        f"({votes.iloc[0]} of {NEIGHBOURS}) · {len(on_map & {n.index for n in true})} of "
                        f"{NEIGHBOURS} also closest on the map")
            st.dataframe(pd.DataFrame({
                "neighbour": [texts[n.index] for n in true],
                "reason": [labels[n.index] for n in true],
                score_name: [round(n.score, 3) for n in true],
                "near on map": ["yes" if n.index in on_map else "no" for n in true],
            }), hide_index=True, key=f"ch2_map_nn_{i}", column_config={
                "neighbour": st.column_config.TextColumn(width="large"),
                "reason": st.column_config.TextColumn(width="small"),
            })
