"""Chapter 4: the talk's hard-won lessons, each one an experiment you can run.

Told as bullet points the lessons are forgettable; measured, they convince.
Every experiment below is a function that fine-tunes the bundled BERT a few
times with chapter 3's `finetune` and returns plain numbers (a JSON-ready
dict) for a chart:

    1 diverse_data  N diverse rows vs N + N rephrased copies vs 2N diverse rows
    2 label_noise   flip 0-50% of the training labels, watch accuracy fall
    3 batch_size    the same data and epochs with batch 8, 16, 32, 64
    4 fitting       memorise a tiny set, underfit with a frozen encoder, and
                    where early stopping would stop a normal run
    5 models        change one string: full fine-tune vs frozen parts vs any
                    cached hub model, beside the talk's BERT 90 / GPT-2 77 /
                    RoBERTa 93
    6 weights       WeightWatcher's alpha per layer, before and after fine-tuning
    7 hardware      training steps per second on every device present

Each takes its settings (a dataclass whose defaults run in under a minute on
a 2-core CPU), `should_stop` (checked before every training step: a stopped
experiment returns what it finished, marked stopped, with a message) and
`on_progress` (a `Progress` after every step, for a live progress bar).

Results are saved as one versioned JSON file (`save_results`) saying when, on
what machine and with which settings they were computed; `load_results`
refuses a file from another version or a damaged one with a sentence a person
can act on. From a shell:

    python -m core.lessons run --all --output core/data/lessons/precomputed.json
    python -m core.lessons run label_noise batch_size --output my.json --set epochs=3
    python -m core.lessons show core/data/lessons/precomputed.json

torch and transformers are imported inside functions, never at import time.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from core import models

RESULTS_FORMAT = "fizzbuzz-to-bert/lessons"
RESULTS_VERSION = 1
PRECOMPUTED = Path(__file__).resolve().parent / "data" / "lessons" / "precomputed.json"

# The talk's numbers, shown beside (never mixed with) what is measured here.
TALK_MODEL_ACCURACY = [("BERT", 0.90), ("GPT-2", 0.77), ("RoBERTa", 0.93)]


class LessonError(ValueError):
    """Settings or data an experiment can't run on; str(error) is one sentence for the user."""


class ResultsFileError(ValueError):
    """A results file that can't be used; str(error) says why and what to do."""


@dataclass
class Progress:
    """Sent to on_progress while an experiment runs."""

    fraction: float       # 0..1 of the whole experiment
    message: str          # "run 2 of 6: 10% of labels flipped, epoch 3"
    partial: dict | None = None  # the result so far (finished runs only)


# ---------------------------------------------------------------- settings


@dataclass
class Settings:
    """What every experiment shares: one fine-tune's knobs, sized for a live demo.

    Small on purpose: 15 sentences per label (120 in all) and 4 epochs of
    batch 16 with the word-embedding table frozen take about 5 s per
    fine-tune on a 2-core CPU, so an experiment of several runs fits in a
    minute. Sentences are cut at 32 tokens (the shipped ones have ~10-15).
    """

    model_id: str = models.BUNDLED
    per_label: int = 15            # training sentences per label
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 1e-4
    max_length: int = 32
    freeze: str = "embeddings"
    freeze_layers: int = 0         # every transformer layer learns, so the lessons show the whole model moving
    seed: int = 0

    def problems(self) -> list[str]:
        found = []
        if not isinstance(self.per_label, int) or self.per_label < 1:
            found.append("Sentences per label must be a whole number of at least 1.")
        found.extend(self.finetune_config().problems())
        return found

    def finetune_config(self, **changes):
        from core.finetune import FinetuneConfig

        values = dict(model_id=self.model_id, epochs=self.epochs, batch_size=self.batch_size,
                      learning_rate=self.learning_rate, max_length=self.max_length,
                      freeze=self.freeze, freeze_layers=self.freeze_layers, seed=self.seed,
                      eval_every_epoch=False)
        values.update(changes)
        return FinetuneConfig(**values)

    def describe(self) -> str:
        """'15 sentences per label, 4 epochs, batch 16, lr 0.0001, word embeddings frozen'."""
        frozen = {"none": "nothing frozen", "embeddings": "word embeddings frozen",
                  "encoder": "encoder frozen"}.get(self.freeze, self.freeze)
        return (f"{self.per_label} sentences per label, {self.epochs} epochs, batch {self.batch_size}, "
                f"learning rate {self.learning_rate:g}, max {self.max_length} tokens, {frozen}, seed {self.seed}")


@dataclass
class DiverseSettings(Settings):
    per_label: int = 12            # N per label; the paraphrases cover the first 25 per label
    duplicate_threshold: float = 0.9
    # Train the N-sentence set for twice the epochs, so all three sets get the same
    # number of training steps: otherwise "more data" just means "more training".
    equal_steps: bool = True


@dataclass
class NoiseSettings(Settings):
    noise_levels: list = field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


@dataclass
class BatchSettings(Settings):
    per_label: int = 20
    epochs: int = 3
    batch_sizes: list = field(default_factory=lambda: [8, 16, 32, 64])


