"""FizzBuzz to BERT: the entry point and router.

`streamlit run app.py` starts here. This file only builds the navigation: every
chapter is a folder of small page scripts under pages/, each a thin view over
the computation in core/. Nothing heavy (torch, transformers, scikit-learn) is
imported here, so the home page renders in about a second on a cold server.
"""

import streamlit as st

st.set_page_config(page_title="FizzBuzz to BERT", page_icon="🧮", layout="wide")

# (section title, [(page file, title, icon), ...]) in the order the talk tells it.
CHAPTERS = [
    ("Start", [
        ("pages/home.py", "FizzBuzz to BERT", "🏠"),
    ]),
    ("1 · A network from scratch", [
        ("pages/ch1_multiplication.py", "Multiplication", "✖️"),
        ("pages/ch1_confidence.py", "Confidence and error", "🎯"),
        ("pages/ch1_learning.py", "Learning is search", "⛰️"),
        ("pages/ch1_framework.py", "The framework way", "🧰"),
    ]),
    ("2 · Words to vectors", [
        ("pages/ch2_onehot.py", "One-hot vs embeddings", "🔤"),
        ("pages/ch2_tokenizer.py", "The tokenizer", "✂️"),
        ("pages/ch2_bert_output.py", "What BERT gives back", "🧠"),
        ("pages/ch2_embedding_map.py", "Embedding map", "🗺️"),
    ]),
    ("3 · Fine-tune BERT", [
        ("pages/ch3_finetune.py", "Live fine-tune", "🔥"),
    ]),
    ("4 · Lessons", [
        ("pages/ch4_lessons.py", "Lessons as experiments", "🧪"),
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


st.navigation(build_navigation()).run()
