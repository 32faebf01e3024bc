"""Prev / Next on every page, from the registry: the story is one linear path."""

from __future__ import annotations

import streamlit as st

from ui import registry


def prev_next(current: registry.Page) -> None:
    """The footer every page gets from app.py: the page before, where we are, the page after."""
    st.divider()
    back, here, onward = st.columns([2, 1, 2], vertical_alignment="center")
    previous, following = registry.before(current), registry.after(current)
    if previous is not None:
        back.page_link(previous.path, label=f"Prev: {previous.title}", icon=":material/arrow_back:")
    here.caption(registry.place(current))
    if following is not None:
        onward.page_link(following.path, label=f"Next: {following.title}", icon=":material/arrow_forward:")
