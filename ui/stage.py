"""Stage mode: the app as a speaker's instrument, on with `?present=1` or the sidebar's toggle.

app.py calls `begin(page)` before the page runs and `end(page)` after it. In presenter
mode the sidebar and Streamlit's own header are hidden, the page starts with one
compact row (Prev, "page n of N", Next, reset, the audience's QR code, leave), the
left and right arrow keys press Prev and Next (Streamlit's own button shortcuts), explanations written with `explain`
are folded, and charts are capped to fit the first screen of a 1280x720 projector;
at 1920x1080 the whole page is drawn 1.5x larger, so it is the same first screen.
Outside presenter mode the page ends with the Prev / Next footer (ui/nav.py).

The mode is kept for the session and in the address bar (`present=1`), so a reload
or a link to a page keeps it too.
"""

from __future__ import annotations

import os

import streamlit as st

from core import links
from ui import registry, settings

PARAM = "present"          # the URL parameter: ?present=1
STATE = "stage_present"    # session-state key (and the sidebar toggle's key)
GO = "_stage_go"           # a Prev / Next click, acted on before the next run's page
HEADER = "stage_header"    # the compact header's container key (a CSS class st-key-stage_header)
CHART_HEIGHT = 340         # px: the tallest chart in presenter mode (legend included), so it fits under the header

# A page whose point (its chart, its main button, its key number) is not on the first screen of a
# 1280x720 projector names it here, by the key of a widget or chart in it: in presenter mode the
# page's top-level row that holds it is drawn right under the title. Pages not listed already have their point on top
# (tests/e2e/test_stage.py checks every page, and what it takes for a page's point when unlisted).
POINTS = {
    "ch1_learning": "ch1l_gd_chart",
    "ch2_onehot": "ch2_oh_spikes",
    "ch2_tokenizer": "ch2_tok_line",     # the row of the token table (a table has no key class)
    "ch2_bert_output": "ch2_bo_heatmap",
    "ch2_embedding_map": "ch2_map_chart",
    "ch3_finetune": "ch3_start",
    "closing": "closing_advice",
}
# What the audience watches once the point is used: drawn right under it (chapter 3's live
# charts under its Start button, so a speaker never scrolls during the fine-tune).
FOLLOWS = {"ch3_finetune": "ch3_training"}
TOP = '[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]'

PUBLIC_URL_ENV = "FB2B_PUBLIC_URL"

CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
/* Streamlit's own header keeps only its "Running…" sign, over the right end of ours. */
header[data-testid="stHeader"] { background: transparent !important; height: 0 !important; min-height: 0 !important; }
[data-testid="stMainBlockContainer"], .block-container {
  padding: 0.6rem 2rem 1rem 2rem !important; max-width: 100% !important; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2rem; padding: 0 0 0.3rem 0; }
