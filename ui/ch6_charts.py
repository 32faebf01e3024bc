"""Chapter 6's figures (plotly), drawn through ui.charts.show."""

from __future__ import annotations

import plotly.graph_objects as go

from ui import charts

SCRATCH_COLOR = "#ff7f0e"
FN_COLOR = "#d62728"
FP_COLOR = "#9467bd"
PERCENTILE_COLORS = {"p50": "#9ecae1", "p95": "#3182bd", "p99": "#08519c"}


def changes_by_block(blocks) -> go.Figure:
    """Share of each block's numbers the fine-tune moved (new blocks: all of them, marked)."""
    names = [b.block for b in blocks]
    shares = [100 * b.changed_share for b in blocks]
    colors = [charts.FINETUNED_COLOR if b.new else charts.TRAIN_COLOR for b in blocks]
    text = ["new" if b.new else (f"{b.mean_abs_change:.1e} avg" if b.mean_abs_change else "unchanged")
            for b in blocks]
    fig = go.Figure(go.Bar(x=names, y=shares, marker_color=colors, text=text, textposition="outside",
                           hovertemplate="%{x}: %{y:.1f}% of its numbers changed<extra></extra>"))
    fig.update_layout(title="Numbers the fine-tune changed, per block", yaxis=dict(title="% changed", range=[0, 115]),
                      showlegend=False)
    return fig


def accuracy_curves(arms: dict, titles: dict, chance: float | None = None) -> go.Figure:
    """Evaluation accuracy per epoch, one line per start (pretrained, random)."""
    fig = go.Figure()
    colors = {"pretrained": charts.FINETUNED_COLOR, "random": SCRATCH_COLOR}
    for arm, data in arms.items():
        curve = [p for p in data.get("curve", []) if p.get("eval_accuracy") is not None]
        fig.add_trace(go.Scatter(x=[p["epoch"] for p in curve], y=[100 * p["eval_accuracy"] for p in curve],
                                 mode="lines+markers", name=titles.get(arm, arm), line=dict(color=colors.get(arm))))
    if chance:
        fig.add_hline(y=100 * chance, line_dash="dot", line_color=charts.TALK_COLOR,
                      annotation_text="chance", annotation_position="bottom right")
    fig.update_layout(title="Accuracy on unseen sentences, per epoch", xaxis=dict(title="epoch", dtick=1),
                      yaxis=dict(title="evaluation accuracy (%)", range=[0, 105]))
    return fig


def latency_bars(rows: list[dict]) -> go.Figure:
    labels = [r["label"] for r in rows]
    fig = go.Figure()
    for q in ("p50", "p95", "p99"):
        fig.add_trace(go.Bar(x=labels, y=[r.get(f"{q}_ms") for r in rows], name=q,
                             marker_color=PERCENTILE_COLORS[q],
                             hovertemplate=f"%{{x}}: {q} %{{y:.1f}} ms<extra></extra>"))
    fig.update_layout(title="Latency: arrival to answer", barmode="group", yaxis=dict(title="ms", type="log"))
    return fig


def throughput_bars(rows: list[dict]) -> go.Figure:
    labels = [r["label"] for r in rows]
    fig = go.Figure(go.Bar(x=labels, y=[r["throughput_per_s"] for r in rows], marker_color=charts.TRAIN_COLOR,
                           text=[f"{r['throughput_per_s']:.0f}" for r in rows], textposition="outside"))
    top = max([r["throughput_per_s"] for r in rows] + [1])
    fig.update_layout(title="Answers per second", yaxis=dict(title="requests / s", range=[0, top * 1.25]),
                      showlegend=False)
    return fig


def monitoring(weeks, now: int, trained_weeks: dict[str, int]) -> go.Figure:
    """Weekly false negatives and false positives of the deployed version, up to `now`;
    a dotted line where each version's training data ends."""
    shown = [w for w in weeks if w.week <= now]
    x = [w.week for w in shown]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[w.false_negatives for w in shown], mode="lines+markers", name="false negatives "
                             "(missed cancellations)", line=dict(color=FN_COLOR)))
    fig.add_trace(go.Scatter(x=x, y=[w.false_positives for w in shown], mode="lines+markers", name="false positives "
                             "(ordinary messages flagged)", line=dict(color=FP_COLOR, dash="dash")))
    for name, week in trained_weeks.items():
        if 0 < week <= now:
            fig.add_vline(x=week + 0.5, line_dash="dot", line_color=charts.TALK_COLOR, annotation_text=name,
                          annotation_position="top")
    top = max([w.false_negatives for w in shown] + [w.false_positives for w in shown] + [4])
    fig.update_layout(title="Monitoring: the deployed model's mistakes per week",
                      xaxis=dict(title="week", dtick=1, range=[0.5, max(now, 1) + 0.5]),
                      yaxis=dict(title="messages", range=[0, top * 1.2]))
    return fig
