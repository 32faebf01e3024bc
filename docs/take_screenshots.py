"""Retake the README's screenshots: one per chapter, at a projector's 1280×720, and
one of every page in the registry, in presenter mode, into docs/screenshots/pages/
(the gallery in docs/SCREENSHOTS.md).

Starts `streamlit run app.py` on a free port, drives headless Chromium, and
writes docs/screenshots/*.png. Chapter 3 runs the real default fine-tune
(under 20 s on a 2-core CPU).

    python docs/take_screenshots.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT))

from browser import launch_chromium, open_page, projector_tab, wait_idle  # noqa: E402
from conftest import _serve  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def shoot(tab, name, anchor_text):
    tab.get_by_text(anchor_text).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    tab.wait_for_timeout(800)
    tab.screenshot(path=str(OUT / f"{name}.png"))
    print("wrote", OUT / f"{name}.png")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    server = _serve("docs-screenshots-server.log")
    url = next(server)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        tab = projector_tab(browser, url, timeout_ms=120_000)

        open_page(tab, "")
        tab.screenshot(path=str(OUT / "home.png"))

        open_page(tab, "ch1_learning")
        tab.locator(".st-key-ch1l_train button").click()
        tab.get_by_text("100/100 right").first.wait_for()
        wait_idle(tab)
        shoot(tab, "ch1-learning", "100/100 right")

        open_page(tab, "ch2_embedding_map")
        tab.locator(".js-plotly-plot").first.wait_for()
        wait_idle(tab)
        tab.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        tab.wait_for_timeout(800)
        tab.screenshot(path=str(OUT / "ch2-embedding-map.png"))

        open_page(tab, "ch3_finetune")
        tab.get_by_role("button", name="Start fine-tuning").click()
        tab.get_by_text("Confusion matrix (evaluation sentences)").wait_for(timeout=300_000)
        wait_idle(tab)
        shoot(tab, "ch3-finetune", "Run 1 · batch 16")

        open_page(tab, "ch4_fitting")
        tab.locator(".js-plotly-plot:visible").first.wait_for()
        shoot(tab, "ch4-lessons", "Over- and underfitting")

        every_page(tab)
        browser.close()
    server.close()


def every_page(tab):
    """Each page as the audience sees it first: presenter mode, the first screen, no scrolling."""
    from ui import registry

    pages = OUT / "pages"
    pages.mkdir(exist_ok=True)
    lines = ["# Every page at 1280×720, presenter mode, first screen", "",
             "Retaken by `python docs/take_screenshots.py`.", ""]
    for number, entry in enumerate(registry.PAGES, start=1):
        name = registry.url_path(entry) or "home"
        open_page(tab, f"{registry.url_path(entry)}?present=1")
        tab.wait_for_timeout(1500)  # charts finish drawing
        tab.screenshot(path=str(pages / f"{number:02d}-{name}.png"))
        lines += [f"## {number}. {entry.title} ({entry.chapter})", "",
                  f"![{entry.title}](screenshots/pages/{number:02d}-{name}.png)", ""]
        print("wrote", pages / f"{number:02d}-{name}.png")
    (ROOT / "docs" / "SCREENSHOTS.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
