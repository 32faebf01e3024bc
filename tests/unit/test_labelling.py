"""Chapter 5, where labels come from: the labelling game and uncertainty sampling."""

import numpy as np
import pytest

from core import labelling
from core.labelling import LabellingError, Pool


@pytest.fixture(scope="module")
def toy_pool():
    """Four labels as four overlapping clouds of points: the game's mechanics without BERT."""
    rng = np.random.default_rng(0)
    names = ("a", "b", "c", "d")
    centres = rng.normal(0, 1, (4, 16))

    def cloud(per_label):
        labels = [name for name in names for _ in range(per_label)]
        vectors = np.vstack([centres[i] + rng.normal(0, 1.2, (per_label, 16)) for i in range(4)])
        return labels, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    labels, vectors = cloud(40)
    eval_labels, eval_vectors = cloud(20)
    return Pool(tuple(f"sentence {i}" for i in range(160)), tuple(labels), vectors, eval_vectors,
                tuple(eval_labels), names)


def test_uncertainty_by_hand():
    probs = [[0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [0.4, 0.4, 0.2]]
    assert labelling.uncertainty(probs, "least confident") == pytest.approx([0.5, 0.1, 0.6])
    assert labelling.uncertainty(probs, "margin") == pytest.approx([-0.2, -0.85, 0.0])
    with pytest.raises(LabellingError):
        labelling.uncertainty(probs, "vibes")


def test_the_start_is_one_sentence_of_every_label(toy_pool):
    start = labelling.start_labels(toy_pool, seed=0)
    assert sorted(start.values()) == sorted(toy_pool.labels)
    assert all(toy_pool.true_labels[i] == y for i, y in start.items())
    assert labelling.start_labels(toy_pool, seed=0) == start != labelling.start_labels(toy_pool, seed=1)


def test_least_sure_picks_are_the_unlabelled_rows_the_model_is_least_sure_of(toy_pool):
    labelled = labelling.start_labels(toy_pool, 0)
    model = labelling.fit(toy_pool, labelled)
    picked = labelling.pick_next(toy_pool, labelled, 10, "margin", model=model)
    assert len(picked) == len(set(picked)) == 10 and not set(picked) & set(labelled)
    unsure = labelling.uncertainty(model.predict_proba(toy_pool.vectors), "margin")
    rest = [i for i in range(len(toy_pool)) if i not in picked and i not in labelled]
    assert unsure[picked].min() >= unsure[rest].max()


def test_random_picks_are_seeded(toy_pool):
    labelled = labelling.start_labels(toy_pool, 0)
    first = labelling.pick_next(toy_pool, labelled, 10, "random", seed=3)
    assert first == labelling.pick_next(toy_pool, labelled, 10, "random", seed=3)
    assert first != labelling.pick_next(toy_pool, labelled, 10, "random", seed=4)
    with pytest.raises(LabellingError, match="between 1 and"):
        labelling.pick_next(toy_pool, labelled, 500, "random")


def test_a_simulated_game_gets_better_with_more_labels(toy_pool):
    curve = labelling.simulate(toy_pool, "margin", seed=0, rounds=6, batch=10)
    assert curve.labels_used == (4, 14, 24, 34, 44, 54, 64)
    assert curve.accuracy[-1] > curve.accuracy[0]
    assert labelling.simulate(toy_pool, "margin", seed=0, rounds=6, batch=10) == curve


def test_the_visitor_labels_the_picked_sentences_and_the_model_retrains(toy_pool):
    state = labelling.new_game(toy_pool, "least confident", seed=0, batch=5)
    assert len(state.picked) == 5 and len(state.history) == 1
    answers = {i: toy_pool.true_labels[i] for i in state.picked[:4]}
    answers[state.picked[4]] = next(y for y in toy_pool.labels if y != toy_pool.true_labels[state.picked[4]])
    after = labelling.submit_labels(toy_pool, state, answers)
    assert len(after.labelled) == 4 + 5 and len(after.history) == 2
    assert after.history[-1][0] == 9
    assert not set(after.picked) & set(after.labelled_dict())
    assert after.disagreements(toy_pool) == [(state.picked[4], answers[state.picked[4]],
                                              toy_pool.true_labels[state.picked[4]])]
    partial = labelling.submit_labels(toy_pool, after, {after.picked[0]: "a"})
    assert after.picked[1] not in partial.labelled_dict()       # unanswered picks go back to the pool


def test_bad_answers_give_a_sentence(toy_pool):
    state = labelling.new_game(toy_pool, seed=0)
    outside = next(i for i in range(len(toy_pool)) if i not in state.picked)
    for answers, words in (({}, "at least one"), ({outside: "a"}, "was not one of the sentences picked"),
                           ({state.picked[0]: "zebra"}, '"zebra" is not a label')):
        with pytest.raises(LabellingError, match=words):
            labelling.submit_labels(toy_pool, state, answers)


@pytest.mark.slow
def test_on_the_shipped_sentences_least_sure_picks_beat_random_ones_on_average():
    """Measured here over seeds 0-4 (10 rounds of 10): margin 0.859 mean accuracy across
    rounds, random 0.838; after 108 labels 0.943 vs 0.922."""
    pool = labelling.load_pool()
    curves = labelling.compare_strategies(pool, ("margin", "random"), seeds=range(5), rounds=10, batch=10)
    margin, random = curves["margin"], curves["random"]
    assert margin.labels_used == random.labels_used == tuple(range(8, 109, 10))
    assert margin.accuracy[-1] > margin.accuracy[0] + 0.2
    assert np.mean(margin.accuracy[1:]) > np.mean(random.accuracy[1:])
    assert margin.accuracy[-1] >= random.accuracy[-1]
