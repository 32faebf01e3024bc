"""When accuracy lies: card fraud, where 99% of transactions are legitimate.

The interview's fraud example as something to poke at. A seeded generator makes
synthetic card transactions (nothing real, nothing downloaded): amount, hour,
country, distance from home, transactions in the last hour, the IP address
enriched into "via a VPN?" and an ISP risk score, and the merchant category.
Fewer than 1% are fraud, so a model that says "legit" every time is about 99%
accurate and catches nothing. Models give each transaction a fraud score; a
threshold turns scores into flags, and pricing a missed fraud against a false
alarm picks the threshold. After the score comes the business decision: allow,
send to a person for review, or block.

    generate_transactions(n=20_000, fraud_rate=0.008, seed=0) -> Transactions
    encode_one_hot(tx) / encode_integers(tx) -> Encoded(matrix, feature_names)
    fit_fraud_models(tx, encoding, class_weights, models, seed) -> FraudRun (scores on a held-out 30%)
    demo_run(seed, encoding, class_weights, n, fraud_rate) -> FraudRun   generate + fit, as the page's job
    held_out_labels(tx, seed) -> the test rows' labels (what "always legit" is scored on, no fitting)
    confusion_at(scores, y, threshold) -> Confusion (tp, fp, fn, tn, accuracy, precision, recall)
    pr_curve(scores, y) -> PRCurve;  average_precision(scores, y) -> float
    cheapest_threshold(scores, y, cost_missed_fraud, cost_false_alarm) -> ThresholdChoice
    cost_curve(scores, y, cost_missed_fraud, cost_false_alarm, points) -> (thresholds, costs), for a chart
    decision_bands(scores, y, review_at, block_at) -> [Band(allow), Band(review), Band(block)]
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Alphabetical, as a lookup table would number them: the numbers carry no meaning.
COUNTRIES = ("BR", "CA", "DE", "FR", "GB", "IN", "MX", "NG", "RU", "US")
HOME_COUNTRY = "US"
MERCHANTS = ("digital games", "electronics", "fuel", "gift cards", "grocery", "online retail", "restaurant", "travel")
ENCODINGS = ("one-hot", "integers")
FRAUD_MODELS = ("always legit", "logistic regression", "decision tree", "gradient-boosted trees", "MLP")
DECISIONS = ("allow", "review", "block")

ROWS_RANGE = (1_000, 50_000)
FRAUD_RATE_RANGE = (0.001, 0.05)
MAX_COST = 1e9
TEST_FRACTION = 0.3


class FraudError(ValueError):
    """A setting the fraud page can't use; str(error) is one sentence."""


# ---------------------------------------------------------------- the data


@dataclass(frozen=True)
class Transactions:
    amount: np.ndarray            # dollars
    hour: np.ndarray              # 0..23, local time of the card holder
    country: np.ndarray           # where the purchase happened (str)
    distance_km: np.ndarray       # from the card holder's home
    tx_last_hour: np.ndarray      # other purchases on the card in the hour before
    ip_vpn: np.ndarray            # the IP address belongs to a VPN (bool)
    isp_risk: np.ndarray          # 0..1, how risky an IP-reputation service rates the ISP
    merchant: np.ndarray          # merchant category (str)
    is_fraud: np.ndarray          # the label: reported by the card holder later (bool)

    def __len__(self) -> int:
        return len(self.is_fraud)

    @property
    def fraud_rate(self) -> float:
        return float(self.is_fraud.mean())

    def subset(self, rows) -> "Transactions":
        return Transactions(**{name: value[rows] for name, value in self.__dict__.items()})

    def records(self, limit: int = 20) -> list[dict]:
        """The first `limit` rows as plain dicts, for a table."""
        out = []
        for i in range(min(limit, len(self))):
            out.append({"amount": round(float(self.amount[i]), 2), "hour": int(self.hour[i]),
                        "country": str(self.country[i]), "distance_km": round(float(self.distance_km[i]), 1),
                        "tx_last_hour": int(self.tx_last_hour[i]), "ip_vpn": bool(self.ip_vpn[i]),
                        "isp_risk": round(float(self.isp_risk[i]), 3), "merchant": str(self.merchant[i]),
                        "is_fraud": bool(self.is_fraud[i])})
        return out


def _weights(values: Sequence[float]) -> np.ndarray:
    w = np.asarray(values, dtype=float)
    return w / w.sum()


