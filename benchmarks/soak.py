"""Memory stays flat over many fine-tunes: N default chapter 3 fine-tunes, one after
another, in one `streamlit run` server, each started through the real page in a
browser tab on loopback (Playwright + Debian's Chromium; one tab at a time). After
each run the server's resident memory (VmRSS) is read.

Target (issue 15): RSS after run 30 within 150 MB of RSS after run 1. The range
after run 2 is printed too: from run 2 on a run trains while the session still
holds the previous run's model, so run 1 is the only run without that.

    python benchmarks/soak.py                 # the full run: 30 fine-tunes
    python benchmarks/soak.py --runs 8        # a shorter check

`--fresh-tab` opens a new tab (a new session) per run, closing the previous one:
the case of many visitors one after another instead of one visitor clicking Start
again and again (the default).
"""

from __future__ import annotations

import argparse
import gc
import json
import time

from audience import (ROOT, FINETUNE_PAGE, Server, exceptions_on, launch_chromium, open_page, page_time_s,
                      projector_tab, start_finetune, wait_finetune)
from playwright.sync_api import sync_playwright

TARGET_MB = 150


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--fresh-tab", action="store_true", help="a new session for every run")
    args = parser.parse_args()

    server = Server("soak-server.log")
    rss, problems, began = [], [], time.time()
    print(f"server pid {server.process.pid}; RSS before any visitor {server.rss_mb():.0f} MB", flush=True)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            tab = None
            for run in range(1, args.runs + 1):
                if tab is None or args.fresh_tab:
                    if tab is not None:
                        tab.context.close()
                    tab = projector_tab(browser, server.url, timeout_ms=120_000)
                    open_page(tab, FINETUNE_PAGE)
                    number = 0
                number += 1
                started = time.time()
                start_finetune(tab)
                wait_finetune(tab, number)
                wall = time.time() - started
                problems += exceptions_on(tab)
                gc.collect()
                tab.wait_for_timeout(2000)  # let the server's after-run garbage collection settle
                rss.append(server.rss_mb())
                print(f"run {run:2d}: {wall:5.1f} s (page says {page_time_s(tab)}), "
                      f"RSS {rss[-1]:6.0f} MB ({rss[-1] - rss[0]:+.0f} MB vs run 1)", flush=True)
            browser.close()
    finally:
        problems += server.tracebacks()
        peak = server.peak_mb()
        server.stop()
    growth = rss[-1] - rss[0] if rss else float("nan")
    ok = bool(rss) and growth <= TARGET_MB and not problems
    summary = {"runs": len(rss), "rss_after_run_1_mb": round(rss[0]) if rss else None,
               "rss_after_last_run_mb": round(rss[-1]) if rss else None, "growth_mb": round(growth),
               "rss_range_after_run_2_mb": [round(min(rss[1:])), round(max(rss[1:]))] if len(rss) > 1 else None,
               "peak_rss_mb": round(peak), "exceptions": problems, "minutes": round((time.time() - began) / 60, 1),
               "target": f"growth <= {TARGET_MB} MB", "met": ok}
    print(json.dumps(summary, indent=1))
    with open(ROOT / "benchmarks" / "results" / "soak.jsonl", "a") as out:
        out.write(json.dumps(summary) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
