"""The one way pages report bad input: a readable sentence, never a traceback."""

from __future__ import annotations

import streamlit as st

from ui.formats import as_text


def friendly_error(message: str) -> None:
    """The sentence is shown as plain text: it often quotes what the visitor typed or uploaded."""
    st.error(as_text(message), icon=":material/warning:")
