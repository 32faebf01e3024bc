"""Chapter 2 · One-hot vs embeddings: why a slot per word loses meaning, and what a vector buys.

First the real thing: a word's one-hot vector over BERT's 30,522-entry
vocabulary, and the dot products that come out all zero (cat·dog = cat·car).
Then the talk's toy maps: car, carpet, cat and dog on a line, then as 2-D
vectors whose cosine similarity the visitor changes by moving them.
"""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import embeddings as emb
from ui import bert, ch2, charts, settings
from ui.formats import as_text

ss = st.session_state
# The toy maps' word positions live in ss["ch2_line"] and ss["ch2_plane"]; the sliders are
# derived from them, so only the choice of word is a knob of its own.
settings.keep({"ch2_line_word": "carpet", "ch2_plane_word": "dog", "ch2_plane_new": ""})
ss.setdefault("ch2_line", dict(emb.TOY_LINE))
ss.setdefault("ch2_plane", {w: list(v) for w, v in emb.TOY_PLANE.items()})

WORD_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_WORDS = 8

st.title("One-hot vs embeddings")
st.markdown("#### FizzBuzz numbers were easy to turn into vectors. Words are not: what do you put in the vector?")

# ---------------------------------------------------------------- 1 · one-hot
st.header("1 · One slot per word: the one-hot vector")
raw, model_id, _ = ch2.text_and_model("Words to encode (separate with spaces)", "ch2_oh_words",
                                        "cat dog car laughed laugh",
                                        empty="No words given, so there is nothing to encode.")
tokenizer, encoder = bert.tokenizer(model_id), bert.encoder(model_id)
size = emb.vocab_size(tokenizer)

words = list(dict.fromkeys(w.lower() for w in re.findall(r"[^\s,;]+", raw)))
if len(words) > MAX_WORDS:
    st.warning(f"Showing the first {MAX_WORDS} of {len(words)} words, so the charts stay readable.")
    words = words[:MAX_WORDS]
pieces = {w: tokenizer(w, add_special_tokens=False)["input_ids"] for w in words}
single = [w for w in words if len(pieces[w]) == 1 and pieces[w][0] != tokenizer.unk_token_id]
multi = [w for w in words if w not in single]

st.markdown(
    f"Give every entry of the vocabulary its own position: a vector of **{size:,} numbers**, all zero except "
    f"a single 1 at the word's id. As float32 that is **{size * 4 / 1024:,.0f} KiB per word**, "
    f"{size * 4 * 20 / 1024 ** 2:,.1f} MiB for a 20-word sentence, and nearly all of it zeros."
)
if multi:
    st.info(
        "Not one entry of the vocabulary, so not one slot: "
        + "; ".join(f"**{as_text(w)}** → {as_text(' '.join(tokenizer.convert_ids_to_tokens(pieces[w])) or 'nothing')}"
                    for w in multi)
        + ". Each piece would get its own one-hot vector; these words are left out of the comparison below.",
        icon=":material/info:",
    )

if single:
    fig = go.Figure()
    for i, word in enumerate(single):
        index, color = pieces[word][0], WORD_COLORS[i % len(WORD_COLORS)]
        vector = emb.one_hot(index, size)
        fig.add_trace(go.Scatter(
            x=[0, index, index, index, size - 1], y=[0, 0, vector[index], 0, 0], mode="lines",
            line=dict(color=color, width=3), name=f"{word} (1 at {index:,})",
            hovertemplate=f"{word}: position %{{x:,}} = %{{y}}<extra></extra>",
        ))
    fig.update_layout(title=f"Each word is {size:,} numbers: one 1, {size - 1:,} zeros")
    fig.update_xaxes(title="position in the vector = id in the vocabulary", range=[0, size], tickformat=",")
    fig.update_yaxes(range=[-0.05, 1.1], tickvals=[0, 1])
    charts.show(fig, key="ch2_oh_spikes", height=300)

    col_onehot, col_learned = st.columns(2)
    one_hot = np.array([[emb.dot(emb.one_hot(pieces[a][0], size), emb.one_hot(pieces[b][0], size))
                         for b in single] for a in single])
    with col_onehot:
        charts.show(ch2.similarity_heatmap(one_hot, single, "One-hot: dot products"), key="ch2_oh_dots", height=380)
        if {"cat", "dog", "car"} <= set(single):
            st.markdown(f"cat·dog = **{one_hot[single.index('cat'), single.index('dog')]:.0f}** and "
                        f"cat·car = **{one_hot[single.index('cat'), single.index('car')]:.0f}**: "
                        "no slot overlaps another, so every pair of different words is equally unrelated.")
        else:
            st.markdown("Every pair of different words scores **0**: no slot overlaps another.")
    learned_vectors = emb.static_word_vectors(tokenizer, encoder, single)
    learned = emb.cosine_matrix([learned_vectors[w] for w in single])
    with col_learned:
        charts.show(ch2.similarity_heatmap(learned, single, "Learned embeddings: cosine similarity"),
                 key="ch2_oh_learned", height=380)
        width = encoder.get_input_embeddings().weight.shape[1]
        facts = []
        if {"cat", "dog", "car"} <= set(single):
            facts.append(f"cat·dog = **{learned[single.index('cat'), single.index('dog')]:.2f}** is higher than "
                         f"cat·car = **{learned[single.index('cat'), single.index('car')]:.2f}**")
        if {"laughed", "laugh"} <= set(single):
            facts.append(f"laughed·laugh = **{learned[single.index('laughed'), single.index('laugh')]:.2f}**")
        st.markdown(
            f"The model's own table gives each id **{width} numbers** learned from text. "
            + ("; ".join(facts) + ". " if facts else "")
            + "Similar words point in similar directions."
        )
    st.caption("Spelled-alike words with different meanings (a river *bank*, a savings *bank*) share one slot, "
               "and one row of this table too; only reading the sentence around them (page 3) tells them apart.")
