"""Home: the story in a few lines, and the way into each chapter in order."""

import streamlit as st

from pages import ui  # noqa: F401  (every page imports it: see ui's router note)

st.title("FizzBuzz to BERT")
st.markdown(
    "#### A neural network is just multiplication. Let's take that all the way to fine-tuning a real BERT — live."
)
st.markdown(
    "This app retells the ElixirConf 2023 talk *Fine-tuning language models with Axon* in Python, "
    "for web developers who feel deep learning is magic. Every step is a page you can poke at: "
    "change a number, watch the consequence. Everything runs on this machine, offline, with fixed seeds."
)

STORY = [
    ("pages/ch1_multiplication.py", "1 · A network from scratch",
     "Input × weight. FizzBuzz as numbers, weighted sums, a weight per class, softmax, error — "
     "then learning as search, and why fizzbuzz needs a hidden layer."),
    ("pages/ch2_onehot.py", "2 · Words to vectors",
     "Numbers were easy; words are not. One-hot vs embeddings, the tokenizer's ids, what BERT gives back, "
     "and a map of sentences."),
    ("pages/ch3_finetune.py", "3 · Fine-tune BERT",
     "Put one dense layer on BERT's [CLS] summary and teach it why customers cancel orders — "
     "train vs evaluation accuracy, as it happens."),
    ("pages/ch4_lessons.py", "4 · Lessons",
     "The talk's hard-won lessons, run as experiments: diverse data, label noise, batch size, "
     "over- and underfitting, other models, weight diagnostics, hardware."),
]

for path, title, blurb in STORY:
    with st.container(border=True):
        st.page_link(path, label=f"**{title}**", icon=":material/arrow_forward:")
        st.write(blurb)

st.caption(
    "Built with Streamlit, PyTorch and 🤗 Transformers. The default model is all-MiniLM-L6-v2, "
    "a 6-layer BERT that ships with the app, so the demo needs no wifi."
)
