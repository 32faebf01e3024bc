"""The one chart theme: every label a projector can read (16 px or more, dark), and
charts compared side by side on one y-scale."""

import plotly.graph_objects as go

from ui import charts


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_every_label_is_at_least_16_px_and_dark_even_when_a_chart_asked_for_less():
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2], text=["1", "2"], textfont=dict(size=10)))
    fig.update_layout(title="t", xaxis=dict(title="x", tickfont=dict(size=11)), yaxis_title="y")
    fig.add_annotation(text="note", x=0, y=1, font=dict(size=9))
    styled = charts.style(fig)
    for axis in (styled.layout.xaxis, styled.layout.yaxis):
        assert axis.tickfont.size >= 16 and axis.title.font.size >= 16
        assert _luminance(axis.tickfont.color) < 0.3
    assert styled.layout.annotations[0].font.size >= 16
    assert styled.data[0].textfont.size >= 16 and _luminance(styled.data[0].textfont.color) < 0.3
    assert styled.layout.legend.font.size >= 16


def test_a_text_colour_a_chart_chose_is_kept():
    fig = go.Figure(go.Bar(x=["a"], y=[1], text=["1"], textfont=dict(color="white")))
    assert charts.style(fig).data[0].textfont.color == "white"


def test_side_by_side_charts_share_one_y_scale():
    confident = go.Figure(go.Bar(x=["fizz", "buzz"], y=[0.6, 0.2]))
    soft = go.Figure(go.Bar(x=["fizz", "buzz"], y=[0.47, 0.26]))
    charts.same_y_range(confident, soft)
    assert confident.layout.yaxis.range == soft.layout.yaxis.range
    assert confident.layout.yaxis.range[1] >= 0.6


def test_weight_chart_names_its_bands_in_the_legend_not_on_top_of_the_points():
    from ui import ch4_charts

    data = {"layers": [{"label": "L0 query", "pretrained_alpha": 3.1, "finetuned_alpha": 3.0},
                       {"label": "pooler", "pretrained_alpha": 12.0, "finetuned_alpha": 11.5}],
            "band": [2.0, 6.0], "talk_band": [2.0, 3.0]}
    fig = ch4_charts.alpha_by_layer(data)
    assert not fig.layout.annotations                                  # nothing written across the plot
    legend = [trace.name for trace in fig.data]
    assert legend == ["pretrained", "fine-tuned", "well trained 2–6 (darker: the talk's 2–3)"]
    styled = charts.style(fig)
    assert styled.layout.legend.y > 1                                  # above the plot, off the layer names