elif words:
    st.info("None of these words is a single vocabulary entry. Try: cat dog car laughed laugh.")

# ---------------------------------------------------------------- 2 · a line
st.header("2 · The talk's toy map: words on a line")
st.markdown("Put similar words close together and **distance** measures similarity. But one number per word "
            "holds very little: on a line, *carpet* must sit somewhere between *car* and the animals.")


def _line_word_changed() -> None:
    ss["ch2_line_pos"] = float(ss["ch2_line"][ss["ch2_line_word"]])


def _line_moved() -> None:
    ss["ch2_line"][ss["ch2_line_word"]] = float(ss["ch2_line_pos"])


line_words = list(ss["ch2_line"])
if ss.get("ch2_line_word") not in line_words:
    ss["ch2_line_word"] = "carpet"
ss.setdefault("ch2_line_pos", float(ss["ch2_line"][ss["ch2_line_word"]]))
col_controls, col_line = st.columns([1, 2.6])
with col_controls:
    st.selectbox("Move a word", line_words, key="ch2_line_word", on_change=_line_word_changed)
    st.slider("Its position", 0.0, 10.0, step=0.1, key="ch2_line_pos", on_change=_line_moved)
line = ss["ch2_line"]
with col_line:
    fig = go.Figure(go.Scatter(
        x=list(line.values()), y=[0] * len(line), mode="markers+text", text=list(line), textposition="top center",
        marker=dict(size=18, color=WORD_COLORS[:len(line)]), textfont=dict(size=18), hoverinfo="skip",
    ))
    fig.update_xaxes(range=[-0.5, 10.5], title="the single number each word gets")
    fig.update_yaxes(visible=False, range=[-0.6, 1.0])
    charts.show(fig, key="ch2_line_chart", height=200)
pairs = sorted(((abs(line[a] - line[b]), a, b) for i, a in enumerate(line_words) for b in line_words[i + 1:]))
st.markdown("Closest pairs: " + " · ".join(f"**{a}–{b}** {d:.1f}" for d, a, b in pairs[:4]))

# ---------------------------------------------------------------- 3 · a plane
st.header("3 · Two numbers per word: vectors with a direction")
st.markdown(
    "Now each word is an arrow. **Cosine similarity** compares directions: 1 = same way, 0 = at right angles, "
    "−1 = opposite. Change a word's *length* and its similarities stay the same; turn it and they change."
)


def _plane_word_changed() -> None:
    angle, length = emb.direction_of(ss["ch2_plane"][ss["ch2_plane_word"]])
    ss["ch2_plane_angle"], ss["ch2_plane_length"] = round(angle), round(length, 1)


def _plane_moved() -> None:
    ss["ch2_plane"][ss["ch2_plane_word"]] = list(
        emb.vector_from_direction(ss["ch2_plane_angle"], ss["ch2_plane_length"]))


def _add_word() -> None:
    word = (ss.get("ch2_plane_new") or "").strip().lower()
    if not word:
        ss["ch2_plane_msg"] = "Type a word to add first."
    elif word in ss["ch2_plane"]:
        ss["ch2_plane_msg"] = f"'{word}' is already on the map: pick it under 'Move a word'."
    elif len(ss["ch2_plane"]) >= MAX_WORDS:
        ss["ch2_plane_msg"] = f"The map holds {MAX_WORDS} words at most; reset it to start again."
    else:
        # New words arrive at a fresh angle so they never hide behind an existing arrow.
        ss["ch2_plane"][word] = list(emb.vector_from_direction(35 * len(ss["ch2_plane"]) + 200, 1.5))
        ss["ch2_plane_word"], ss["ch2_plane_new"] = word, ""
        _plane_word_changed()


