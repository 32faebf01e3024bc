"""Chapter 5, when accuracy lies: synthetic card fraud, scores, thresholds and decisions."""

import json

import numpy as np
import pytest

from core import fraud
from core.fraud import FraudError


@pytest.fixture(scope="module")
def transactions():
    return fraud.generate_transactions(20_000, 0.008, seed=0)


@pytest.fixture(scope="module")
def run(transactions):
    return fraud.fit_fraud_models(transactions, "one-hot", class_weights=False,
                                  models=("always legit", "logistic regression", "gradient-boosted trees"))


def test_the_fraud_rate_is_exactly_what_was_asked_and_under_one_percent(transactions):
    assert len(transactions) == 20_000
    assert int(transactions.is_fraud.sum()) == 160
    assert transactions.fraud_rate < 0.01
    assert int(fraud.generate_transactions(5_000, 0.002, seed=3).is_fraud.sum()) == 10


def test_the_same_seed_gives_the_same_transactions_and_another_seed_others(transactions):
    again = fraud.generate_transactions(20_000, 0.008, seed=0)
    other = fraud.generate_transactions(20_000, 0.008, seed=1)
    for name in ("amount", "hour", "country", "distance_km", "tx_last_hour", "ip_vpn", "isp_risk", "merchant", "is_fraud"):
        assert np.array_equal(getattr(transactions, name), getattr(again, name)), name
    assert not np.array_equal(transactions.amount, other.amount)


def test_columns_hold_plausible_values(transactions):
    assert transactions.amount.min() > 0
    assert set(np.unique(transactions.hour)) <= set(range(24))
    assert set(np.unique(transactions.country)) <= set(fraud.COUNTRIES)
    assert set(np.unique(transactions.merchant)) <= set(fraud.MERCHANTS)
    assert ((0 <= transactions.isp_risk) & (transactions.isp_risk <= 1)).all()
    abroad = transactions.country != fraud.HOME_COUNTRY
    assert transactions.distance_km[abroad].min() >= 800
    # The IP enrichment carries signal: VPNs are far commoner among frauds.
    assert transactions.ip_vpn[transactions.is_fraud].mean() > 3 * transactions.ip_vpn[~transactions.is_fraud].mean()
    record = transactions.records(3)
    assert len(record) == 3 and json.dumps(record)


@pytest.mark.parametrize("n, rate", [(10, 0.008), (100_000, 0.008), (20_000, 0.5), (20_000, float("nan"))])
def test_out_of_range_settings_give_a_sentence(n, rate):
    with pytest.raises(FraudError, match=r"\.$"):
        fraud.generate_transactions(n, rate)


def test_one_hot_gives_a_column_per_category_and_integers_one_number_per_category(transactions):
    hot = fraud.encode_one_hot(transactions)
    ints = fraud.encode_integers(transactions)
    assert hot.matrix.shape == (20_000, 6 + len(fraud.COUNTRIES) + len(fraud.MERCHANTS))
    assert ints.matrix.shape == (20_000, 8)
    countries = [i for i, n in enumerate(hot.feature_names) if n.startswith("country=")]
    assert (hot.matrix[:, countries].sum(axis=1) == 1).all()
    code = ints.matrix[:, ints.feature_names.index("country")]
    assert fraud.COUNTRIES[int(code[0])] == transactions.country[0]
    with pytest.raises(FraudError):
        fraud.encode(transactions, "hashing")


def test_the_accuracy_trap_always_legit_is_99_percent_accurate_and_catches_nothing(run):
    always = fraud.confusion_at(run.scores("always legit"), run.y_test, 0.5)
    assert always.accuracy > 0.99
    assert always.recall == 0.0 and always.tp == 0
    assert always.precision is None
    boosted = fraud.confusion_at(run.scores("gradient-boosted trees"), run.y_test, 0.5)
    assert boosted.recall > 0.3
    # A real model ranks frauds far above chance (chance = the fraud rate).
    assert fraud.average_precision(run.scores("gradient-boosted trees"), run.y_test) > 10 * run.y_test.mean()


def test_the_test_split_keeps_the_fraud_rate(run, transactions):
    assert len(run.y_test) == 6_000
    assert run.test_frauds == 48 and run.train_frauds == 112


def test_always_legit_can_be_scored_before_any_model_is_fitted(run, transactions):
    y = fraud.held_out_labels(transactions, seed=0)
    assert np.array_equal(y, run.y_test)     # the very rows the models are scored on
    assert fraud.confusion_at(np.zeros(len(y)), y, 0.5).accuracy == pytest.approx(1 - 48 / 6_000)


def test_class_weights_make_logistic_regression_flag_more_frauds_at_the_same_threshold(transactions, run):
    weighted = fraud.fit_fraud_models(transactions, class_weights=True, models=("logistic regression",))
    plain = fraud.confusion_at(run.scores("logistic regression"), run.y_test, 0.5)
    balanced = fraud.confusion_at(weighted.scores("logistic regression"), weighted.y_test, 0.5)
    assert balanced.recall > plain.recall
    assert balanced.fp > plain.fp


