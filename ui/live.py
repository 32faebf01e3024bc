"""The one live view for any background job (core/jobs.py), and the stop when a tab closes."""

from __future__ import annotations

import uuid

import streamlit as st

from core import jobs

# How often a running job's view redraws. Measured with the demo fine-tune watched in
# headless Chromium on the same 2-core machine: 0.5 s -> 22 s, 1 s -> 14 s (as fast as
# not watching at all): each redraw costs the server ~45 ms and the browser more.
POLL_SECONDS = 1.0
# A job waiting in the line only changes its place in it: its view redraws less often, so a
# room of visitors waiting behind the speaker's fine-tune doesn't take the CPU it trains on.
QUEUED_POLL_SECONDS = 3.0


def while_running(job, draw, poll_seconds: float = POLL_SECONDS) -> None:
    """Live view of a background job: `draw(snapshot, running)` redraws every
    poll_seconds while the job runs (every QUEUED_POLL_SECONDS while it waits for its
    turn; a fragment, so the rest of the page stays put). When the job starts, and when
    it has ended, the whole page reruns once (to poll faster; to harvest the result and
    draw it), and the polling stops after the end."""
    first = job.snapshot()
    running, queued = not first.finished, first.status == jobs.QUEUED

    @st.fragment(run_every=(QUEUED_POLL_SECONDS if queued else poll_seconds) if running else None)
    def panel():
        snap = job.snapshot()
        if (running and snap.finished) or (queued and snap.status != jobs.QUEUED):
            st.rerun()
        draw(snap, running)

    panel()


def bounded(fn, *args, **kwargs):
    """fn(*args, **kwargs) through the server's bounded pool for heavy page work (a t-SNE
    map, a near-duplicate check): the page waits for it, thirty visitors queue instead of
    sharing two cores thirty ways, and the speaker goes first. Raises jobs.QueueFull
    (Busy, AlreadyQueued) with a sentence for the page when there is no room."""
    return jobs.run_bounded(fn, *args, owner=session_id(), priority=is_speaker(), **kwargs)


def speaker_first():
    """Around a whole page run (app.py): while the speaker's job runs, other visitors'
    page runs take turns (core.jobs.page_run_turn), so a crowd can't starve it."""
    return jobs.page_run_turn(is_speaker())


def session_id() -> str:
    """Who submits a job: one id per browser session, so a visitor has at most one
    job waiting in each line (core/jobs.py)."""
    return st.session_state.setdefault("_session_id", uuid.uuid4().hex)


def is_speaker() -> bool:
    """The presenter's jobs go to the head of every line. The speaker opens the app once
    with ?speaker=<key>, the key set as PRESENTER_KEY in Streamlit's secrets or in the
    environment; the key leaves the address bar at once (it may be on a projector)."""
    state = st.session_state
    offered = st.query_params.get("speaker")
    if offered is not None:
        del st.query_params["speaker"]
        state["_speaker"] = jobs.is_presenter(offered, expected=_secret("PRESENTER_KEY"))
    return bool(state.get("_speaker"))


def _secret(name: str) -> str | None:
    try:
        return st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets file at all is the normal case
        return None


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
