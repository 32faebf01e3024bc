"""Chapter 1, page 2: from scores to confidence, and error.

Divide-by-total (the talk's first idea) beside real softmax, also on negative
scores; squared error against the one-hot target, term by term, and
cross-entropy beside it; a slider that moves the prediction along both curves.
"""

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import scratch
from ui import ch1, charts, settings
from ui.formats import num, vector

# The talk's slide had three classes at this point; "none" joins on the training page.
NAMES = ("fizz", "buzz", "fizzbuzz")
TALK_SCORES = scratch.TALK_SCORES
NEGATIVE_SCORES = (1.0, -0.6, -0.2)


def set_scores(values):
    for name, value in zip(NAMES, values):
        st.session_state[f"ch1c_score_{name}"] = value


WIDGETS = {f"ch1c_score_{name}": value for name, value in zip(NAMES, TALK_SCORES)} | {"ch1c_p": 0.6}
settings.keep(WIDGETS)

st.title("From scores to confidence, and error")
st.markdown("#### Scores become confidences that add up to 1; error says how far from right they are.")

# --- normalising ------------------------------------------------------------------
st.subheader("1 · Scores → confidence")
controls = st.columns([1, 1, 1, 1.3, 1.3], vertical_alignment="bottom")
scores = [controls[i].number_input(f"score for {name}", step=0.1, key=f"ch1c_score_{name}")
          for i, name in enumerate(NAMES)]
controls[3].button("The talk's scores", on_click=set_scores, args=(TALK_SCORES,), key="ch1c_talk")
controls[4].button("Some negative", on_click=set_scores, args=(NEGATIVE_SCORES,), key="ch1c_negative")

def two_places(values) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


talk_by_total = scratch.normalise_by_total(TALK_SCORES)
ours = scratch.normalise_by_total(scratch.SCORES_FOR_TALK_CONFIDENCES)
st.info(
    f"**The talk said:** scores of about {', '.join(num(s) for s in TALK_SCORES)} (one of them hidden by a logo "
    f"on its slide), then, dividing each by the total, **{', '.join(f'{c:.2f}' for c in scratch.TALK_CONFIDENCES)}** "
    f"— \"58% confident that the input of 3 is fizz\". Those don't quite add up: {num(TALK_SCORES[0])} ÷ "
    f"{num(sum(TALK_SCORES))} = {talk_by_total[0]:.2f}, and the talk's three add up to "
    f"{sum(scratch.TALK_CONFIDENCES):.2f}. **Ours, not the talk's:** four scores "
    f"{two_places(scratch.SCORES_FOR_TALK_CONFIDENCES)} (a fourth class, none, at the hidden spot) divide to "
    f"exactly {two_places(ours)}.", icon=":material/record_voice_over:")

by_total = scratch.normalise_by_total(scores)
soft = scratch.softmax(scores)
total = sum(scores)
# Both bar charts on one y-scale: side by side, the eye compares heights, and softmax's
# lower confidence must look lower.
shown = [float(v) for v in (*by_total, *soft) if np.isfinite(v)]
shared_range = [min(0.0, *shown) * 1.2, max(1.0, *shown) * 1.2]

left, right = st.columns(2)
with left:
    st.markdown("**Divide by the total** (the talk's first idea)")
    broken = not np.all(np.isfinite(by_total)) or (by_total < 0).any() or (by_total > 1).any()
    if not np.all(np.isfinite(by_total)):
        st.error(f"The scores add up to {num(total)}: dividing by zero gives no answer at all.",
                 icon=":material/block:")
        ch1.class_bars(NAMES, [0, 0, 0], "divided by a total of 0", key="ch1c_total_bars", height=300, yrange=shared_range)
    else:
        st.metric("Confidence in fizz (divide by total)", f"{by_total[0]:.2f}",
                  help="score ÷ total of all scores")
        st.code("\n".join(f"{n:<9}: {num(s)} ÷ {num(total)} = {num(p)}"
                          for n, s, p in zip(NAMES, scores, by_total)), language=None)
        ch1.class_bars(NAMES, by_total, f"÷ total ({num(total)})", key="ch1c_total_bars",
                       height=300, yrange=shared_range)
    if broken:
        st.warning("With negative scores, dividing by the total gives 'confidences' below 0 or above 1 "
                   "(or nothing at all when the total is 0). That is not a probability.", icon=":material/warning:")
