"""How numbers read on a slide: one formatter per kind of number, used by every page."""

from __future__ import annotations

import math


def num(x: float, digits: int = 3) -> str:
    """Short, readable numbers for arithmetic on slides: 0.6 not 0.6000000000000001,
    22,026 not 2.2e+04, and a real minus sign."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        x = 0.0  # no "−0"
    if 1e3 <= abs(x) < 1e7:  # whole thousands read better than 1e+03 on a slide: 1,000 and 22,026
        text = f"{x:,.0f}"
    else:
        text = f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"
    return text.replace("-", "−")


def vector(values, digits: int = 3) -> str:
    return "[" + ", ".join(num(float(v), digits) for v in values) + "]"


def delta(x: float, digits: int = 3) -> str:
    """A change for st.metric's delta: an ASCII minus, because Streamlit reads the sign
    from the text to pick the arrow and colour (a Unicode − read as a rise)."""
    return num(x, digits).replace("−", "-")


def percent(value, digits: int = 1) -> str:
    """0.962 -> '96.2%'; None -> '–'."""
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def points(value) -> str:
    """Accuracy difference in percentage points: 0.05 -> '+5 pts'."""
    return f"{100 * value:+.0f} pts"


def duration(seconds) -> str:
    """'42 s', '3 min 05 s': ETAs and run times for humans."""
    if seconds is None:
        return "–"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def millions(n: int) -> str:
    """22,713,216 -> "22.7M"; 3,080 -> "3,080"."""
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n:,}"


def short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


_MARKDOWN = set("\\`*_[]!|<>~$")  # inside a sentence, only these change what Markdown shows


def as_text(text) -> str:
    """A visitor's text (a CSV label, a file name, a typed sentence, a model id) made safe to
    put inside Markdown: every character Markdown would act on is escaped, so
    `![x](http://…)` shows as those characters instead of making the browser fetch an image."""
    return "".join("\\" + c if c in _MARKDOWN else c for c in str(text)).replace("\n", " ")