@dataclass
class FittingSettings(Settings):
    epochs: int = 8                # the normal run: long enough to pass its best epoch
    tiny_per_label: int = 2        # the memorising run: 16 sentences in all
    tiny_epochs: int = 12
    underfit_epochs: int = 4       # the frozen-encoder run (only the new layer learns)
    underfit_learning_rate: float = 1e-3


@dataclass
class ModelSettings(Settings):
    include_hub: bool = True       # also fine-tune hub models that are already cached here


@dataclass
class WeightSettings(Settings):
    freeze: str = "none"           # let every layer move, so any change in alpha can show
    epochs: int = 4


@dataclass
class HardwareSettings(Settings):
    steps: int = 8                 # timed training steps per device (after 2 warm-up steps)
    run_sentences: int = 400       # the run whose time is estimated: chapter 3's default
    run_epochs: int | None = None  # None: chapter 3's default number of epochs


# ---------------------------------------------------------------- data


def shipped(split: str):
    """The app's cancellation sentences: 'train' (50 per label), 'eval' (20 per label)."""
    from core import datasets

    return datasets.load_shipped(split)


def shipped_paraphrases():
    from core import datasets

    return datasets.load_paraphrases()


def _texts_labels(data) -> tuple[list[str], list[str]]:
    if hasattr(data, "texts"):
        return list(data.texts), list(data.labels)
    texts, labels = data
    return list(texts), list(labels)


def _make(texts, labels):
    from core.datasets import LabelledTexts

    return LabelledTexts(tuple(texts), tuple(labels))


def _as_labelled(data):
    """Accept the data layer's LabelledTexts or a plain (texts, labels) pair."""
    return data if hasattr(data, "label_names") else _make(*_texts_labels(data))


def first_per_label(data, per_label: int, skip: int = 0):
    """The first `per_label` sentences of every label (after skipping `skip`), in
    file order: first_per_label(train, 15) -> 15 x 8 = 120 sentences.
    Raises LessonError when a label has too few."""
    texts, labels = _texts_labels(data)
    kept_texts, kept_labels, seen = [], [], {}
    for text, label in zip(texts, labels):
        seen[label] = seen.get(label, 0) + 1
        if skip < seen[label] <= skip + per_label:
            kept_texts.append(text)
            kept_labels.append(label)
    short = {label: max(0, n - skip) for label, n in seen.items() if n - skip < per_label}
    if short:
        worst = min(short, key=short.get)
        raise LessonError(
            f"The training data is too small for this split: it needs {skip + per_label} sentences "
            f"per label, but '{worst}' has only {seen[worst]}. Choose at most "
            f"{max(0, min(seen.values()) - skip)} sentences per label."
        )
    return _make(kept_texts, kept_labels)


def with_paraphrases(data, paraphrases):
    """The talk's shortcut: every sentence plus a model's rephrasing of it.
    `paraphrases` has a `sources` list (or is (texts, labels, sources)) naming the
    original each rephrasing came from; only those of sentences in `data` are added."""
    texts, labels = _texts_labels(data)
    if hasattr(paraphrases, "sources"):
        p_texts, p_labels, p_sources = paraphrases.texts, paraphrases.labels, paraphrases.sources
    elif hasattr(paraphrases, "source"):
        p_texts, p_labels, p_sources = paraphrases.texts, paraphrases.labels, paraphrases.source
    else:
        p_texts, p_labels, p_sources = paraphrases
    wanted = set(texts)
    extra = [(t, y) for t, y, s in zip(p_texts, p_labels, p_sources) if s in wanted]
    if len(extra) < len(texts):
        raise LessonError(
            f"Only {len(extra)} of the {len(texts)} chosen sentences have a paraphrase; "
            "choose fewer sentences per label (the shipped paraphrases cover the first 25 per label)."
        )
    return _make(texts + [t for t, _ in extra], labels + [y for _, y in extra])


def flip_labels(data, fraction: float, seed: int = 0):
    """Garbage in: give `fraction` of the sentences a wrong label (another label,
    chosen at random; core.datasets). 120 sentences at 0.25 -> exactly 30 wrong labels."""
    from core import datasets

    return datasets.flip_labels(_as_labelled(data), fraction, seed)


def count_flipped(clean, noisy) -> int:
    return sum(a != b for a, b in zip(_texts_labels(clean)[1], _texts_labels(noisy)[1]))


# ---------------------------------------------------------------- one fine-tune inside an experiment


