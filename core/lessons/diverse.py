"""Lesson 1, diverse data beats more of the same: N different sentences per label,
the same N plus a rephrasing of each (the talk's 400 -> 800 shortcut), and 2N
different sentences, all judged on the same unseen evaluation set; and a finder
for the near-duplicate pairs a training set hides."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core import models
from core.datasets import LabelledTexts
from core.lessons.base import LessonError, Runs, Settings, arm_summary, check, envelope, percent
from core.lessons.data import first_per_label, given_or_shipped, labelled, shipped_paraphrases


@dataclass
class DiverseSettings(Settings):
    per_label: int = 12            # N per label; the paraphrases cover the first 25 per label
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


def diverse_data(settings: DiverseSettings | None = None, should_stop=lambda: False, on_progress=None,
                 train=None, eval=None, paraphrases=None) -> dict:
    """N diverse sentences, the same N plus a rephrased copy of each, and 2N
    different sentences. With equal_steps (default) the N set trains for twice
    the epochs, so every set gets the same number of weight updates and only
    *what* the model sees differs. Also counts the near-duplicate pairs each
    training set contains (cosine similarity of sentence embeddings >= threshold)."""
    settings = settings or DiverseSettings()
    check(settings)
    started = time.perf_counter()
    train, eval = given_or_shipped(train, "train"), given_or_shipped(eval, "eval")
    paraphrases = paraphrases if paraphrases is not None else shipped_paraphrases()
    n = settings.per_label
    diverse = first_per_label(train, n)
    n_epochs = settings.epochs * (2 if settings.equal_steps else 1)
    sets = [
        ("N diverse", diverse, n_epochs, f"{n} different sentences per label, {n_epochs} epochs"),
        ("N + N paraphrases", with_paraphrases(diverse, paraphrases), settings.epochs,
         f"the same {n} per label plus a rephrasing of each, {settings.epochs} epochs"),
        ("2N diverse", first_per_label(train, 2 * n), settings.epochs,
         f"{2 * n} different sentences per label, {settings.epochs} epochs"),
    ]
    runs = Runs(len(sets), should_stop, on_progress)
    arms: list[dict] = []
    for name, data, epochs, description in sets:
        result, complete = runs.finetune(data, eval, settings.finetune_config(epochs=epochs), name)
        if not complete:
            break
        arms.append(arm_summary(result, data, name, description=description))
        runs.finished({"arms": list(arms)})
    duplicates = {}
    message = None
    if not runs.stopped:
        for name, data, _, _ in sets:
            if should_stop():
                runs.stopped = True
                message = ("Stopped while counting near-duplicates: all three fine-tunes finished "
                           "and are kept; the duplicate counts are incomplete.")
                break
            pairs = find_near_duplicates(list(data.texts), settings.duplicate_threshold, model_id=settings.model_id)
            duplicates[name] = len(pairs)
    return envelope("diverse_data", settings, started, runs,
                    {"arms": arms, "near_duplicate_pairs": duplicates,
                     "threshold": settings.duplicate_threshold, "eval_rows": len(eval)},
                    stopped_message=message)


def headline(data: dict) -> str:
    return " | ".join(f"{a['name']}: eval {percent(a['eval_accuracy'])}" for a in data["arms"])


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
