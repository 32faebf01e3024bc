"""What one live-chart refresh of chapter 3 costs, and why it can run every second.

While a fine-tune runs, the page's fragment wakes every second, copies a
snapshot of the job (core/jobs.py) and rebuilds two plotly figures
(ui/ch3_charts.py, styled by ui/charts.py). This times that work for a long run (20 epochs x 50 steps
= 1,000 step reports) without Streamlit, and prints the figures:

    python benchmarks/ch3_live_poll.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import jobs  # noqa: E402
from core.finetune import EpochReport, StepReport  # noqa: E402
from ui import ch3_charts, charts, live  # noqa: E402

EPOCHS, STEPS_PER_EPOCH, REPEATS = 20, 50, 30


def fake_history():
    steps, epochs = [], []
    total = EPOCHS * STEPS_PER_EPOCH
    for step in range(1, total + 1):
        epoch = (step - 1) // STEPS_PER_EPOCH + 1
        steps.append(StepReport(epoch=epoch, step=step, total_steps=total, loss=2.0 / step ** 0.5,
                                accuracy=min(1.0, step / total + 0.1), learning_rate=1e-4,
                                examples_per_second=90.0, tokens_per_second=1200.0, elapsed=step * 0.17,
                                eta=(total - step) * 0.17))
        if step % STEPS_PER_EPOCH == 0:
            epochs.append(EpochReport(epoch=epoch, train_loss=1.0 / epoch, train_accuracy=min(1, 0.5 + epoch / 25),
                                      eval_loss=1.2 / epoch, eval_accuracy=min(1, 0.45 + epoch / 30),
                                      elapsed=step * 0.17, seconds=STEPS_PER_EPOCH * 0.17))
    return steps, epochs


def main() -> None:
    steps, epochs = fake_history()

    def work(on_step, on_epoch, should_stop):
        for report in steps:
            on_step(report)
        for report in epochs:
            on_epoch(report)

    job = jobs.submit(work, queue=jobs.JobQueue(1))
    job.join()
    snapshot_ms, figures_ms, sizes = [], [], []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        snap = job.snapshot()
        t1 = time.perf_counter()
        accuracy = charts.style(ch3_charts.accuracy_by_epoch(snap.epochs, ("Run 1", snap.epochs)))
        per_step = charts.style(ch3_charts.training_steps(snap.steps))
        payload = accuracy.to_json() + per_step.to_json()
        t2 = time.perf_counter()
        snapshot_ms.append(1000 * (t1 - t0))
        figures_ms.append(1000 * (t2 - t1))
        sizes.append(len(payload))
    print(f"history: {len(steps)} step reports, {len(epochs)} epoch reports "
          f"(step curve downsampled to {len(charts.downsample(steps))} points)")
    print(f"snapshot copy:            median {statistics.median(snapshot_ms):.3f} ms")
    print(f"two styled figures + JSON: median {statistics.median(figures_ms):.1f} ms, "
          f"{statistics.median(sizes) / 1024:.0f} KiB sent per refresh")
    refresh_ms = 1000 * live.POLL_SECONDS
    print(f"share of a {live.POLL_SECONDS:g} s refresh: {100 * statistics.median(figures_ms) / refresh_ms:.1f}% "
          "when both are rebuilt "
          "(the page rebuilds a chart only when its data changed)")


if __name__ == "__main__":
    main()
