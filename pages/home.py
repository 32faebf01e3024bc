"""Home: the story in a few lines, and the way into each chapter in order."""

import streamlit as st

from ui import registry

st.title("FizzBuzz to BERT")
st.markdown(
    "#### A neural network is just multiplication. Let's take that all the way to fine-tuning a real BERT — live."
)
st.markdown(
    "This app retells the ElixirConf 2023 talk *Fine-tuning language models with Axon* in Python, "
    "for web developers who feel deep learning is magic. Every step is a page you can poke at: "
    "change a number, watch the consequence. Everything runs on this machine, offline, with fixed seeds."
)

for chapter in registry.CHAPTERS:
    pages = registry.pages_of(chapter)
    if not chapter.blurb or not pages:
        continue
    with st.container(border=True):
        st.page_link(pages[0].path, label=f"**{chapter.title}**", icon=":material/arrow_forward:")
        st.write(chapter.blurb)

st.caption(
    "Built with Streamlit, PyTorch and Hugging Face Transformers. The default model is all-MiniLM-L6-v2, "
    "a 6-layer BERT that ships with the app, so the demo needs no wifi. "
    "Presenting this? Run **Pre-flight** (in the sidebar, under Start) in the hour before the talk."
)
