"""Chapter 4's speed claims, measured: each experiment's live run at default
settings (target: 60 s or less on a 2-core CPU), loading the precomputed
results (target: 1 s or less), and lesson 6's spectra + alpha fits for the
bundled BERT (cross-checked against the `weightwatcher` package when it is
installed). Prints its figures; no assertions.

    python benchmarks/lessons.py                 # everything (several minutes)
    python benchmarks/lessons.py --skip-experiments
    python benchmarks/lessons.py label_noise hardware

The machine's current speed is printed first (steps per second of the real
training step): a busy machine makes every figure proportionally slower.
"""

import os

# Threads that wait for work by sleeping, not spinning: on a shared 2-core machine
# spinning OpenMP threads made a training step ~20x slower (measured: 6.3 s vs 0.28 s).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import lessons, models  # noqa: E402


def timed(function, repeats: int = 1):
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def machine_speed() -> float:
    from core import hardware

    timing = hardware.measure_device("cpu", "CPU", os.cpu_count(), steps=6)
    return timing.steps_per_second


def load_precomputed():
    seconds, loaded = timed(lessons.load_precomputed, repeats=5)
    size = lessons.PRECOMPUTED.stat().st_size / 1024
    print(f"load precomputed results: {1000 * seconds:.1f} ms (median of 5), file {size:.0f} KiB, "
          f"{len(loaded.results)} experiments")


def weight_spectra():
    from core import weight_stats

    encoder = models.load_encoder()
    seconds, layers = timed(lambda: weight_stats.model_alphas(encoder), repeats=3)
    print(f"alpha for {len(layers)} weight matrices of the bundled BERT: {seconds:.2f} s (median of 3)")
    try:
        import weightwatcher
    except ImportError:
        print("weightwatcher not installed: cross-check skipped (pip install weightwatcher==0.7.7 to run it)")
        return
    started = time.perf_counter()
    details = weightwatcher.WeightWatcher(model=encoder).analyze(plot=False)
    print(f"weightwatcher {weightwatcher.__version__} analyze(): {time.perf_counter() - started:.2f} s")
    theirs = dict(zip(details["longname"], details["alpha"]))
    diffs = [abs(theirs[layer.name] - layer.alpha) for layer in layers if layer.name in theirs]
    same = sum(d < 1e-6 for d in diffs)
    print(f"  same alpha on {same} of {len(diffs)} layers; largest difference {max(diffs):.3f} "
          "(ours keeps a tail of at least 10 eigenvalues, weightwatcher allows fewer)")


def experiments(keys):
    """Wall-clock seconds, and CPU seconds of this process: on a machine shared with
    other work the wall clock stretches with the load, the CPU time hardly does, so
    CPU seconds / threads is a fair estimate of the wall time on an idle machine."""
    import torch

    threads = min(2, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    print(f"{'experiment':14s} {'wall s':>7s} {'CPU s':>7s} {'load':>5s}  headline")
    for key in keys:
        cpu_before = time.process_time()
        seconds, result = timed(lambda: lessons.run_experiment(key))
        cpu = time.process_time() - cpu_before
        print(f"{key:14s} {seconds:7.1f} {cpu:7.1f} {os.getloadavg()[0]:5.1f}  {lessons.summary_line(result)}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("experiments", nargs="*", default=list(lessons.EXPERIMENTS))
    parser.add_argument("--skip-experiments", action="store_true")
    args = parser.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    print(f"machine speed now: {machine_speed():.2f} training steps/s (bundled BERT, batch 16, "
          f"{os.cpu_count()} threads; about 9 on an idle 2-core machine)")
    load_precomputed()
    weight_spectra()
    if not args.skip_experiments:
        experiments(args.experiments)


if __name__ == "__main__":
    main()
