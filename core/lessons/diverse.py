"""Lesson 1, diverse data beats more of the same. The talk did not want to label
1,000 sentences, labelled 400, had a model rephrase them and trained on the 800:
accuracy fell. Three training sets per seed, all judged on sentences no run
trains on (the evaluation and challenge files together):

- "N diverse": N sentences per label, drawn at random (with the seed) from the
  first 25 of each label, the ones that have a rephrasing (the talk's 400);
- "N + N paraphrases": the same N plus a rephrasing of each (the talk's 800);
- "2N diverse": the same N plus N *other* sentences of the label (as many
  sentences as the paraphrased set: the fair comparison at equal size).

Every set runs once per seed, and the page compares them seed by seed; plus a
finder for the near-duplicate pairs a training set hides."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from core import models
from core.datasets import LabelledTexts
from core.lessons.base import (LessonError, Runs, Settings, arm_summary, check, combined, difference, envelope,
                               percent)
from core.lessons.data import given_or_shipped, labelled, shipped, shipped_paraphrases

ARMS = ("N diverse", "N + N paraphrases", "2N diverse")


@dataclass
class DiverseSettings(Settings):
    per_label: int = 10            # N per label; the paraphrases cover the first 25 per label
    seeds: int = 5                 # the talk's headline lesson: five draws of the sentences
    duplicate_threshold: float = 0.9
    # Train the N-sentence set for twice the epochs, so all three sets get the same
    # number of training steps: otherwise "more data" just means "more training".
    equal_steps: bool = True


def with_paraphrases(data, paraphrases) -> LabelledTexts:
    """The talk's shortcut: every sentence plus a model's rephrasing of it.
    `paraphrases` has a `sources` list (or is (texts, labels, sources)) naming the
    original each rephrasing came from; only those of sentences in `data` are added."""
    data = labelled(data)
    if hasattr(paraphrases, "sources"):
        p_texts, p_labels, p_sources = paraphrases.texts, paraphrases.labels, paraphrases.sources
    else:
        p_texts, p_labels, p_sources = paraphrases
    wanted = set(data.texts)
    extra = [(t, y) for t, y, s in zip(p_texts, p_labels, p_sources) if s in wanted]
    if len(extra) < len(data):
        raise LessonError(
            f"Only {len(extra)} of the {len(data)} chosen sentences have a paraphrase; "
            "choose fewer sentences per label (the shipped paraphrases cover the first 25 per label)."
        )
    return LabelledTexts(data.texts + tuple(t for t, _ in extra), data.labels + tuple(y for _, y in extra))


def draw_sets(train, paraphrases, per_label: int, seed: int) -> dict[str, LabelledTexts]:
    """The three training sets of one seed. Per label: N sentences drawn at random
    from those with a rephrasing; the same N plus their rephrasings; the same N
    plus N others drawn from the rest of that label. The two doubled sets have
    exactly the same size. Same seed, same sets."""
    train = labelled(train)
    rephrased = set(paraphrases.sources if hasattr(paraphrases, "sources") else paraphrases[2])
    rng = random.Random(seed)
    chosen, others = [], []
    for label in train.label_names:
        rows = [i for i, y in enumerate(train.labels) if y == label]
        with_rephrasing = [i for i in rows if train.texts[i] in rephrased]
        rest = [i for i in rows if train.texts[i] not in rephrased]
        if len(with_rephrasing) < per_label or len(rest) < per_label:
            most = min(len(with_rephrasing), len(rest))
            raise LessonError(
                f"'{label}' has {len(with_rephrasing)} sentences with a rephrasing and {len(rest)} without; "
                f"this experiment needs {per_label} of each. Choose at most {most} sentences per label.")
        chosen += rng.sample(with_rephrasing, per_label)
        others += rng.sample(rest, per_label)
    diverse = train.subset(sorted(chosen))
    return {"N diverse": diverse,
            "N + N paraphrases": with_paraphrases(diverse, paraphrases),
            "2N diverse": train.subset(sorted(chosen + others))}


def unseen_sentences() -> LabelledTexts:
    """What every arm is judged on: the shipped evaluation and challenge files
    (224 sentences), none of them in any training set."""
    eval_rows, challenge = shipped("eval"), shipped("challenge")
    return LabelledTexts(eval_rows.texts + challenge.texts, eval_rows.labels + challenge.labels)


def diverse_data(settings: DiverseSettings | None = None, should_stop=lambda: False, on_progress=None,
                 train=None, eval=None, paraphrases=None) -> dict:
    """The three sets, once per seed (a seed draws the sentences and starts the
    training), each judged on sentences never trained on. With equal_steps
    (default) the N set trains for twice the epochs, so every set gets the same
    number of weight updates. Returns every arm's mean and spread over the seeds,
    and the seed-by-seed comparisons the page's verdict is computed from."""
    settings = settings or DiverseSettings()
    check(settings)
    started = time.perf_counter()
    train = given_or_shipped(train, "train")
    eval = unseen_sentences() if eval is None else labelled(eval)
    paraphrases = paraphrases if paraphrases is not None else shipped_paraphrases()
    n = settings.per_label
    seeds = settings.seed_list()
    n_epochs = settings.epochs * (2 if settings.equal_steps else 1)
    epochs = {"N diverse": n_epochs, "N + N paraphrases": settings.epochs, "2N diverse": settings.epochs}
    descriptions = {
        "N diverse": f"{n} sentences per label, {n_epochs} epochs (the talk's 400)",
        "N + N paraphrases": f"the same {n} plus a rephrasing of each, {settings.epochs} epochs (the talk's 800)",
        "2N diverse": f"the same {n} plus {n} other sentences per label, {settings.epochs} epochs",
    }
    draws = {seed: draw_sets(train, paraphrases, n, seed) for seed in seeds}
    runs = Runs(len(seeds) * len(ARMS), should_stop, on_progress)
    per_arm: dict[str, list[dict]] = {name: [] for name in ARMS}
    for seed in seeds:
        finished = {}
        for name in ARMS:
            data = draws[seed][name]
            result, complete = runs.finetune(data, eval, settings.finetune_config(epochs=epochs[name], seed=seed),
                                             f"{name}, seed {seed}")
            if not complete:
                break
            finished[name] = arm_summary(result, data, name, description=descriptions[name])
        if len(finished) < len(ARMS):
            break  # a seed counts only when all three of its sets finished
        for name in ARMS:
            per_arm[name].append(finished[name])
        runs.finished({"arms": [combined(per_arm[name]) for name in ARMS], "eval_rows": len(eval)})
    arms = [combined(per_arm[name]) for name in ARMS if per_arm[name]]
    duplicates = {}
    message = None
    if not runs.stopped and arms:
        first = draws[seeds[0]]
        for name in ARMS:
            if should_stop():
                runs.stopped = True
                message = ("Stopped while counting near-duplicates: the fine-tunes finished "
                           "and are kept; the duplicate counts are incomplete.")
                break
            pairs = find_near_duplicates(list(first[name].texts), settings.duplicate_threshold,
                                         model_id=settings.model_id)
            duplicates[name] = len(pairs)
    return envelope("diverse_data", settings, started, runs,
                    {"arms": arms, "comparisons": comparisons(arms),
                     "near_duplicate_pairs": duplicates, "threshold": settings.duplicate_threshold,
                     "eval_rows": len(eval), "eval_source": "eval.csv + challenge.csv (never trained on)"},
                    stopped_message=message)


