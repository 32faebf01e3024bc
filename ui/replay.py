"""The Replay button beside every Start, and the label on a replay.

A replay plays a recording shipped with the app (core/data/recordings/, made by
`python -m core.recording make-all`) through the page's own live view: a
core.recording.Replay looks like a background job, so ui.live.while_running and
the page's draw function show it unchanged. A page keeps its replay under
"<page>_replay_run" and shows it instead of its job while it is there:

    replay.controls("ch3", "ch3-finetune.json", disabled=busy)   # beside Start
    job = replay.current("ch3") or ss.get("ch3_job")
    replay.watch(job, draw)                                        # the label, then the live view
    replay.discard("ch3")                                          # when a real run starts
"""

from __future__ import annotations

import streamlit as st

from core import jobs, recording
from ui import live, settings
from ui.messages import friendly_error

ss = st.session_state
DEFAULT_SPEED = "1×"


def _key(page: str, what: str = "") -> str:
    """<page>_replay is the button; <page>_replay_run the replay, <page>_replay_speed its speed..."""
    return f"{page}_replay{what}"


def controls(page: str, file_name: str, disabled: bool = False) -> None:
    """The Replay button and its speed (1×, 4×, instant), side by side in the current
    container: put it in a column of Start's row. A recording that can't be played
    gives a sentence under them, never a traceback."""
    speed_key = _key(page, "_speed")
    settings.keep({speed_key: DEFAULT_SPEED}, allowed={speed_key: list(recording.SPEEDS)})
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.button("Replay", key=_key(page), icon=":material/replay:", on_click=_start, args=(page, file_name),
                      disabled=disabled, width="content",
                      help="Play a run recorded on another day through the same charts: for when a live run "
                           "can't happen. Labelled as a replay, with when and where it was recorded.")
    row.segmented_control("Replay speed", list(recording.SPEEDS), key=speed_key,
                                label_visibility="collapsed")
    if ss.get(_key(page, "_problem")):
        friendly_error(ss[_key(page, "_problem")])


def _start(page: str, file_name: str) -> None:
    speed = recording.SPEEDS.get(ss.get(_key(page, "_speed")) or DEFAULT_SPEED, 1.0)
    try:
        loaded = recording.load_shipped(file_name)
        started = recording.Replay(loaded, speed=speed, meta={
            "page": page, "name": f"Replay · recorded {recording.recorded_when(loaded)}", "short": "Replay"})
    except recording.RecordingError as error:
        ss[_key(page, "_problem")] = f"{error} The live run still works: press the Start button beside it."
        ss.pop(_key(page, "_run"), None)
        return
    ss.pop(_key(page, "_problem"), None)
    ss[_key(page, "_run")] = started


def current(page: str) -> recording.Replay | None:
    """The page's replay, if one was started and not discarded since."""
    return ss.get(_key(page, "_run"))


def discard(page: str) -> None:
    """A real run starts (or Close was pressed): the page shows its own job again."""
    shown = ss.pop(_key(page, "_run"), None)
    if shown is not None:
        shown.stop()


def is_replay(job) -> bool:
    return isinstance(job, recording.Replay)


def banner(shown: recording.Replay) -> None:
    """What the audience must not miss: this is a recording, from when, on what machine."""
    if shown.speed == float("inf"):
        pace = "Shown all at once."
    else:
        pace = f"Played at {shown.speed:g}× its recorded speed." if shown.speed != 1 else "Played at its recorded speed."
        if shown.skipped >= 0.5:
            pace += f" Its first {shown.skipped:.1f} s (loading, before the first report) are skipped."
    text_col, close_col = st.columns([4, 1.1], vertical_alignment="center")
    text_col.info(f"**{shown.label}.** {pace}", icon=":material/replay:")
    close_col.button("Close replay", key=_key(shown.meta.get("page", "page"), "_close"), on_click=discard,
                     args=(shown.meta.get("page"),), icon=":material/close:", width="stretch")


def watch(job, draw) -> None:
    """The page's live view of `job`, a real job or a replay (then labelled as one)."""
    if is_replay(job):
        banner(job)
    live.while_running(job, draw)


def finished(page: str):
    """The final result of the page's replay once it has played to the end, else None."""
    shown = current(page)
    if shown is None:
        return None
    snap = shown.snapshot()
    return snap.result if snap.status == jobs.DONE else None
