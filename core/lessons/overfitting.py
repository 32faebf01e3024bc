"""Lesson 4, over- and underfitting: train vs evaluation accuracy after every
epoch for a run that memorises, one that underfits and a normal one, and the
epoch where early stopping would have ended the normal run. Each run repeats
once per seed; a curve is the mean over the seeds, with its spread as a band."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.lessons.base import Runs, Settings, accuracy_on, check, envelope, percent, spread
from core.lessons.data import first_per_label, given_or_shipped


@dataclass
class FittingSettings(Settings):
    epochs: int = 6                # the normal run: long enough to pass its best epoch
    tiny_per_label: int = 2        # the memorising run: 16 sentences in all
    tiny_epochs: int = 10
    underfit_epochs: int = 2       # the frozen-encoder run: only a new layer from a random start learns
    underfit_learning_rate: float = 1e-3


def fitting(settings: FittingSettings | None = None, should_stop=lambda: False, on_progress=None,
            train=None, eval=None) -> dict:
    """Three runs, train vs evaluation accuracy after every epoch.
    - memorise: a tiny training set (2 per label) for many epochs -> train ~100%, eval low
    - underfit: encoder frozen, only the new layer learns, from a random start, for
      few epochs -> both low
    - normal: more data and epochs; the best evaluation epoch is where early
      stopping (patience 2) would have stopped and kept the weights."""
    settings = settings or FittingSettings()
    check(settings)
    started = time.perf_counter()
    train, eval = given_or_shipped(train, "train"), given_or_shipped(eval, "eval")
    plans = [
        ("Memorises", first_per_label(train, settings.tiny_per_label),
         dict(epochs=settings.tiny_epochs),
         f"{settings.tiny_per_label} sentences per label, {settings.tiny_epochs} epochs"),
        ("Underfits", first_per_label(train, settings.per_label),
         dict(epochs=settings.underfit_epochs, freeze="encoder", head_init="random",
              learning_rate=settings.underfit_learning_rate),
         f"{settings.per_label} per label, {settings.underfit_epochs} epochs, encoder frozen "
         "(only a new layer from a random start learns)"),
        ("Normal", first_per_label(train, settings.per_label), dict(),
         f"{settings.per_label} per label, {settings.epochs} epochs"),
    ]
    seeds = settings.seed_list()
    runs = Runs(len(plans) * len(seeds), should_stop, on_progress)
    curves: list[dict] = []
    for name, data, changes, description in plans:
        histories, finals, complete = [], [], True
        for seed in seeds:
            config = settings.finetune_config(eval_every_epoch=True, seed=seed, **changes)
            result, complete = runs.finetune(data, eval, config, f"{name}, seed {seed}")
            history = [{"epoch": h.epoch, "train_accuracy": h.train_accuracy, "eval_accuracy": h.eval_accuracy,
                        "train_loss": h.train_loss, "eval_loss": h.eval_loss} for h in result.history]
            if not complete or not history:
                break
            histories.append(history)
            finals.append(accuracy_on(result, data))
        if not histories:
            break
        history = mean_history(histories)
        curves.append({
            "name": name, "description": description, "rows": len(data), "seeds": seeds[:len(histories)],
            "history": history, "best_epoch": best_epoch(history),
            "early_stop_epoch": early_stopping_epoch(history, patience=2),
            "final_train_accuracy": spread(finals)["mean"], "final_train_accuracy_sd": spread(finals)["sd"],
            "final_eval_accuracy_runs": [h[-1]["eval_accuracy"] for h in histories],
            "complete": complete and len(histories) == len(seeds),
        })
        runs.finished({"curves": list(curves)})
        if not complete:
            break
    return envelope("fitting", settings, started, runs, {"curves": curves},
                    stopped_message=f"Stopped during run {runs.done} of {runs.total}: its epochs so far are "
                                    "kept and marked unfinished." if runs.stopped else None)


def mean_history(histories: list[list[dict]]) -> list[dict]:
    """Several seeds' epoch-by-epoch histories as one: per epoch the mean of each
    accuracy and loss, and `<name>_sd` the spread over the seeds (epochs that not
    every seed reached are left out)."""
    epochs = min(len(h) for h in histories)
    merged = []
    for i in range(epochs):
        row = {"epoch": histories[0][i]["epoch"]}
        for name in ("train_accuracy", "eval_accuracy", "train_loss", "eval_loss"):
            stats = spread([h[i].get(name) for h in histories])
            row[name] = stats["mean"]
            row[f"{name}_sd"] = stats["sd"]
        merged.append(row)
    return merged


def best_epoch(history: list[dict]) -> int | None:
    """The epoch with the highest evaluation accuracy (the earliest of ties):
    eval accuracies [0.5, 0.7, 0.7, 0.6] -> epoch 2."""
    scored = [(h["eval_accuracy"], -h["epoch"]) for h in history if h.get("eval_accuracy") is not None]
    return -max(scored)[1] if scored else None


def early_stopping_epoch(history: list[dict], patience: int = 2) -> int | None:
    """The epoch where early stopping with this patience ends training: the first
    epoch that has gone `patience` epochs without beating the best so far.
    [0.5, 0.7, 0.6, 0.65, 0.8] with patience 2 -> stops after epoch 4."""
    best, best_at = -1.0, None
    for h in history:
        accuracy = h.get("eval_accuracy")
        if accuracy is None:
            continue
        if accuracy > best:
            best, best_at = accuracy, h["epoch"]
        elif h["epoch"] - best_at >= patience:
            return h["epoch"]
    return None


def headline(data: dict) -> str:
    return " | ".join(f"{c['name']}: train {percent(c['final_train_accuracy'])} "
                      f"eval {percent(c['history'][-1]['eval_accuracy'])} best epoch {c['best_epoch']}"
                      for c in data["curves"])
