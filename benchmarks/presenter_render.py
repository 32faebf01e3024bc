"""Stage mode's two numbers (issue 10), printed, never asserted in a test.

1. What presenter mode adds to a page render: each page run through Streamlit's AppTest (app.py
   first, as a server runs it), warm, `--repeats` times in normal mode and in presenter mode
   (`?present=1`), interleaved; the median of each and the difference. Target: at most 100 ms extra.
2. The pre-flight prediction against a fine-tune measured right after it on the same machine:
   `core.preflight.predict_finetune` (a few timed steps of chapter 3's real demo fine-tune), then
   the whole fine-tune with the same settings. Target: within 30%.

    python benchmarks/presenter_render.py [--repeats 5] [--pages home ch1_learning ...] [--no-finetune]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_PAGES = ["home", "ch1_multiplication", "ch1_learning", "ch2_tokenizer", "ch3_finetune", "ch4_noise",
                 "ch5_rules", "closing"]


def router_mode():
    """As tests/apptest/conftest.py: every run goes through app.py's router."""
    from streamlit.runtime.pages_manager import PagesManager

    made = PagesManager.__init__

    def in_router_mode(self, *args, **kwargs):
        made(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = in_router_mode


def render_seconds(name: str, present: bool) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if present:
        at.query_params["present"] = "1"
    at.run()
    if name != "home":
        at.switch_page(f"pages/{name}.py").run()
    started = time.perf_counter()
    at.run()                                   # the page again, warm: what a click costs
    seconds = time.perf_counter() - started
    assert not at.exception, [e.value for e in at.exception]
    return seconds


def presenter_overhead(pages, repeats: int) -> None:
    router_mode()
    print(f"{'page':22s} {'normal ms':>10s} {'presenter ms':>13s} {'extra ms':>9s}")
    extras = []
    for name in pages:
        render_seconds(name, False)            # caches warm
        normal, present = [], []
        for _ in range(repeats):
            normal.append(render_seconds(name, False))
            present.append(render_seconds(name, True))
        a, b = statistics.median(normal) * 1000, statistics.median(present) * 1000
        extras.append(b - a)
        print(f"{name:22s} {a:10.0f} {b:13.0f} {b - a:9.0f}", flush=True)
    print(f"presenter mode adds {statistics.median(extras):.0f} ms (median over pages), "
          f"at most {max(extras):.0f} ms; target <= 100 ms")


def prediction_against_a_real_finetune() -> None:
    import torch

    from core import datasets, finetune, preflight
    from core.quiet import quiet_console

    quiet_console()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    load = os.getloadavg()[0]
    p = preflight.predict_finetune()
    result = finetune.finetune(datasets.load_shipped("train"), datasets.load_shipped("eval"), finetune.FinetuneConfig())
    gaps = sorted(b.elapsed - a.elapsed for a, b in zip(result.steps, result.steps[1:]))
    error = (p.seconds - result.seconds) / result.seconds
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    print(f"predicted {p.seconds:.1f} s (load {p.load_seconds:.1f} s, step {p.step_seconds * 1000:.0f} ms x "
          f"{p.total_steps}, {p.evaluations} x eval {p.eval_seconds:.2f} s; measuring took {p.measured_seconds:.1f} s)")
    print(f"measured  {result.seconds:.1f} s (load {result.load_seconds:.1f} s, median step "
          f"{gaps[len(gaps) // 2] * 1000:.0f} ms)")
    print(f"prediction off by {error:+.0%}; target within 30%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pages", nargs="*", default=DEFAULT_PAGES)
    parser.add_argument("--no-finetune", action="store_true")
    parser.add_argument("--no-render", action="store_true")
    args = parser.parse_args()
    if not args.no_render:
        presenter_overhead(args.pages, args.repeats)
    if not args.no_finetune:
        prediction_against_a_real_finetune()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
