"""Lesson 2, garbage in, garbage out: the same sentences with 0%, 10%, ... 50% of
their labels flipped to a wrong one, judged on an evaluation set with clean labels.
Each level runs once per seed (a seed picks which labels flip and starts the
training), so a point's spread says how much is luck."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core import datasets
from core.datasets import LabelledTexts
from core.lessons.base import (LessonError, Runs, Settings, accuracy_on, arm_summary, check, combined, envelope,
                               percent)
from core.lessons.data import first_per_label, given_or_shipped


@dataclass
class NoiseSettings(Settings):
    noise_levels: list = field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def count_flipped(clean: LabelledTexts, noisy: LabelledTexts) -> int:
    """How many rows carry a different label in `noisy` than in `clean`."""
    return sum(a != b for a, b in zip(clean.labels, noisy.labels))


def label_noise(settings: NoiseSettings | None = None, should_stop=lambda: False, on_progress=None,
                train=None, eval=None) -> dict:
    """One fine-tune per noise level on the same sentences; evaluation accuracy on
    clean labels, and how much of the clean training truth the model learned."""
    settings = settings or NoiseSettings()
    check(settings)
    levels = [float(x) for x in settings.noise_levels]
    if not levels or any(not 0 <= x < 1 for x in levels):
        raise LessonError("Noise levels must be fractions from 0 up to (not including) 1, e.g. 0.2 for 20%.")
    started = time.perf_counter()
    clean = first_per_label(given_or_shipped(train, "train"), settings.per_label)
    eval = given_or_shipped(eval, "eval")
    seeds = settings.seed_list()
    runs = Runs(len(levels) * len(seeds), should_stop, on_progress)
    points: list[dict] = []
    for level in levels:
        per_seed = []
        for seed in seeds:
            noisy = datasets.flip_labels(clean, level, seed) if level > 0 else clean
            result, complete = runs.finetune(noisy, eval, settings.finetune_config(seed=seed),
                                             f"{level:.0%} of labels flipped, seed {seed}")
            if not complete:
                break
            point = arm_summary(result, noisy, f"{level:.0%}", noise=level, flipped=count_flipped(clean, noisy))
            # How much of the *clean* truth the model learned, despite the noise it was shown:
            point["clean_train_accuracy"] = accuracy_on(result, clean)
            per_seed.append(point)
        if len(per_seed) < len(seeds):
            break
        points.append(combined(per_seed, ("train_accuracy", "eval_accuracy", "clean_train_accuracy", "seconds")))
        runs.finished({"points": list(points)})
    return envelope("label_noise", settings, started, runs, {"points": points})


def headline(data: dict) -> str:
    return " | ".join(f"{p['name']}: {percent(p['eval_accuracy'])} ± {percent(p.get('eval_accuracy_sd'))}"
                      for p in data["points"])