def test_every_model_fits_with_either_encoding(transactions):
    small = transactions.subset(np.arange(4_000))
    for encoding in fraud.ENCODINGS:
        run = fraud.fit_fraud_models(small, encoding, class_weights=True)
        assert list(run.models) == list(fraud.FRAUD_MODELS)
        for model in run.models.values():
            assert model.scores.shape == run.y_test.shape
            assert ((0 <= model.scores) & (model.scores <= 1)).all()


def _brute_force(scores, y, cost_missed, cost_alarm):
    """Every threshold that can matter, one full pass each."""
    candidates = np.r_[np.unique(scores), scores.max() + 1.0, np.linspace(-0.1, 1.1, 241)]
    costs = [fraud.confusion_at(scores, y, t).cost(cost_missed, cost_alarm) for t in candidates]
    return min(costs)


@pytest.mark.parametrize("seed", range(6))
def test_the_cheapest_threshold_matches_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(400) < 0.05
    scores = np.round(np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1), 2)   # rounded: many ties
    cost_missed, cost_alarm = float(rng.integers(1, 500)), float(rng.integers(1, 50))
    choice = fraud.cheapest_threshold(scores, y, cost_missed, cost_alarm)
    assert choice.cost == _brute_force(scores, y, cost_missed, cost_alarm)
    assert fraud.confusion_at(scores, y, choice.threshold) == choice.confusion
    assert choice.confusion.cost(cost_missed, cost_alarm) == choice.cost


def test_the_cheapest_threshold_on_a_real_model_matches_brute_force(run):
    scores = run.scores("gradient-boosted trees")
    choice = fraud.cheapest_threshold(scores, run.y_test, 500.0, 10.0)
    assert choice.cost == _brute_force(scores, run.y_test, 500.0, 10.0)


def test_pricing_decides_the_threshold():
    y = np.array([True, False, False, False])
    scores = np.array([0.6, 0.7, 0.2, 0.1])
    # A missed fraud dearer than a false alarm: flag down to 0.6, accepting one alarm.
    assert fraud.cheapest_threshold(scores, y, 100, 1).threshold == 0.6
    # False alarms dearer: flag nothing, the threshold sits above every score.
    cheap = fraud.cheapest_threshold(scores, y, 1, 100)
    assert cheap.threshold > 0.7 and cheap.confusion.tp + cheap.confusion.fp == 0 and cheap.cost == 1


def test_bad_costs_give_a_sentence():
    with pytest.raises(FraudError, match="must cost"):
        fraud.cheapest_threshold([0.1], [True], -1, 1)


def test_the_precision_recall_curve_and_average_precision_agree_with_scikit_learn(run):
    from sklearn.metrics import average_precision_score, precision_recall_curve

    scores = run.scores("logistic regression")
    ours = fraud.pr_curve(scores, run.y_test)
    precision, recall, thresholds = precision_recall_curve(run.y_test, scores)
    assert np.allclose(ours.thresholds[::-1], thresholds)
    assert np.allclose(ours.precision[::-1], precision[:-1])
    assert np.allclose(ours.recall[::-1], recall[:-1])
    assert fraud.average_precision(scores, run.y_test) == pytest.approx(average_precision_score(run.y_test, scores))


def test_a_threshold_report_is_the_confusion_its_cost_and_the_cheapest_choice(run):
    scores = run.scores("gradient-boosted trees")
    report = fraud.threshold_report(scores, run.y_test, 0.5, 500.0, 10.0)
    assert report.confusion == fraud.confusion_at(scores, run.y_test, 0.5)
    assert report.cost == report.confusion.fn * 500 + report.confusion.fp * 10
    assert report.cheapest.cost <= report.cost


def test_allow_review_block_bands_split_every_transaction_once(run):
    scores = run.scores("gradient-boosted trees")
    bands = fraud.decision_bands(scores, run.y_test, review_at=0.2, block_at=0.8)
    assert [b.decision for b in bands] == ["allow", "review", "block"]
    assert sum(b.transactions for b in bands) == len(scores)
    assert sum(b.frauds for b in bands) == int(run.y_test.sum())
    block = bands[2]
    assert block.frauds / max(1, block.transactions) > run.y_test.mean()   # blocking concentrates fraud
    assert list(fraud.decide([0.1, 0.5, 0.9], 0.2, 0.8)) == ["allow", "review", "block"]
    with pytest.raises(FraudError, match=r"\.$"):
        fraud.decide(scores, 0.9, 0.2)


def test_the_cheapest_slider_setting_is_the_cheapest_step_not_the_rounded_exact_minimum():
    # Exact minimum at 0.004: rounded to the slider's 0.00 it would flag every transaction.
    scores = np.array([0.001] * 1000 + [0.004, 0.005, 0.9])
    y = np.array([False] * 1000 + [True, True, True])
    exact = fraud.cheapest_threshold(scores, y, 500, 10)
    assert exact.threshold == pytest.approx(0.004)
    on_slider = fraud.cheapest_on_slider(scores, y, 500, 10, step=0.01)
    costs = {t / 100: fraud.confusion_at(scores, y, t / 100).cost(500, 10) for t in range(101)}
    assert fraud.confusion_at(scores, y, on_slider).cost(500, 10) == min(costs.values())
    assert fraud.confusion_at(scores, y, 0.0).cost(500, 10) > min(costs.values())  # what 0.00 would cost
    assert on_slider == max(t for t, c in costs.items() if c == min(costs.values()))  # ties: the higher one