class _Runs:
    """Bookkeeping shared by the experiments: how many fine-tunes, which one is
    running, progress messages, and stopping."""

    def __init__(self, total: int, should_stop, on_progress):
        self.total = max(1, total)
        self.done = 0
        self.completed = 0  # runs that finished (not stopped, not diverged)
        self.should_stop = should_stop
        self.on_progress = on_progress or (lambda progress: None)
        self.stopped = False
        self.partial: dict | None = None

    def tell(self, within: float, message: str) -> None:
        self.on_progress(Progress(min(1.0, (self.done + within) / self.total), message, self.partial))

    def finetune(self, train, eval, config, label: str):
        """Fine-tune one arm; returns (FinetuneResult, complete?)."""
        from core.finetune import finetune

        run_number = self.done + 1

        def on_step(report):
            self.tell(report.step / report.total_steps,
                      f"Run {run_number} of {self.total}: {label} — epoch {report.epoch}, "
                      f"step {report.step} of {report.total_steps}")

        self.tell(0.0, f"Run {run_number} of {self.total}: {label} — loading the model")
        result = finetune(train, eval, config, on_step=on_step, should_stop=self.should_stop)
        complete = not result.cancelled and result.diverged is None
        if result.cancelled:
            self.stopped = True
        self.done += 1
        self.completed += complete
        return result, complete

    def finished(self, partial: dict) -> None:
        self.partial = partial
        self.tell(0.0, f"{self.done} of {self.total} runs done")


def _accuracy_on(result, data) -> float:
    """Accuracy of a fine-tuned model on `data`, measured in eval mode (no dropout)."""
    from core.finetune import evaluate

    _, accuracy, _ = evaluate(result.model, result.tokenizer, data, result.labels,
                              max_length=result.config.max_length)
    return accuracy


def _arm_summary(result, train, name: str, **extra) -> dict:
    return {
        "name": name,
        "rows": len(_texts_labels(train)[0]),
        "train_accuracy": _accuracy_on(result, train) if result.history else None,
        "eval_accuracy": result.eval_accuracy,
        "epochs": len(result.history),
        "seconds": round(result.seconds, 2),
        **extra,
    }


def _check(settings: Settings) -> None:
    problems = settings.problems()
    if problems:
        raise LessonError(problems[0])


def _envelope(name: str, settings: Settings, started: float, runs: _Runs | None, data: dict,
              stopped_message: str | None = None) -> dict:
    """Every result looks the same from outside: what ran, with what, when, where, how long."""
    from core import hardware

    stopped = bool(runs and runs.stopped)
    message = None
    if stopped:
        message = stopped_message or (
            f"Stopped after {runs.completed} of {runs.total} runs: the finished runs are kept, "
            "the interrupted one is left out.")
    return {
        "experiment": name,
        "settings": asdict(settings),
        "computed_at": _now(),
        "machine": hardware.machine_description(),
        "seconds": round(time.perf_counter() - started, 2),
        "stopped": stopped,
        "message": message,
        "data": data,
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------- 1. diverse data


def diverse_data(settings: DiverseSettings | None = None, should_stop=lambda: False, on_progress=None,
                 train=None, eval=None, paraphrases=None) -> dict:
    """Lesson 1: N diverse sentences, the same N plus a rephrased copy of each
    (the talk's 400 -> 800 shortcut), and 2N different sentences, all judged on
    the same unseen evaluation set. With equal_steps (default) the N set trains
    for twice the epochs, so every set gets the same number of weight updates and
    only *what* the model sees differs. Also counts the near-duplicate pairs each
    training set contains (cosine similarity of sentence embeddings >= threshold)."""
    settings = settings or DiverseSettings()
    _check(settings)
    started = time.perf_counter()
    train = train if train is not None else shipped("train")
    eval = eval if eval is not None else shipped("eval")
    paraphrases = paraphrases if paraphrases is not None else shipped_paraphrases()
    n = settings.per_label
    diverse = first_per_label(train, n)
    n_epochs = settings.epochs * (2 if settings.equal_steps else 1)
    sets = [
        ("N diverse", diverse, f"{n} different sentences per label, {n_epochs} epochs"),
        ("N + N paraphrases", with_paraphrases(diverse, paraphrases),
         f"the same {n} per label plus a rephrasing of each, {settings.epochs} epochs"),
        ("2N diverse", first_per_label(train, 2 * n), f"{2 * n} different sentences per label, "
                                                      f"{settings.epochs} epochs"),
    ]
    runs = _Runs(len(sets), should_stop, on_progress)
    arms: list[dict] = []
    for name, data, description in sets:
        epochs = n_epochs if name == "N diverse" else settings.epochs
        result, complete = runs.finetune(data, eval, settings.finetune_config(epochs=epochs), name)
        if not complete:
            break
        arms.append(_arm_summary(result, data, name, description=description))
        runs.finished({"arms": list(arms)})
    duplicates = {}
    message = None
    if not runs.stopped:
        for name, data, _ in sets:
            if should_stop():
                runs.stopped = True
                message = ("Stopped while counting near-duplicates: all three fine-tunes finished "
                           "and are kept; the duplicate counts are incomplete.")
                break
            pairs = find_near_duplicates(_texts_labels(data)[0], settings.duplicate_threshold,
                                         model_id=settings.model_id)
            duplicates[name] = len(pairs)
    return _envelope("diverse_data", settings, started, runs,
                     {"arms": arms, "near_duplicate_pairs": duplicates,
                      "threshold": settings.duplicate_threshold, "eval_rows": len(_texts_labels(eval)[0])},
                     stopped_message=message)


@dataclass
class DuplicatePair:
    first: int            # row numbers in the list given (0-based)
    second: int
    first_text: str
    second_text: str
    similarity: float     # cosine similarity of the two sentence embeddings, -1..1


def similar_pairs(vectors, threshold: float) -> list[tuple[int, int, float]]:
    """(i, j, cosine) for every pair i < j with cosine similarity >= threshold,
    most similar first. Vectors [1, 0], [0.99, 0.14], [0, 1] at 0.9 -> [(0, 1, 0.99)]."""
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float64)
    if len(matrix) < 2:
        return []
    unit = matrix / np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
    cosine = unit @ unit.T
    i, j = np.nonzero(np.triu(cosine >= threshold, k=1))
    found = sorted(zip(i.tolist(), j.tolist(), cosine[i, j].tolist()), key=lambda p: -p[2])
    return [(a, b, float(c)) for a, b, c in found]