[data-testid="stMainBlockContainer"] h2 { font-size: 1.5rem; padding: 0.3rem 0; }
[data-testid="stMainBlockContainer"] h3 { font-size: 1.25rem; padding: 0.2rem 0; }
.st-key-stage_header { border-bottom: 1px solid #d0d4dc; padding-bottom: 0.2rem; }
.st-key-stage_header p { margin: 0; }
/* A 1920x1080 projector: the 1280x720 layout, 1.5x larger (the same first screen). */
@media (min-width: 1800px) and (min-height: 1000px) { html { zoom: 1.5; } }
</style>
"""

def presenting() -> bool:
    """Is the app in presenter mode for this session?"""
    return bool(st.session_state.get(STATE, False))


def caption(short: str, full: str, behind: str | None = None) -> None:
    """A caption that is one short line on the projector (`behind`, by default the whole
    text, under its (?) icon) and the whole text otherwise."""
    if presenting():
        st.caption(short, help=behind or full)
    else:
        st.caption(full)


def begin(current: registry.Page):
    """app.py, before the page: presenter mode settled, a pending Prev / Next followed,
    and in presenter mode the styles and the compact header drawn. Returns the header's
    audience-link popover (None outside presenter mode), which `end` fills once the page has
    put its knobs in the URL."""
    state = st.session_state
    if STATE not in state:    # a new session: the address bar says
        state[STATE] = st.query_params.get(PARAM) == "1"
    target = state.pop(GO, None)
    if target is not None:
        st.switch_page(target, query_params={PARAM: "1"} if presenting() else None)
    settings.start_run()
    if presenting():
        st.query_params[PARAM] = "1"
    elif PARAM in st.query_params:
        del st.query_params[PARAM]
    st.sidebar.toggle("Presenter mode", key=STATE,
                      help="For a talk: no sidebar, Prev / Next on the first screen, arrow keys, large type.")
    if presenting():
        st.html(CSS + point_first(current.name))
        return header(current)
    reset_button(st.sidebar)
    return None


def point_first(page_name: str) -> str:
    """CSS that draws the row holding the page's point (POINTS) right under the title: the
    top-level blocks of the page are a flex column, so `order` moves one without touching the page."""
    key = POINTS.get(page_name)
    if key is None:
        return ""
    css = (f"{TOP} > * {{ order: 4; }} {TOP} > :has(.st-key-{HEADER}) {{ order: 0; }} "
           f"{TOP} > :has(h1) {{ order: 1; }} {TOP} > .st-key-{key}, {TOP} > :has(.st-key-{key}) {{ order: 2; }}")
    follows = FOLLOWS.get(page_name)
    if follows:
        css += f" {TOP} > .st-key-{follows}, {TOP} > :has(.st-key-{follows}) {{ order: 3; }}"
    return f"<style>{css}</style>"


def end(current: registry.Page, share=None) -> None:
    """app.py, after the page: the audience link of the page as it now is (its knobs in the
    URL) in presenter mode; else the Prev / Next footer."""
    if share is not None:
        with share:
            audience_link(current)
    elif not presenting():
        from ui import nav

        nav.prev_next(current)


def header(current: registry.Page):
    """One compact row at the top of every page in presenter mode; returns its (empty) popover."""
    previous, following = registry.before(current), registry.after(current)
    with st.container(key=HEADER):
        back, here, onward, reset, share, leave, _ = st.columns([1, 1.1, 1, 2.2, 1.6, 1.1, 1.2],
                                                               vertical_alignment="center")
        back.button("Prev", key="stage_prev", icon=":material/arrow_back:", disabled=previous is None,
                    on_click=go_to, args=(previous,), width="stretch", shortcut="Left")
        here.markdown(registry.place(current))
        onward.button("Next", key="stage_next", icon=":material/arrow_forward:", disabled=following is None,
                      on_click=go_to, args=(following,), type="primary", width="stretch",
                      shortcut="Right")
        reset_button(reset)
        popover = share.popover("Audience link", icon=":material/qr_code_2:")
        leave.button("Leave", key="stage_leave", icon=":material/close_fullscreen:", on_click=leave_presenting,
                     help="Leave presenter mode")
    return popover


def reset_button(where) -> None:
    """'Reset to the talk's defaults': the knobs of the page on screen, in one click."""
    where.button("Reset to the talk's defaults", key="stage_reset", icon=":material/restart_alt:",
                 on_click=reset_page, help="Every knob on this page back to the talk's value")


def reset_page() -> None:
    """The reset button's callback. It runs before the next run, so the knobs the page on
    screen kept in its last run (ui/settings) are still noted."""
    settings.reset_this_page(settings.this_page_defaults(), st.session_state.get(settings.RUN_RESETS, ()))


def go_to(entry: registry.Page | None) -> None:
    if entry is not None:
        st.session_state[GO] = entry.path


def leave_presenting() -> None:
    st.session_state[STATE] = False


def explain(text: str, label: str = "Why?") -> None:
    """Prose that explains the page: shown as text, folded away in presenter mode."""
    if presenting():
        with st.expander(label):
            st.markdown(text)
    else:
        st.markdown(text)


def chart_height(height: int) -> int:
    """A chart's height: capped in presenter mode so it fits the first screen."""
    return min(height, CHART_HEIGHT) if presenting() else height


def public_address() -> tuple[str, bool]:
    """Where the audience opens the app: the hosted copy's root address from the config
    (env FB2B_PUBLIC_URL, or `public_url` in .streamlit/secrets.toml), else this browser's own
    address (that of a page: the second value says so)."""
    configured = os.environ.get(PUBLIC_URL_ENV, "").strip()
    if not configured:
        try:
            configured = str(st.secrets.get("public_url", "")).strip()
        except (FileNotFoundError, KeyError, OSError, ValueError):   # no secrets file: nothing set
            configured = ""
    return (configured, False) if configured else (st.context.url or "", True)


def audience_link(current: registry.Page) -> None:
    """The QR code of the page on screen with its knobs (not presenter mode: that is the speaker's)."""
    knobs = {key: st.query_params.get_all(key) for key in st.query_params if key != PARAM}
    base, base_is_a_page = public_address()
    url = links.page_url(base, registry.url_path(current), knobs, base_is_a_page)
    if url is None:
        st.write("No address for the app is known yet: set FB2B_PUBLIC_URL to the hosted copy's address.")
        return
    st.image(links.qr_png(url), width=260)
    st.code(url, language=None, wrap_lines=True)