def _reset_plane() -> None:
    ss["ch2_plane"] = {w: list(v) for w, v in emb.TOY_PLANE.items()}
    ss["ch2_plane_word"] = "dog"
    _plane_word_changed()


plane = ss["ch2_plane"]
if ss.get("ch2_plane_word") not in plane:
    ss["ch2_plane_word"] = "dog"
if "ch2_plane_angle" not in ss or "ch2_plane_length" not in ss:
    _plane_word_changed()

col_word, col_angle, col_length, col_new = st.columns([1, 1.2, 1.2, 1.3])
with col_word:
    st.selectbox("Move a word", list(plane), key="ch2_plane_word", on_change=_plane_word_changed)
with col_angle:
    st.slider("Direction (degrees)", 0, 359, key="ch2_plane_angle", on_change=_plane_moved)
with col_length:
    st.slider("Length", 0.1, 3.0, step=0.1, key="ch2_plane_length", on_change=_plane_moved)
with col_new:
    # The box on its own line and the two buttons under it: three columns inside a column
    # were too narrow for their labels.
    st.text_input("Add a word", key="ch2_plane_new", placeholder="e.g. rug", max_chars=20)
    col_add, col_reset = st.columns(2)
    col_add.button("Add", on_click=_add_word, key="ch2_plane_add", width="stretch")
    col_reset.button("Reset", on_click=_reset_plane, key="ch2_plane_reset", width="stretch")
if ss.get("ch2_plane_msg"):
    st.warning(ss.pop("ch2_plane_msg"))

names = list(plane)
vectors = np.array([plane[w] for w in names])


def label_side(word: str) -> str:
    """Put a word's label on the side of its arrow facing away from the nearest other arrow:
    cat and dog point 11 degrees apart, and labels both 'on top' ran into each other."""
    angle = emb.direction_of(plane[word])[0]
    turns = [((emb.direction_of(plane[w])[0] - angle + 180) % 360) - 180 for w in names if w != word]
    if not turns:
        return "top center"
    nearest = min(turns, key=abs)  # + : the nearest arrow is counter-clockwise from this one
    away = np.deg2rad(angle - 90 if nearest > 0 else angle + 90)
    return f"{'top' if np.sin(away) >= 0 else 'bottom'} {'right' if np.cos(away) >= 0 else 'left'}"


col_arrows, col_matrix = st.columns(2)
with col_arrows:
    fig = go.Figure()
    for i, word in enumerate(names):
        x, y = plane[word]
        color = WORD_COLORS[i % len(WORD_COLORS)]
        fig.add_annotation(x=x, y=y, ax=0, ay=0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=3, arrowsize=1.2, arrowwidth=3 if word == ss["ch2_plane_word"] else 2,
                           arrowcolor=color, text="")
        fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers+text", text=[word], textposition=label_side(word),
                                 marker=dict(size=9, color=color), textfont=dict(size=17, color=color),
                                 showlegend=False, hovertemplate=f"{word}: (%{{x:.2f}}, %{{y:.2f}})<extra></extra>"))
    reach = max(2.2, float(np.abs(vectors).max()) + 0.4)
    fig.update_xaxes(range=[-reach, reach], zeroline=True, zerolinewidth=2, title="x")
    fig.update_yaxes(range=[-reach, reach], zeroline=True, zerolinewidth=2, title="y", scaleanchor="x")
    charts.show(fig, key="ch2_plane_chart", height=420, title="Words as 2-D vectors")
with col_matrix:
    similarity = emb.cosine_matrix(vectors)
    charts.show(ch2.similarity_heatmap(similarity, names, "Cosine similarity"), key="ch2_plane_matrix", height=420)

moved = ss["ch2_plane_word"]
others = [w for w in names if w != moved]
if others:
    ranked = sorted(others, key=lambda w: -emb.cosine_similarity(plane[moved], plane[w]))
    closest = ranked[0]
    st.success(
        f"**{moved}** is closest to **{closest}**: cosine similarity "
        f"{emb.cosine_similarity(plane[moved], plane[closest]):.2f} "
        f"({emb.angle_between(plane[moved], plane[closest]):.0f}° apart). "
        "BERT does the same with 384 numbers per token instead of 2: too many to draw, "
        "but cosine similarity works the same in any number of dimensions.",
        icon=":material/straighten:",
    )