with right:
    st.markdown("**Softmax** (what frameworks use): exp each score, then divide by the total")
    st.metric("Confidence in fizz (softmax)", f"{soft[0]:.2f}")
    # e^710 is too big for a float and e^-750 rounds to 0: like softmax itself, subtract the
    # largest score first (the shares stay the same), but only when needed, to keep the slide simple.
    shift = max(scores) if abs(max(scores)) > 700 else 0.0
    exps = [math.exp(s - shift) for s in scores]
    power = (lambda s: f"e^({num(s)} − {num(shift)})") if shift else (lambda s: f"e^{num(s)}")
    st.code("\n".join([f"{n:<9}: {power(s)} = {num(e)}" for n, s, e in zip(NAMES, scores, exps)]
                      + [f"total    : {num(sum(exps))}"]
                      + [f"{n:<9}: {num(e)} ÷ {num(sum(exps))} = {num(p)}"
                         for n, e, p in zip(NAMES, exps, soft)]), language=None, wrap_lines=True)
    if shift:
        st.caption(f"e^{num(max(scores))} is out of a computer's range, so every score is lowered "
                   f"by {num(shift)} first: the shares come out exactly the same.")
    ch1.class_bars(NAMES, soft, "softmax", key="ch1c_softmax_bars", height=300, yrange=shared_range)
st.caption(
    "exp turns every score into a positive number, so the shares are always between 0 and 1 and "
    "add up to 1 — whatever the scores. It also keeps the order (bigger score, bigger share) and "
    "its slope is simple, which makes learning easy. The price: softmax is less confident than "
    f"divide-by-total on the talk's scores ({scratch.softmax(TALK_SCORES)[0]:.2f} instead of {talk_by_total[0]:.2f}, "
    "computed here)."
)

# --- error ---------------------------------------------------------------------------
st.subheader("2 · How wrong? Squared error and cross-entropy")
st.markdown("The number was 3, so the ideal output is **100% fizz**: the one-hot target [1, 0, 0].")
target = np.array([1.0, 0.0, 0.0])
# Errors only mean something for real confidences (each between 0 and 1): when dividing by the
# total breaks, measure the softmax ones instead (log of a negative 'confidence' has no answer).
prediction = soft if broken else by_total
source = "softmax" if broken else "divide-by-total"
sq = float(scratch.squared_error(prediction, target))
left, right = st.columns(2)
with left:
    terms = " + ".join(f"({num(t)} − {num(p)})²" for t, p in zip(target, prediction))
    values = " + ".join(num((t - p) ** 2) for t, p in zip(target, prediction))
    st.markdown(f"**Squared error** of the {source} confidences: subtract, square, add up")
    st.code(f"{terms}\n= {values}\n= {num(sq)}", language=None, wrap_lines=True)
    st.metric("Squared error", num(sq))
with right:
    ce = float(scratch.cross_entropy(prediction, target))
    st.markdown("**Cross-entropy**: minus the log of the confidence in the right answer")
    st.code(f"−log({num(prediction[0])})\n= {num(ce)}", language=None)
    st.metric("Cross-entropy", num(ce))
talk_error = float(scratch.squared_error(scratch.TALK_CONFIDENCES, target))
st.caption(f"**The talk said** its error was **{scratch.TALK_ERROR:.2f}** for 0.58, 0.20, 0.20. **Computed here** "
           f"from those same three numbers: 0.42² + 0.20² + 0.20² = **{talk_error:.3f}**; from the talk's scores "
           f"divided by their total it is {float(scratch.squared_error(talk_by_total, target)):.3f}. "
           "The goal of learning is an error of 0: 100% on the right answer.")

# --- moving the prediction ---------------------------------------------------------
st.subheader("3 · Move the prediction, watch both errors")
p = st.slider("Confidence in fizz (the rest split evenly between buzz and fizzbuzz)",
              0.01, 1.0, step=0.01, key="ch1c_p")
moved = np.array([p, (1 - p) / 2, (1 - p) / 2])
sq_now = float(scratch.squared_error(moved, target))
ce_now = float(scratch.cross_entropy(moved, target))
m1, m2, m3 = st.columns(3)
m1.metric("Prediction", vector(moved, 2))
m2.metric("Squared error", num(sq_now))
m3.metric("Cross-entropy", num(ce_now))

grid = np.linspace(0.01, 1.0, 100)
curves = np.stack([grid, (1 - grid) / 2, (1 - grid) / 2], axis=1)
fig = go.Figure()
fig.add_trace(go.Scatter(x=grid, y=scratch.squared_error(curves, target), name="squared error",
                         line=dict(color=charts.TRAIN_COLOR, width=3)))
fig.add_trace(go.Scatter(x=grid, y=scratch.cross_entropy(curves, target), name="cross-entropy",
                         line=dict(color=charts.EVAL_COLOR, width=3)))
fig.add_trace(go.Scatter(x=[p, p], y=[sq_now, ce_now], mode="markers", name="your prediction",
                         marker=dict(size=16, color="black", symbol="circle")))
fig.update_xaxes(title_text="confidence in fizz (the right answer)", tickformat=".0%")
fig.update_yaxes(title_text="error", range=[0, 3])
charts.title("Both errors fall to 0 at 100% — cross-entropy punishes confident mistakes far harder")
charts.show(fig, key="ch1c_curves", height=380)
