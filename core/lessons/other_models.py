"""Lesson 5, try another model by changing one string: the bundled BERT fully
fine-tuned, with its embeddings frozen and with its whole encoder frozen, plus
every hub model of the registry already cached here, all on the same data; the
talk's numbers come along as a reference, never mixed in."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from core import models
from core.lessons.base import Runs, Settings, arm_summary, check, combined, envelope, percent
from core.lessons.data import first_per_label, given_or_shipped

# The talk's numbers, shown beside (never mixed with) what is measured here.
TALK_MODEL_ACCURACY = [("BERT", 0.90), ("GPT-2", 0.77), ("RoBERTa", 0.93)]


@dataclass
class ModelSettings(Settings):
    include_hub: bool = True       # also fine-tune hub models that are already cached here


def models_compared(settings: ModelSettings | None = None, should_stop=lambda: False, on_progress=None,
                    train=None, eval=None) -> dict:
    """One fine-tune per model and freezing choice on the same sentences, with how
    many numbers each one trained; hub models that aren't cached are listed, not
    silently dropped."""
    settings = settings or ModelSettings()
    check(settings)
    started = time.perf_counter()
    data = first_per_label(given_or_shipped(train, "train"), settings.per_label)
    eval = given_or_shipped(eval, "eval")
    plans = [
        (f"{_short_name(settings.model_id)}, full fine-tune", settings.model_id, "none"),
        (f"{_short_name(settings.model_id)}, embeddings + {settings.freeze_layers} layers frozen", settings.model_id,
         "embeddings"),
        (f"{_short_name(settings.model_id)}, encoder frozen", settings.model_id, "encoder"),
    ]
    not_cached = []
    for choice in models.CHOICES:
        if choice.bundled or choice.id == settings.model_id:
            continue
        if settings.include_hub and models.is_cached(choice.id):
            plans.append((f"{choice.label}, word embeddings frozen", choice.id, "embeddings"))
        else:
            not_cached.append(choice.id)
    seeds = settings.seed_list()
    runs = Runs(len(plans) * len(seeds), should_stop, on_progress)
    measured: list[dict] = []
    for name, model_id, frozen in plans:
        # The encoder-frozen run trains only the new layer (3,080 numbers on the
        # bundled model): give it a bigger step size.
        lr = settings.learning_rate * (10 if frozen == "encoder" else 1)
        # Freezing "none" or the whole encoder means no frozen-layer shortcut; "embeddings"
        # keeps the settings' frozen layers (chapter 3's default).
        layers = settings.freeze_layers if frozen == "embeddings" else 0
        per_seed, failed, complete = [], None, True
        for seed in seeds:
            try:
                result, complete = runs.finetune(data, eval, settings.finetune_config(
                    model_id=model_id, freeze=frozen, freeze_layers=layers, learning_rate=lr, seed=seed),
                    f"{name}, seed {seed}")
            except models.ModelUnavailable as error:
                runs.done += len(seeds) - len(per_seed)
                failed = str(error)
                break
            if not complete:
                break
            trainable = sum(p.numel() for p in result.model.parameters() if p.requires_grad)
            per_seed.append(arm_summary(result, data, name, model_id=model_id, freeze=frozen,
                                        freeze_layers=layers, learning_rate=lr, trainable_parameters=trainable))
        if failed:
            not_cached.append(model_id)
            measured.append({"name": name, "model_id": model_id, "error": failed})
            continue
        if not complete or len(per_seed) < len(seeds):
            break
        measured.append(combined(per_seed))
        runs.finished({"measured": list(measured)})
    return envelope("models", settings, started, runs, {
        "measured": measured,
        "not_cached": not_cached,
        "talk": [{"name": name, "eval_accuracy": acc} for name, acc in TALK_MODEL_ACCURACY],
    })


def _short_name(model_id: str) -> str:
    if model_id == models.BUNDLED:
        return "Bundled BERT"
    return Path(model_id).name or model_id


def headline(data: dict) -> str:
    return " | ".join(f"{m['name']}: {percent(m.get('eval_accuracy'))} ± {percent(m.get('eval_accuracy_sd'))}"
                      for m in data["measured"])
