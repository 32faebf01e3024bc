"""The audience's link to the page on screen: its address with the page's knobs, and its QR code.

Made offline (segno writes the PNG itself, nothing is fetched), so a speaker with no
wifi can still put the code on the projector.

    page_url("https://fb2b.example.app", "ch1_learning", {"ch1l_hidden": ["3"]})
    -> "https://fb2b.example.app/ch1_learning?ch1l_hidden=3"
    qr_png(url) -> PNG bytes
"""

from __future__ import annotations

import io
from typing import Mapping, Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

MAX_URL = 1500   # characters: past this a QR code gets too dense to scan from the back of a room


def page_url(base: str, page: str, knobs: Mapping[str, Sequence[str] | str] | None = None,
             base_is_a_page: bool = False) -> str | None:
    """The address of `page` (a registry url_path; "" for home) on the app whose root is `base`,
    with the page's knobs as the query string. With `base_is_a_page` (the browser's own
    address), the last part of its path is a page's and is dropped. None when `base` is not
    an http(s) address."""
    parts = urlsplit((base or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    root = parts.path
    if base_is_a_page:
        root = root.rsplit("/", 1)[0]
    root = root.rstrip("/") + "/"
    pairs = []
    for key, values in (knobs or {}).items():
        for value in ([values] if isinstance(values, str) else values):
            pairs.append((key, value))
    url = urlunsplit((parts.scheme, parts.netloc, root + page, urlencode(pairs), ""))
    return url if len(url) <= MAX_URL else urlunsplit((parts.scheme, parts.netloc, root + page, "", ""))


def qr_png(url: str, scale: int = 6) -> bytes:
    """The QR code of `url` as a PNG (medium error correction, a quiet zone of 4 modules)."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
