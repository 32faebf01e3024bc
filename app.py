"""FizzBuzz to BERT: the entry point and router.

`streamlit run app.py` starts here. This file builds the navigation (every
chapter is a folder of small page scripts under pages/, each a thin view over
the computation in core/) and, before any page runs, collects a fine-tune that
has just finished in the background, so every chapter sees the new model.
Nothing heavy (torch, transformers, scikit-learn) is imported here, so the
home page renders in about a second on a cold server.
"""

import os

import streamlit as st

from pages import ch3_harvest

# On a CPU shared by many (Community Cloud, a laptop running a projector and a
# browser), OpenMP threads that spin while waiting made a training step up to
# 20x slower; passive waiting costs next to nothing on an idle machine. It must
# be set before torch is first imported, which happens later, lazily.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

st.set_page_config(page_title="FizzBuzz to BERT", page_icon=":material/calculate:", layout="wide")

# (section title, [(page file, title, icon), ...]) in the order the talk tells it.
# Material icons ship with Streamlit's own font: they render offline and without emoji fonts.
CHAPTERS = [
    ("Start", [
        ("pages/home.py", "FizzBuzz to BERT", ":material/home:"),
    ]),
    ("1 · A network from scratch", [
        ("pages/ch1_multiplication.py", "Multiplication", ":material/close:"),
        ("pages/ch1_confidence.py", "Confidence and error", ":material/percent:"),
        ("pages/ch1_learning.py", "Learning is search", ":material/landscape:"),
        ("pages/ch1_framework.py", "The framework way", ":material/build:"),
    ]),
    ("2 · Words to vectors", [
        ("pages/ch2_onehot.py", "One-hot vs embeddings", ":material/abc:"),
        ("pages/ch2_tokenizer.py", "The tokenizer", ":material/content_cut:"),
        ("pages/ch2_bert_output.py", "What BERT gives back", ":material/psychology:"),
        ("pages/ch2_embedding_map.py", "Embedding map", ":material/map:"),
    ]),
    ("3 · Fine-tune BERT", [
        ("pages/ch3_finetune.py", "Live fine-tune", ":material/local_fire_department:"),
    ]),
    ("4 · Lessons", [
        ("pages/ch4_lessons.py", "Lessons as experiments", ":material/science:"),
    ]),
]


def build_navigation():
    return {
        section: [
            st.Page(path, title=title, icon=icon, default=(path == "pages/home.py"))
            for path, title, icon in pages
        ]
        for section, pages in CHAPTERS
    }


ch3_harvest.harvest_finished_job()
st.navigation(build_navigation()).run()
