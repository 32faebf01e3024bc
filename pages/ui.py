"""Small view helpers shared by the pages (not a page itself: app.py doesn't list it).

Everything here is presentation: plotly styling readable on a projector, cached
access to the model registry, and one way of showing an error.
"""

from __future__ import annotations

import streamlit as st

from core import models


def _use_the_router_even_on_a_deep_link() -> None:
    """Streamlit treats a folder named pages/ as an old-style multipage app until
    app.py has called st.navigation once in this process. So on a fresh server
    (a Cloud app waking up, a speaker's bookmark) a first request for /ch3_finetune
    would run that page alone, with a sidebar of raw file names. Every page imports
    this module: switch the process to the router and rerun through app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_use_the_router_even_on_a_deep_link()

# Colours fixed per idea so every chart tells the same story.
TRAIN_COLOR = "#1f77b4"
EVAL_COLOR = "#d62728"
CLASS_COLORS = {"fizz": "#2ca02c", "buzz": "#1f77b4", "fizzbuzz": "#9467bd", "none": "#7f7f7f"}


def style(fig, height: int = 380, **layout):
    """Large fonts and tight margins: charts must be readable from the back row."""
    titled = bool(fig.layout.title.text or layout.get("title"))
    fig.update_layout(
        height=height,
        font=dict(size=16),
        # A title sits at the very top and the legend row just under it, above the plot.
        margin=dict(l=10, r=10, t=90 if titled else 50, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        **layout,
    )
    if titled:
        fig.update_layout(title=dict(y=0.98, yanchor="top"))
    return readable_text(fig)


# Plotly's toolbar, cut to "save as PNG" and "reset axes": on a half-width chart the full
# row of buttons covered the chart's title whenever the pointer was over it. Drag still
# zooms, double-click still resets.
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": [
    "zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]}


def chart(fig, key: str | None = None, **layout):
    st.plotly_chart(style(fig, **layout), key=key, config=CHART_CONFIG)


def friendly_error(message: str) -> None:
    """The one way pages report bad input: a readable sentence, never a traceback."""
    st.error(message, icon="⚠️")


@st.cache_resource(show_spinner="Loading the tokenizer…")
def tokenizer(model_id: str = models.BUNDLED):
    return models.load_tokenizer(model_id)


@st.cache_resource(show_spinner="Loading the pretrained model…")
def encoder(model_id: str = models.BUNDLED):
    """Shared by every visitor: read-only, never fine-tuned in place."""
    return models.load_encoder(model_id)


ANOTHER_MODEL = "another model…"


def model_picker(key: str = "model_id", label: str = "Model") -> str:
    """Choose a model from the registry, or type any hub id or local folder; falls
    back to the bundled BERT with a message when the chosen one can't be loaded
    here. Returns the id in use."""
    ids = [c.id for c in models.CHOICES] + [ANOTHER_MODEL]

    def describe(model_id):
        if model_id == ANOTHER_MODEL:
            return "Another model id or folder…"
        return models.choice(model_id).label + ("" if models.is_cached(model_id) else " — needs the hub")

    chosen = st.selectbox(label, ids, key=key, format_func=describe)
    if chosen == ANOTHER_MODEL:
        chosen = st.text_input("Model id on the hub, or a folder", key=f"{key}_typed",
                               placeholder="e.g. prajjwal1/bert-tiny").strip()
        if not chosen:
            st.caption("Type a model id; the bundled BERT is used until then.")
            return models.BUNDLED
    try:
        tokenizer(chosen)
    except models.ModelUnavailable as error:
        friendly_error(str(error))
        return models.BUNDLED
    known = models.choice(chosen)
    st.caption(known.note if known else f"{chosen}, loaded from this machine.")
    return chosen


def readable_text(fig, size: int = 16):
    """Streamlit's chart theme is a plotly template that sets its own small sizes (about 13 px)
    for tick labels, axis titles and legends, and the more specific template setting beats
    layout.font, so style()'s font size never reaches them. Setting them on the figure does."""
    fig.update_xaxes(tickfont_size=size, title_font_size=size)
    fig.update_yaxes(tickfont_size=size, title_font_size=size)
    fig.update_layout(legend_font_size=size, hoverlabel_font_size=size)
    return fig


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


# How often a running job's view redraws. Measured with the demo fine-tune watched in
# headless Chromium on the same 2-core machine: 0.5 s -> 22 s, 1 s -> 14 s (as fast as
# not watching at all): each redraw costs the server ~45 ms and the browser more.
POLL_SECONDS = 1.0


def while_running(job, draw) -> None:
    """Live view of a background job: `draw(snapshot, running)` redraws every
    POLL_SECONDS while the job runs (a fragment, so the rest of the page stays put).
    When the job has ended the whole page reruns once, so it can harvest the
    result and draw it, and the polling stops."""
    running = not job.snapshot().finished

    @st.fragment(run_every=POLL_SECONDS if running else None)
    def panel():
        snap = job.snapshot()
        if running and snap.finished:
            st.rerun()
        draw(snap, running)

    panel()
