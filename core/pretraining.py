"""Chapter 6: pretrained vs from scratch. The same loop (core.finetune), the same
data, the same settings and the same time budget, twice: once starting from the
pretrained numbers and once from random ones (the same code: FinetuneConfig(start="random")).

The interview: with a pretrained model "you would pass your pretrained
parameters into that run. Whereas if you're dealing with just training a model
from scratch, you would pass an empty map."

    result = compare_starts(train, eval, epochs=4, seconds_each=25)
    result["arms"]["pretrained"]["curve"]   # [{"epoch": 1, "eval_accuracy": 0.9, "elapsed": 5.1}, ...]

    python -m core.pretraining --output core/data/production/pretrained_vs_scratch.json

Both arms train every layer (freeze="none"): from scratch there is nothing worth
keeping frozen. Each arm stops at `epochs` or after `seconds_each` of training
(the clock starts at the first step, after the model has loaded), whichever
comes first; a start cut mid-epoch is scored as it stands.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from types import SimpleNamespace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

RECORDED = Path(__file__).resolve().parent / "data" / "production" / "pretrained_vs_scratch.json"
ARMS = ("pretrained", "random")
ARM_TITLES = {"pretrained": "pretrained numbers", "random": "random numbers (from scratch)"}
MAX_SECONDS_EACH = 30.0        # the page's live run: both arms within a minute
MAX_EPOCHS = 8


def base_config(epochs: int = 4, seed: int = 0):
    from core.finetune import FinetuneConfig

    # Every layer trains in both arms; the centroid start and mean pooling as in chapter 3.
    return FinetuneConfig(epochs=epochs, freeze="none", freeze_layers=0, learning_rate=1e-4, seed=seed)


def compare_starts(train, eval, epochs: int = 4, seconds_each: float = 25.0, seed: int = 0,
                   on_epoch: Callable[[dict], Any] | None = None,
                   should_stop: Callable[[], bool] = lambda: False, model_id: str | None = None) -> dict:
    """Fine-tune from pretrained numbers, then from random ones, with identical settings.
    on_epoch gets {"arm", "epoch", "eval_accuracy", "train_accuracy", "elapsed"} as each epoch ends."""
    from core.finetune import finetune

    epochs = max(1, int(epochs))
    seconds_each = max(1.0, float(seconds_each))
    config = base_config(epochs, seed)
    if model_id:
        config = replace(config, model_id=model_id)
    arms = {}
    for arm in ARMS:
        if should_stop():
            break
        clock: dict = {}      # the budget counts training only: it starts at the first step, after loading
        curve: list[dict] = []
        steps: list = []

        def step_done(report, clock=clock, steps=steps):
            clock.setdefault("start", time.monotonic())
            steps.append(report)

        def out_of_time(clock=clock):
            return should_stop() or ("start" in clock and time.monotonic() - clock["start"] > seconds_each)

        def epoch_done(report, arm=arm, curve=curve):
            point = {"arm": arm, "epoch": report.epoch, "eval_accuracy": report.eval_accuracy,
                     "train_accuracy": report.train_accuracy, "elapsed": round(report.elapsed, 2)}
            curve.append(point)
            if on_epoch:
                on_epoch(point)

        result = finetune(train, eval, replace(config, start=arm), on_step=step_done, on_epoch=epoch_done,
                          should_stop=out_of_time)
        cut = result.cancelled and not should_stop()
        if cut and steps and result.eval_accuracy is not None:
            # Stopped mid-epoch by the budget: the model as it stands, at the fraction of epochs it trained.
            per_epoch = steps[-1].total_steps / config.epochs
            epoch_done(SimpleNamespace(epoch=round(len(steps) / per_epoch, 2), eval_accuracy=result.eval_accuracy,
                                       train_accuracy=None, elapsed=steps[-1].elapsed))
        arms[arm] = {"curve": curve, "eval_accuracy": result.eval_accuracy, "seconds": round(result.seconds, 1),
                     "cut_by_time": cut, "steps": len(steps),
                     "trainable_parameters": result.trainable_parameters}
    return {"settings": {"epochs": epochs, "seconds_each": seconds_each, "seed": seed,
                         "learning_rate": config.learning_rate, "freeze": config.freeze,
                         "train_sentences": len(train), "eval_sentences": len(eval) if eval is not None else 0},
            "arms": arms}


def compare_job(epochs: int, seconds_each: float, seed: int, on_step, on_epoch, should_stop) -> dict:
    """compare_starts on the shipped sentences, bounded for a page (at most MAX_EPOCHS and
    MAX_SECONDS_EACH of training per start), with core.jobs' signature (use functools.partial)."""
    from core.datasets import load_shipped

    epochs = max(1, min(int(epochs), MAX_EPOCHS))
    seconds_each = max(1.0, min(float(seconds_each), MAX_SECONDS_EACH))
    return compare_starts(load_shipped("train"), load_shipped("eval"), epochs, seconds_each, seed,
                          on_epoch=on_epoch, should_stop=should_stop)


def load_recorded(path: Path = RECORDED) -> dict | None:
    """The shipped result (with when and where it was measured), or None when missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("arms"), dict) else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.pretraining", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seconds-each", type=float, default=120.0, help="training seconds per start, at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="write the result as JSON here")
    args = parser.parse_args(argv)
    from core.datasets import load_shipped

    result = compare_starts(load_shipped("train"), load_shipped("eval"), args.epochs, args.seconds_each, args.seed,
                            on_epoch=lambda p: print(json.dumps(p), flush=True))
    import os

    result["measured"] = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                          "where": f"{platform.machine()}, {os.cpu_count()} cores, load average "
                                   f"{os.getloadavg()[0]:.1f}"}
    text = json.dumps(result, indent=1)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