def comparisons(arms: list[dict]) -> dict:
    """Seed-by-seed differences in unseen accuracy the verdict rests on:
    'equal_size' = 2N diverse - N + N paraphrases (same number of sentences),
    'doubling' = N + N paraphrases - N diverse (the talk's 400 -> 800),
    'more_data' = 2N diverse - N diverse. Each as core.lessons.base.difference."""
    by_name = {a["name"]: a.get("eval_accuracy_runs") or [a.get("eval_accuracy")] for a in arms}
    if not set(ARMS) <= set(by_name):
        return {}
    return {"equal_size": difference(by_name["2N diverse"], by_name["N + N paraphrases"]),
            "doubling": difference(by_name["N + N paraphrases"], by_name["N diverse"]),
            "more_data": difference(by_name["2N diverse"], by_name["N diverse"])}


def headline(data: dict) -> str:
    return " | ".join(f"{a['name']}: eval {percent(a['eval_accuracy'])} ± {percent(a.get('eval_accuracy_sd'))}"
                      for a in data["arms"])


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

    from core import embeddings

    if len(vectors) < 2:
        return []
    cosine = embeddings.cosine_matrix(vectors)
    i, j = np.nonzero(np.triu(cosine >= threshold, k=1))
    found = sorted(zip(i.tolist(), j.tolist(), cosine[i, j].tolist()), key=lambda p: -p[2])
    return [(a, b, float(c)) for a, b, c in found]


def find_near_duplicates(texts: list[str], threshold: float = 0.9, model_id: str = models.BUNDLED,
                         tokenizer=None, encoder=None, limit: int | None = None) -> list[DuplicatePair]:
    """Suspicious pairs in any list of sentences: their sentence embeddings (the
    mean of BERT's token vectors, chapter 2) point almost the same way.
    'Please cancel this order.' vs 'Please cancel this order for me.' -> 0.96
    with the bundled model."""
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
