"""Settings chosen from the data: what `python -m core.finetune` uses unless told
otherwise. Two regimes, each measured (benchmarks/FINETUNE.md):

- **few examples per label** (at most FEW_SHOT shots per label on average, e.g.
  BANKING77's 10 per intent): more passes over the little data there is, chosen by
  cross-validation over the shots (benchmarks/banking77_cv.py);
- **more examples** (the shipped 50 per reason): the demo defaults, FinetuneConfig().

For a BERT both use mean pooling and start the new layer at the class centres;
another architecture keeps [CLS] and a random start. A large evaluation set is
scored once, at the end, instead of after every epoch.

    choice = choose_settings(train, eval, given={"epochs": 3})
    choice.config    # FinetuneConfig with the choice (and `given` on top)
    choice.why       # one line: what was chosen and why
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace

from core.finetune.batches import texts_and_labels
from core.finetune.config import FinetuneConfig

FEW_SHOT = 20                 # mean examples per label at or below this: the few-shot settings
FEW_SHOT_SETTINGS = {"epochs": 5, "learning_rate": 2e-4, "freeze_layers": 3}   # by CV over the shots
BIG_EVAL = 1000               # evaluation sets larger than this are scored after the last epoch only
CHOSEN = ("epochs", "learning_rate", "freeze", "freeze_layers", "pooling", "head_init", "eval_every_epoch")


@dataclass(frozen=True)
class Choice:
    config: FinetuneConfig
    why: str                  # one line for the user
    chosen: tuple[str, ...]   # the settings that were chosen here (not given)

    def summary(self) -> dict:
        settings = asdict(self.config)
        return {"why": self.why, "chosen": {k: settings[k] for k in self.chosen},
                "given": {k: v for k, v in settings.items() if k not in self.chosen and k in CHOSEN}}


def is_bert(model_id: str) -> bool:
    from core import models

    try:
        return models.load_config(model_id).model_type == "bert"
    except Exception:  # noqa: BLE001 - the fine-tune itself will say what is wrong with the model
        return False


def choose_settings(train, eval=None, given: dict | None = None, base: FinetuneConfig | None = None) -> Choice:
    """The settings for this data: `given` ones (FinetuneConfig field names) win,
    the rest of CHOSEN are chosen (see module doc); everything else comes from `base`."""
    given = dict(given or {})
    texts, labels = texts_and_labels(train)
    counts = Counter(labels)
    per_label = len(texts) / max(1, len(counts))
    base = base or FinetuneConfig()
    default = FinetuneConfig()
    picked: dict = {}
    reasons = []
    if per_label <= FEW_SHOT:
        picked.update(FEW_SHOT_SETTINGS)
        reasons.append(f"few examples per label ({per_label:.0f} on average, at most {FEW_SHOT}): "
                       f"{FEW_SHOT_SETTINGS['epochs']} epochs at lr {FEW_SHOT_SETTINGS['learning_rate']:g}")
    else:
        picked.update(epochs=default.epochs, learning_rate=default.learning_rate,
                      freeze_layers=default.freeze_layers)
        reasons.append(f"{per_label:.0f} examples per label on average: the demo's {default.epochs} epochs "
                       f"at lr {default.learning_rate:g}")
    if is_bert(given.get("model_id", base.model_id)):
        picked.update(pooling="mean", head_init="centroids")
        reasons.append("a BERT: mean pooling, new layer started at the class centres")
    else:
        picked.update(pooling="cls", head_init="random")
        reasons.append("not a BERT: [CLS] and a random start")
    eval_size = len(texts_and_labels(eval)[0]) if eval is not None else 0
    picked["eval_every_epoch"] = eval_size <= BIG_EVAL
    if eval_size > BIG_EVAL:
        reasons.append(f"{eval_size} evaluation sentences: scored once, after the last epoch")
    picked["freeze"] = default.freeze
    chosen = tuple(k for k in picked if k not in given)
    settings = {**picked, **given}
    config = replace(base, **settings)
    why = (f"{len(texts)} sentences, {len(counts)} labels, "
           f"{min(counts.values())}-{max(counts.values())} per label; " + "; ".join(reasons))
    if given:
        why += f" (as given: {', '.join(sorted(given))})"
    return Choice(config=config, why=why, chosen=chosen)
