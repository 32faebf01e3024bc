"""Where labels come from: a labelling game with uncertainty sampling.

Labels cost a person's time, so spend it where the model is least sure. The
pool is the shipped training sentences (their labels hidden), the judge is the
evaluation set. A logistic regression on frozen BERT sentence vectors (cached,
see core.embedding_cache) starts from one labelled sentence per reason, picks
the sentences it is least sure of, gets their labels (from the visitor, or in
the simulation from the dataset itself), retrains in a fraction of a second,
and picks again. Beside it, the same budget of labels spent on random picks.

    load_pool() -> Pool                                  shipped train as the pool, eval as the judge
    uncertainty(probs, strategy) -> higher = less sure   "least confident" or "margin"
    pick_next(pool, labelled, k, strategy, seed) -> row indices
    simulate(pool, strategy, seed, rounds, batch) -> Curve (labels used -> eval accuracy)
    compare_strategies(pool, strategies, seeds, rounds, batch) -> {strategy: Curve averaged over seeds}
    new_game(pool, strategy, seed, batch) -> GameState;  submit_labels(pool, state, answers) -> GameState
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from core.datasets import LabelledTexts, load_shipped
from core.models import BUNDLED

STRATEGIES = ("least confident", "margin", "random")
UNCERTAINTY = ("least confident", "margin")
C = 10.0                    # little data: weaker regularisation than the competition's C=1 learns faster
MAX_BATCH = 50
MAX_ROUNDS = 40
MAX_SEEDS = 20


class LabellingError(ValueError):
    """A move the game can't take; str(error) is one sentence for the page."""


@dataclass(frozen=True)
class Pool:
    texts: tuple[str, ...]
    true_labels: tuple[str, ...]        # what the dataset says: the simulated oracle, hidden in the game
    vectors: np.ndarray                 # unit-length BERT sentence vectors of `texts`
    eval_vectors: np.ndarray
    eval_labels: tuple[str, ...]
    labels: tuple[str, ...]             # the label names, in order

    def __len__(self) -> int:
        return len(self.texts)


def _unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def load_pool(pool: LabelledTexts | None = None, judge: LabelledTexts | None = None,
              model_id: str = BUNDLED) -> Pool:
    """The pool and the judge with their BERT vectors (computed once per text set)."""
    from core.embedding_cache import embed_texts

    pool = pool if pool is not None else load_shipped("train")
    judge = judge if judge is not None else load_shipped("eval")
    return Pool(pool.texts, pool.labels, _unit(embed_texts(pool.texts, model_id).vectors),
                _unit(embed_texts(judge.texts, model_id).vectors), judge.labels, pool.label_names)


def start_labels(pool: Pool, seed: int = 0) -> dict[int, str]:
    """One sentence of every label, chosen at random: the smallest start from
    which a classifier knows every label exists."""
    rng = np.random.default_rng(seed)
    truth = np.asarray(pool.true_labels, dtype=object)
    return {int(rng.choice(np.flatnonzero(truth == label))): label for label in pool.labels}


def fit(pool: Pool, labelled: Mapping[int, str]):
    """A logistic regression on the labelled rows' vectors."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    rows = sorted(labelled)
    y = [labelled[i] for i in rows]
    if len(set(y)) < 2:
        raise LabellingError("The labels so far are all the same; a classifier needs at least two different ones.")
    with threadpool_limits(limits=1):
        return LogisticRegression(C=C, max_iter=1000, class_weight="balanced").fit(pool.vectors[rows], y)


def eval_accuracy(pool: Pool, model) -> float:
    return float((model.predict(pool.eval_vectors) == np.asarray(pool.eval_labels, dtype=object)).mean())


def uncertainty(probs, strategy: str = "margin") -> np.ndarray:
    """How unsure the model is about each row, higher = less sure.
    least confident: 1 - the top probability ([0.5, 0.3, 0.2] -> 0.5).
    margin: minus the gap between the top two ([0.5, 0.3, 0.2] -> -0.2): a near tie is unsure."""
    probs = np.asarray(probs, dtype=float)
    top = np.sort(probs, axis=1)
    if strategy == "least confident":
        return 1.0 - top[:, -1]
    if strategy == "margin":
        return -(top[:, -1] - top[:, -2]) if probs.shape[1] > 1 else np.zeros(len(probs))
    raise LabellingError(f'There is no strategy "{strategy}"; choose one of {", ".join(UNCERTAINTY)}.')


def pick_next(pool: Pool, labelled: Mapping[int, str], k: int = 10, strategy: str = "margin",
              seed: int = 0, model=None) -> list[int]:
    """The k unlabelled rows to label next: the least sure ones, or k at random."""
    if strategy not in STRATEGIES:
        raise LabellingError(f'There is no strategy "{strategy}"; choose one of {", ".join(STRATEGIES)}.')
    if not 1 <= k <= MAX_BATCH:
        raise LabellingError(f"Pick between 1 and {MAX_BATCH} sentences at a time.")
    free = np.array([i for i in range(len(pool)) if i not in labelled], dtype=int)
    if len(free) == 0:
        return []
    if strategy == "random":
        rng = np.random.default_rng([seed, len(labelled)])
        return sorted(int(i) for i in rng.choice(free, min(k, len(free)), replace=False))
    model = model or fit(pool, labelled)
    unsure = uncertainty(model.predict_proba(pool.vectors[free]), strategy)
    order = np.argsort(-unsure, kind="stable")[:k]
    return [int(free[i]) for i in order]


@dataclass(frozen=True)
class Curve:
    strategy: str
    labels_used: tuple[int, ...]
    accuracy: tuple[float, ...]          # on the judge, after each round


def simulate(pool: Pool, strategy: str = "margin", seed: int = 0, rounds: int = 10, batch: int = 10) -> Curve:
    """Play the game with the dataset's own labels as the person answering."""
    if not 1 <= rounds <= MAX_ROUNDS:
        raise LabellingError(f"Play between 1 and {MAX_ROUNDS} rounds.")
    labelled = start_labels(pool, seed)
    used, accuracy = [], []
    for round_ in range(rounds + 1):
        model = fit(pool, labelled)
        used.append(len(labelled))
        accuracy.append(eval_accuracy(pool, model))
        if round_ == rounds:
            break
        for i in pick_next(pool, labelled, batch, strategy, seed, model=model):
            labelled[i] = pool.true_labels[i]
    return Curve(strategy, tuple(used), tuple(accuracy))


