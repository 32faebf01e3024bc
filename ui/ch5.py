"""Chapter 5's view helpers: the data its pages share, and background work whose
result every visitor can reuse.

The BERT pass over the shipped sentences (the competition's embedding arms, the
labelling game's pool) takes several seconds the first time in a process and
nothing after (core.embedding_cache keeps the vectors). So a page asks
`computed(key, title, work)`: the result at once when some visitor already
paid for it, else a background job (core/jobs.py, kind COMPUTE) watched by the
one live view, while the rest of the page draws.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any, Callable

import streamlit as st

from core import jobs
from core.datasets import LabelledTexts
from ui import live
from ui.messages import friendly_error

ss = st.session_state
MAX_SESSION_RESULTS = 4          # a visitor's own uploads: a few leaderboards, not a growing pile
MAX_SHARED_RESULTS = 32          # the fraud page alone has 1000 seeds x 2 encodings x 2 weightings


@st.cache_resource(show_spinner=False)
def _shared_results() -> OrderedDict:
    """Results on shipped or seeded data, one per key, shared by every session of this
    process; the least recently used go first."""
    return OrderedDict()


def computed(key: tuple, title: str, work: Callable[[], Any], shared: bool = True) -> Any | None:
    """`work()`'s result when it is ready; otherwise None, with its progress drawn here.
    `shared`: the result depends only on shipped data, so every visitor may reuse it;
    else it is kept in this session only. A failure is a sentence and a Try again button."""
    store = _shared_results() if shared else ss.setdefault("ch5_results", {})
    if key in store:
        if shared:
            store.move_to_end(key)
        return store[key]
    failed = ss.setdefault("ch5_failed", {})
    if key in failed:
        friendly_error(failed[key])
        st.button("Try again", key=f"ch5_retry_{abs(hash(key))}", on_click=failed.pop, args=(key, None))
        return None
    running = ss.setdefault("ch5_jobs", {})
    job = running.get(key)
    if job is None:
        try:
            job = jobs.submit(functools.partial(_call, work), meta={"title": title}, kind=jobs.COMPUTE,
                              owner=live.session_id(), priority=live.is_speaker())
        except jobs.AlreadyQueued:
            st.caption(f"{title}: waits for your other computation on this page to start first…")
            return None
        except jobs.QueueFull as full:
            friendly_error(f"{title} can't start now: {full}")
            return None
        running[key] = job
        live.stop_when_tab_closes(f"ch5_{key[0]}", job)
    snap = job.snapshot()
    if snap.finished:
        running.pop(key, None)
        if snap.status == jobs.DONE and snap.result is not None:
            while len(store) >= (MAX_SHARED_RESULTS if shared else MAX_SESSION_RESULTS):
                store.pop(next(iter(store)))
            store[key] = snap.result
            job.forget_result()
            return snap.result
        failed[key] = f"{title} could not run: {snap.error or 'it was stopped'}."
        friendly_error(failed[key])
        return None

    def draw(snap, is_running):
        if not is_running:
            return
        if snap.status == jobs.QUEUED:
            st.caption(f"{title}: queued behind {snap.position - 1 or 'another'} computation(s) on this server…")
        else:
            st.caption(f"{title}… {snap.running_seconds:.0f} s (the first time on this server only)")

    live.while_running(job, draw)
    return None


def _call(work, on_step, on_epoch, should_stop):
    return work()


def shipped_key(*parts: LabelledTexts) -> str:
    """A short name for a data set, so results are only reused for the very same sentences."""
    from core.compete import data_fingerprint

    return "+".join(data_fingerprint(p)[:16] for p in parts)