# Who buys what, where and when. Fraud is of two kinds: "card testing" (many tiny
# purchases in a burst, to see if a stolen number works) and "cash out" (big
# purchases of things easy to resell, often from abroad or behind a VPN), so the
# amount matters in both directions - a straight line through it can't say that.
LEGIT_HOURS = _weights([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 4, 5, 5.5, 6, 6.5, 6, 5.5, 5.5, 6, 6.5, 7, 6.5, 5.5, 4, 3, 2])
FRAUD_HOURS = _weights([4, 4.5, 5, 5, 4.5, 3.5, 2.5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2.5, 2.5, 2.5, 3, 3, 3.5, 4])
LEGIT_COUNTRIES = _weights([{"US": 93, "CA": 2, "MX": 1, "GB": 1, "DE": 0.8, "FR": 0.8, "BR": 0.4, "IN": 0.4,
                             "NG": 0.1, "RU": 0.1}[c] for c in COUNTRIES])
FRAUD_COUNTRIES = _weights([{"US": 52, "CA": 3, "MX": 4, "GB": 5, "DE": 3, "FR": 3, "BR": 6, "IN": 7,
                             "NG": 9, "RU": 8}[c] for c in COUNTRIES])
LEGIT_MERCHANTS = _weights([{"grocery": 30, "fuel": 18, "restaurant": 20, "online retail": 17, "electronics": 5,
                             "travel": 4, "gift cards": 2, "digital games": 4}[m] for m in MERCHANTS])
FRAUD_MERCHANTS = _weights([{"grocery": 6, "fuel": 6, "restaurant": 5, "online retail": 25, "electronics": 24,
                             "travel": 8, "gift cards": 16, "digital games": 10}[m] for m in MERCHANTS])


def generate_transactions(n: int = 20_000, fraud_rate: float = 0.008, seed: int = 0) -> Transactions:
    """`n` synthetic card transactions, exactly round(n * fraud_rate) of them fraud,
    shuffled; the same seed gives the same rows."""
    if not (isinstance(n, int) and ROWS_RANGE[0] <= n <= ROWS_RANGE[1]):
        raise FraudError(f"The number of transactions must be a whole number from {ROWS_RANGE[0]:,} to {ROWS_RANGE[1]:,}.")
    if not (math.isfinite(fraud_rate) and FRAUD_RATE_RANGE[0] <= fraud_rate <= FRAUD_RATE_RANGE[1]):
        raise FraudError(f"The fraud rate must be between {FRAUD_RATE_RANGE[0]:.1%} and {FRAUD_RATE_RANGE[1]:.0%}.")
    rng = np.random.default_rng(seed)
    frauds = round(n * fraud_rate)
    is_fraud = np.zeros(n, dtype=bool)
    is_fraud[:frauds] = True
    testing = np.zeros(n, dtype=bool)
    testing[:frauds] = rng.random(frauds) < 0.35          # card testing; the rest cash out

    amount = np.where(is_fraud,
                      np.where(testing, rng.lognormal(np.log(4), 0.6, n), rng.lognormal(np.log(320), 0.8, n)),
                      rng.lognormal(np.log(45), 1.0, n))
    hour = np.where(is_fraud, rng.choice(24, n, p=FRAUD_HOURS), rng.choice(24, n, p=LEGIT_HOURS))
    country = np.where(is_fraud, rng.choice(len(COUNTRIES), n, p=FRAUD_COUNTRIES),
                       rng.choice(len(COUNTRIES), n, p=LEGIT_COUNTRIES))
    abroad = country != COUNTRIES.index(HOME_COUNTRY)
    home_distance = np.where(is_fraud, rng.lognormal(np.log(60), 1.4, n), rng.lognormal(np.log(8), 1.1, n))
    distance = np.where(abroad, rng.uniform(800, 12_000, n), home_distance)
    tx_last_hour = np.where(testing, rng.poisson(4.0, n), np.where(is_fraud, rng.poisson(0.8, n), rng.poisson(0.3, n)))
    ip_vpn = np.where(is_fraud, rng.random(n) < 0.35, rng.random(n) < 0.04)
    isp_risk = np.where(is_fraud, rng.beta(3.5, 4, n), rng.beta(2, 8, n))
    merchant = np.where(is_fraud, rng.choice(len(MERCHANTS), n, p=FRAUD_MERCHANTS),
                        rng.choice(len(MERCHANTS), n, p=LEGIT_MERCHANTS))

    order = rng.permutation(n)
    return Transactions(
        amount=np.round(amount, 2)[order], hour=hour[order].astype(np.int64),
        country=np.asarray(COUNTRIES)[country][order], distance_km=np.round(distance, 1)[order],
        tx_last_hour=tx_last_hour[order].astype(np.int64), ip_vpn=ip_vpn[order], isp_risk=isp_risk[order],
        merchant=np.asarray(MERCHANTS)[merchant][order], is_fraud=is_fraud[order])


