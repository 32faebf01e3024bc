"""Chapter 2 · The tokenizer: text -> word pieces -> vocabulary ids, as BERT receives them.

The talk's discovery is the centre of the page: the ids aren't random, id N is
line N+1 of the model's vocab.txt ("outrageous" = 25506). Around it: the
attention mask, padding to a chosen length, ## sub-word pieces, [UNK] and the
512-token limit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import embeddings as emb
from ui import bert, ch2, charts, settings

ss = st.session_state
settings.keep({"ch2_pad": 0}, allowed={"ch2_pad": range(0, 65)})

EXAMPLES = {
    "The talk": ch2.TALK_SENTENCE,
    "Rare words": "The unsubscribe button was unbelievably unhelpful",
    # Button labels in plain Latin letters: a projector laptop may have no emoji or CJK font.
    "Emoji & Chinese": "Too expensive 💸 — 太贵了",
    "Long text": "Way too expensive. " * 600,
}


def use_example(text: str) -> None:
    ss["ch2_tok_text"] = text


st.title("The tokenizer")
st.markdown("#### Before BERT reads anything, text becomes a list of numbers: word pieces, then their line in a file.")

text, model_id, col_text = ch2.text_and_model("Text to tokenize", "ch2_tok_text", need_encoder=False,
                                                max_chars=20_000,
                                                empty="The text is empty, so there is nothing to tokenize.")
with st.container():  # the page's full width: in the text's column the labels were cut short
    buttons = st.columns(len(EXAMPLES))
    for column, (label, example) in zip(buttons, EXAMPLES.items()):
        column.button(label, on_click=use_example, args=(example,), key=f"ch2_tok_ex_{label}",
                      width="stretch")

tokenizer = bert.tokenizer(model_id)
pad_to = ss.get("ch2_pad", 0) or None
tok = ch2.tokenized(model_id, text, pad_to)
ch2.show_notes(tok, tokenizer)

# ---------------------------------------------------------------- 1 · ids
st.header("1 · Tokens and ids")
st.markdown(
    f"**{tok.real_tokens} tokens**"
    + (f" + {len(tok.ids) - tok.real_tokens} padding" if len(tok.ids) > tok.real_tokens else "")
    + f" from a vocabulary of **{emb.vocab_size(tokenizer):,}** entries. "
    "`[CLS]` opens every text (its vector will become the sentence's summary) and `[SEP]` closes it."
)
shown = 64  # a 512-token text would make a table (and a wall of ids) nobody can read on a projector


def first_few(values: list[int]) -> str:
    """The first `shown` entries and how many more: '[101, 2126, …, 2205, … 448 more]'."""
    if len(values) <= shown:
        return str(values)
    return str(values[:shown])[:-1] + f", … {len(values) - shown} more]"


st.code(f"input_ids      = {first_few(tok.ids)}\nattention_mask = {first_few(tok.attention_mask)}",
        language="python", wrap_lines=True)

path = emb.vocab_file(tokenizer)
rows = pd.DataFrame({
    "token": tok.tokens[:shown],
    "id": tok.ids[:shown],
    "line in vocab.txt": [emb.vocab_line_number(i) for i in tok.ids[:shown]] if path else ["—"] * min(shown, len(tok.ids)),
    "attention": tok.attention_mask[:shown],
})
if path:
    rows["that line reads"] = [emb.vocab_lines(path, n, n)[0][1] for n in rows["line in vocab.txt"]]

col_table, col_file = st.columns([1.4, 1])
with col_table:
    # "auto" fits up to 10 rows whatever the font size (a fixed height hid [SEP] at 18 px);
    # no index column, so "that line reads" fits beside the vocab.txt excerpt at 1280 px.
    st.dataframe(rows, hide_index=True, height="auto", key="ch2_tok_table", column_config={
        "line in vocab.txt": st.column_config.NumberColumn("vocab.txt line", format="%d"),
        "that line reads": st.column_config.TextColumn("line reads"),
        "attention": st.column_config.NumberColumn("mask", help="attention mask: 1 = read it, 0 = padding"),
    })
    if len(tok.ids) > shown:
        st.caption(f"Showing the first {shown} of {len(tok.ids)} tokens.")
with col_file:
    if path:
        words = [(p, t) for p, t in enumerate(tok.tokens) if t not in ("[PAD]",)]
        default_position = max((p for p, t in words if t not in ("[CLS]", "[SEP]")), default=0)
        options = [p for p, _ in words][:shown]
        if ss.get("ch2_tok_line") not in options:
            ss["ch2_tok_line"] = default_position if default_position in options else options[0]
        position = st.selectbox("Find a token in vocab.txt", options, key="ch2_tok_line",
                                format_func=lambda p: f"{tok.tokens[p]}  (id {tok.ids[p]})")
        line = emb.vocab_line_number(tok.ids[position])
        excerpt = emb.vocab_lines(path, line - 3, line + 3)
        width = len(str(excerpt[-1][0]))
        st.code("\n".join(f"{n:>{width}} {'▶' if n == line else ' '} {word}" for n, word in excerpt), language=None)
        st.success(f"id **{tok.ids[position]:,}** → line **{line:,}** of vocab.txt: "
                   f"`{excerpt[[n for n, _ in excerpt].index(line)][1]}`. The id is the line number minus one "
                   "(ids count from 0, editors count lines from 1).", icon=":material/check:")
    else:
        st.info("This model's tokenizer has no vocab.txt (RoBERTa, for example, keeps a vocab.json of "
                "byte-pair pieces), but the idea is the same: every id indexes one entry of a fixed vocabulary.")

# ---------------------------------------------------------------- 2 · attention mask and padding
st.header("2 · Attention mask and padding")
st.markdown(
    "A batch of sentences must be a rectangle, so short ones are **padded** with `[PAD]` (id "
    f"{tokenizer.pad_token_id}). The **attention mask** tells BERT which positions are real (1) and which to ignore (0)."
)
col_slider, col_strip = st.columns([1, 3])
with col_slider:
    st.slider("Pad to length (0 = no padding)", 0, 64, key="ch2_pad",
              help="The talk's batches were padded too: those zeros at the end of the ids.")
with col_strip:
    strip = tok.tokens[:shown]
    fig = go.Figure(go.Heatmap(
        z=[tok.attention_mask[:shown]], x=list(range(len(strip))), zmin=0, zmax=1,
        colorscale=[[0, "#d9d9d9"], [1, "#2ca02c"]], showscale=False,
        text=[[f"{t}<br>{i}" for t, i in zip(strip, tok.ids[:shown])]], texttemplate="%{text}",
        textfont=dict(size=14), hovertemplate="position %{x}: %{text}<br>attention %{z}<extra></extra>", xgap=3,
    ))
    fig.update_yaxes(visible=False)
    fig.update_xaxes(title="position (green: attention 1, grey: padding, attention 0)", dtick=1)
    charts.show(fig, key="ch2_tok_mask", height=190)

# ---------------------------------------------------------------- 3 · pieces
st.header("3 · Rare words become ## pieces")
pieces = emb.word_pieces(tok)
split = [(word, p) for word, p in pieces if len(p) > 1]
st.markdown(
    "The vocabulary can't hold every word, so WordPiece keeps common words whole and spells rare ones "
    "from smaller pieces; `##` means *glued to the piece before*. Nothing is ever out of vocabulary, "
    "except characters the vocabulary has never seen: those become `[UNK]`."
)
if split:
    st.dataframe(pd.DataFrame({"word": [w for w, _ in split], "pieces": [" ".join(p) for _, p in split],
                               "pieces count": [len(p) for _, p in split]}),
                 hide_index=True, key="ch2_tok_pieces")
else:
    st.info("Every word of this text is a whole entry of the vocabulary. Try the **Rare words** example above.",
            icon=":material/lightbulb:")
