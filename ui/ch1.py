"""View helpers the chapter-1 pages share: arithmetic written out, and the figures
more than one page draws. No computation lives here beyond formatting: the numbers
come from core/.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core import fizzbuzz, scratch
from ui import charts
from ui.formats import num


def section(title: str, widths=(2, 3)):
    """A numbered step of the page: its heading, then the knobs' column and the result's."""
    st.subheader(title)
    return st.columns(list(widths))


def weighted_sum_text(inputs, weights, digits: int = 3) -> str:
    """'0 × 0.5 + 3 × 0.7 = 0 + 2.1 = 2.1': the dot product, term by term."""
    left = " + ".join(f"{num(float(x), digits)} × {num(float(w), digits)}" for x, w in zip(inputs, weights))
    middle = " + ".join(num(p, digits) for p in scratch.weighted_sum_terms(inputs, weights))
    return f"{left} = {middle} = {num(scratch.w_sum(inputs, weights), digits)}"


def dot_text(inputs, weights, bias=None, digits: int = 3) -> str:
    """Compact weighted sum for long lines: '0×1.36 + 3×0.7 + 0.5' (bias last, if any)."""
    text = " + ".join(f"{num(float(x), digits)}×{num(float(w), digits)}" for x, w in zip(inputs, weights))
    return text if bias is None else f"{text} + {num(float(bias), digits)}"


def class_bars(names, values, title: str, key: str, height: int = 340, yrange=None, text_digits: int = 3):
    """One bar per class, in the class colours, value printed on each bar."""
    fig = go.Figure(go.Bar(
        x=list(names), y=list(values),
        marker_color=[charts.CLASS_COLORS.get(n, "#444") for n in names],
        text=[num(float(v), text_digits) for v in values], textposition="outside",
        cliponaxis=False,
    ))
    fig.update_layout(title=title, showlegend=False)
    if yrange:
        fig.update_yaxes(range=yrange)
    charts.show(fig, key=key, height=height)


def history_chart(history, key: str, title_suffix: str = "", height: int = 360, show_test: bool = True):
    """Error and accuracy per epoch, train and test on the same axes (TensorFlow-Playground style)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1)
    if history:
        epochs = [c.epoch for c in history]
        series = [("train", charts.TRAIN_COLOR, "solid", "train_error", "train_accuracy")]
        if show_test:
            series.append(("test 1..100", charts.EVAL_COLOR, "dash", "test_error", "test_accuracy"))
        for name, color, dash, err_attr, acc_attr in series:
            fig.add_trace(go.Scatter(x=epochs, y=[getattr(c, err_attr) for c in history], name=name,
                                     legendgroup=name, line=dict(color=color, dash=dash, width=3)), 1, 1)
            fig.add_trace(go.Scatter(x=epochs, y=[getattr(c, acc_attr) for c in history], name=name,
                                     legendgroup=name, showlegend=False,
                                     line=dict(color=color, dash=dash, width=3)), 1, 2)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title_text="accuracy", row=1, col=2)
    fig.update_yaxes(rangemode="tozero", title_text="error", row=1, col=1)
    if title_suffix:
        charts.title(title_suffix)
    charts.show(fig, key=key, height=height)


def number_grid(numbers, predicted, expected, key: str, height: int = 470):
    """1..100 as a 10 × 10 grid, each square coloured by the network's answer; a red ×
    on the ones it gets wrong."""
    numbers = list(numbers)
    cols = [(n - 1) % 10 for n in numbers]
    rows = [(n - 1) // 10 for n in numbers]
    fig = go.Figure()
    for index, name in enumerate(fizzbuzz.CLASSES):
        chosen = [i for i, p in enumerate(predicted) if p == index]
        fig.add_trace(go.Scatter(
            x=[cols[i] for i in chosen], y=[rows[i] for i in chosen], mode="markers+text", name=name,
            text=[str(numbers[i]) for i in chosen], textfont=dict(color="white", size=14),
            marker=dict(symbol="square", size=36, color=charts.CLASS_COLORS[name]),
            hovertemplate="%{text}: " + name + "<extra></extra>",
        ))
    wrong = [i for i, (p, e) in enumerate(zip(predicted, expected)) if p != e]
    fig.add_trace(go.Scatter(  # a marker, not a text trace: the legend then shows the red × too
        x=[cols[i] + 0.32 for i in wrong], y=[rows[i] - 0.3 for i in wrong], mode="markers", name="wrong",
        marker=dict(symbol="x-thin", size=11, line=dict(color="#d62728", width=3)), hoverinfo="skip",
    ))
    fig.update_xaxes(visible=False, range=[-0.6, 9.6])
    fig.update_yaxes(visible=False, range=[9.6, -0.6])
    fig.update_layout(plot_bgcolor="white")
    charts.title(f"The network's answer for 1..100 — {len(numbers) - len(wrong)}/{len(numbers)} right")
    charts.show(fig, key=key, height=height)


def code_block(function) -> None:
    """The real source of a core function, so the page can't drift from the code it describes."""
    import inspect

    # Never wrapped: a wrapped line breaks Python's indentation; long lines scroll sideways.
    st.code(inspect.getsource(function), language="python", wrap_lines=False)