def compare_strategies(pool: Pool, strategies: Sequence[str] = ("margin", "random"), seeds: Sequence[int] = range(5),
                       rounds: int = 10, batch: int = 10) -> dict[str, Curve]:
    """Each strategy's curve, averaged over the seeds (each seed: another random start, other random picks)."""
    seeds = list(seeds)
    if not 1 <= len(seeds) <= MAX_SEEDS:
        raise LabellingError(f"Average over 1 to {MAX_SEEDS} seeds.")
    out = {}
    for strategy in strategies:
        curves = [simulate(pool, strategy, seed, rounds, batch) for seed in seeds]
        out[strategy] = Curve(strategy, curves[0].labels_used,
                              tuple(float(a) for a in np.mean([c.accuracy for c in curves], axis=0)))
    return out


# ---------------------------------------------------------------- the visitor plays


@dataclass(frozen=True)
class GameState:
    labelled: tuple[tuple[int, str], ...]          # (pool row, the label given), the start set first
    picked: tuple[int, ...]                        # rows waiting for the visitor's labels
    history: tuple[tuple[int, float], ...]         # (labels used, judge accuracy) after each retrain
    strategy: str
    seed: int
    batch: int
    retrain_seconds: float = 0.0

    def labelled_dict(self) -> dict[int, str]:
        return dict(self.labelled)

    def disagreements(self, pool: Pool) -> list[tuple[int, str, str]]:
        """(row, the visitor's label, the dataset's label) wherever they differ."""
        return [(i, given, pool.true_labels[i]) for i, given in self.labelled if given != pool.true_labels[i]]


def new_game(pool: Pool, strategy: str = "margin", seed: int = 0, batch: int = 10) -> GameState:
    labelled = start_labels(pool, seed)
    model = fit(pool, labelled)
    picked = pick_next(pool, labelled, batch, strategy, seed, model=model)
    return GameState(tuple(labelled.items()), tuple(picked), ((len(labelled), eval_accuracy(pool, model)),),
                     strategy, seed, batch)


def submit_labels(pool: Pool, state: GameState, answers: Mapping[int, str]) -> GameState:
    """The visitor's labels for some or all of the picked sentences (row -> label);
    picked rows left unanswered go back to the pool. Retrains, scores and picks again."""
    if not answers:
        raise LabellingError("Label at least one of the picked sentences first.")
    stray = [i for i in answers if i not in state.picked]
    if stray:
        raise LabellingError(f"Sentence {stray[0]} was not one of the sentences picked for labelling.")
    unknown = [y for y in answers.values() if y not in pool.labels]
    if unknown:
        raise LabellingError(f'"{unknown[0]}" is not a label; choose one of {", ".join(pool.labels)}.')
    labelled = state.labelled_dict()
    labelled.update({int(i): str(y) for i, y in answers.items()})
    started = time.perf_counter()
    model = fit(pool, labelled)
    accuracy = eval_accuracy(pool, model)
    picked = pick_next(pool, labelled, state.batch, state.strategy, state.seed, model=model)
    return GameState(tuple(labelled.items()), tuple(picked), state.history + ((len(labelled), accuracy),),
                     state.strategy, state.seed, state.batch, time.perf_counter() - started)
