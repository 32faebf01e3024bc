"""Lesson 6, judge weights without data: alpha (the power-law exponent of each
layer's eigenvalue spectrum, core.weight_stats) for the pretrained model and for
the same model after a short fine-tune, with every layer's spectrum kept for a
log-log chart. The fine-tune repeats once per seed: the chart shows the first
seed's layers, the conclusion how far the median layer moved in every seed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core import models
from core.lessons.base import Runs, Settings, check, envelope
from core.lessons.data import first_per_label, given_or_shipped


@dataclass
class WeightSettings(Settings):
    freeze: str = "none"           # let every layer move, so any change in alpha can show
    freeze_layers: int = 0
    epochs: int = 3


def weights(settings: WeightSettings | None = None, should_stop=lambda: False, on_progress=None,
            train=None, eval=None) -> dict:
    """Measure every layer's alpha, fine-tune, measure again. Stopped midway, the
    pretrained model's alphas are kept."""
    from core import weight_stats

    settings = settings or WeightSettings()
    check(settings)
    started = time.perf_counter()
    data = first_per_label(given_or_shipped(train, "train"), settings.per_label)
    eval = given_or_shipped(eval, "eval")
    seeds = settings.seed_list()
    runs = Runs(1 + 2 * len(seeds), should_stop, on_progress)
    small = _is_small(settings.model_id)

    runs.tell(0.0, "Measuring the pretrained model's layers")
    pretrained_model = models.load_classifier(settings.model_id, sorted(set(data.labels)))
    before = _alphas_and_spectra(pretrained_model.base_model, should_stop, small)
    del pretrained_model
    runs.done += 1
    if should_stop():
        runs.stopped = True
        return envelope("weights", settings, started, runs, {"layers": [], "spectra": {}},
                        stopped_message="Stopped before the pretrained model was measured: nothing to show yet.")
    runs.finished({"layers": _merge_layers(before, None)})
    after, finetunes = None, []
    for seed in seeds:
        result, complete = runs.finetune(data, eval, settings.finetune_config(seed=seed), f"fine-tuning, seed {seed}")
        if not complete:
            runs.stopped = True
            break
        runs.tell(0.0, f"Measuring the fine-tuned model's layers, seed {seed}")
        measured = _alphas_and_spectra(result.model.base_model, should_stop, small)
        runs.done += 1
        after = after or measured
        finetunes.append({"seed": seed, "eval_accuracy": result.eval_accuracy, "epochs": len(result.history),
                          "rows": len(data), "seconds": round(result.seconds, 2),
                          "median_shift": median_shift(before["layers"], measured["layers"])})
    if after is None:
        return envelope("weights", settings, started, runs, {
            "layers": _merge_layers(before, None), "spectra": {"pretrained": before["spectra"]},
            "finetune": None, "band": list(weight_stats.WELL_TRAINED_BAND), "talk_band": list(weight_stats.TALK_BAND),
        }, stopped_message="Stopped during the fine-tune: the pretrained model's alphas are kept.")
    return envelope("weights", settings, started, runs, {
        "layers": _merge_layers(before, after),
        "spectra": {"pretrained": before["spectra"], "finetuned": after["spectra"]},
        "finetune": finetunes[0], "finetunes": finetunes,
        "band": list(weight_stats.WELL_TRAINED_BAND),
        "talk_band": list(weight_stats.TALK_BAND),
    }, stopped_message="Stopped during a fine-tune: the seeds that finished are kept.")


def median_shift(before: list[dict], after: list[dict]) -> float | None:
    """The median over layers of |alpha after - alpha before|."""
    after_by_name = {layer["name"]: layer["alpha"] for layer in after}
    shifts = sorted(abs(after_by_name[layer["name"]] - layer["alpha"]) for layer in before
                    if layer["name"] in after_by_name)
    if not shifts:
        return None
    mid = len(shifts) // 2
    return shifts[mid] if len(shifts) % 2 else (shifts[mid - 1] + shifts[mid]) / 2


def _is_small(model_id: str) -> bool:
    """Tiny test models have 32-wide layers: fit what there is instead of skipping all."""
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(models.resolve(model_id), local_files_only=True).hidden_size < 64
    except Exception:  # noqa: BLE001 - a hub id we can't read: treat as normal size
        return False


def _alphas_and_spectra(model, should_stop, small: bool) -> dict:
    from core import weight_stats

    min_eigenvalues = 16 if small else weight_stats.MIN_EIGENVALUES
    layers, spectra = [], {}
    for name, matrix in weight_stats.model_matrices(model, min_eigenvalues):
        if should_stop():
            break
        layer = weight_stats.layer_alpha(name, matrix)
        layers.append(layer.to_dict())
        spectrum = weight_stats.spectrum_with_fit(matrix, bins=30)
        spectra[layer.label] = {k: _rounded(v) for k, v in spectrum.items()}
    return {"layers": layers, "spectra": spectra}


def _rounded(value, digits: int = 4):
    """Keep the results file small: 4 significant digits are plenty for a chart."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    return value


def _merge_layers(before: dict, after: dict | None) -> list[dict]:
    after_by_name = {layer["name"]: layer for layer in (after or {}).get("layers", [])}
    merged = []
    for layer in before["layers"]:
        other = after_by_name.get(layer["name"])
        merged.append({
            "name": layer["name"], "label": layer["label"], "shape": layer["shape"],
            "pretrained_alpha": layer["alpha"], "pretrained_n_tail": layer["n_tail"],
            "finetuned_alpha": other["alpha"] if other else None,
            "finetuned_n_tail": other["n_tail"] if other else None,
        })
    return merged


def headline(data: dict) -> str:
    layers = data["layers"]
    if not layers:
        return "no layers"
    pre = [x["pretrained_alpha"] for x in layers]
    post = [x["finetuned_alpha"] for x in layers if x["finetuned_alpha"] is not None]
    text = f"{len(layers)} layers, mean alpha pretrained {sum(pre) / len(pre):.2f}"
    return text + (f", fine-tuned {sum(post) / len(post):.2f}" if post else "")
