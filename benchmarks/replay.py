"""Chapter 3's replay as the audience sees it: the time from the click on Replay
to the first point drawn on the live step chart, in a real browser (target: 1 s).

    python benchmarks/replay.py [runs]

A new visitor (browser context) per run; the clock starts just before the click and stops when
Chromium has drawn the step chart with its first report (and, second figure, its
first visible line: a line needs two reports). The times are taken inside the page (every animation frame). Needs what the browser tests need
(playwright and Debian's chromium, see .ci/run).
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from browser import launch_chromium, open_page, projector_tab, wait_idle  # noqa: E402
from conftest import _serve  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

STEP_CHART = ".st-key-ch3_step_chart"  # the step chart's container (its Streamlit key)
FIRST_POINT = f"{STEP_CHART} .scatterlayer g.trace"        # the chart drawn with its first report
FIRST_LINE = f"{STEP_CHART} .scatterlayer path.js-line"    # a visible line: two reports or more


# Watches the page from inside the browser, every animation frame, so the figure is not
# rounded up to Playwright's polling interval; the clock starts just before the click.
WATCH = """([point, line]) => {
    const t0 = performance.now();
    window.__replayTimes = new Promise(resolve => {
        const found = {};
        const check = () => {
            if (found.point === undefined && document.querySelector(point)) found.point = performance.now() - t0;
            if (found.line === undefined && document.querySelector(line)) found.line = performance.now() - t0;
            if (found.line !== undefined || performance.now() - t0 > 60000) resolve(found);
            else requestAnimationFrame(check);
        };
        check();
    });
}"""


def click_to_first_point(tab) -> tuple[float, float]:
    open_page(tab, "ch3_finetune")
    button = tab.get_by_role("button", name="Replay", exact=True)
    button.wait_for()
    tab.evaluate(WATCH, [FIRST_POINT, FIRST_LINE])
    button.click()
    found = tab.evaluate("window.__replayTimes")
    wait_idle(tab)
    if "line" not in found:
        raise SystemExit(f"the step chart never drew within 60 s: {found}")
    return found["point"] / 1000, found["line"] / 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    server = _serve("benchmark-replay-server.log")
    url = next(server)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        times = []
        for _ in range(runs):
            tab = projector_tab(browser, url, timeout_ms=180_000)  # a new visitor each time
            times.append(click_to_first_point(tab))
            tab.context.close()
            print(f"first point {times[-1][0]:.2f} s, first line {times[-1][1]:.2f} s", flush=True)
        browser.close()
    points, lines = [t[0] for t in times], [t[1] for t in times]
    print(f"click -> chapter 3 replay's step chart drawn with its first point: median "
          f"{statistics.median(points):.2f} s (target ≤ 1 s); its first visible line: median "
          f"{statistics.median(lines):.2f} s, over {runs} runs")
    print(f"({os.cpu_count()} CPUs; load average now {os.getloadavg()[0]:.1f})")
    try:
        next(server)
    except StopIteration:
        pass


if __name__ == "__main__":
    main()
