"""The one live view for any background job (core/jobs.py), and the stop when a tab closes."""

from __future__ import annotations

import streamlit as st

# How often a running job's view redraws. Measured with the demo fine-tune watched in
# headless Chromium on the same 2-core machine: 0.5 s -> 22 s, 1 s -> 14 s (as fast as
# not watching at all): each redraw costs the server ~45 ms and the browser more.
POLL_SECONDS = 1.0


def while_running(job, draw, poll_seconds: float = POLL_SECONDS) -> None:
    """Live view of a background job: `draw(snapshot, running)` redraws every
    poll_seconds while the job runs (a fragment, so the rest of the page stays put).
    When the job has ended the whole page reruns once, so it can harvest the
    result and draw it, and the polling stops."""
    running = not job.snapshot().finished

    @st.fragment(run_every=poll_seconds if running else None)
    def panel():
        snap = job.snapshot()
        if running and snap.finished:
            st.rerun()
        draw(snap, running)

    panel()


def _stop_jobs_of_closed_tab(jobs_by_page: dict) -> None:
    for job in jobs_by_page.values():
        job.stop()


@st.cache_resource(scope="session", on_release=_stop_jobs_of_closed_tab, show_spinner=False)
def _jobs_of_this_session() -> dict:
    return {}


def stop_when_tab_closes(page: str, job) -> None:
    """When the visitor's session ends (tab closed), stop the page's latest background
    job: no orphaned training thread keeps burning a shared CPU. Any object with a
    .stop() method will do; the newest job per page replaces the previous one."""
    _jobs_of_this_session()[page] = job
