"""Deep links on a fresh server: one workaround for Streamlit's old multipage mode.

Streamlit treats a folder named pages/ as an old-style multipage app until app.py
has called st.navigation once in this process (PagesManager.uses_pages_directory
starts True when the folder exists and st.navigation sets it False). So on a fresh
server (a Cloud app waking up, a speaker's bookmark) a first request for
/ch3_finetune runs that page alone, with a sidebar of raw file names. Streamlit has
no supported switch for this (1.67): st.navigation is the only thing that clears
the flag. So the first page to run in a process clears it and reruns, which goes
through app.py's router. tests/e2e/test_smoke.py fails if deep links break.
"""

from __future__ import annotations

import logging

import streamlit as st

log = logging.getLogger(__name__)


def use_the_router_even_on_a_deep_link() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        PagesManager = None
    if PagesManager is None or not hasattr(PagesManager, "uses_pages_directory"):
        log.warning("This Streamlit has no PagesManager.uses_pages_directory: a deep link to a page on a "
                    "fresh server may show the old file-list sidebar until the home page has run once.")
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
