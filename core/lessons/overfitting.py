"""Lesson 4, over- and underfitting: train vs evaluation accuracy after every
epoch for a run that memorises, one that underfits and a normal one, and the
epoch where early stopping would have ended the normal run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.lessons.base import Runs, Settings, accuracy_on, check, envelope, percent
from core.lessons.data import first_per_label, given_or_shipped


@dataclass
class FittingSettings(Settings):
    epochs: int = 8                # the normal run: long enough to pass its best epoch
    tiny_per_label: int = 2        # the memorising run: 16 sentences in all
    tiny_epochs: int = 12
    underfit_epochs: int = 4       # the frozen-encoder run (only the new layer learns)
    underfit_learning_rate: float = 1e-3


def fitting(settings: FittingSettings | None = None, should_stop=lambda: False, on_progress=None,
            train=None, eval=None) -> dict:
    """Three runs, train vs evaluation accuracy after every epoch.
    - memorise: a tiny training set (2 per label) for many epochs -> train ~100%, eval low
    - underfit: encoder frozen, only the new layer learns, few epochs -> both low
    - normal: more data and epochs; the best evaluation epoch is where early
      stopping (patience 2) would have stopped and kept the weights."""
    settings = settings or FittingSettings()
    check(settings)
    started = time.perf_counter()
    train, eval = given_or_shipped(train, "train"), given_or_shipped(eval, "eval")
    plans = [
        ("Memorises", first_per_label(train, settings.tiny_per_label),
         settings.finetune_config(epochs=settings.tiny_epochs, eval_every_epoch=True, freeze="none"),
         f"{settings.tiny_per_label} sentences per label, {settings.tiny_epochs} epochs, nothing frozen"),
        ("Underfits", first_per_label(train, settings.per_label),
         settings.finetune_config(epochs=settings.underfit_epochs, eval_every_epoch=True, freeze="encoder",
                                  learning_rate=settings.underfit_learning_rate),
         f"{settings.per_label} per label, {settings.underfit_epochs} epochs, encoder frozen "
         "(only the new layer learns)"),
        ("Normal", first_per_label(train, settings.per_label),
         settings.finetune_config(eval_every_epoch=True),
         f"{settings.per_label} per label, {settings.epochs} epochs, word embeddings frozen"),
    ]
    runs = Runs(len(plans), should_stop, on_progress)
    curves: list[dict] = []
    for name, data, config, description in plans:
        result, complete = runs.finetune(data, eval, config, name)
        history = [{"epoch": h.epoch, "train_accuracy": h.train_accuracy, "eval_accuracy": h.eval_accuracy,
                    "train_loss": h.train_loss, "eval_loss": h.eval_loss} for h in result.history]
        if not history:
            break
        curves.append({
            "name": name, "description": description, "rows": len(data),
            "history": history, "best_epoch": best_epoch(history),
            "early_stop_epoch": early_stopping_epoch(history, patience=2),
            "final_train_accuracy": accuracy_on(result, data), "complete": complete,
        })
        runs.finished({"curves": list(curves)})
        if not complete:
            break
    return envelope("fitting", settings, started, runs, {"curves": curves},
                    stopped_message=f"Stopped during run {runs.done} of {runs.total}: its epochs so far are "
                                    "kept and marked unfinished." if runs.stopped else None)


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
