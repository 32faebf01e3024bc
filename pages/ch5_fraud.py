"""Chapter 5 · When accuracy lies: synthetic card fraud, where "always legit" is 99% accurate and useless."""

import functools

import numpy as np
import pandas as pd
import streamlit as st

from core import fraud
from ui import ch5, ch5_charts, charts, settings
from ui.formats import percent

ss = st.session_state
ROWS, FRAUD_RATE = 20_000, 0.008
SLIDER_STEP = 0.01  # the threshold slider; its cheapest setting is found on this grid
MODELS = [m for m in fraud.FRAUD_MODELS if m != "always legit"]
DEFAULTS = {"ch5_fraud_model": "gradient-boosted trees", "ch5_fraud_weights": False, "ch5_fraud_encoding": "one-hot",
            "ch5_fraud_threshold": 0.5, "ch5_fraud_missed": 500, "ch5_fraud_alarm": 10, "ch5_fraud_seed": 0,
            "ch5_fraud_bands": (0.2, 0.8)}
ALLOWED = {"ch5_fraud_model": MODELS, "ch5_fraud_encoding": fraud.ENCODINGS,
           "ch5_fraud_threshold": settings.Between(0, 1), "ch5_fraud_missed": settings.Between(0, 100_000),
           "ch5_fraud_alarm": settings.Between(0, 100_000), "ch5_fraud_seed": range(0, 1000),
           "ch5_fraud_bands": settings.Between(0, 1)}


@st.cache_data(show_spinner=False, max_entries=8)
def transactions(seed: int) -> fraud.Transactions:
    return fraud.generate_transactions(ROWS, FRAUD_RATE, seed)


@st.cache_data(show_spinner=False, max_entries=8)
def held_out(seed: int):
    return fraud.held_out_labels(transactions(seed), seed)


def money(x: float) -> str:
    return f"${x:,.0f}"


def fitted_models(seed: int, encoding: str, class_weights: bool) -> fraud.FraudRun | None:
    """The four models fitted on this seed's transactions: a background job the first time
    (3-7 s), shared by every visitor after it; None while it runs, its progress drawn here."""
    return ch5.computed(("fraud", seed, encoding, class_weights), "Fitting four models on 14,000 transactions",
                        functools.partial(fraud.demo_run, seed, encoding, class_weights, ROWS, FRAUD_RATE))


def model_table(run: fraud.FraudRun, y, threshold: float, missed_cost: float, alarm_cost: float) -> pd.DataFrame:
    rows = []
    for model_name, model in run.models.items():
        at = fraud.confusion_at(model.scores, y, threshold)
        best = fraud.cheapest_threshold(model.scores, y, missed_cost, alarm_cost)
        rows.append({"model": model_name, "accuracy": 100 * at.accuracy,
                     "precision": None if at.precision is None else 100 * at.precision, "recall": 100 * at.recall,
                     "avg precision": fraud.average_precision(model.scores, y), "cost": at.cost(missed_cost, alarm_cost),
                     "cheapest cost": best.cost, "fit s": model.fit_seconds})
    return pd.DataFrame(rows)


def show_models(run: fraud.FraudRun, name: str, threshold: float, missed_cost: float, alarm_cost: float,
                knobs, middle, right) -> None:
    scores, y = run.scores(name), run.y_test
    report = fraud.threshold_report(scores, y, threshold, missed_cost, alarm_cost)
    cheapest = report.cheapest
    cheapest_at = fraud.cheapest_on_slider(scores, y, missed_cost, alarm_cost, step=SLIDER_STEP)
    with knobs:
        st.button(f"Use the cheapest threshold ({cheapest_at:.2f})", key="ch5_fraud_cheapest",
                  icon=":material/savings:", on_click=settings.set_values, args=({"ch5_fraud_threshold": cheapest_at},))
    with middle:
        st.markdown(f"**{name}**, flagging at {threshold:.2f} or above")
        c, d = st.columns([0.85, 1.15])
        c.metric("its accuracy", percent(report.confusion.accuracy))
        d.metric("it catches", f"{report.confusion.tp} of {run.test_frauds}", help="Recall: the share of frauds flagged")
        charts.show(ch5_charts.fraud_confusion(report.confusion), key="ch5_fraud_confusion", height=250)
    with right:
        e, f = st.columns([0.8, 1.2])
        e.metric("precision", percent(report.confusion.precision, 0), help="Of the flagged transactions, the share "
                 "that was fraud")
        f.metric("cost here", money(report.cost), help="Missed frauds and false alarms at your threshold, priced",
                 delta=f"+{money(report.cost - cheapest.cost)} vs best" if report.cost > cheapest.cost else None,
                 delta_color="inverse")
        thresholds, costs = fraud.cost_curve(scores, y, missed_cost, alarm_cost)
        charts.show(ch5_charts.fraud_cost(thresholds, costs, threshold, cheapest), key="ch5_fraud_cost", height=300)

    st.markdown(
        f"The test set holds {len(y):,} transactions, {run.test_frauds} of them fraud; the models learned from the "
        f"other {run.train_rows:,} ({run.train_frauds} fraud). The interview says a model is \"99% accurate by just "
        "saying that every transaction is legit\", and what it would really care about is \"the precision and the "
        "number of true negatives, true positives, false positives, false negatives\". "
        f"The cheapest threshold for {name} is **{cheapest.threshold:.3g}**: {cheapest.confusion.fn} missed frauds "
        f"and {cheapest.confusion.fp} false alarms, {money(cheapest.cost)} in all (measured here).")

    pr_col, table_col = st.columns([1, 1.2])
    with pr_col:
        charts.show(ch5_charts.fraud_pr(fraud.pr_curve(scores, y), report.confusion, cheapest.confusion),
                    key="ch5_fraud_pr", height=380, title=f"Precision against recall: {name}")
    with table_col:
        st.subheader("Every model at your threshold")
        st.dataframe(model_table(run, y, threshold, missed_cost, alarm_cost), hide_index=True, key="ch5_fraud_models",
                     column_config={
                         "accuracy": st.column_config.NumberColumn(format="%.2f%%"),
                         "precision": st.column_config.NumberColumn(format="%.0f%%"),
                         "recall": st.column_config.NumberColumn(format="%.0f%%"),
                         "avg precision": st.column_config.NumberColumn(
                             format="%.3f", help="Area under the precision-recall curve; chance is the fraud rate"),
                         "cost": st.column_config.NumberColumn(format="$%d"),
                         "cheapest cost": st.column_config.NumberColumn(format="$%d"),
                         "fit s": st.column_config.NumberColumn(format="%.2f")})
        st.caption("Class weights change what the models learn: without them a fraud is one row in 125, and a "
                   "model can score well by ignoring it. Compare the recall column with the toggle on and off.")

    # ------------------------------------------------------------ the decision after the score
    st.header("After the score: a business decision")
    band_col, band_text = st.columns([1, 1.2])
    with band_col:
        review_at, block_at = st.slider("Send to a person from this score; block from this one", 0.0, 1.0, step=0.01,
                                        key="ch5_fraud_bands")
        bands = fraud.decision_bands(scores, y, review_at, block_at)
        st.dataframe(pd.DataFrame([{"decision": b.decision, "transactions": b.transactions, "frauds": b.frauds,
                                    "legit customers": b.legit} for b in bands]), hide_index=True,
                     key="ch5_fraud_bands_table")
    with band_text:
        allow, review, block = bands
        st.markdown(
            "The interview: \"one of the things you always have to do in machine learning is make a business decision "
            "on the other end of it\"; tutorials stop once the model is trained. A score is not a decision, so here "
            "(our three bands, not the interview's): "
            f"**{block.frauds}** frauds blocked (and {block.legit} legit customers with them), **{review.transactions}** "
            f"transactions for a person to look at ({review.frauds} of them fraud), and **{allow.frauds}** frauds "
            "allowed through. Those last are the cases the interview says to study: labelled legit, truly fraud.")


