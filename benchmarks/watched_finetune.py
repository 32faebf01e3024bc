"""The demo fine-tune as the audience sees it: started from chapter 3 in a real
browser, once while the visitor watches the live charts and once while they are
on another page. Prints the page's own "Time (incl. model load)" figure, the
wall time until the results show, and the CPU seconds the server (python) and
the browser (chromium) used meanwhile.

    python benchmarks/watched_finetune.py

Needs what the browser tests need (playwright and Debian's chromium, see
.ci/run). On a 2-core machine the browser shares the cores with training, so
this is the worst case; it found Streamlit's after-run garbage collection
(README, Performance) and set the live view's redraw to once a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from browser import launch_chromium, open_page, projector_tab, wait_idle  # noqa: E402
from conftest import _serve  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def cpu_seconds_by_program() -> dict[str, int]:
    """CPU seconds so far of every running program, summed by name (ps's TIME column)."""
    lines = subprocess.run(["ps", "-eo", "comm,time"], capture_output=True, text=True).stdout.splitlines()[1:]
    totals: dict[str, int] = {}
    for line in lines:
        name, clock = line.rsplit(None, 1)
        hours, minutes, seconds = clock.split("-")[-1].split(":")
        totals[name] = totals.get(name, 0) + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return totals


def one_run(tab, watching: bool) -> str:
    open_page(tab, "ch3_finetune")
    before, started = cpu_seconds_by_program(), time.time()
    tab.get_by_role("button", name="Start fine-tuning").click()
    if not watching:
        tab.wait_for_timeout(1500)
        tab.get_by_test_id("stSidebarNav").get_by_role("link", name="The tokenizer").click()   # another page: nothing polls
        wait_idle(tab)
        tab.wait_for_timeout(25_000)
        tab.get_by_test_id("stSidebarNav").get_by_role("link", name="Live fine-tune").click()
    tab.get_by_text("Confusion matrix (evaluation sentences)").first.wait_for(timeout=300_000)
    wait_idle(tab)
    wall = time.time() - started
    after = cpu_seconds_by_program()
    used = {name: after[name] - before.get(name, 0) for name in ("python", "chromium") if name in after}
    shown = tab.locator('[data-testid="stMetric"]').filter(has_text="Time (incl. model load)").inner_text()
    return (f"{'watching' if watching else 'away    '}  page says {shown.splitlines()[-1].strip():>6}  "
            f"results after {wall:4.0f} s  CPU s: {used}")


def main() -> None:
    server = _serve("benchmark-watched-server.log")
    url = next(server)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        tab = projector_tab(browser, url, timeout_ms=120_000)
        for watching in (False, True):   # "away" first: it also pays the one-off import of the BERT code
            print(one_run(tab, watching), flush=True)
        browser.close()
    print(f"({os.cpu_count()} CPUs; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
