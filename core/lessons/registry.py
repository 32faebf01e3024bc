"""The seven experiments by name: what each is called, how to run it, its
settings, the parts a saved result must have, and its headline for a terminal."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from core.lessons import batches, diverse, noise, other_models, overfitting, speed, weight_alpha
from core.lessons.base import LessonError


@dataclass(frozen=True)
class Experiment:
    key: str
    number: int
    title: str
    run: Callable[..., dict]
    settings: type
    required: tuple           # keys its result's "data" must have (checked on load)
    headline: Callable[[dict], str]  # its result's "data" in one line of numbers


EXPERIMENTS = {e.key: e for e in [
    Experiment("diverse_data", 1, "Diverse data beats more of the same", diverse.diverse_data,
               diverse.DiverseSettings, ("arms",), diverse.headline),
    Experiment("label_noise", 2, "Garbage in, garbage out", noise.label_noise, noise.NoiseSettings,
               ("points",), noise.headline),
    Experiment("batch_size", 3, "Batch size", batches.batch_size, batches.BatchSettings,
               ("points",), batches.headline),
    Experiment("fitting", 4, "Over- and underfitting", overfitting.fitting, overfitting.FittingSettings,
               ("curves",), overfitting.headline),
    Experiment("models", 5, "Try another model", other_models.models_compared, other_models.ModelSettings,
               ("measured", "talk"), other_models.headline),
    Experiment("weights", 6, "Judge weights without data", weight_alpha.weights, weight_alpha.WeightSettings,
               ("layers",), weight_alpha.headline),
    Experiment("hardware", 7, "Fast feedback needs hardware", speed.hardware_speed, speed.HardwareSettings,
               ("devices",), speed.headline),
]}


def experiment(key: str) -> Experiment:
    if key not in EXPERIMENTS:
        raise LessonError(f"No experiment called '{key}'; there are: {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[key]


def settings_for(key: str, **changes):
    """The default settings of an experiment with some changed; unknown names are refused."""
    chosen = experiment(key)
    known = {f.name for f in fields(chosen.settings)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise LessonError(f"'{key}' has no setting {', '.join(unknown)}; it has {', '.join(sorted(known))}.")
    return chosen.settings(**changes)


def run_experiment(key: str, settings=None, should_stop=lambda: False, on_progress=None, **data) -> dict:
    """Run one experiment by name with its settings (defaults if None)."""
    chosen = experiment(key)
    return chosen.run(settings or chosen.settings(), should_stop=should_stop, on_progress=on_progress, **data)


def summary_line(result: dict) -> str:
    """The headline numbers of one result, for a terminal."""
    return experiment(result["experiment"]).headline(result["data"])