st.title("When accuracy lies")
st.markdown(f"#### {ROWS:,} synthetic card transactions, {FRAUD_RATE:.1%} fraud. A model that says *legit* every "
            "time is very accurate, and catches nothing.")
settings.keep(DEFAULTS, allowed=ALLOWED)
seed, encoding = int(ss["ch5_fraud_seed"]), ss["ch5_fraud_encoding"]

knobs, middle, right = st.columns([0.95, 1.3, 1.2])
with knobs:
    name = st.selectbox("Model", MODELS, key="ch5_fraud_model")
    weights = st.toggle("Class weights", key="ch5_fraud_weights",
                        help="On: all the frauds together count as much as all the legit rows together")
    threshold = st.slider("Threshold: flag at or above this fraud score", 0.0, 1.0, step=SLIDER_STEP,
                          key="ch5_fraud_threshold")
    cost_left, cost_right = st.columns(2)
    missed_cost = cost_left.number_input("A missed fraud costs $", 0, 100_000, step=50, key="ch5_fraud_missed")
    alarm_cost = cost_right.number_input("A false alarm costs $", 0, 100_000, step=5, key="ch5_fraud_alarm")

y_held_out = held_out(seed)
legit_only = fraud.confusion_at(np.zeros(len(y_held_out)), y_held_out, 0.5)
with middle:
    st.markdown('**"Always legit"**: never flags anything')
    a, b = st.columns([0.85, 1.15])
    a.metric("accuracy", percent(legit_only.accuracy),
             help=f"It lets all {legit_only.fn} frauds of the {len(y_held_out):,} test transactions through.")
    b.metric("frauds caught", f"0 of {legit_only.fn}")
with right:
    run = fitted_models(seed, encoding, weights)
if run is None:
    with middle:
        st.info("The four models are learning; the always-legit score above needs none.", icon=":material/hourglass_top:")
else:
    show_models(run, name, threshold, float(missed_cost), float(alarm_cost), knobs, middle, right)

# ---------------------------------------------------------------- the data
st.header("The transactions, and how a model sees them")
data_col, enc_col = st.columns([1.6, 1])
tx = transactions(seed)
with data_col:
    st.dataframe(pd.DataFrame(tx.records(8)), hide_index=True, key="ch5_fraud_rows")
    st.caption("Synthetic, seeded, made on this machine: amount, the hour, where, how far from home, purchases on the "
               "card in the hour before, and the IP address enriched as the interview suggests (via a VPN? how risky "
               "is its ISP?) instead of used raw. The label arrives later, when a card holder reports the charge.")
    st.number_input("Seed", 0, 999, key="ch5_fraud_seed")
with enc_col:
    encoding = st.radio("Countries and merchants as", fraud.ENCODINGS, key="ch5_fraud_encoding", horizontal=True)
    first = tx.subset(slice(0, 1))
    encoded = fraud.encode(first, encoding)
    st.dataframe(pd.DataFrame({"column": encoded.feature_names, "first row": encoded.matrix[0]}), hide_index=True,
                 height=250, key="ch5_fraud_encoded")
    st.caption("One-hot: a 0/1 column per country and per merchant, no order implied. Integers: one number each "
               "(BR=0 … US=9), compact but it claims the US is \"more\" than Canada; a tree can cut around that, a "
               "straight line can't.")
