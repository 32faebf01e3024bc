"""Background jobs that have ended, collected in one place, once each.

app.py calls collect_finished_jobs() on every run of every page, not just on the
page that started the job: a visitor who starts a fine-tune and goes to chapter
2's embedding map while it trains sees the fine-tuned map as soon as training
ends. Light on purpose (no torch, no plotly): it runs before every page.

What it leaves in st.session_state:
    "finetuned"   the session's fine-tuned model, a core.trained.TrainedModel
                  (every chapter reads it; chapter 3 also puts a loaded zip here)
    "ch3_result"  the latest chapter-3 run that learned something (its history)
    "ch3_runs"    earlier chapter-3 runs' histories, for "compare two runs"
    "ch3_notice"  what to tell the visitor about how the last run ended
    "ch4_live"    lesson key -> the result measured live in this session
    "ch4_notice"  (lesson key, kind, sentence) about the last lesson run
"""

from __future__ import annotations

import streamlit as st

from core import jobs
from core.memory import give_back_freed_memory
from core.trained import TrainedModel

ss = st.session_state


def collect_finished_jobs() -> None:
    finetune_ended()
    lesson_ended()


def finetune_ended() -> None:
    """Chapter 3: keep the run's history for comparisons and, if it learned something
    usable, make it the session's fine-tuned model."""
    job = ss.get("ch3_job")
    snap = job.claim_if_finished() if job is not None else None
    if snap is None:
        return
    result = snap.result
    job.forget_result()  # filed below: the job must not keep this run's model alive
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
    ss["ch3_notice"] = how_it_ended(result, learned, snap.stop_reason)
    if learned:
        ss["ch3_result"] = result
        ss["finetuned"] = TrainedModel.from_result(result, name=job.meta["name"])
        ss.pop("ch3_loaded", None)
        # The previous model (~90 MB) is garbage now, but held in reference cycles until the
        # collector happens to run, and its pages kept by the allocator after that: free it
        # here and hand the pages back, or memory see-saws by a model or two per run.
        del result, snap
        give_back_freed_memory()


def how_it_ended(result, learned: bool, stop_reason: str | None = None) -> tuple[str, str] | None:
    if result.diverged:
        kept = " The best epoch's weights are kept." if learned else " Earlier results are kept."
        return "error", f"Training stopped: {result.diverged}{kept}"
    if result.cancelled and stop_reason:
        return "warning", f"{stop_reason} Everything learned so far is kept." if learned else stop_reason
    if result.cancelled:
        if not learned:
            return "info", "Stopped before the first step: nothing was learned."
        return "info", (f"Stopped after {len(result.steps)} of {result.steps[-1].total_steps} steps; "
                        "everything learned so far is kept.")
    if result.stopped_early:
        return "info", (f"Early stopping: evaluation accuracy stopped improving; "
                        f"the weights of epoch {result.best_epoch} are kept.")
    if getattr(result, "warning", None):
        return "warning", result.warning
    return None


def lesson_ended() -> None:
    """Chapter 4: keep a lesson's live result (even a partial one)."""
    job = ss.get("ch4_job")
    snap = job.claim_if_finished() if job is not None else None
    if snap is None:
        return
    key = job.meta["key"]
    job.forget_result()
    if snap.status == jobs.FAILED:
        ss["ch4_notice"] = (key, "error", f"The experiment could not run: {snap.error} Earlier results are kept.")
    elif snap.result is None:
        ss["ch4_notice"] = (key, "info", "The queued experiment was cancelled before it started; nothing changed.")
    else:
        ss.setdefault("ch4_live", {})[key] = snap.result
        if snap.result.get("stopped"):
            ss["ch4_notice"] = (key, "warning", snap.stop_reason or snap.result.get("message")
                                or "Stopped midway; partial results kept.")
        else:
            ss.pop("ch4_notice", None)