# ---------------------------------------------------------------- encoding


@dataclass(frozen=True)
class Encoded:
    matrix: np.ndarray               # (rows, features), float
    feature_names: tuple[str, ...]


def _numeric(tx: Transactions) -> tuple[list[np.ndarray], list[str]]:
    return ([tx.amount, tx.hour, tx.distance_km, tx.tx_last_hour, tx.ip_vpn.astype(float), tx.isp_risk],
            ["amount", "hour", "distance_km", "tx_last_hour", "ip_vpn", "isp_risk"])


def encode_one_hot(tx: Transactions) -> Encoded:
    """Each country and merchant category its own 0/1 column: "country=NG" is 1 or 0.
    No order is implied; 10 countries become 10 columns."""
    columns, names = _numeric(tx)
    for field_name, values in (("country", COUNTRIES), ("merchant", MERCHANTS)):
        column = getattr(tx, field_name)
        for value in values:
            columns.append((column == value).astype(float))
            names.append(f"{field_name}={value}")
    return Encoded(np.column_stack(columns).astype(float), tuple(names))


def encode_integers(tx: Transactions) -> Encoded:
    """Each country and merchant category a number, in alphabetical order (BR=0, CA=1,
    ... US=9): compact, but it says the US is "more" than Canada, an order a linear
    model takes at face value and a tree can cut around."""
    columns, names = _numeric(tx)
    for field_name, values in (("country", COUNTRIES), ("merchant", MERCHANTS)):
        lookup = {value: i for i, value in enumerate(values)}
        columns.append(np.array([lookup[v] for v in getattr(tx, field_name)], dtype=float))
        names.append(field_name)
    return Encoded(np.column_stack(columns).astype(float), tuple(names))


def encode(tx: Transactions, encoding: str) -> Encoded:
    if encoding == "one-hot":
        return encode_one_hot(tx)
    if encoding == "integers":
        return encode_integers(tx)
    raise FraudError(f'There is no encoding "{encoding}"; choose one of {", ".join(ENCODINGS)}.')


# ---------------------------------------------------------------- models


@dataclass(frozen=True)
class FraudModel:
    name: str
    scores: np.ndarray            # fraud score per test transaction, 0..1
    fit_seconds: float


@dataclass(frozen=True)
class FraudRun:
    y_test: np.ndarray            # True = fraud
    models: dict                  # name -> FraudModel, in FRAUD_MODELS order
    encoding: str
    class_weights: bool
    feature_names: tuple[str, ...]
    train_rows: int
    train_frauds: int
    test_frauds: int

    def scores(self, name: str) -> np.ndarray:
        return self.models[name].scores


def split_rows(y: np.ndarray, test_fraction: float = TEST_FRACTION, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows), the same share of fraud in both (stratified), seeded."""
    rng = np.random.default_rng(seed)
    test = []
    for value in (False, True):
        rows = np.flatnonzero(y == value)
        test.append(rng.choice(rows, max(1, round(len(rows) * test_fraction)), replace=False))
    test_rows = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(y)), test_rows), test_rows


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    """Each class weighs the same in total: a fraud counts ~120x a legit row at 0.8% fraud."""
    weights = np.empty(len(y))
    for value in (False, True):
        weights[y == value] = len(y) / (2 * max(1, int((y == value).sum())))
    return weights


def _make(name: str, class_weights: bool, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    weight = "balanced" if class_weights else None
    if name == "logistic regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight=weight))
    if name == "decision tree":
        return DecisionTreeClassifier(max_depth=6, min_samples_leaf=5, class_weight=weight, random_state=seed)
    if name == "gradient-boosted trees":
        return HistGradientBoostingClassifier(max_iter=100, class_weight=weight, early_stopping=False,
                                              random_state=seed)
    if name == "MLP":   # MLPClassifier has no class_weight: weights go in through sample_weight
        return make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, batch_size=512,
                                                             random_state=seed))
    raise FraudError(f'There is no model "{name}"; choose from {", ".join(FRAUD_MODELS)}.')


def fit_fraud_models(tx: Transactions, encoding: str = "one-hot", class_weights: bool = False,
                     models: Sequence[str] = FRAUD_MODELS, seed: int = 0,
                     test_fraction: float = TEST_FRACTION) -> FraudRun:
    """Fit each model on 70% of the transactions and score the other 30%."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    encoded = encode(tx, encoding)
    y = tx.is_fraud
    train, test = split_rows(y, test_fraction, seed)
    x_train, x_test, y_train = encoded.matrix[train], encoded.matrix[test], y[train]
    fitted = {}
    for name in models:
        started = time.perf_counter()
        if name == "always legit":
            scores = np.zeros(len(test))
        else:
            model = _make(name, class_weights, seed)
            with threadpool_limits(limits=1), warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if name == "MLP" and class_weights:
                    model.fit(x_train, y_train, mlpclassifier__sample_weight=_balanced_weights(y_train))
                else:
                    model.fit(x_train, y_train)
                scores = model.predict_proba(x_test)[:, 1]
        fitted[name] = FraudModel(name, np.asarray(scores, dtype=float), time.perf_counter() - started)
    return FraudRun(y[test], fitted, encoding, class_weights, encoded.feature_names, len(train),
                    int(y_train.sum()), int(y[test].sum()))