def find_near_duplicates(texts: list[str], threshold: float = 0.9, model_id: str = models.BUNDLED,
                         tokenizer=None, encoder=None, limit: int | None = None) -> list[DuplicatePair]:
    """Suspicious pairs in any list of sentences: their sentence embeddings (the
    mean of BERT's token vectors, chapter 2) point almost the same way.
    'Please cancel this order.' vs 'Please cancel this order for me.' -> ~0.95."""
    from core import embeddings

    if not 0 < threshold <= 1:
        raise LessonError("The similarity threshold must be between 0 and 1 (e.g. 0.9).")
    texts = [str(t) for t in texts]
    if len(texts) < 2:
        return []
    tokenizer = tokenizer or models.load_tokenizer(model_id)
    encoder = encoder or models.load_encoder(model_id)
    vectors = embeddings.sentence_embeddings(tokenizer, encoder, texts, pooling="mean")
    pairs = similar_pairs(vectors, threshold)[:limit]
    return [DuplicatePair(i, j, texts[i], texts[j], round(c, 4)) for i, j, c in pairs]


# ---------------------------------------------------------------- 2. label noise


def label_noise(settings: NoiseSettings | None = None, should_stop=lambda: False, on_progress=None,
                train=None, eval=None) -> dict:
    """Lesson 2, garbage in, garbage out: the same sentences with 0%, 10%, ... 50%
    of their labels flipped to a wrong one; evaluation accuracy on clean labels."""
    settings = settings or NoiseSettings()
    _check(settings)
    levels = [float(x) for x in settings.noise_levels]
    if not levels or any(not 0 <= x < 1 for x in levels):
        raise LessonError("Noise levels must be fractions from 0 up to (not including) 1, e.g. 0.2 for 20%.")
    started = time.perf_counter()
    clean = first_per_label(train if train is not None else shipped("train"), settings.per_label)
    eval = eval if eval is not None else shipped("eval")
    runs = _Runs(len(levels), should_stop, on_progress)
    points: list[dict] = []
    for level in levels:
        noisy = flip_labels(clean, level, settings.seed) if level > 0 else clean
        result, complete = runs.finetune(noisy, eval, settings.finetune_config(), f"{level:.0%} of labels flipped")
        if not complete:
            break
        point = _arm_summary(result, noisy, f"{level:.0%}", noise=level, flipped=count_flipped(clean, noisy))
        # How much of the *clean* truth the model learned, despite the noise it was shown:
        point["clean_train_accuracy"] = _accuracy_on(result, clean)
        points.append(point)
        runs.finished({"points": list(points)})
    return _envelope("label_noise", settings, started, runs, {"points": points})


# ---------------------------------------------------------------- 3. batch size


def batch_size(settings: BatchSettings | None = None, should_stop=lambda: False, on_progress=None,
               train=None, eval=None) -> dict:
    """Lesson 3: same sentences, same epochs, same learning rate; batch 8, 16, 32, 64.
    A smaller batch means more (noisier) weight updates per epoch: 160 sentences
    are 20 updates at batch 8 but 3 at batch 64."""
    settings = settings or BatchSettings()
    _check(settings)
    sizes = [int(b) for b in settings.batch_sizes]
    if not sizes or any(b < 1 for b in sizes):
        raise LessonError("Batch sizes must be whole numbers of at least 1.")
    started = time.perf_counter()
    data = first_per_label(train if train is not None else shipped("train"), settings.per_label)
    eval = eval if eval is not None else shipped("eval")
    rows = len(_texts_labels(data)[0])
    runs = _Runs(len(sizes), should_stop, on_progress)
    points: list[dict] = []
    for size in sizes:
        config = settings.finetune_config(batch_size=size)
        result, complete = runs.finetune(data, eval, config, f"batch {size}")
        if not complete:
            break
        # The last step's clock: all training, no evaluation (that runs once, after it).
        train_seconds = result.steps[-1].elapsed if result.steps else 0.0
        points.append(_arm_summary(
            result, data, f"batch {size}", batch_size=size,
            updates_per_epoch=math.ceil(rows / size),
            seconds_per_epoch=round(train_seconds / max(1, len(result.history)), 3),
        ))
        runs.finished({"points": list(points)})
    return _envelope("batch_size", settings, started, runs, {"points": points})


