"""The speaker is never starved: a room of visitors on one server while the
presenter-key holder runs the demo fine-tune.

In one `streamlit run` server on loopback (with PRESENTER_KEY set):

1. the speaker (a Playwright tab in Debian's Chromium, opened with ?speaker=KEY)
   runs the chapter 3 demo once to warm up, then `--rounds` times more, timed:
   the time alone;
2. V visitors keep opening light pages (home, chapter 1, the tokenizer, chapter 4's
   precomputed lessons), each its next page every `--think` seconds, and F visitors
   (browser tabs) sit on chapter 3; the speaker presses Start and the F visitors
   press Start right after: the speaker's time in the crowd, then every visitor's
   fine-tune to its end; `--rounds` rounds of this, and the medians compared;
3. the same again with the F visitors pressing Start first: the speaker's job
   goes to the head of the line but waits for the one already running.

The V light-page visitors are websocket clients (benchmarks/ws_room.py): each a
session of its own speaking the browser's protocol, so the server does all the
work 30 tabs would ask of it, without 30 browsers' rendering on the same two
cores. The room and the browser run at nice 19, the server at the caller's
priority: on a stage the visitors' devices are their own. The CPU seconds of
server, browser and machine are printed.

The speaker's times are the page's own timer (the fine-tune's running time on the
server, whole seconds); click-to-results wall times are printed beside them.

Targets (issue 15), for case 2: the speaker's fine-tune at most 1.5x its time
alone, the server's peak RSS at most 2.7 GB, no exception on any page or in the
server's log. Case 3 is printed too, as measured.

    python benchmarks/audience_load.py                          # the full run: 30 + 5 visitors
    python benchmarks/audience_load.py --visitors 10 --finetuners 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from audience import (ROOT, FINETUNE_PAGE, Server, browser_in_the_background, exceptions_on, finetune_finished,
                      launch_chromium, open_page, page_time_s, projector_tab, start_finetune, wait_finetune)
from playwright.sync_api import sync_playwright

KEY = "benchmark-speaker-key"
TARGET_RATIO, TARGET_PEAK_MB = 1.5, 2700


class Room:
    """The light-page visitors: benchmarks/ws_room.py in a subprocess at nice 19, each
    visitor a websocket session of its own asking for its next page every `think_s`."""

    def __init__(self, url: str, visitors: int, think_s: float):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "ws_room.py"), "--url", url, "--visitors", str(visitors),
             "--think", str(think_s), "--seconds", "3600"],
            stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.nice(19))
        self.visitors = visitors

    def stop(self) -> dict:
        """Stop browsing; the room's figures (page visits, render times, exceptions)."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=180)
        lines = out.strip().splitlines()
        return json.loads(lines[-1]) if lines else {"exceptions": ["the room printed nothing"]}


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: the server, the browser (every chromium process: on a real
    stage the visitors' browsers run on their own machines) and the whole machine."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(pid) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    chromium = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if "chrom" in (proc / "comm").read_text():
                    chromium += of(proc.name)
            except (OSError, IndexError, ValueError):
                continue
    total = sum(float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:4]) / tick
    return {"server": of(server_pid), "browser": chromium, "machine": total}


def page_seconds(tab) -> float:
    """The page's own timer for the run shown ('8 s', '1 min 05 s'): the fine-tune's running
    time on the server, not counting how fast this (niced) browser redraws."""
    text = page_time_s(tab).replace("min", " min ").split()
    numbers = [float(t) for t in text if t.replace(".", "").isdigit()]
    return numbers[0] * 60 + numbers[1] if "min" in text else numbers[0]


