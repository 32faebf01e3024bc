"""Chapter 2 · What BERT gives back: a vector per token, shaped (1, tokens, 384).

The talk showed a (1, 6, 768) tensor for "The price is outrageous" from
BERT-base; the bundled model gives (1, 6, 384). The page draws that table, the
token-to-token similarities, the same word in two contexts ("bank"), [CLS] vs
mean pooling as a sentence summary, and how BERT's pre-training makes [CLS] a
summary at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import embeddings as emb
from ui import bert, ch2, charts
from ui.formats import as_text

ss = st.session_state

BANK_SENTENCES = (
    "We had a picnic on the bank of the river.\n"
    "The river overflowed its bank after the storm.\n"
    "I need to call my bank about the card.\n"
    "The bank froze my account."
)
POOL_OTHERS = "Way too expensive for what it is\nThe delivery took three weeks\nWe had a picnic by the river"
HEATMAP_ROWS = 48  # a 512-token heatmap is unreadable and slow to send

st.title("What BERT gives back")
st.markdown("#### Ids go in; out comes one long list of numbers per token — a vector that depends on the whole sentence.")

text, model_id, _ = ch2.text_and_model("Text for BERT to read", "ch2_bo_text", max_chars=20_000)
tokenizer = bert.tokenizer(model_id)
states = ch2.hidden_states(model_id, text)
ch2.show_notes(states.tokenized, tokenizer)
_, n_tokens, width = states.shape

# ---------------------------------------------------------------- 1 · the shape
st.header("1 · The shape of the answer")
col_shape, col_explain = st.columns([1, 2])
with col_shape:
    st.markdown(f"<div style='font-size:2.6rem;font-weight:700;line-height:1.2'>{states.shape}</div>",
                unsafe_allow_html=True)
    st.caption("shape of the last hidden state")
with col_explain:
    st.markdown(
        f"- **1** sentence in the batch\n"
        f"- **{n_tokens}** tokens ({' '.join(states.tokens[:8])}{' …' if n_tokens > 8 else ''})\n"
        f"- **{width}** numbers for each token\n\n"
        f"The talk's BERT-base answered **(1, 6, 768)** for *The price is outrageous*: same sentence, same six "
        f"tokens, but twice as many numbers per token. This model has {width}."
    )

rows = min(n_tokens, HEATMAP_ROWS)
labels = ch2.unique_labels(states.tokens[:rows])
# A handful of outlier dimensions reach ±5 or more; scaled to them, every other cell is near-white.
# Saturate the colours at the 99th percentile instead, so the pattern shows on a projector.
reach = float(np.percentile(np.abs(states.vectors[:rows]), 99)) or 1.0
fig = ch2.heatmap(states.vectors[:rows], list(range(width)), labels,
                    f"The table: {rows} tokens × {width} numbers (red positive, blue negative)",
                    colorscale="RdBu_r", zmin=-reach, zmax=reach, x_title="dimension",
                    hover="%{y}, dimension %{x}: %{z:.3f}<extra></extra>")
charts.show(fig, key="ch2_bo_heatmap", height=min(120 + 34 * rows, 520))
if n_tokens > rows:
    st.caption(f"Showing the first {rows} of {n_tokens} tokens.")
st.caption("Each row is one token's vector. No single number means anything by itself; "
           "the pattern across all of them does. A few dimensions stand out in every row: that is normal for BERTs.")

# ---------------------------------------------------------------- 2 · token to token
st.header("2 · Which tokens look alike?")
similarity = emb.token_similarity(states)
col_matrix, col_note = st.columns([1.6, 1])
with col_matrix:
    charts.show(ch2.similarity_heatmap(similarity[:rows, :rows], states.tokens[:rows],
                                      "Token-to-token cosine similarity"), key="ch2_bo_tokens", height=460)
with col_note:
    real = [i for i, t in enumerate(states.tokens[:rows]) if t not in ("[CLS]", "[SEP]", "[PAD]")]
    if len(real) >= 2:
        pairs = sorted(((similarity[a, b], a, b) for i, a in enumerate(real) for b in real[i + 1:]), reverse=True)
        score, a, b = pairs[0]
        st.metric("Most alike pair of words", f"{states.tokens[a]} · {states.tokens[b]}", f"cosine {score:.2f}",
                  delta_color="off")
    st.markdown("Every vector has already *read the rest of the sentence* (that's what attention does), "
                "so neighbouring words share a lot. `[CLS]` and `[SEP]` sit in every sentence and soak up "
                "sentence-wide information.")

# ---------------------------------------------------------------- 3 · bank and bank
st.header("3 · Same word, different meaning")
col_inputs, col_bank = st.columns([1.1, 1.4])
with col_inputs:
    word = ch2.text_input("The word", "ch2_bank_word", "bank", empty="No word given.").strip()
    sentences_raw = ch2.text_input("Sentences that use it (one per line)", "ch2_bank_sentences",
                                     BANK_SENTENCES, area=True, height=160)
sentences = [s.strip() for s in sentences_raw.splitlines() if s.strip()][:8]
vectors, used, missing = [], [], []
for sentence in sentences:
    tokenized = ch2.tokenized(model_id, sentence)
    if emb.word_positions(tokenized, word):
        vectors.append(ch2.word_in_context(model_id, sentence, word))
        used.append(sentence)
    else:
        missing.append(sentence)
if missing:
    st.warning(f"'{as_text(word)}' isn't a whole word in: " + " · ".join(f"“{as_text(s)}”" for s in missing)
               + ". Those sentences are left out.", icon=":material/info:")
with col_bank:
    if len(vectors) >= 2:
        short = [f"{i + 1}. {s[:28]}{'…' if len(s) > 28 else ''}" for i, s in enumerate(used)]
        charts.show(ch2.similarity_heatmap(emb.cosine_matrix(vectors), short, f"'{word}' in context: cosine similarity",
                                          x_labels=[f"{i + 1}." for i in range(len(used))]),
                 key="ch2_bo_bank", height=330)
    else:
        st.info(f"Give at least two sentences that contain '{as_text(word)}'.")
if len(vectors) >= 2:
    ids = tokenizer(word, add_special_tokens=False)["input_ids"]
    st.markdown(
        f"Going **in**, '{word}' is the same id ({', '.join(map(str, ids))}) and the same row of the embedding "
        f"table in every sentence: similarity **1.00**. Coming **out**, each '{word}' has read its sentence: "
        f"the pair **1–2** scores **{emb.cosine_similarity(vectors[0], vectors[1]):.2f}**"
        + (f", the pair **1–3** scores **{emb.cosine_similarity(vectors[0], vectors[2]):.2f}**" if len(vectors) > 2 else "")
        + ". These are *contextual* embeddings — what one-hot vectors could never give."
    )

# ---------------------------------------------------------------- 4 · one vector per sentence
st.header("4 · One vector for the whole sentence: [CLS] or the mean?")
st.markdown(
    "A classifier wants one vector per sentence, not one per token. Two common choices: take the **[CLS]** "
    "token's vector, or **average** all the token vectors (mean pooling)."
)
col_others, col_table = st.columns([1, 2])
with col_others:
    others_raw = ch2.text_input("Compare your text with (one per line)", "ch2_pool_others", POOL_OTHERS,
                                  area=True, height=130)
others = [s.strip() for s in others_raw.splitlines() if s.strip()][:6]
texts = (text, *others)
cls = ch2.sentence_embeddings(model_id, texts, "cls")
mean = ch2.sentence_embeddings(model_id, texts, "mean")
table = pd.DataFrame({
    "compared with": others,
    "[CLS] pooling": [emb.cosine_similarity(cls[0], v) for v in cls[1:]],
    "mean pooling": [emb.cosine_similarity(mean[0], v) for v in mean[1:]],
})
with col_table:
    st.markdown(f"Cosine similarity with “{as_text(text[:60])}{'…' if len(text) > 60 else ''}”")
    bar = dict(format="%.2f", min_value=0.0, max_value=1.0, width="small")
    st.dataframe(table, hide_index=True, key="ch2_bo_pooling", column_config={
        "[CLS] pooling": st.column_config.ProgressColumn("[CLS] pooling", **bar),
        "mean pooling": st.column_config.ProgressColumn("mean pooling", **bar),
    })
if len(table) >= 2:
    spread_cls = table["[CLS] pooling"].max() - table["[CLS] pooling"].min()
    spread_mean = table["mean pooling"].max() - table["mean pooling"].min()
    better = "mean pooling" if spread_mean > spread_cls else "[CLS] pooling"
    st.markdown(
        f"Here **{better}** separates related from unrelated sentences more (spread "
        f"{max(spread_mean, spread_cls):.2f} vs {min(spread_mean, spread_cls):.2f}). The bundled model "
        "(all-MiniLM-L6-v2) was trained to be read by its mean, so its raw [CLS] vector says little yet. "
        "Fine-tuning changes that: the classifier in chapter 3 reads [CLS], and training teaches it to summarise."
    )

# ---------------------------------------------------------------- 5 · pre-training
st.header("5 · How BERT learned this: two guessing games")
col_mlm, col_nsp = st.columns(2)
with col_mlm:
    st.subheader("Masked language modelling")
    st.graphviz_chart(
        """digraph { rankdir=TB; bgcolor="transparent"; node [shape=box, style="rounded,filled", fontsize=18, fillcolor="#eef4fb"];
        input [label="[CLS] the price is [MASK] [SEP]"]; bert [label="BERT", fillcolor="#ffe9b3"];
        guess [label="outrageous? 61%\\nhigh? 12%\\n…", fillcolor="#e3f4e1"];
        input -> bert -> guess; }""", width="stretch")
    st.markdown("Hide about 15% of the words and guess them from the words on **both** sides. To win, each "
                "token's vector must carry what the word means *in this sentence*. The talk said it thinks of "
                "this task \"more as next word prediction\"; that is GPT's game, which guesses only the next word "
                "from the words before it. BERT's hidden word can be anywhere, and it reads both sides: this page "
                "corrects the talk here.")
with col_nsp:
    st.subheader("Next-sentence prediction")
    st.graphviz_chart(
        """digraph { rankdir=TB; bgcolor="transparent"; node [shape=box, style="rounded,filled", fontsize=18, fillcolor="#eef4fb"];
        pair [label="[CLS] the price is outrageous [SEP]\\nI cancelled my order [SEP]"]; bert [label="BERT", fillcolor="#ffe9b3"];
        cls [label="[CLS] vector", fillcolor="#f3e3f4"]; answer [label="is B the next\\nsentence? yes", fillcolor="#e3f4e1"];
        pair -> bert -> cls -> answer; }""", width="stretch")
    st.markdown("Show two sentences; half the time B really follows A. The answer is read from the **[CLS] "
                "vector alone**, so training pushes [CLS] to gather a summary of the whole input.")
st.info(
    "**Why [CLS] summarises.** It is a token with no word of its own, at the same position in every input; "
    "through attention it can look at every other token, and pre-training rewarded it for summarising. "
    "That is why the talk throws away the other token vectors and feeds [CLS] into **one dense layer with "
    "softmax** — one output per cancellation reason — then fine-tunes.",
    icon=":material/lightbulb:",
)
st.caption("The guess percentages in the first picture are illustrative: the bundled model was trained "
           "further as a sentence encoder and no longer has its word-guessing head.")
