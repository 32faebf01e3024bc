"""The one way a page keeps its knobs: across reruns, across pages, and in the URL.

Streamlit forgets a widget's value when the visitor goes to another page and comes
back. So before a page draws its widgets it calls

    settings.keep({"ch1m_weight": 0.2, "ch1m_n": 3})

and every widget key listed gets its value from, in this order: the widget itself
(this visit), this session's copy (an earlier visit), the page's URL (a shared link
or a reload), the default. The widgets are then created without a value of their
own (Streamlit warns when a keyed widget gets both). After that, the address bar
shows every knob that differs from its default: a page with its knobs set is a
link you can share, and a reload keeps them.

Every knob kept in a run is also noted, with its default, for that run only
(`this_page_defaults`): the nav's one "Reset to the talk's defaults" button puts
back exactly the knobs of the page on screen, without the page adding code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping

import streamlit as st

KEPT = "_kept_settings"          # session-state key of this session's copies
RUN_DEFAULTS = "_run_defaults"   # session-state key: the knobs kept in this run, and their defaults
RUN_RESETS = "_run_resets"       # session-state key: extra callbacks a reset of this page also runs
MAX_URL_VALUE = 200              # characters: longer values (pasted text) stay out of the URL


@dataclass(frozen=True)
class Between:
    """The range a number knob accepts; a URL value outside it is ignored."""
    low: float
    high: float

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high


def keep(defaults: Mapping[str, Any], allowed: Mapping[str, Collection | Between] | None = None) -> None:
    """Before the widgets: restore every knob in `defaults` (see the module's note),
    then write the non-default ones into the URL."""
    allowed = allowed or {}
    state = st.session_state
    kept = state.setdefault(KEPT, {})
    state.setdefault(RUN_DEFAULTS, {}).update(defaults)
    for key, default in defaults.items():
        if key in state:
            kept[key] = state[key]
        elif key in kept:
            state[key] = kept[key]
        else:
            state[key] = _from_url(key, default, allowed.get(key))
            kept[key] = state[key]
    show_in_url(defaults)


def reset(defaults: Mapping[str, Any]) -> None:
    """Every knob back to its default (an on_click callback: it runs before the widgets)."""
    kept = st.session_state.setdefault(KEPT, {})
    for key, default in defaults.items():
        st.session_state[key] = default
        kept[key] = default


def start_run() -> None:
    """app.py, before the page runs: forget the knobs the previous page kept."""
    st.session_state[RUN_DEFAULTS] = {}
    st.session_state[RUN_RESETS] = []


def also_on_reset(callback) -> None:
    """State a page derives from its knobs (a toy map's word positions) that a reset puts back
    too: `callback()` runs in the reset button's callback, after the knobs are reset."""
    st.session_state.setdefault(RUN_RESETS, []).append(callback)


def this_page_defaults() -> dict:
    """The knobs kept in this run (the page on screen) and their defaults."""
    return dict(st.session_state.get(RUN_DEFAULTS, {}))


def reset_this_page(defaults: Mapping[str, Any], callbacks=()) -> None:
    """The reset button's callback: the page's knobs, then what the page derives from them."""
    reset(defaults)
    for callback in callbacks:
        callback()


def set_values(values: Mapping[str, Any]) -> None:
    """Knobs set by a button (a preset): in an on_click callback, before the widgets."""
    kept = st.session_state.setdefault(KEPT, {})
    for key, value in values.items():
        st.session_state[key] = value
        kept[key] = value


def show_in_url(defaults: Mapping[str, Any]) -> None:
    """Knobs that differ from their defaults go into the query string; the rest leave it.
    Other parameters in the URL (say, presenter mode) are left alone."""
    params = st.query_params
    for key, default in defaults.items():
        value = st.session_state.get(key, default)
        text = _encode(value)
        if value == default or text is None:
            if key in params:
                del params[key]
        elif params.get_all(key) != text:
            params[key] = text


def _encode(value) -> list[str] | None:
    if isinstance(value, bool):
        return ["1" if value else "0"]
    if isinstance(value, (list, tuple)):
        texts = [_encode(item) for item in value]
        return None if any(t is None for t in texts) else [t[0] for t in texts] or None
    if isinstance(value, float):
        return [f"{value:g}" if float(f"{value:g}") == value else repr(value)]
    text = str(value)
    return [text] if len(text) <= MAX_URL_VALUE else None


def _from_url(key: str, default, allowed):
    """The URL's value for a knob, read as the default's type; the default when
    it is missing, unreadable or not allowed."""
    texts = st.query_params.get_all(key)
    if not texts:
        return default
    many = isinstance(default, (list, tuple))
    try:
        if many:
            value = type(default)(_read(text, type(default[0]) if default else str, allowed) for text in texts)
        else:
            value = _read(texts[0], type(default), allowed)
    except (TypeError, ValueError):
        return default
    return value


def _read(text: str, kind: type, allowed):
    """One value from the URL. A knob with a list of choices takes the choice that is
    written this way (options of mixed types, such as 2, 5 and "all", included)."""
    if allowed is not None and not isinstance(allowed, Between) and not isinstance(allowed, range):
        for option in allowed:
            if _encode(option) == [text]:
                return option
        raise ValueError(f"{text} is not a choice")
    value = _decode(text, kind)
    if allowed is not None and value not in allowed:
        raise ValueError(f"{text} is out of range")
    return value


def _decode(text: str, kind: type):
    if kind is bool:
        if text not in ("1", "0", "true", "false"):
            raise ValueError(text)
        return text in ("1", "true")
    if kind is int:
        return int(text)
    if kind is float:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(text)
        return value
    if len(text) > MAX_URL_VALUE:
        raise ValueError("too long")
    return kind(text)