def demo_run(seed: int = 0, encoding: str = "one-hot", class_weights: bool = False, n: int = 20_000,
             fraud_rate: float = 0.008) -> FraudRun:
    """The fraud page's computation in one call (a background job: ~3-7 s on 2 busy cores):
    generate the seeded transactions and fit every model on them."""
    return fit_fraud_models(generate_transactions(n, fraud_rate, seed), encoding, class_weights, seed=seed)


def held_out_labels(tx: Transactions, seed: int = 0, test_fraction: float = TEST_FRACTION) -> np.ndarray:
    """The labels of the rows fit_fraud_models scores on (same split, same seed):
    enough to score "always legit" before any model is fitted."""
    return tx.is_fraud[split_rows(tx.is_fraud, test_fraction, seed)[1]]


# ---------------------------------------------------------------- from scores to decisions


@dataclass(frozen=True)
class Confusion:
    tp: int     # fraud, flagged
    fp: int     # legit, flagged: a false alarm
    fn: int     # fraud, let through: a missed fraud
    tn: int     # legit, let through

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / max(1, self.tp + self.fp + self.fn + self.tn)

    @property
    def precision(self) -> float | None:
        """Of the flagged, the share that was fraud; None when nothing was flagged."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float:
        """Of the frauds, the share flagged."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def cost(self, cost_missed_fraud: float, cost_false_alarm: float) -> float:
        return self.fn * cost_missed_fraud + self.fp * cost_false_alarm


def confusion_at(scores, y, threshold: float) -> Confusion:
    """Flag every transaction whose score is at or above `threshold`."""
    flagged = np.asarray(scores) >= threshold
    y = np.asarray(y, dtype=bool)
    return Confusion(int((flagged & y).sum()), int((flagged & ~y).sum()),
                     int((~flagged & y).sum()), int((~flagged & ~y).sum()))


def _sweep(scores, y):
    """(thresholds high to low, tp, fp) at every distinct score: flagging at or
    above each, computed from one sort instead of one pass per threshold."""
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    tp = np.cumsum(sorted_y)[last_of_each]
    fp = np.cumsum(~sorted_y)[last_of_each]
    return sorted_scores[last_of_each], tp, fp


@dataclass(frozen=True)
class PRCurve:
    thresholds: np.ndarray      # high to low
    precision: np.ndarray
    recall: np.ndarray


def pr_curve(scores, y) -> PRCurve:
    """Precision and recall at every distinct threshold, from flagging almost
    nothing (high threshold) to flagging everything."""
    thresholds, tp, fp = _sweep(scores, y)
    positives = max(1, int(np.asarray(y, dtype=bool).sum()))
    return PRCurve(thresholds, tp / (tp + fp), tp / positives)


def average_precision(scores, y) -> float:
    """The area under the precision-recall curve as a step function (as scikit-learn
    computes it): 1.0 ranks every fraud above every legit row; the fraud rate is chance."""
    curve = pr_curve(scores, y)
    recall_steps = np.diff(np.r_[0.0, curve.recall])
    return float((recall_steps * curve.precision).sum())


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float            # flag at or above; above every score means flag nothing
    cost: float
    confusion: Confusion


def _check_costs(cost_missed_fraud: float, cost_false_alarm: float) -> None:
    for name, value in (("A missed fraud", cost_missed_fraud), ("A false alarm", cost_false_alarm)):
        if not (math.isfinite(value) and 0 <= value <= MAX_COST):
            raise FraudError(f"{name} must cost between 0 and {MAX_COST:,.0f}.")


