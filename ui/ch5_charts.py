"""Chapter 5's charts: plain functions from core's results to plotly figures.

No streamlit here, so each chart can be built (and tested) on its own; ui.charts.show
puts one on the page in the app's style. Evaluation sentences are red and the
challenge set (never tuned on) purple, as everywhere; a model's live choice is
black, the cheapest choice green.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from ui.charts import EVAL_COLOR, FINETUNED_COLOR, PRETRAINED_COLOR, TRAIN_COLOR
from ui.formats import percent

CHALLENGE_COLOR = "#9467bd"
PICK_COLOR = "#2ca02c"
NOW_COLOR = "#111111"


def _percent_axis(title: str, top: float = 105) -> dict:
    return dict(title=title, range=[0, top], ticksuffix="%")


# ---------------------------------------------------------------- rules first


def rules_recall(scores: dict) -> go.Figure:
    """One group of bars per label: the share of its sentences the rules got right,
    per test set ({"eval": RulesScore, "challenge": RulesScore})."""
    fig = go.Figure()
    colors = {"eval": EVAL_COLOR, "challenge": CHALLENGE_COLOR}
    for split, score in scores.items():
        recall = score.recall_by_label()
        fig.add_bar(x=list(recall), y=[100 * r for r in recall.values()], marker_color=colors.get(split, TRAIN_COLOR),
                    name=f"{split} ({score.total} sentences)", text=[percent(r, 0) for r in recall.values()],
                    textposition="outside", cliponaxis=False)
    fig.update_layout(barmode="group", yaxis=_percent_axis("right (%)", 118), xaxis=dict(tickangle=-20))
    return fig


# ---------------------------------------------------------------- the competition


def leaderboard_scatter(rows, min_accuracy: float, pick_key: str | None) -> go.Figure:
    """Accuracy against milliseconds per prediction (log scale): the good-enough line
    is dashed, and the cheapest model above it is the green star."""
    fig = go.Figure()
    for row in rows:
        chosen = row.key == pick_key
        fig.add_scatter(
            x=[max(row.ms_per_prediction, 1e-4)], y=[100 * row.accuracy], mode="markers+text", name=row.name,
            text=[_short_name(row.name)], textposition="middle right", textfont=dict(size=16),
            marker=dict(size=22 if chosen else 14, symbol="star" if chosen else "circle",
                        color=PICK_COLOR if chosen else (FINETUNED_COLOR if "fine-tuned" in row.name
                                                         else TRAIN_COLOR),
                        line=dict(color="white", width=1)),
            hovertemplate=f"<b>{row.name}</b><br>%{{y:.1f}}% accurate<br>%{{x:.3g}} ms per prediction<extra></extra>",
            showlegend=False)
    fig.add_hline(y=100 * min_accuracy, line=dict(color=PICK_COLOR, dash="dash", width=2),
                  annotation_text=f"good enough: {min_accuracy:.0%}", annotation_position="bottom left")
    xs = [max(r.ms_per_prediction, 1e-4) for r in rows] or [1e-3, 1]
    fig.update_xaxes(type="log", title="milliseconds per prediction (log scale, left = cheaper)",
                     range=[math.log10(min(xs)) - 0.4, math.log10(max(xs)) + 1.3])
    fig.update_yaxes(**_percent_axis("accuracy (%)", 105))
    return fig


def _short_name(name: str) -> str:
    return (name.replace("BERT embeddings + ", "BERT vectors + ").replace(" (chapter 1)", "")
            .replace("TF-IDF + logistic regression", "TF-IDF + LR"))


# ---------------------------------------------------------------- fraud


def fraud_confusion(confusion) -> go.Figure:
    """The 2 x 2 table of one threshold: rows what happened, columns what the model said."""
    z = [[confusion.tn, confusion.fp], [confusion.fn, confusion.tp]]
    names = [["let through", "false alarm"], ["missed", "caught"]]
    shade = [[math.log1p(v) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=shade, x=["said legit", "said fraud"], y=["legit", "fraud"],
        # The darkest cell stays a mid blue, so its dark number is readable from the back row.
        colorscale="Blues", zmin=0, zmax=1.8 * max(max(row) for row in shade) or 1, showscale=False, text=[[f"{names[i][j]}<br>{z[i][j]:,}" for j in range(2)] for i in range(2)],
        texttemplate="%{text}", textfont=dict(size=17), hoverinfo="skip"))
    fig.update_yaxes(autorange="reversed", title="what it really was")
    fig.update_xaxes(title="what the model said", side="bottom")
    return fig


def fraud_pr(curve, now, cheapest) -> go.Figure:
    """Precision against recall over every threshold; the slider's threshold and the cheapest one marked."""
    fig = go.Figure()
    fig.add_scatter(x=100 * curve.recall, y=100 * curve.precision, mode="lines", line=dict(color=TRAIN_COLOR, width=3),
                    name="every threshold", hovertemplate="recall %{x:.0f}%<br>precision %{y:.0f}%<extra></extra>")
    for confusion, name, color, symbol in ((now, "your threshold", NOW_COLOR, "circle"),
                                           (cheapest, "cheapest", PICK_COLOR, "star")):
        if confusion.precision is not None:
            fig.add_scatter(x=[100 * confusion.recall], y=[100 * confusion.precision], mode="markers", name=name,
                            marker=dict(size=18, color=color, symbol=symbol, line=dict(color="white", width=1)))
    fig.update_xaxes(**_percent_axis("recall: frauds caught (%)"))
    fig.update_yaxes(**_percent_axis("precision: flags that were fraud (%)"))
    return fig


