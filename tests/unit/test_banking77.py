"""BANKING77 as shipped: the files its card describes, and the few-shot draws the
paper's setting needs (exactly k per intent, the same for the same seed)."""

from collections import Counter

import pytest

from core import banking77
from core.datasets import DatasetError, LabelledTexts


@pytest.fixture(scope="module")
def train():
    return banking77.load("train")


def test_the_files_hold_what_the_card_says(train):
    test = banking77.load("test")
    assert (len(train), len(test)) == (10_003, 3_080)
    assert len(train.label_names) == len(test.label_names) == banking77.INTENTS == 77
    assert set(test.class_counts().values()) == {40}
    assert min(train.class_counts().values()) >= 35
    assert set(train.label_names) == set(test.label_names)
    assert "card_arrival" in train.label_names
    card = (banking77.DIR / "README.md").read_text(encoding="utf-8")
    for promise in ("CC BY 4.0", "PolyAI", "task-specific-datasets", "Casanueva", "10,003", "3,080",
                    "83.42", "84.23", "85.19"):
        assert promise in card, promise
    assert banking77.PUBLISHED["USE+ConveRT"] == 85.19
    with pytest.raises(DatasetError, match="no 'dev' split"):
        banking77.load("dev")


@pytest.mark.parametrize("k", [5, 10, 20])
def test_few_shot_takes_exactly_k_of_every_intent(train, k):
    shots = banking77.few_shot(train, k, seed=0)
    assert len(shots) == 77 * k and set(shots.class_counts().values()) == {k}
    drawn, available = Counter(zip(shots.texts, shots.labels)), Counter(zip(train.texts, train.labels))
    assert all(available[row] >= n for row, n in drawn.items())     # real rows, none drawn twice


def test_few_shot_is_fixed_by_its_seed_and_all_means_everything(train):
    first, again, other = (banking77.few_shot(train, 10, seed=s) for s in (0, 0, 1))
    assert first == again
    assert first != other and len(set(first.texts) & set(other.texts)) < len(first) // 2
    assert banking77.few_shot(train, None) is train
    assert None in banking77.FEW_SHOT_CHOICES and 10 in banking77.FEW_SHOT_CHOICES


def test_few_shot_refuses_more_than_a_label_has():
    small = LabelledTexts(["a", "b", "c"], ["x", "x", "y"])
    with pytest.raises(DatasetError, match="'y' has only 1"):
        banking77.few_shot(small, 2)
    with pytest.raises(DatasetError, match="at least 1"):
        banking77.few_shot(small, 0)


def test_test_sample_is_seeded_and_in_file_order():
    test = banking77.load("test")
    a, b, c = (banking77.sample(test, 500, seed=s) for s in (0, 0, 1))
    assert len(a) == 500 and a == b and a != c
    rows = {t: i for i, t in enumerate(test.texts)}
    assert [rows[t] for t in a.texts] == sorted(rows[t] for t in a.texts)
    assert banking77.sample(test, None) is test and banking77.sample(test, 10**6) is test


def test_shot_folds_hold_out_every_label_evenly(train):
    shots = banking77.few_shot(train, 10, seed=3)
    folds = banking77.shot_folds(shots, 5, seed=3)
    held_out = Counter()
    for fit, held in folds:
        assert set(fit.class_counts().values()) == {8} and set(held.class_counts().values()) == {2}
        assert not set(fit.texts) & set(held.texts)
        held_out.update(held.texts)
    assert held_out == Counter(shots.texts)                 # every shot held out exactly once
