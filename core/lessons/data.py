"""Which sentences an experiment trains and judges on: the data it was given or
the app's shipped files, cut to the first N sentences of every label."""

from __future__ import annotations

from collections import Counter

from core import datasets
from core.datasets import LabelledTexts
from core.datasets import load_paraphrases as shipped_paraphrases
from core.datasets import load_shipped as shipped
from core.lessons.base import LessonError


def labelled(data) -> LabelledTexts:
    """The data layer's LabelledTexts as it is; anything with .texts and .labels,
    or a plain (texts, labels) pair, made into one."""
    if isinstance(data, LabelledTexts):
        return data
    texts, labels = (data.texts, data.labels) if hasattr(data, "texts") else data
    return LabelledTexts(tuple(texts), tuple(labels))


def given_or_shipped(data, split: str) -> LabelledTexts:
    """The data an experiment was given, or the shipped file of that split."""
    return shipped(split) if data is None else labelled(data)


def first_per_label(data, per_label: int, skip: int = 0) -> LabelledTexts:
    """The first `per_label` sentences of every label (after skipping `skip`), in
    file order: first_per_label(train, 15) -> 15 x 8 = 120 sentences.
    Raises LessonError when a label has too few."""
    data = labelled(data)
    counts = Counter(data.labels)
    short = {label: max(0, n - skip) for label, n in counts.items() if n - skip < per_label}
    if short:
        worst = min(short, key=short.get)
        raise LessonError(
            f"The training data is too small for this split: it needs {skip + per_label} sentences "
            f"per label, but '{worst}' has only {counts[worst]}. Choose at most "
            f"{max(0, min(counts.values()) - skip)} sentences per label."
        )
    return datasets.first_per_label(data, per_label, skip)
