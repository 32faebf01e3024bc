"""Chapter 1 figures: how fast and how reliably the from-scratch FizzBuzz network learns.

    python benchmarks/ch1_training.py            # about a minute or two on a busy 2-core CPU

Prints: the default network's time and epochs to 100% on 1..100; how many seeds reach 100%
with 3 hidden units; the binary encoding's score on the unseen 1..100 (the blog post: 96/100);
NumPy vs PyTorch time per run of the same network.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import fizzbuzz_torch, scratch  # noqa: E402


def first_epoch_at_full_accuracy(result: scratch.RunResult) -> int | None:
    return next((c.epoch for c in result.history if c.test_accuracy == 1.0), None)


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def main():
    default = scratch.TrainConfig()
    result, seconds = timed(scratch.run_training, default, report_every=10)
    print(f"default network ({default.layers_text}, lr {default.learning_rate}, seed {default.seed}, "
          f"{default.epochs} epochs): {result.final.test_accuracy:.0%} on 1..100, "
          f"first 100% at epoch {first_epoch_at_full_accuracy(result)}, {seconds:.2f} s")

    reached = []
    for seed in range(20):
        run = scratch.run_training(scratch.TrainConfig(seed=seed), report_every=10)
        reached.append(first_epoch_at_full_accuracy(run))
    ok = [epoch for epoch in reached if epoch is not None]
    print(f"3 hidden units, seeds 0..19, 500 epochs: {len(ok)}/20 reach 100% "
          f"(median epoch {sorted(ok)[len(ok) // 2] if ok else '-'}); stuck seeds: "
          f"{[seed for seed, epoch in enumerate(reached) if epoch is None]}")

    for hidden in (0,):
        for bias in (False, True):
            run = scratch.run_training(scratch.TrainConfig(hidden_size=hidden, bias=bias, epochs=500))
            per_class = scratch.per_class_accuracy(run.params, scratch.fizzbuzz.make_dataset(1, 100))
            print(f"no hidden layer, biases={bias}: {run.final.test_accuracy:.0%} on 1..100, "
                  f"fizzbuzz {per_class['fizzbuzz']:.0%}")

    binary = scratch.default_config("binary")
    for seed in range(3):
        config = scratch.TrainConfig(**{**binary.__dict__, "seed": seed})
        run, seconds = timed(scratch.run_training, config, report_every=50)
        best = max(c.test_accuracy for c in run.history)
        print(f"binary digits ({config.layers_text}, lr {config.learning_rate}, batch {config.batch_size}, "
              f"seed {seed}, {config.epochs} epochs): {run.final.test_accuracy * 100:.0f}/100 on unseen 1..100 "
              f"at the end (best {best * 100:.0f}/100; the blog post: 96/100), {seconds:.1f} s")

    _, load_seconds = timed(fizzbuzz_torch.warm_up)
    config = scratch.TrainConfig(epochs=300)
    (_, numpy_seconds) = timed(scratch.run_training, config, report_every=5)
    (_, torch_seconds) = timed(fizzbuzz_torch.train_torch, config, report_every=5)
    print(f"300 epochs of the default network: NumPy {numpy_seconds:.2f} s, PyTorch {torch_seconds:.2f} s "
          f"(loading PyTorch and its first step: {load_seconds:.1f} s)")


if __name__ == "__main__":
    main()
