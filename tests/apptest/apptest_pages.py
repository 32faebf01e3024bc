"""Opening a page of the app the way a visitor does: app.py first, then the page."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(name: str, timeout: float = 60) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def uploader(at: AppTest, key: str):
    """The page's file uploader whose key starts with `key`: the app gives an uploader
    a new key once it has read its file (so Streamlit drops its copy)."""
    found = [w for w in at.get("file_uploader") if str(w.key or "").startswith(key)]
    assert len(found) == 1, [w.key for w in at.get("file_uploader")]
    return found[0]


def chart(at: AppTest, title_start: str) -> dict:
    """The plotly figure on the page whose title starts with `title_start`."""
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        if spec["layout"].get("title", {}).get("text", "").startswith(title_start):
            return spec
    raise AssertionError(f"no chart titled '{title_start}…' on the page")
