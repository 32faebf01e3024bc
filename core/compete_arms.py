"""The competitors of core.compete, one function each: fit on the training
sentences, predict the test sentences, and measure what that cost.

Every arm returns an ArmRun: its predictions, the seconds it took to fit and to
predict, and its size on disk, measured by serializing what was fitted
(joblib for the scikit-learn objects fitted right here, numpy's savez for the
from-scratch network, the rules as their text). The arms that read frozen BERT
sentence vectors are charged for the BERT pass (its seconds when the vectors
were first computed, see core.embedding_cache) and for BERT's weights on disk:
without them they can't predict anything.

Small matrices on a busy 2-core machine are several times faster on one BLAS
thread than on two (measured here: 300 steps of the MLP took 0.6-0.7 s on one
thread, 1.2-4.7 s on two while other jobs ran), so the fits run on one.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.datasets import LabelledTexts

TFIDF_C = 10.0              # measured on the shipped split: C 1-30 all score 89-90% on eval
EMBEDDING_LR_C = 1.0
TREE_MAX_DEPTH = 200        # a bound for uploads; on the shipped data the tree stops at depth ~70 by itself
TREE_PRINT_DEPTH = 3
TREE_PRINT_CHARS = 4_000
MLP_HIDDEN = 64
MLP_LEARNING_RATE = 0.5
MLP_EPOCHS = 200
MLP_INPUT_SCALE = 5.0       # unit-length vectors have components ~0.05; x5 puts the ReLU layer in a useful range


@dataclass(frozen=True)
class ArmRun:
    predicted: list
    fit_seconds: float | None
    predict_seconds: float
    size_bytes: int
    note: str = ""
    extra: Any = None       # the decision tree's printed rules


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KB', 90868376 -> '86.7 MB'."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


@contextmanager
def one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def joblib_bytes(fitted) -> int:
    """Size of a scikit-learn object we fitted ourselves, written with joblib (pickle) to a temp file."""
    import joblib

    with tempfile.TemporaryDirectory(prefix="compete-") as folder:
        path = os.path.join(folder, "model.joblib")
        joblib.dump(fitted, path)
        return os.path.getsize(path)


def majority_arm(train: LabelledTexts, test: LabelledTexts, seed: int = 0) -> ArmRun:
    """Always the most common training label (ties: the first in label order)."""
    started = time.perf_counter()
    counts = Counter(train.labels)
    label = max(train.label_names, key=lambda name: counts[name])
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = [label] * len(test)
    return ArmRun(predicted, fit_seconds, time.perf_counter() - started,
                  len(json.dumps({"always": label}).encode()), f'always "{label}"')


def rules_arm(train: LabelledTexts, test: LabelledTexts, rules) -> ArmRun:
    """Hand-written keyword rules: nothing to fit, the size is the rules' text."""
    from core.rules import format_rules

    started = time.perf_counter()
    predicted = rules.predict(test.texts)
    return ArmRun(predicted, 0.0, time.perf_counter() - started, len(format_rules(rules).encode()),
                  "written by hand: no fitting")


def tfidf_arm(train: LabelledTexts, test: LabelledTexts, seed: int = 0) -> ArmRun:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    with one_thread():
        started = time.perf_counter()
        model = make_pipeline(TfidfVectorizer(sublinear_tf=True),
                              LogisticRegression(C=TFIDF_C, max_iter=2000, random_state=seed))
        model.fit(list(train.texts), list(train.labels))
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        predicted = model.predict(list(test.texts)).tolist()
        predict_seconds = time.perf_counter() - started
    return ArmRun(predicted, fit_seconds, predict_seconds, joblib_bytes(model),
                  f"{len(model[0].vocabulary_):,} words")


