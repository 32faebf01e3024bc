"""The router, the home page and every page of the registry: each renders, in order, linked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from apptest_pages import APP, open_page
from streamlit.testing.v1 import AppTest

from ui import registry

ROOT = Path(__file__).resolve().parents[2]


def test_home_page_tells_the_story_and_links_every_chapter_in_order():
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "FizzBuzz to BERT"
    assert "just multiplication" in " ".join(m.value for m in at.markdown)
    links = [(link.proto.page, link.proto.label.strip("*")) for link in at.get("page_link")]
    chapters = [chapter for chapter in registry.CHAPTERS if chapter.blurb]
    assert links[:len(chapters)] == [(registry.pages_of(c)[0].name, c.title) for c in chapters]
    following = registry.after(registry.HOME)
    assert links[len(chapters):] == [(following.name, f"Next: {following.title}")]  # the footer


def test_pages_folder_holds_only_the_registry_pages():
    on_disk = sorted(f"pages/{path.name}" for path in (ROOT / "pages").glob("*.py"))
    assert on_disk == sorted(entry.path for entry in registry.PAGES)
    assert len({entry.name for entry in registry.PAGES}) == len(registry.PAGES)  # unique URLs


@pytest.mark.parametrize("entry", registry.PAGES[1:], ids=lambda entry: entry.name)
def test_every_page_renders_with_its_title_and_prev_next(entry):
    at = open_page(entry.name, timeout=120)
    assert at.title and at.title[0].value, f"{entry.path} has no title"
    links = {link.proto.page: link.proto.label for link in at.get("page_link")}
    previous, following = registry.before(entry), registry.after(entry)
    assert links.get(registry.url_path(previous)) == f"Prev: {previous.title}"
    if following is not None:
        assert links.get(following.name) == f"Next: {following.title}"
    assert registry.place(entry) in [caption.value for caption in at.caption]


PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
if sys.argv[2] != "pages/home.py":
    at.switch_page(sys.argv[2]).run()
heavy = [m for m in ("torch", "transformers", "sklearn") if m in sys.modules]
print(json.dumps({"exception": bool(at.exception), "heavy": heavy}))
"""


@pytest.mark.parametrize("entry", [e for e in registry.PAGES if e.light], ids=lambda entry: entry.name)
def test_light_pages_never_import_torch_transformers_or_sklearn(entry):
    """Cold start: a light page renders in about a second only if these stay unimported."""
    out = subprocess.run([sys.executable, "-c", PROBE, APP, entry.path], capture_output=True, text=True,
                         cwd=ROOT, timeout=180)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"exception": False, "heavy": []}, (entry.path, report, out.stderr[-2000:])