def fraud_cost(thresholds, costs, threshold: float, cheapest) -> go.Figure:
    """What each threshold would cost; the slider's and the cheapest marked."""
    fig = go.Figure()
    fig.add_scatter(x=thresholds, y=costs, mode="lines", line=dict(color=EVAL_COLOR, width=3), name="total cost",
                    hovertemplate="threshold %{x:.2f}<br>cost $%{y:,.0f}<extra></extra>")
    fig.add_vline(x=threshold, line=dict(color=NOW_COLOR, width=2), annotation_text="yours",
                  annotation_position="top left")
    fig.add_scatter(x=[min(cheapest.threshold, 1.0)], y=[cheapest.cost], mode="markers", name="cheapest",
                    marker=dict(size=18, color=PICK_COLOR, symbol="star"))
    fig.update_xaxes(title="threshold: flag at or above this score", range=[0, 1])
    fig.update_yaxes(title="missed frauds + false alarms ($)", rangemode="tozero")
    return fig


# ---------------------------------------------------------------- labels


def labelling_curves(curves: dict, mine: list[tuple[int, float]] | None = None) -> go.Figure:
    """Accuracy on the evaluation sentences against the number of labels paid for."""
    colors = {"margin": EVAL_COLOR, "least confident": CHALLENGE_COLOR, "random": PRETRAINED_COLOR}
    names = {"margin": "least sure first (simulated)", "least confident": "least confident first (simulated)",
             "random": "at random (simulated)"}
    fig = go.Figure()
    for strategy, curve in curves.items():
        fig.add_scatter(x=list(curve.labels_used), y=[100 * a for a in curve.accuracy], mode="lines+markers",
                        name=names.get(strategy, strategy), line=dict(color=colors.get(strategy), width=3,
                                                                       dash="dot" if strategy == "random" else None))
    if mine:
        fig.add_scatter(x=[n for n, _ in mine], y=[100 * a for _, a in mine], mode="lines+markers", name="yours",
                        line=dict(color=NOW_COLOR, width=4), marker=dict(size=12, symbol="star"))
    fig.update_xaxes(title="labelled sentences")
    fig.update_yaxes(**_percent_axis("accuracy on 160 unseen sentences (%)"))
    return fig