def tree_arm(train: LabelledTexts, test: LabelledTexts, seed: int = 0) -> ArmRun:
    """Yes/no questions about which words a sentence contains; `extra` holds the
    top levels of the tree as sklearn's export_text prints them."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier

    with one_thread():
        started = time.perf_counter()
        model = make_pipeline(CountVectorizer(binary=True),
                              DecisionTreeClassifier(max_depth=TREE_MAX_DEPTH, random_state=seed))
        model.fit(list(train.texts), list(train.labels))
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        predicted = model.predict(list(test.texts)).tolist()
        predict_seconds = time.perf_counter() - started
    tree = model[-1]
    return ArmRun(predicted, fit_seconds, predict_seconds, joblib_bytes(model),
                  f"depth {tree.get_depth()}, {tree.get_n_leaves()} leaves", extra=tree_rules(model))


def tree_rules(model, max_depth: int = TREE_PRINT_DEPTH, max_chars: int = TREE_PRINT_CHARS) -> str:
    """The fitted tree's first levels as text. A feature is a word and its value 0 or 1,
    so "expensive <= 0.50" reads "the sentence does not contain expensive"."""
    from sklearn.tree import export_text

    vectorizer, tree = model[0], model[-1]
    text = export_text(tree, feature_names=list(vectorizer.get_feature_names_out()),
                       class_names=[str(c) for c in tree.classes_], max_depth=max_depth, decimals=1)
    return text if len(text) <= max_chars else text[:max_chars].rsplit("\n", 1)[0] + "\n..."


def _unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def _bert_vectors(train, test, model_id):
    from core.embedding_cache import embed_texts, encoder_bytes

    return embed_texts(train.texts, model_id), embed_texts(test.texts, model_id), encoder_bytes(model_id)


def bert_lr_arm(train: LabelledTexts, test: LabelledTexts, seed: int = 0, model_id: str | None = None) -> ArmRun:
    """Logistic regression on frozen, mean-pooled BERT sentence vectors (unit length)."""
    from sklearn.linear_model import LogisticRegression

    from core.models import BUNDLED

    train_vectors, test_vectors, bert_bytes = _bert_vectors(train, test, model_id or BUNDLED)
    with one_thread():
        started = time.perf_counter()
        model = LogisticRegression(C=EMBEDDING_LR_C, max_iter=2000, random_state=seed)
        model.fit(_unit(train_vectors.vectors), list(train.labels))
        fit_seconds = train_vectors.seconds + time.perf_counter() - started
        started = time.perf_counter()
        predicted = model.predict(_unit(test_vectors.vectors)).tolist()
        predict_seconds = test_vectors.seconds + time.perf_counter() - started
    return ArmRun(predicted, fit_seconds, predict_seconds, joblib_bytes(model) + bert_bytes,
                  f"includes the BERT pass and its {human_bytes(bert_bytes)} of weights")


def bert_mlp_arm(train: LabelledTexts, test: LabelledTexts, seed: int = 0, model_id: str | None = None) -> ArmRun:
    """Chapter 1's from-scratch network (one hidden ReLU layer, softmax,
    cross-entropy, full-batch gradient descent) on the same frozen BERT vectors."""
    from core import scratch
    from core.models import BUNDLED

    train_vectors, test_vectors, bert_bytes = _bert_vectors(train, test, model_id or BUNDLED)
    labels = list(train.label_names)
    targets = np.eye(len(labels))[[labels.index(y) for y in train.labels]]
    with one_thread():
        started = time.perf_counter()
        inputs = _unit(train_vectors.vectors) * MLP_INPUT_SCALE
        params = scratch.init_network(inputs.shape[1], MLP_HIDDEN, seed=seed, output_size=len(labels))
        for _ in range(MLP_EPOCHS):
            params, _ = scratch.train_step(params, inputs, targets, MLP_LEARNING_RATE, "cross_entropy")
        fit_seconds = train_vectors.seconds + time.perf_counter() - started
        started = time.perf_counter()
        predicted = [labels[i] for i in scratch.predict(params, _unit(test_vectors.vectors) * MLP_INPUT_SCALE)]
        predict_seconds = test_vectors.seconds + time.perf_counter() - started
    buffer = io.BytesIO()
    np.savez(buffer, **params)
    return ArmRun(predicted, fit_seconds, predict_seconds, buffer.getbuffer().nbytes + bert_bytes,
                  f"{inputs.shape[1]} → {MLP_HIDDEN} ReLU → {len(labels)}, {MLP_EPOCHS} steps; "
                  f"includes the BERT pass and its {human_bytes(bert_bytes)} of weights")
