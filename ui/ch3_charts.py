"""Chapter 3's charts: plain functions from reports to plotly figures.

The figure functions don't touch streamlit, so each chart can be built (and
tested) on its own; ui.charts.show puts one on the page in the app's style.
Colours follow ui/charts.py: training blue, evaluation red, on every chart.
"""

from __future__ import annotations

import plotly.graph_objects as go

from ui.charts import EVAL_COLOR, GAP_FILL, TRAIN_COLOR, downsample


def accuracy_by_epoch(epochs: list, compare: tuple[str, list] | None = None, title: str | None = None):
    """Train vs evaluation accuracy per epoch on one axis; the gap between them shaded.

    The gap is the talk's lesson in one picture: accuracy on the sentences the
    model trains on (talk: 98%) runs ahead of accuracy on a file it never saw
    (talk: 90%). `compare` = (name, epoch reports) overlays an earlier run, dashed.
    """
    fig = go.Figure()
    xs = [e.epoch for e in epochs]
    train = [100 * e.train_accuracy for e in epochs]
    evals = [None if e.eval_accuracy is None else 100 * e.eval_accuracy for e in epochs]
    has_eval = any(v is not None for v in evals)
    if has_eval:
        fig.add_trace(go.Scatter(x=xs, y=evals, name="evaluation (unseen file)", mode="lines+markers",
                                 line=dict(color=EVAL_COLOR, width=4), marker=dict(size=10)))
    fig.add_trace(go.Scatter(
        x=xs, y=train, name="training", mode="lines+markers",
        line=dict(color=TRAIN_COLOR, width=4), marker=dict(size=10),
        fill="tonexty" if has_eval else None, fillcolor=GAP_FILL,
    ))
    if epochs and has_eval and evals[-1] is not None:
        gap = train[-1] - evals[-1]
        # Bottom right, inside the plot: free space once accuracy has climbed, and never cut off.
        fig.add_annotation(xref="paper", yref="paper", x=1, y=0.04, xanchor="right", yanchor="bottom",
                           text=f"epoch {xs[-1]}: training − evaluation = {gap:+.1f} pts",
                           showarrow=False, font=dict(size=16, color=EVAL_COLOR), bgcolor="rgba(255,255,255,0.8)")
    if compare:
        name, other = compare
        ox = [e.epoch for e in other]
        fig.add_trace(go.Scatter(x=ox, y=[100 * e.train_accuracy for e in other], name=f"{name}: training",
                                 mode="lines", line=dict(color=TRAIN_COLOR, width=2, dash="dash"), opacity=0.7))
        if any(e.eval_accuracy is not None for e in other):
            fig.add_trace(go.Scatter(
                x=ox, y=[None if e.eval_accuracy is None else 100 * e.eval_accuracy for e in other],
                name=f"{name}: evaluation", mode="lines",
                line=dict(color=EVAL_COLOR, width=2, dash="dash"), opacity=0.7))
    last_epoch = max([*xs, *([e.epoch for e in compare[1]] if compare else []), 1])
    fig.update_layout(title=title or "Training vs evaluation accuracy",
                      xaxis=dict(title="epoch", range=[0.8, last_epoch + 0.2], dtick=1),
                      yaxis=dict(title="accuracy (%)", range=[0, 102]))
    return fig


def training_steps(steps: list):
    """Per-step training loss (falling) and batch accuracy (rising), one point per batch.

    Two y axes on one plain figure (plotly's make_subplots would cost ~100 ms more
    per redraw, every second, while training shares the CPU)."""
    steps = downsample(steps)
    xs = [s.step for s in steps]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=[s.loss for s in steps], name="loss", mode="lines",
                             line=dict(color="#ff7f0e", width=3)))
    fig.add_trace(go.Scatter(x=xs, y=[100 * s.accuracy for s in steps], name="batch accuracy (%)",
                             mode="lines", line=dict(color=TRAIN_COLOR, width=2), yaxis="y2"))
    fig.update_layout(
        title="Each step: loss and batch accuracy",
        xaxis=dict(title="step (one batch)"),
        yaxis=dict(title="loss", rangemode="tozero"),
        yaxis2=dict(title="accuracy (%)", range=[0, 102], overlaying="y", side="right", showgrid=False,
                    tickvals=[0, 25, 50, 75, 100]),
    )
    return fig


def class_counts(train_counts: dict, eval_counts: dict | None = None):
    """How many sentences each label has, training and evaluation side by side."""
    labels = list(train_counts)
    for label in eval_counts or {}:
        if label not in labels:
            labels.append(label)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=[train_counts.get(label, 0) for label in labels], name="training",
                         marker_color=TRAIN_COLOR, text=[train_counts.get(label, 0) for label in labels],
                         textposition="outside"))
    if eval_counts:
        fig.add_trace(go.Bar(x=labels, y=[eval_counts.get(label, 0) for label in labels], name="evaluation",
                             marker_color=EVAL_COLOR, text=[eval_counts.get(label, 0) for label in labels],
                             textposition="outside"))
    fig.update_layout(title="Sentences per label", barmode="group", yaxis=dict(title="sentences"))
    return fig


def confusion_matrix(labels: list[str], matrix: list[list[int]]):
    """Rows: the true label, columns: what the model said. The diagonal is right."""
    fig = go.Figure(go.Heatmap(
        z=matrix, x=labels, y=labels, colorscale="Blues", showscale=False,
        # Numbers in the cells while they can be read (the talk's 8 labels); BANKING77's 77 use colour.
        text=[[str(v) for v in row] for row in matrix], texttemplate="%{text}" if len(labels) <= 20 else None,
        textfont=dict(size=16),
        hovertemplate="true %{y}<br>predicted %{x}<br>%{z} sentences<extra></extra>",
    ))
    fig.update_layout(title="Confusion matrix (evaluation sentences)",
                      xaxis=dict(title="predicted label", tickangle=-30),
                      yaxis=dict(title="true label", autorange="reversed"))
    return fig


def probabilities(probs: dict[str, float]):
    """One bar per label: the softmax output for one sentence, largest on top."""
    ordered = sorted(probs.items(), key=lambda item: item[1])
    best = ordered[-1][0] if ordered else None
    fig = go.Figure(go.Bar(
        x=[100 * p for _, p in ordered], y=[label for label, _ in ordered], orientation="h",
        marker_color=[EVAL_COLOR if label == best else TRAIN_COLOR for label, _ in ordered],
        text=[f"{100 * p:.1f}%" for _, p in ordered], textposition="outside",
    ))
    fig.update_layout(title="Probability per label (softmax)", xaxis=dict(title="probability (%)", range=[0, 115]))
    return fig
