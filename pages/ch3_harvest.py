"""Chapter 3's background fine-tune, collected once it has ended.

Called by app.py on every run of every page, not just by chapter 3's page: a
visitor who starts a fine-tune and goes to chapter 2's embedding map while it
trains sees the fine-tuned map as soon as training ends. Light on purpose
(no torch, no plotly): it runs before every page.
"""

from __future__ import annotations

import streamlit as st

from core import jobs

ss = st.session_state


def harvest_finished_job() -> None:
    """Once per job, when it has ended: keep its history for comparisons and, if it
    learned something usable, make it the session's fine-tuned model."""
    job = ss.get("ch3_job")
    snap = job.claim_if_finished() if job is not None else None
    if snap is None:
        return
    result = snap.result
    if result is None:
        if snap.status == jobs.FAILED:
            ss["ch3_notice"] = ("error", f"The fine-tune failed: {snap.error} Earlier results are kept.")
        else:
            ss["ch3_notice"] = ("info", "The queued fine-tune was cancelled before it started.")
        return
    if result.history:
        ss.setdefault("ch3_runs", []).append(
            {"name": job.meta["name"], "short": job.meta["short"], "epochs": list(result.history)})
    learned = bool(result.steps) and (not result.diverged or result.weights_epoch is not None)
    if result.diverged:
        kept = " The best epoch's weights are kept." if learned else " Earlier results are kept."
        ss["ch3_notice"] = ("error", f"Training stopped: {result.diverged}{kept}")
    elif result.cancelled:
        ss["ch3_notice"] = ("info", f"Stopped after {len(result.steps)} of "
                                    f"{result.steps[-1].total_steps if result.steps else '?'} steps; "
                                    "everything learned so far is kept." if learned else
                                    "Stopped before the first step: nothing was learned.")
    elif result.stopped_early:
        ss["ch3_notice"] = ("info", f"Early stopping: evaluation accuracy stopped improving; "
                                    f"the weights of epoch {result.best_epoch} are kept.")
    else:
        ss.pop("ch3_notice", None)
    if learned:
        result.run_name = job.meta["name"]
        ss["ch3_result"] = result
        ss["finetuned"] = result
        ss.pop("ch3_loaded", None)