def timed_run(tab, number: int, meanwhile=None, before_wait=None) -> float:
    started = time.time()
    start_finetune(tab)
    if before_wait is not None:
        before_wait()
    wait_finetune(tab, number, meanwhile=meanwhile)
    return time.time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=30, help="visitors on light pages")
    parser.add_argument("--finetuners", type=int, default=5, help="visitors who start a fine-tune")
    parser.add_argument("--think", type=float, default=10.0,
                        help="seconds each light-page visitor spends on a page before the next click")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed speaker runs alone, and rounds with the crowd (medians are compared)")
    args = parser.parse_args()

    server = Server("audience-server.log", PRESENTER_KEY=KEY)
    problems, figures, began, room = [], {}, time.time(), None
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            speaker = projector_tab(browser, server.url, timeout_ms=120_000)
            browser_in_the_background(server.process.pid)
            open_page(speaker, f"{FINETUNE_PAGE}?speaker={KEY}")
            timed_run(speaker, 1)  # warm-up: imports torch and transformers, loads the model
            run = 1
            alone, alone_wall = [], []
            for _ in range(args.rounds):
                run += 1
                alone_wall.append(timed_run(speaker, run))
                alone.append(page_seconds(speaker))
            figures.update(speaker_alone_s=alone, speaker_alone_wall_s=[round(w, 1) for w in alone_wall])
            print(f"speaker alone: {alone} s by the page's timer ({[round(w, 1) for w in alone_wall]} s click to "
                  f"results); RSS {server.rss_mb():.0f} MB", flush=True)

            finetuners = [projector_tab(browser, server.url, timeout_ms=120_000) for _ in range(args.finetuners)]
            for tab in finetuners:
                open_page(tab, FINETUNE_PAGE)
            browser_in_the_background(server.process.pid)
            room = Room(server.url, args.visitors, args.think)
            speaker.wait_for_timeout(int((args.think + 5) * 1000))  # everyone in the room has a page open

            def crowd_presses_start():
                # The speaker's job has the slot before the crowd's clicks arrive ("right after").
                running = speaker.get_by_text(re.compile(r"^(Step \d+ of \d+|Loading the pretrained model)"))
                for _ in range(600):
                    if running.count() or finetune_finished(speaker, run):
                        break
                    speaker.wait_for_timeout(100)
                for tab in finetuners:
                    start_finetune(tab)

            crowd, crowd_wall, cpu = [], [], []
            for round_number in range(1, args.rounds + 1):
                run += 1
                cpu_before = cpu_seconds(server.process.pid)
                browser_in_the_background(server.process.pid)
                crowd_wall.append(timed_run(speaker, run, before_wait=crowd_presses_start))
                crowd.append(page_seconds(speaker))
                cpu_after = cpu_seconds(server.process.pid)
                cpu.append({k: round(cpu_after[k] - cpu_before[k]) for k in cpu_after})
                print(f"round {round_number}: speaker with {args.visitors} visitors browsing and {args.finetuners} "
                      f"fine-tunes queued behind: {crowd[-1]:.0f} s by the page's timer ({crowd_wall[-1]:.1f} s click "
                      f"to results); RSS {server.rss_mb():.0f} MB; CPU seconds meanwhile {cpu[-1]} "
                      f"({os.cpu_count()} CPUs)", flush=True)
                for tab in finetuners:
                    wait_finetune(tab, round_number)
                    problems += exceptions_on(tab)
                print(f"round {round_number}: every visitor's fine-tune ended; RSS {server.rss_mb():.0f} MB", flush=True)
            figures.update(speaker_in_crowd_s=crowd, speaker_in_crowd_wall_s=[round(w, 1) for w in crowd_wall],
                           cpu_s_during_speaker_runs=cpu)

            # Case 3: the crowd presses Start first, the speaker a moment later.
            for tab in finetuners:
                start_finetune(tab)
            run += 1
            late = timed_run(speaker, run)
            figures["speaker_after_crowd_wall_s"] = round(late, 1)
            print(f"speaker pressing Start after the {args.finetuners} visitors: {late:.1f} s click to results = "
                  f"{late / statistics.median(alone_wall):.2f}x alone, click to results (a visitor's run may be "
                  "going; the others wait behind the speaker)", flush=True)
            for tab in finetuners:
                wait_finetune(tab, args.rounds + 1)
                problems += exceptions_on(tab)
            browsing = room.stop()
            room = None
            problems += browsing["exceptions"] + browsing["dropped"] + exceptions_on(speaker)
            figures["room"] = {k: v for k, v in browsing.items() if k not in ("exceptions", "dropped")}
            print(f"the room: {browsing['page_visits']} light-page visits in {browsing['seconds']} s, render "
                  f"p50 {browsing['render_p50_s']} s / p95 {browsing['render_p95_s']} s / max "
                  f"{browsing['render_max_s']} s, {browsing['timeouts']} timed out", flush=True)
            browser.close()
    finally:
        if room is not None:
            room.process.kill()
        problems += server.tracebacks()
        peak = server.peak_mb()
        server.stop()
    def ratio_of(key: str) -> float:
        crowd, alone = figures.get(f"speaker_in_crowd{key}"), figures.get(f"speaker_alone{key}")
        return statistics.median(crowd) / statistics.median(alone) if crowd and alone else float("inf")

    ratio = ratio_of("_s")
    ok = ratio <= TARGET_RATIO and peak <= TARGET_PEAK_MB and not problems
    summary = {"visitors": args.visitors, "finetuners": args.finetuners, "think_s": args.think,
               "rounds": args.rounds, **figures,
               "speaker_ratio": round(ratio, 2), "speaker_ratio_wall": round(ratio_of("_wall_s"), 2), "peak_rss_mb": round(peak), "exceptions": problems,
               "minutes": round((time.time() - began) / 60, 1),
               "targets": f"ratio <= {TARGET_RATIO}, peak <= {TARGET_PEAK_MB} MB, no exception", "met": ok}
    print(json.dumps(summary, indent=1))
    with open(ROOT / "benchmarks" / "results" / "audience_load.jsonl", "a") as out:
        out.write(json.dumps(summary) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
