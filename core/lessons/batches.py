"""Lesson 3, batch size: the same sentences, epochs and learning rate with batch
8, 16, 32 and 64. A smaller batch means more (noisier) weight updates per epoch.
Each size runs once per seed; its accuracy and seconds per epoch are the mean
over the seeds, with their spread."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from core.lessons.base import LessonError, Runs, Settings, arm_summary, check, combined, envelope, percent
from core.lessons.data import first_per_label, given_or_shipped


@dataclass
class BatchSettings(Settings):
    per_label: int = 20
    batch_sizes: list = field(default_factory=lambda: [8, 16, 32, 64])


def batch_size(settings: BatchSettings | None = None, should_stop=lambda: False, on_progress=None,
               train=None, eval=None) -> dict:
    """One fine-tune per batch size, with its updates and seconds per epoch:
    160 sentences are 20 updates at batch 8 but 3 at batch 64."""
    settings = settings or BatchSettings()
    check(settings)
    sizes = [int(b) for b in settings.batch_sizes]
    if not sizes or any(b < 1 for b in sizes):
        raise LessonError("Batch sizes must be whole numbers of at least 1.")
    started = time.perf_counter()
    data = first_per_label(given_or_shipped(train, "train"), settings.per_label)
    eval = given_or_shipped(eval, "eval")
    seeds = settings.seed_list()
    runs = Runs(len(sizes) * len(seeds), should_stop, on_progress)
    points: list[dict] = []
    for size in sizes:
        per_seed = []
        for seed in seeds:
            result, complete = runs.finetune(data, eval, settings.finetune_config(batch_size=size, seed=seed),
                                             f"batch {size}, seed {seed}")
            if not complete:
                break
            # The last step's clock: all training, no evaluation (that runs once, after it).
            train_seconds = result.steps[-1].elapsed if result.steps else 0.0
            per_seed.append(arm_summary(
                result, data, f"batch {size}", batch_size=size,
                updates_per_epoch=math.ceil(len(data) / size),
                seconds_per_epoch=round(train_seconds / max(1, len(result.history)), 3),
            ))
        if len(per_seed) < len(seeds):
            break
        points.append(combined(per_seed, ("train_accuracy", "eval_accuracy", "seconds", "seconds_per_epoch")))
        runs.finished({"points": list(points)})
    return envelope("batch_size", settings, started, runs, {"points": points})


def headline(data: dict) -> str:
    return " | ".join(f"{p['name']}: train {percent(p['train_accuracy'])} eval {percent(p['eval_accuracy'])} "
                      f"{p['seconds_per_epoch']:.1f} s/epoch" for p in data["points"])
