"""Chapter 6's view helpers: which model its pages use, the interview's words, and
one background run per page (started, watched, its result kept in the session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from core import jobs
from ui import live
from ui.formats import as_text
from ui.messages import friendly_error

ss = st.session_state
CH3_PAGE = "pages/ch3_finetune.py"


@dataclass(frozen=True)
class ModelInUse:
    model: Any
    tokenizer: Any
    labels: tuple[str, ...]
    name: str
    finetuned: bool        # False: the bundled BERT with its head set to the class centres, never trained


@st.cache_resource(show_spinner="Setting up the bundled BERT with a head at the class centres…")
def bundled_model() -> ModelInUse:
    """Shared by every visitor, read-only: the pretrained BERT plus a new layer set from the
    shipped training sentences' class centres (core.model_numbers.centroid_classifier)."""
    from core.datasets import load_shipped
    from core.model_numbers import centroid_classifier

    train = load_shipped("train")
    model, tokenizer, labels = centroid_classifier(train.texts, train.labels)
    return ModelInUse(model, tokenizer, tuple(labels), "the bundled BERT, head at the class centres (untrained)",
                      finetuned=False)


def model_in_use(note: str = "") -> ModelInUse:
    """This visitor's fine-tuned model from chapter 3 when there is one; else a sentence
    saying so, a link to chapter 3, and the bundled model."""
    trained = ss.get("finetuned")
    if trained is not None:
        return ModelInUse(trained.model, trained.tokenizer, tuple(trained.labels), trained.name, finetuned=True)
    with st.container(border=True):
        st.markdown("**You have no fine-tuned model yet**, so this page uses the bundled BERT with its new layer "
                    f"set to the class centres of the training sentences (no training step). {note}")
        st.page_link(CH3_PAGE, label="Fine-tune one in chapter 3 (about 10 s)", icon=":material/local_fire_department:")
    return bundled_model()


def interview(words: str, when: str) -> None:
    """A quote from the interview (seeds 003), its machine-translation spinning undone."""
    st.markdown(f"> {words}\n>\n> — Sean Moriarity, Axon's author, in the interview ({when})")


@dataclass(frozen=True)
class Run:
    """One page's background run: where its job and its finished result live in the session."""
    key: str
    title: str
    kind: str = jobs.COMPUTE

    @property
    def job(self):
        return ss.get(f"{self.key}_job")

    @property
    def result(self):
        return ss.get(f"{self.key}_result")

    def start(self, work: Callable) -> None:
        """Submit `work` (a functools.partial of a core function, called as work(on_step, on_epoch, should_stop))."""
        ss.pop(f"{self.key}_error", None)
        try:
            job = jobs.submit(work, meta={"title": self.title}, kind=self.kind, owner=live.session_id(),
                              priority=live.is_speaker())
        except jobs.QueueFull as full:
            ss[f"{self.key}_error"] = f"{self.title} can't start now: {full}"
            return
        ss[f"{self.key}_job"] = job
        live.stop_when_tab_closes(self.key, job)

    def busy(self) -> bool:
        job = self.job
        return job is not None and not job.snapshot().finished

    def collect(self) -> None:
        """File a finished job's result (or its error) once."""
        job = self.job
        snap = job.claim_if_finished() if job is not None else None
        if snap is None:
            return
        ss.pop(f"{self.key}_job", None)
        if snap.status == jobs.DONE and snap.result is not None:
            ss[f"{self.key}_result"] = snap.result
        elif snap.status == jobs.FAILED:
            ss[f"{self.key}_error"] = f"{self.title} failed: {snap.error}"
        job.forget_result()

    def watch(self, draw: Callable[[Any, bool], None]) -> None:
        """The live view while it runs (draw(snapshot, running)); a Stop button; its error if it failed."""
        self.collect()
        if ss.get(f"{self.key}_error"):
            friendly_error(ss[f"{self.key}_error"])
        job = self.job
        if job is None:
            return

        def panel(snap, running):
            if snap.status == jobs.QUEUED:
                st.caption(f"{as_text(self.title)}: queued, number {snap.position} in line…")
            draw(snap, running)

        live.while_running(job, panel)
        if self.busy():
            st.button("Stop", key=f"{self.key}_stop", icon=":material/stop:", on_click=job.stop)
