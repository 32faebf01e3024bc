"""The one way pages report bad input: a readable sentence, never a traceback."""

from __future__ import annotations

import streamlit as st


def friendly_error(message: str) -> None:
    st.error(message, icon=":material/warning:")
