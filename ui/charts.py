"""The one chart wrapper and theme: every plotly figure in the app goes on the page through `show`.

One look for every chart, readable from the back of a room on a projector at
1280x720: text of 16 px and up, the title at the very top, the legend on its own
row under the title (or under the plot when it is long), never on top of each
other. Colours are fixed per idea, so every chart tells the same story.
"""

from __future__ import annotations

import streamlit as st

TRAIN_COLOR = "#1f77b4"      # what the model studied: blue, on every chart
EVAL_COLOR = "#d62728"       # what it never saw: red, on every chart
TALK_COLOR = "#9e9e9e"       # a number quoted from the talk: grey, never mistaken for a measurement
PRETRAINED_COLOR = "#7f7f7f"
FINETUNED_COLOR = "#C2185B"
GAP_FILL = "rgba(214, 39, 40, 0.12)"
BAND_FILL = "rgba(44, 160, 44, 0.13)"
TALK_BAND_FILL = "rgba(44, 160, 44, 0.25)"
CLASS_COLORS = {"fizz": "#2ca02c", "buzz": "#1f77b4", "fizzbuzz": "#9467bd", "none": "#7f7f7f"}

TEXT_SIZE = 16
TITLE_SIZE = 20
LONG_LEGEND = 4              # legend entries past which the legend goes under the plot
MAX_POINTS = 400             # per curve: keeps a live redraw cheap

# Plotly's toolbar, cut to "save as PNG" and "reset axes": on a half-width chart the full
# row of buttons covered the chart's title whenever the pointer was over it. Drag still
# zooms, double-click still resets.
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": [
    "zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]}


def style(fig, height: int = 380, legend_right: bool = False, **layout):
    """The theme, applied to a figure: sizes, margins, and where the title and legend go.
    `legend_right`: a long legend in its own column right of the plot (full-width charts
    with many entries, like a map of 8 reasons), never over the title or the axes.
    In presenter mode the height is capped so the chart fits the first screen (ui/stage)."""
    from ui import stage

    fig.update_layout(height=stage.chart_height(height), font=dict(size=TEXT_SIZE), **layout)
    titled = bool(fig.layout.title.text)
    legend_entries = sum(1 for trace in fig.data if trace.showlegend is not False and trace.name)
    shows_legend = fig.layout.showlegend is not False and legend_entries > 1
    if shows_legend and legend_right:
        fig.update_layout(legend=dict(orientation="v", yanchor="top", y=1, x=1.02, xanchor="left"),
                          margin=dict(l=10, r=10, t=60 if titled else 20, b=10))
    elif shows_legend and legend_entries >= LONG_LEGEND:
        fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
                          margin=dict(l=10, r=10, t=60 if titled else 20, b=10), height=stage.chart_height(height + 70))
    else:
        top = (60 if titled else 20) + (40 if shows_legend else 0)
        fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0),
                          margin=dict(l=10, r=10, t=top, b=10))
    if titled:
        fig.update_layout(title=dict(y=1, yref="container", yanchor="top", pad=dict(t=12),
                                     x=0, xanchor="left", font=dict(size=TITLE_SIZE)))
    return readable_text(fig)


TEXT_COLOR = "#222222"       # labels dark enough for a washed-out projector


def readable_text(fig, size: int = TEXT_SIZE, color: str = TEXT_COLOR):
    """Streamlit's chart theme is a plotly template that sets its own small, pale grey text
    (about 13 px) for tick labels, axis titles and legends, and the more specific template
    setting beats layout.font, so style()'s font never reaches them. Setting them on the
    figure does: every label at least `size` px, in a dark colour."""
    fig.update_xaxes(tickfont=dict(size=size, color=color), title_font=dict(size=size, color=color))
    fig.update_yaxes(tickfont=dict(size=size, color=color), title_font=dict(size=size, color=color))
    fig.update_layout(legend_font=dict(size=size, color=color), hoverlabel_font_size=size,
                      font_color=color)
    fig.for_each_annotation(lambda a: a.update(font_size=max(size, a.font.size or 0),
                                               font_color=a.font.color or color))
    for trace in fig.data:
        # Text drawn on bars and points: never smaller than the rest, dark unless a trace chose its colour.
        font = getattr(trace, "textfont", None)
        if font is not None and (trace.text is not None or getattr(trace, "texttemplate", None)):
            trace.textfont.size = max(size, font.size or 0) if not isinstance(font.size, tuple) else font.size
            if font.color is None:
                trace.textfont.color = color
    return fig


def show(fig, key: str | None = None, height: int = 380, legend_right: bool = False, **layout) -> None:
    """Put a figure on the page in the app's style."""
    st.plotly_chart(style(fig, height=height, legend_right=legend_right, **layout), key=key, config=CONFIG)


def show_cached(cache: dict, key: str, version, build, height: int = 380) -> None:
    """Like show, but rebuild the figure only when `version` changes: live charts redraw
    every second, and building a plotly figure costs tens of milliseconds of CPU that the
    training thread would rather have."""
    if key not in cache or cache[key][0] != version:
        cache[key] = (version, style(build(), height=height))
    st.plotly_chart(cache[key][1], key=key, config=CONFIG)


def same_y_range(*figures, floor: float = 0.0, headroom: float = 1.15):
    """Two charts compared side by side get one y-scale, so the eye compares bar heights
    honestly (a chart scaled to its own tallest bar hides which is more confident)."""
    tops = [max((max(trace.y) for trace in fig.data if getattr(trace, "y", None) is not None
                 and len(trace.y)), default=1.0) for fig in figures]
    top = max(tops) * headroom
    for fig in figures:
        fig.update_yaxes(range=[floor, top])
    return figures


def title(text: str) -> None:
    """A chart's title as page text, for charts whose top row belongs to their legend."""
    st.markdown(f"**{text}**")


def downsample(values: list, limit: int = MAX_POINTS) -> list:
    """Every k-th item (and always the last) so a long curve stays under `limit` points."""
    if len(values) <= limit:
        return list(values)
    stride = -(-len(values) // limit)
    picked = values[::stride]
    if picked[-1] is not values[-1]:
        picked.append(values[-1])
    return picked
