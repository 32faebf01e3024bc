"""core.monitoring: a drifting stream, weekly false negatives/positives, versions, rollback.
Vectors here are made by hand (no BERT): a message's direction says what it is."""

import numpy as np
import pytest

from core import monitoring


def hand_vectors(stream):
    """Old cancellations, everyday messages, new phrasings and the new reason each point their own way."""
    directions = {"cancel": 0, "everyday": 1, "new phrasing": 2, "new reason": 3, "everyday, new words": 4}
    rng = np.random.default_rng(0)
    rows = []
    for week in stream:
        for m in week:
            v = rng.normal(0, 0.05, 8)
            v[directions[m.kind]] += 1
            if m.kind == "new phrasing":     # looks a little like everyday traffic to a model that never saw one
                v[1] += 0.6
            rows.append(v)
    return np.array(rows, dtype=np.float32)


@pytest.fixture(scope="module")
def stream():
    return monitoring.make_stream(seed=0)


def test_the_stream_is_seeded_and_drifts_when_it_says(stream):
    assert monitoring.make_stream(seed=0) == stream
    assert len(stream) == monitoring.WEEKS + 1 and all(len(w) == monitoring.PER_WEEK for w in stream[1:])
    kinds = lambda week: {m.kind for m in stream[week]}  # noqa: E731
    assert "new phrasing" not in kinds(monitoring.PHRASING_FROM - 1) and "new reason" not in kinds(1)
    assert "new reason" in set().union(*(kinds(w) for w in range(monitoring.NEW_REASON_FROM, monitoring.WEEKS + 1)))


def test_v1_misses_the_new_reason_and_a_retrain_catches_it(stream):
    reg = monitoring.Registry(stream, hand_vectors(stream))
    assert [v.name for v in reg.versions] == ["v1"] and reg.deployed == 1
    late = monitoring.WEEKS
    v1_late = reg.scores(1, late - 2, late)
    assert v1_late["false_negatives"] > 0          # the recall messages slip through
    v2 = reg.retrain(through_week=late - 3)
    assert v2.name == "v2" and reg.deployed == 2 and v2.examples > reg.version(1).examples
    assert reg.scores(2, late - 2, late)["false_negatives"] < v1_late["false_negatives"]
    reg.rollback(1)
    assert reg.deployed == 1 and reg.weekly() == reg.weekly(1)
    with pytest.raises(KeyError):
        reg.rollback(9)


def test_weekly_counts_are_real_mistakes(stream):
    reg = monitoring.Registry(stream, hand_vectors(stream))
    week = reg.weekly()[monitoring.WEEKS - 1]
    wrong = reg.missed(1, monitoring.WEEKS, limit=1000)
    assert week.false_negatives == sum(m.is_cancel for m in wrong)
    assert week.false_positives == sum(not m.is_cancel for m in wrong)
    assert week.accuracy == pytest.approx(1 - len(wrong) / week.messages)


def test_versions_are_bounded_and_the_deployed_one_is_kept(stream):
    reg = monitoring.Registry(stream, hand_vectors(stream))
    reg.rollback(1)
    for _ in range(monitoring.MAX_VERSIONS + 2):
        reg.retrain(through_week=2)
    assert len(reg.versions) == monitoring.MAX_VERSIONS
    assert reg.deployed == reg.versions[-1].number