def cheapest_threshold(scores, y, cost_missed_fraud: float, cost_false_alarm: float) -> ThresholdChoice:
    """The threshold with the lowest total cost (missed frauds x their price +
    false alarms x theirs). Only the distinct scores (and "above them all")
    need checking: between two scores the flags don't change. On a tie, the
    higher threshold: the same cost with fewer alarms to handle."""
    _check_costs(cost_missed_fraud, cost_false_alarm)
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=bool)
    if len(scores) == 0:
        raise FraudError("There are no scores to choose a threshold from.")
    thresholds, tp, fp = _sweep(scores, y)
    positives, negatives = int(y.sum()), int((~y).sum())
    # Candidate 0 flags nothing; candidate i+1 flags everything scoring >= thresholds[i].
    all_tp, all_fp = np.r_[0, tp], np.r_[0, fp]
    costs = (positives - all_tp) * cost_missed_fraud + all_fp * cost_false_alarm
    best = int(np.argmin(costs))              # first minimum = highest threshold
    threshold = float(np.nextafter(thresholds[0], np.inf)) if best == 0 else float(thresholds[best - 1])
    tp_b, fp_b = int(all_tp[best]), int(all_fp[best])
    return ThresholdChoice(threshold, float(costs[best]),
                           Confusion(tp_b, fp_b, positives - tp_b, negatives - fp_b))


def cost_curve(scores, y, cost_missed_fraud: float, cost_false_alarm: float,
               points: int = 201) -> tuple[np.ndarray, np.ndarray]:
    """The total cost of flagging at or above each of `points` thresholds evenly
    spaced from 0 to 1, for a chart (cheapest_threshold finds the exact minimum)."""
    _check_costs(cost_missed_fraud, cost_false_alarm)
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=bool)
    thresholds = np.linspace(0.0, 1.0, points)
    fraud_scores, legit_scores = np.sort(scores[y]), np.sort(scores[~y])
    # Below the threshold: searchsorted counts the scores under it, i.e. the rows let through.
    missed = np.searchsorted(fraud_scores, thresholds, side="left")
    alarms = len(legit_scores) - np.searchsorted(legit_scores, thresholds, side="left")
    return thresholds, missed * cost_missed_fraud + alarms * cost_false_alarm


def cheapest_on_slider(scores, y, cost_missed_fraud: float, cost_false_alarm: float, step: float = 0.01) -> float:
    """The cheapest threshold a slider of this step can be set to. The exact minimum
    (cheapest_threshold) can sit between two steps, e.g. 0.004 on a slider of 0.01:
    rounded to 0.00 it would flag every transaction. On a tie, the higher threshold."""
    points = int(round(1 / step)) + 1
    thresholds, costs = cost_curve(scores, y, cost_missed_fraud, cost_false_alarm, points=points)
    best = len(costs) - 1 - int(np.argmin(costs[::-1]))
    return round(float(thresholds[best]), 6)


@dataclass(frozen=True)
class ThresholdReport:
    """Everything a threshold slider shows, in one call."""

    threshold: float
    confusion: Confusion
    cost: float
    cheapest: ThresholdChoice


def threshold_report(scores, y, threshold: float, cost_missed_fraud: float, cost_false_alarm: float) -> ThresholdReport:
    _check_costs(cost_missed_fraud, cost_false_alarm)
    confusion = confusion_at(scores, y, threshold)
    return ThresholdReport(threshold, confusion, confusion.cost(cost_missed_fraud, cost_false_alarm),
                           cheapest_threshold(scores, y, cost_missed_fraud, cost_false_alarm))


@dataclass(frozen=True)
class Band:
    decision: str               # "allow", "review" or "block"
    transactions: int
    frauds: int

    @property
    def legit(self) -> int:
        return self.transactions - self.frauds


def decide(scores, review_at: float, block_at: float) -> np.ndarray:
    """The business decision after the score: block at or above `block_at`, send
    to a person at or above `review_at`, allow the rest."""
    if not (0 <= review_at <= block_at <= 1):
        raise FraudError("The review score must be between 0 and the block score, and the block score at most 1.")
    scores = np.asarray(scores, dtype=float)
    return np.where(scores >= block_at, "block", np.where(scores >= review_at, "review", "allow"))


def decision_bands(scores, y, review_at: float, block_at: float) -> list[Band]:
    decisions = decide(scores, review_at, block_at)
    y = np.asarray(y, dtype=bool)
    return [Band(name, int((decisions == name).sum()), int(((decisions == name) & y).sum())) for name in DECISIONS]
