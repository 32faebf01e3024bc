"""Pre-flight: the hour before the talk. Will this machine make the live moments in time?"""

import functools

import streamlit as st

from core import jobs, preflight
from ui import live, stage
from ui.formats import as_text, duration
from ui.messages import friendly_error

ss = st.session_state
COLOURS = {preflight.GREEN: "green", preflight.AMBER: "orange", preflight.RED: "red"}
WORDS = {preflight.GREEN: "on time", preflight.AMBER: "tight", preflight.RED: "too slow"}

st.title("Pre-flight")
stage.explain(
    "For the hour before the talk. The checks load the bundled model with the network off, read the free "
    "memory and the load average, then time a few steps of chapter 3's real fine-tune (its default settings, "
    "the shipped data) and predict the whole run, and chapter 4's live reruns, from them. Green: within the "
    f"budget (the live fine-tune: {preflight.FINETUNE_BUDGET:.0f} s). Amber: up to 1.5× the budget. Red: beyond. "
    "The checks take about half a minute; a fine-tune waiting in chapter 3's line goes first.",
    label="What the checks do",
)

job = ss.get("preflight_job")
busy = job is not None and not job.snapshot().finished
run_col, warm_col = st.columns(2)
run = run_col.button("Run the pre-flight checks", key="preflight_run", type="primary", icon=":material/flight_takeoff:",
                     disabled=busy, width="stretch")
warm = warm_col.button("Warm every cache", key="preflight_warm", icon=":material/local_fire_department:",
                       width="stretch", help="Model, tokenizer and the shipped sentences' embeddings, loaded once now")

if run and not busy:
    try:
        job = jobs.submit(functools.partial(preflight.run_checks), meta={"name": "pre-flight"},
                          owner=live.session_id(), priority=live.is_speaker())
    except jobs.QueueFull as full:
        friendly_error(str(full))
    else:
        ss["preflight_job"] = job
        live.stop_when_tab_closes("preflight", job)
        st.rerun()

if warm:
    from ui import bert, ch2
    from core import models

    with st.spinner("Loading the model and embedding the shipped sentences…"):
        took = preflight.warm_caches()
        bert.tokenizer(models.BUNDLED)
        bert.encoder(models.BUNDLED)
        texts = {split: tuple(preflight.shipped_sentences(split)) for split in ("train", "eval")}
        for chosen in (texts["train"], texts["eval"], texts["train"] + texts["eval"]):
            ch2.sentence_embeddings(models.BUNDLED, chosen, "mean")
    ss["preflight_warmed"] = took


def show_check(check: preflight.Check) -> None:
    colour = COLOURS[check.status]
    st.markdown(f":{colour}-badge[{WORDS[check.status]}] **{check.name}**: {as_text(check.value)}")
    if check.detail:
        st.caption(as_text(check.detail))


def draw(snap, running: bool) -> None:
    for check in (snap.result.checks if snap.result is not None else snap.steps):
        show_check(check)
    if running:
        st.caption(f"Checking… {duration(snap.running_seconds)}")
    elif snap.error:
        friendly_error(snap.error)


if job is not None:
    live.while_running(job, draw)
else:
    st.caption("No checks run yet in this session.")

if ss.get("preflight_warmed"):
    took = ss["preflight_warmed"]
    st.success("Warm: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items()))
