"""The router and the home page: the story in order, and a cold start that stays light."""

import json
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def test_home_page_tells_the_story_and_links_every_chapter_in_order():
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "FizzBuzz to BERT"
    assert "just multiplication" in " ".join(m.value for m in at.markdown)
    links = [(link.proto.page, link.proto.label.strip("*")) for link in at.get("page_link")]
    assert links == [
        ("ch1_multiplication", "1 · A network from scratch"),
        ("ch2_onehot", "2 · Words to vectors"),
        ("ch3_finetune", "3 · Fine-tune BERT"),
        ("ch4_lessons", "4 · Lessons"),
    ]


def test_every_page_listed_in_the_router_exists():
    sys.path.insert(0, str(ROOT))
    source = (ROOT / "app.py").read_text()
    listed = [line.split('"')[1] for line in source.splitlines() if line.strip().startswith('("pages/')]
    assert len(listed) == 11
    for path in listed:
        assert (ROOT / path).is_file(), path
        assert "PLACEHOLDER" not in (ROOT / path).read_text(), f"{path} is still a placeholder"


LIGHT_PAGES = ["pages/home.py", "pages/ch1_multiplication.py", "pages/ch1_confidence.py", "pages/ch1_learning.py"]

PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
if sys.argv[2] != "pages/home.py":
    at.switch_page(sys.argv[2]).run()
heavy = [m for m in ("torch", "transformers", "sklearn") if m in sys.modules]
print(json.dumps({"exception": bool(at.exception), "heavy": heavy}))
"""


def test_light_pages_never_import_torch_transformers_or_sklearn():
    """Cold start: a light page renders in about a second only if these stay unimported."""
    for page in LIGHT_PAGES:
        out = subprocess.run([sys.executable, "-c", PROBE, APP, page], capture_output=True, text=True,
                             cwd=ROOT, timeout=180)
        report = json.loads(out.stdout.strip().splitlines()[-1])
        assert report == {"exception": False, "heavy": []}, (page, report, out.stderr[-2000:])