# ---------------------------------------------------------------- 4. over- and underfitting


def fitting(settings: FittingSettings | None = None, should_stop=lambda: False, on_progress=None,
            train=None, eval=None) -> dict:
    """Lesson 4: three runs, train vs evaluation accuracy after every epoch.
    - memorise: a tiny training set (2 per label) for many epochs -> train ~100%, eval low
    - underfit: encoder frozen, only the new layer learns, few epochs -> both low
    - normal: more data and epochs; the best evaluation epoch is where early
      stopping (patience 2) would have stopped and kept the weights."""
    settings = settings or FittingSettings()
    _check(settings)
    started = time.perf_counter()
    train = train if train is not None else shipped("train")
    eval = eval if eval is not None else shipped("eval")
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
    runs = _Runs(len(plans), should_stop, on_progress)
    curves: list[dict] = []
    for name, data, config, description in plans:
        result, complete = runs.finetune(data, eval, config, name)
        history = [{"epoch": h.epoch, "train_accuracy": h.train_accuracy, "eval_accuracy": h.eval_accuracy,
                    "train_loss": h.train_loss, "eval_loss": h.eval_loss} for h in result.history]
        if not history:
            break
        curves.append({
            "name": name, "description": description, "rows": len(_texts_labels(data)[0]),
            "history": history, "best_epoch": best_epoch(history),
            "early_stop_epoch": early_stopping_epoch(history, patience=2),
            "final_train_accuracy": _accuracy_on(result, data), "complete": complete,
        })
        runs.finished({"curves": list(curves)})
        if not complete:
            break
    return _envelope("fitting", settings, started, runs, {"curves": curves},
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


# ---------------------------------------------------------------- 5. other models


def models_compared(settings: ModelSettings | None = None, should_stop=lambda: False, on_progress=None,
                    train=None, eval=None) -> dict:
    """Lesson 5, try another model by changing one string: the bundled BERT fully
    fine-tuned, with its embeddings frozen and with its whole encoder frozen, plus
    every hub model of the registry that is already cached here, all on the same
    data. The talk's numbers come along as a reference, never mixed in."""
    settings = settings or ModelSettings()
    _check(settings)
    started = time.perf_counter()
    data = first_per_label(train if train is not None else shipped("train"), settings.per_label)
    eval = eval if eval is not None else shipped("eval")
    plans = [
        (f"{_short_name(settings.model_id)}, full fine-tune", settings.model_id, "none"),
        (f"{_short_name(settings.model_id)}, word embeddings frozen", settings.model_id, "embeddings"),
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
    runs = _Runs(len(plans), should_stop, on_progress)
    measured: list[dict] = []
    for name, model_id, frozen in plans:
        # The encoder-frozen run trains only 3,080 numbers: give it a bigger step size.
        lr = settings.learning_rate * (10 if frozen == "encoder" else 1)
        try:
            result, complete = runs.finetune(data, eval, settings.finetune_config(
                model_id=model_id, freeze=frozen, learning_rate=lr), name)
        except models.ModelUnavailable as error:
            runs.done += 1
            not_cached.append(model_id)
            measured.append({"name": name, "model_id": model_id, "error": str(error)})
            continue
        if not complete:
            break
        trainable = sum(p.numel() for p in result.model.parameters() if p.requires_grad)
        measured.append(_arm_summary(result, data, name, model_id=model_id, freeze=frozen,
                                     learning_rate=lr, trainable_parameters=trainable))
        runs.finished({"measured": list(measured)})
    return _envelope("models", settings, started, runs, {
        "measured": measured,
        "not_cached": not_cached,
        "talk": [{"name": name, "eval_accuracy": acc} for name, acc in TALK_MODEL_ACCURACY],
    })


def _short_name(model_id: str) -> str:
    if model_id == models.BUNDLED:
        return "Bundled BERT"
    return Path(model_id).name or model_id


# ---------------------------------------------------------------- 6. weights without data


def weights(settings: WeightSettings | None = None, should_stop=lambda: False, on_progress=None,
            train=None, eval=None) -> dict:
    """Lesson 6: alpha (the power-law exponent of each layer's eigenvalue
    spectrum, core.weight_stats) for the pretrained model and for the same model
    after a short fine-tune, with every layer's spectrum kept for a log-log chart."""
    from core import weight_stats

    settings = settings or WeightSettings()
    _check(settings)
    started = time.perf_counter()
    data = first_per_label(train if train is not None else shipped("train"), settings.per_label)
    eval = eval if eval is not None else shipped("eval")
    runs = _Runs(3, should_stop, on_progress)
    small = _is_small(settings.model_id)

    runs.tell(0.0, "Measuring the pretrained model's layers")
    pretrained_model = models.load_classifier(settings.model_id, sorted(set(_texts_labels(data)[1])))
    before = _alphas_and_spectra(pretrained_model.base_model, should_stop, small)
    del pretrained_model
    runs.done += 1
    if should_stop():
        runs.stopped = True
        return _envelope("weights", settings, started, runs, {"layers": [], "spectra": {}},
                         stopped_message="Stopped before the pretrained model was measured: nothing to show yet.")
    runs.finished({"layers": _merge_layers(before, None)})
    result, complete = runs.finetune(data, eval, settings.finetune_config(), "fine-tuning")
    if not complete:
        runs.stopped = True
        return _envelope("weights", settings, started, runs, {
            "layers": _merge_layers(before, None), "spectra": {"pretrained": before["spectra"]},
            "finetune": None, "band": list(weight_stats.WELL_TRAINED_BAND), "talk_band": list(weight_stats.TALK_BAND),
        }, stopped_message="Stopped during the fine-tune: the pretrained model's alphas are kept.")
    runs.tell(0.0, "Measuring the fine-tuned model's layers")
    after = _alphas_and_spectra(result.model.base_model, should_stop, small)
    runs.done += 1
    return _envelope("weights", settings, started, runs, {
        "layers": _merge_layers(before, after),
        "spectra": {"pretrained": before["spectra"], "finetuned": after["spectra"]},
        "finetune": {"eval_accuracy": result.eval_accuracy, "epochs": len(result.history),
                     "rows": len(_texts_labels(data)[0]), "seconds": round(result.seconds, 2)},
        "band": list(weight_stats.WELL_TRAINED_BAND),
        "talk_band": list(weight_stats.TALK_BAND),
    })


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


# ---------------------------------------------------------------- 7. hardware


def hardware_speed(settings: HardwareSettings | None = None, should_stop=lambda: False, on_progress=None,
                   train=None, eval=None) -> dict:
    """Lesson 7: training steps per second on every device here, and what that
    means for a whole fine-tune, beside the talk's 720 s (CPU) vs 75 s (RTX 3060)."""
    from core import hardware

    settings = settings or HardwareSettings()
    _check(settings)
    started = time.perf_counter()
    devices = hardware.devices_present()
    if settings.run_epochs is None:
        from core.finetune import FinetuneConfig

        settings.run_epochs = FinetuneConfig().epochs
    runs = _Runs(len(devices), should_stop, on_progress)
    timings: list[dict] = []
    for device, name, threads in devices:
        runs.tell(0.0, f"Timing {settings.steps} training steps on {name}")
        timing = hardware.measure_device(device, name, threads, model_id=settings.model_id,
                                         batch_size=settings.batch_size, steps=settings.steps,
                                         should_stop=should_stop)
        if timing is None:
            runs.stopped = True
            break
        runs.done += 1
        row = timing.to_dict()
        row["estimated_run_seconds"] = hardware.estimate_seconds(
            timing.steps_per_second, settings.run_sentences, settings.batch_size, settings.run_epochs)
        timings.append(row)
        runs.finished({"devices": list(timings)})
    return _envelope("hardware", settings, started, runs, {
        "devices": timings,
        "run": {"sentences": settings.run_sentences, "batch_size": settings.batch_size,
                "epochs": settings.run_epochs,
                "steps": hardware.steps_in_run(settings.run_sentences, settings.batch_size, settings.run_epochs)},
        "talk": {"cpu_seconds": hardware.TALK_CPU_SECONDS, "gpu_seconds": hardware.TALK_GPU_SECONDS,
                 "gpu_name": hardware.TALK_GPU_NAME, "speedup": hardware.talk_speedup()},
    }, stopped_message=f"Stopped after timing {len(timings)} of {len(devices)} devices: those are kept.")


# ---------------------------------------------------------------- the registry of experiments


@dataclass(frozen=True)
class Experiment:
    key: str
    number: int
    title: str
    run: Callable[..., dict]
    settings: type
    required: tuple           # keys its result's "data" must have (checked on load)


EXPERIMENTS = {e.key: e for e in [
    Experiment("diverse_data", 1, "Diverse data beats more of the same", diverse_data, DiverseSettings,
               ("arms",)),
    Experiment("label_noise", 2, "Garbage in, garbage out", label_noise, NoiseSettings, ("points",)),
    Experiment("batch_size", 3, "Batch size", batch_size, BatchSettings, ("points",)),
    Experiment("fitting", 4, "Over- and underfitting", fitting, FittingSettings, ("curves",)),
    Experiment("models", 5, "Try another model", models_compared, ModelSettings, ("measured", "talk")),
    Experiment("weights", 6, "Judge weights without data", weights, WeightSettings, ("layers",)),
    Experiment("hardware", 7, "Fast feedback needs hardware", hardware_speed, HardwareSettings, ("devices",)),
]}


def settings_for(key: str, **changes):
    """The default settings of an experiment with some changed; unknown names are refused."""
    experiment = _experiment(key)
    known = {f.name for f in fields(experiment.settings)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise LessonError(f"'{key}' has no setting {', '.join(unknown)}; it has {', '.join(sorted(known))}.")
    return experiment.settings(**changes)


def run_experiment(key: str, settings=None, should_stop=lambda: False, on_progress=None, **data) -> dict:
    """Run one experiment by name with its settings (defaults if None)."""
    experiment = _experiment(key)
    return experiment.run(settings or experiment.settings(), should_stop=should_stop,
                          on_progress=on_progress, **data)


def _experiment(key: str) -> Experiment:
    if key not in EXPERIMENTS:
        raise LessonError(f"No experiment called '{key}'; there are: {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[key]


# ---------------------------------------------------------------- results files


@dataclass
class ResultsFile:
    """What a results file holds: when and where it was written, and one result per experiment."""

    created: str
    machine: dict
    results: dict[str, dict]
    note: str = ""
    versions: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format": RESULTS_FORMAT, "version": RESULTS_VERSION, "created": self.created,
                "machine": self.machine, "versions": self.versions, "note": self.note,
                "results": self.results}


def new_results(results: dict[str, dict] | None = None, note: str = "") -> ResultsFile:
    from core import hardware

    return ResultsFile(created=_now(), machine=hardware.machine_description(),
                       results=dict(results or {}), note=note, versions=_library_versions())


def _library_versions() -> dict:
    """Versions of the libraries that computed the numbers (read without importing them)."""
    from importlib import metadata

    found = {}
    for name in ("torch", "transformers", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            pass
    return found


def save_results(results: ResultsFile, path) -> Path:
    """Write atomically (a temporary file, then rename): a crash can't leave half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(results.to_json(), indent=1, allow_nan=False) + "\n")
    temporary.replace(path)
    return path


def load_results(source) -> ResultsFile:
    """Read and check a results file (a path, or the bytes/str of an upload).

    Raises ResultsFileError with what is wrong and what to do: not JSON, not a
    lessons file, written by another version, or missing parts.
    """
    name = "The results file"
    try:
        if isinstance(source, (str, Path)) and not str(source).lstrip().startswith("{"):
            path = Path(source)
            name = f"'{path.name}'"
            if not path.exists():
                raise ResultsFileError(f"{name} does not exist.")
            text = path.read_text(encoding="utf-8")
        elif isinstance(source, bytes):
            text = source.decode("utf-8")
        else:
            text = str(source)
        document = json.loads(text)
    except ResultsFileError:
        raise
    except UnicodeDecodeError:
        raise ResultsFileError(f"{name} is not a text file; a results file is JSON.") from None
    except json.JSONDecodeError as error:
        raise ResultsFileError(
            f"{name} is damaged: it is not valid JSON (line {error.lineno}, column {error.colno}). "
            "Recompute it with `python -m core.lessons run --all --output FILE`."
        ) from None
    except OSError as error:
        raise ResultsFileError(f"{name} could not be read: {error.strerror or error}.") from None
    return _validated(document, name)


def _validated(document, name: str) -> ResultsFile:
    recompute = "Recompute it with `python -m core.lessons run --all --output FILE`."
    if not isinstance(document, dict) or document.get("format") != RESULTS_FORMAT:
        raise ResultsFileError(f"{name} is not a lessons results file (it has no '{RESULTS_FORMAT}' marker).")
    version = document.get("version")
    if version != RESULTS_VERSION:
        raise ResultsFileError(
            f"{name} was written in format version {version}; this app reads version {RESULTS_VERSION}. "
            + recompute)
    results = document.get("results")
    if not isinstance(results, dict):
        raise ResultsFileError(f"{name} is damaged: it has no 'results' section. " + recompute)
    for key, result in results.items():
        if key not in EXPERIMENTS:
            raise ResultsFileError(f"{name} has results for an unknown experiment '{key}'. " + recompute)
        problem = _result_problem(key, result)
        if problem:
            raise ResultsFileError(f"{name} is damaged: the '{key}' result {problem}. " + recompute)
    return ResultsFile(created=str(document.get("created", "?")), machine=dict(document.get("machine") or {}),
                       results=results, note=str(document.get("note", "")),
                       versions=dict(document.get("versions") or {}))


def _result_problem(key: str, result) -> str | None:
    """What is missing from one experiment's result, or None if it has the right shape."""
    if not isinstance(result, dict):
        return "is not a table of values"
    for part in ("experiment", "settings", "data", "seconds"):
        if part not in result:
            return f"has no '{part}'"
    if result["experiment"] != key:
        return f"is filed under the wrong name ('{result['experiment']}')"
    if not isinstance(result["data"], dict):
        return "has no data table"
    for part in EXPERIMENTS[key].required:
        if not isinstance(result["data"].get(part), list):
            return f"has no '{part}' list"
    return None


def merged(existing: ResultsFile | None, new: dict[str, dict]) -> ResultsFile:
    """Add newly computed results to a file's, replacing those experiments only.
    The file keeps its own when/where; every result also carries its own."""
    if existing is None:
        return new_results(new)
    combined = dict(existing.results)
    combined.update(new)
    return ResultsFile(created=existing.created, machine=existing.machine, results=combined,
                       note=existing.note, versions=existing.versions)


def load_precomputed() -> ResultsFile:
    return load_results(PRECOMPUTED)


# ---------------------------------------------------------------- command line


def _parse_value(text: str):
    """'3' -> 3, '0.5' -> 0.5, '8,16' -> [8, 16], 'true' -> True, else the text."""
    if "," in text:
        return [_parse_value(part) for part in text.split(",") if part]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main(argv: list[str] | None = None) -> int:
    import os

    # Before torch loads: idle OpenMP threads sleep instead of spinning. On a busy
    # 2-core machine spinning threads made each training step ~20x slower
    # (measured 6.3 s vs 0.28 s per step); on an idle one it costs nothing visible.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = argparse.ArgumentParser(prog="python -m core.lessons", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run experiments and save their results")
    run.add_argument("experiments", nargs="*", help=f"any of: {', '.join(EXPERIMENTS)}")
    run.add_argument("--all", action="store_true", help="run every experiment")
    run.add_argument("--output", required=True, help="results file (JSON); existing results for other experiments are kept")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="change a setting for every experiment run, e.g. --set epochs=3 --set model_id=PATH")
    run.add_argument("--note", default="", help="a note stored in the file")
    show = commands.add_parser("show", help="summarise a results file")
    show.add_argument("file")
    args = parser.parse_args(argv)

    if args.command == "show":
        try:
            loaded = load_results(args.file)
        except ResultsFileError as error:
            print(error, file=sys.stderr)
            return 2
        print(f"computed {loaded.created} on {loaded.machine.get('processor', '?')}")
        for key, result in loaded.results.items():
            print(f"{key:14s} {result['seconds']:7.1f} s  {'STOPPED ' if result.get('stopped') else ''}"
                  f"{summary_line(result)}")
        return 0

    keys = list(EXPERIMENTS) if args.all else args.experiments
    if not keys:
        parser.error("name experiments to run, or --all")
    try:
        changes = dict(item.split("=", 1) for item in args.set)
    except ValueError:
        parser.error("--set takes NAME=VALUE")
    changes = {k: _parse_value(v) for k, v in changes.items()}
    existing = None
    if Path(args.output).exists():
        try:
            existing = load_results(args.output)
        except ResultsFileError as error:
            print(f"{error}\nRefusing to overwrite it; choose another --output or delete it.", file=sys.stderr)
            return 2

    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(min(2, torch.get_num_threads()))
    hf_logging.set_verbosity_error()  # no "newly initialized classifier" report per fine-tune
    hf_logging.disable_progress_bar()
    new: dict[str, dict] = {}
    for key in keys:
        try:
            experiment = _experiment(key)
            known = {f.name for f in fields(experiment.settings)}
            settings = experiment.settings(**{k: v for k, v in changes.items() if k in known})
            print(f"[{experiment.number}] {experiment.title}: {settings.describe()}", flush=True)
            result = experiment.run(settings)
        except (LessonError, models.ModelUnavailable) as error:
            print(f"{key}: {error}", file=sys.stderr)
            return 2
        new[key] = result
        print(f"    {result['seconds']:.1f} s  {summary_line(result)}", flush=True)
        # Save after every experiment: an interrupted --all keeps what finished.
        existing = merged(existing, {key: result})
        existing.created = _now()  # the file's date: when it last changed (each result keeps its own)
        if args.note:
            existing.note = args.note
        save_results(existing, args.output)
    print(f"saved {args.output}")
    return 0


def summary_line(result: dict) -> str:
    """The headline numbers of one result, for a terminal."""
    data, key = result["data"], result["experiment"]

    def pct(x):
        return "-" if x is None else f"{100 * x:.0f}%"

    if key == "diverse_data":
        return " | ".join(f"{a['name']}: eval {pct(a['eval_accuracy'])}" for a in data["arms"])
    if key == "label_noise":
        return " | ".join(f"{p['name']}: {pct(p['eval_accuracy'])}" for p in data["points"])
    if key == "batch_size":
        return " | ".join(f"{p['name']}: train {pct(p['train_accuracy'])} eval {pct(p['eval_accuracy'])} "
                          f"{p['seconds_per_epoch']:.1f} s/epoch" for p in data["points"])
    if key == "fitting":
        return " | ".join(f"{c['name']}: train {pct(c['final_train_accuracy'])} "
                          f"eval {pct(c['history'][-1]['eval_accuracy'])} best epoch {c['best_epoch']}"
                          for c in data["curves"])
    if key == "models":
        return " | ".join(f"{m['name']}: {pct(m.get('eval_accuracy'))}" for m in data["measured"])
    if key == "weights":
        layers = data["layers"]
        if not layers:
            return "no layers"
        pre = [x["pretrained_alpha"] for x in layers]
        post = [x["finetuned_alpha"] for x in layers if x["finetuned_alpha"] is not None]
        text = f"{len(layers)} layers, mean alpha pretrained {sum(pre) / len(pre):.2f}"
        return text + (f", fine-tuned {sum(post) / len(post):.2f}" if post else "")
    if key == "hardware":
        return " | ".join(f"{d['name']}: {d['steps_per_second']:.1f} steps/s" for d in data["devices"])
    return ""


if __name__ == "__main__":
    sys.exit(main())
