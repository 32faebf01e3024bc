"""Chapter 1, page 3: learning is search.

Gradient descent on one weight; why fizzbuzz is XOR-like; ReLU; then the FizzBuzz
network trained live (a background job from core/, watched by ui.live.while_running), with its
knobs, per-class accuracy, the 1..100 grid and the arithmetic for one number.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import fizzbuzz, fizzbuzz_training, jobs, recording, scratch
from ui import ch1, charts, live, replay, settings
from ui.formats import delta, num, vector
from ui.messages import friendly_error

st.title("Learning is search")
st.markdown(
    "#### Learning = searching for the weights that make the error smallest. "
    "You're dropped in a lake with no map: feel the slope under your feet, step downhill, repeat."
)

# --- 1. one weight --------------------------------------------------------------------
st.subheader("1 · Gradient descent on one weight")
st.markdown(
    "The one-weight network from page 1: input 3, and we want the prediction to be 1.0 (100% fizz). "
    "Error = (3 × weight − 1)². The slope tells which way is downhill; the learning rate, how far to step."
)
LEARNING_RATES = {"0.005 (too small)": 0.005, "0.03 (good)": 0.03, "0.1 (zig-zag)": 0.1,
                  "0.12 (diverges)": 0.12}
DESCENT_KNOBS = {"ch1l_gd_lr": "0.03 (good)", "ch1l_gd_start": 0.2, "ch1l_gd_steps": 10}
settings.keep(DESCENT_KNOBS, allowed={"ch1l_gd_lr": LEARNING_RATES, "ch1l_gd_start": settings.Between(-0.5, 1.0),
                                      "ch1l_gd_steps": range(1, 31)})
left, right = st.columns([1, 2])
with left:
    lr_label = st.radio("Learning rate", list(LEARNING_RATES), key="ch1l_gd_lr")
    start_weight = st.slider("Starting weight", -0.5, 1.0, step=0.05, key="ch1l_gd_start")
    steps = st.slider("Steps", 1, 30, key="ch1l_gd_steps")
one_lr = LEARNING_RATES[lr_label]
path = scratch.one_weight_descent(start_weight, one_lr, steps)
factor = 1 - one_lr * 2 * 3**2  # each step multiplies the distance to the best weight by this
with left:
    last = path[-1]
    st.metric("Error after the last step", num(last["error"]),
              delta=delta(last["error"] - path[0]["error"]), delta_color="inverse")
    if abs(factor) > 1:
        st.error(f"Each step overshoots further than the last (×{abs(factor):.2f} per step): the error "
                 "grows without end. That is divergence.", icon=":material/trending_up:")
    elif factor < 0:
        st.warning("Steps overshoot the bottom and zig-zag across the valley, but still settle.", icon=":material/swap_horiz:")
    elif factor > 0.85:
        st.info("Safe, but slow: the steps are tiny.", icon=":material/hourglass_bottom:")
    else:
        st.success("Good: big steps while it's steep, small ones near the bottom.", icon=":material/check_circle:")
with right:
    weights_seen = [p["weight"] for p in path]
    lo, hi = min(-0.2, *weights_seen), max(0.9, *weights_seen)
    lo, hi = max(lo, -3.0), min(hi, 3.5)
    grid = np.linspace(lo, hi, 200)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=grid, y=[scratch.one_weight_error(w) for w in grid], name="error",
                             line=dict(color="#999", width=3)))
    fig.add_trace(go.Scatter(x=weights_seen, y=[p["error"] for p in path], name="steps",
                             mode="lines+markers", line=dict(color=charts.EVAL_COLOR, width=2),
                             marker=dict(size=10)))
    fig.add_vline(x=1 / 3, line_dash="dot", annotation_text="best weight 1/3")
    fig.update_xaxes(title_text="weight", range=[lo, hi])
    fig.update_yaxes(title_text="error", range=[0, max(1.2, min(10, max(p["error"] for p in path) * 1.1))])
    charts.show(fig, key="ch1l_gd_chart", height=360)

# --- 2. why fizzbuzz needs a hidden layer ------------------------------------------------
st.subheader("2 · Why fizzbuzz is hard for a single layer")
left, right = st.columns([3, 2])
with left:
    rows = [
        {"n": r["n"], "÷ 3?": r["divisible by 3"], "÷ 5?": r["divisible by 5"],
         "fizz or buzz (exactly one)": int(r["fizz"] or r["buzz"]), "fizzbuzz": r["fizzbuzz"]}
        for r in fizzbuzz.divisibility_truth_table()
    ]
    st.table(rows)
with right:
    st.markdown(
        "Read it left to right: 3 and 5 each switch one fact on and are *fizz or buzz*. 15 switches "
        "**both** on — and is no longer fizz-or-buzz. That's **exclusive or** (XOR). A single layer "
        "only adds up evidence, so 'both' can't undo 'each'. "
        "The fix is the talk's: stack one more layer, with a **ReLU** in between. "
        "(With remainders as inputs there's a twist — see *What we found* below the grid.)"
    )
st.markdown("**ReLU on its own:** keep the positives, zero the rest.")
relu_cols = st.columns([1, 1, 1, 3], vertical_alignment="bottom")
RELU_KNOBS = {f"ch1l_relu_{i}": v for i, v in enumerate([-1.0, 2.0, 0.0])}
settings.keep(RELU_KNOBS)
relu_in = [relu_cols[i].number_input(f"value {i + 1}", step=1.0, key=key) for i, key in enumerate(RELU_KNOBS)]
relu_cols[3].markdown(f"### relu({vector(relu_in)}) = **{vector(scratch.relu(relu_in))}**")

# --- 3. live training -------------------------------------------------------------------
st.subheader("3 · Train the FizzBuzz network — live")

DEFAULT = scratch.default_config("mod")
# Widget key -> TrainConfig field, and the type the field wants back (number inputs give floats).
KNOB_FIELDS = {"ch1l_encoding": ("encoding", str), "ch1l_hidden": ("hidden_size", int),
               "ch1l_lr": ("learning_rate", float), "ch1l_epochs": ("epochs", int), "ch1l_seed": ("seed", int),
               "ch1l_loss": ("loss", str), "ch1l_bias": ("bias", bool)}
KNOBS = {key: getattr(DEFAULT, field) for key, (field, _) in KNOB_FIELDS.items()}
settings.keep(KNOBS, allowed={"ch1l_encoding": fizzbuzz.ENCODINGS, "ch1l_loss": scratch.LOSSES})


def apply(config: scratch.TrainConfig):
    settings.set_values({key: getattr(config, field) for key, (field, _) in KNOB_FIELDS.items()})


def on_encoding_change():
    # Each encoding has its own sensible starting knobs (binary needs a wide hidden layer).
    apply(scratch.default_config(st.session_state["ch1l_encoding"]))


PRESETS = {  # key: (button label, knobs)
    "single": ("Talk's 1st try: 1 layer", scratch.TrainConfig(hidden_size=0, bias=False, epochs=300)),
    "hidden": ("Talk's 2 → 3 → 4", DEFAULT),
    "binary": ("Blog's binary digits", scratch.default_config("binary")),
}
preset_cols = st.columns([0.8, 1.3, 1.3, 1.3], vertical_alignment="center")
preset_cols[0].markdown("**Presets:**")
for column, (name, (label, config)) in zip(preset_cols[1:], PRESETS.items()):
    column.button(label, on_click=apply, args=(config,), key=f"ch1l_preset_{name}", width="stretch")

knob_cols = st.columns([1.5, 1, 1, 1, 0.8, 1.4])
knob_cols[0].radio("Encoding", fizzbuzz.ENCODINGS, key="ch1l_encoding", on_change=on_encoding_change,
                   format_func={"mod": "[n mod 3, n mod 5]", "binary": "10 binary digits"}.get)
knob_cols[1].number_input("Hidden units", step=1, key="ch1l_hidden",
                          help=f"{scratch.HIDDEN_RANGE[0]}–{scratch.HIDDEN_RANGE[1]}. 0 means a single layer.")
knob_cols[2].number_input("Learning rate", step=0.05, format="%g", key="ch1l_lr")
knob_cols[3].number_input("Epochs", step=100, key="ch1l_epochs",
                          help=f"{scratch.EPOCH_RANGE[0]}–{scratch.EPOCH_RANGE[1]:,}")
knob_cols[4].number_input("Seed", step=1, key="ch1l_seed")
with knob_cols[5]:
    st.radio("Loss", scratch.LOSSES, key="ch1l_loss", format_func=scratch.LOSS_NAMES.get)
    st.checkbox("Biases (+ b)", key="ch1l_bias")


def config_from_knobs() -> scratch.TrainConfig:
    state = st.session_state
    return scratch.TrainConfig(
        **{field: kind(state[key]) for key, (field, kind) in KNOB_FIELDS.items()},
        batch_size=scratch.default_config(state["ch1l_encoding"]).batch_size,
    )


config = config_from_knobs()
problems = scratch.validate_config(config)


def start_training():
    # Callbacks run before the script: read the knobs afresh, not this run's leftovers.
    config = config_from_knobs()
    if scratch.validate_config(config):
        return
    try:
        job = jobs.submit(fizzbuzz_training.training_work(config, pause_seconds=fizzbuzz_training.watch_pause(config)),
                          meta={"config": config}, kind=jobs.TRAINING,
                          owner=live.session_id(), priority=live.is_speaker())
    except jobs.QueueFull as full:
        st.session_state["ch1l_notice"] = str(full)
        return
    st.session_state.pop("ch1l_notice", None)
    replay.discard("ch1l")
    old = st.session_state.get("ch1l_job")
    if old is not None:
        old.stop()
    st.session_state["ch1l_job"] = job
    live.stop_when_tab_closes("ch1_learning", job)


def stop_training():
    for running in (replay.current("ch1l"), st.session_state.get("ch1l_job")):
        if running is not None:
            running.stop()


live_job = st.session_state.get("ch1l_job")
job = replay.current("ch1l") or live_job  # a replay, while there is one, is shown instead
state = fizzbuzz_training.live_state(job.snapshot(), job.meta["config"]) if job is not None else None
actions = st.columns([1, 1, 2.8, 1.6], vertical_alignment="center")
actions[0].button("Train", icon=":material/play_arrow:", type="primary", key="ch1l_train", on_click=start_training,
                  width="stretch")
actions[1].button("Stop", icon=":material/stop:", key="ch1l_stop", on_click=stop_training,
                  disabled=state is None or state.finished, width="stretch")
with actions[2]:
    replay.controls("ch1l", recording.SHIPPED_FILES[recording.CH1],
                    disabled=live_job is not None and not live_job.snapshot().finished)
actions[3].markdown(f"**{config.layers_text}** · {scratch.LOSS_NAMES[config.loss]} · "
                    f"{'with' if config.bias else 'no'} biases")
for problem in problems:
    friendly_error(problem + " Your last trained network is kept.")
if "ch1l_notice" in st.session_state:
    friendly_error(st.session_state["ch1l_notice"])

# Runs that end without a network worth showing; the last one that ended well is shown instead.
FALLS_BACK = (fizzbuzz_training.DIVERGED, fizzbuzz_training.FAILED, fizzbuzz_training.CANCELLED)
if state is not None and state.status in (fizzbuzz_training.DONE, fizzbuzz_training.STOPPED):
    st.session_state["ch1l_previous"] = state


def describe(state: fizzbuzz_training.LiveState, test_set: fizzbuzz.Dataset):
    if state.status == fizzbuzz_training.QUEUED:
        ahead = state.position - 1
        st.info(f"Queued: {'you are next' if ahead == 0 else f'{ahead} run(s) ahead of yours'}.",
                icon=":material/hourglass_top:")
    elif state.status == fizzbuzz_training.RUNNING:
        st.info(f"Training… epoch {state.epoch:,} of {state.config.epochs:,}", icon=":material/hourglass_top:")
    elif state.status == fizzbuzz_training.CANCELLED:
        st.info(state.message, icon=":material/close:")
    elif state.status in FALLS_BACK:
        friendly_error(state.message)
    elif state.history:
        verb = "Stopped" if state.status == fizzbuzz_training.STOPPED else "Finished"
        right = round(scratch.accuracy(state.params, test_set) * 100)
        never = [name for name, share in scratch.per_class_accuracy(state.params, test_set).items() if share == 0]
        text = f"{verb} after {state.epoch:,} epochs: {right}/100 right on 1..100"
        if never:
            # The talk's first try is *meant* to fail: a high score must not read as success.
            st.warning(f"{text} — but **{' and '.join(never)}** never right: this network can't learn "
                       f"{'it' if len(never) == 1 else 'them'}.", icon=":material/error:")
        elif right == 100:
            st.success(f"{text}: every number right.", icon=":material/check_circle:")
        else:
            st.info(f"{text}.", icon=":material/info:")


def per_class_metrics(params, test_set):
    predicted = scratch.predict(params, test_set.inputs)
    columns = st.columns(5)
    right = int((predicted == test_set.labels).sum())
    columns[0].metric("Right on 1..100", f"{right}%")
    for column, (index, name) in zip(columns[1:], enumerate(fizzbuzz.CLASSES)):
        members = test_set.labels == index
        got = int((predicted[members] == index).sum())
        column.metric(f"{name} right", f"{got}/{int(members.sum())}")
    return predicted


def draw_untrained():
    st.info("Press **Train**. The curves, the per-class scores and the 1..100 grid fill in as it learns. "
            "Below: the network before training, with its random starting weights.",
            icon=":material/touch_app:")
    if not problems:  # draw the empty chart and the untrained grid now, so training only updates them
        _, test_set = fizzbuzz.train_test_split(config.encoding)
        ch1.history_chart([], key="ch1l_history", show_test=config.encoding == "binary")
        predicted = per_class_metrics(fizzbuzz_training.untrained(config), test_set)
        ch1.number_grid(test_set.numbers, predicted, test_set.labels, key="ch1l_grid")


def draw_run(snap: jobs.JobSnapshot, running: bool):
    state = fizzbuzz_training.live_state(snap, job.meta["config"])
    previous = st.session_state.get("ch1l_previous")
    kept = state.status in FALLS_BACK and previous is not None
    shown = previous if kept else state
    _, test_set = fizzbuzz.train_test_split(shown.config.encoding)
    describe(state, test_set)
    if kept:
        st.caption(f"Kept: your previous network ({previous.config.layers_text}), shown below.")
    ch1.history_chart(state.history, key="ch1l_history", show_test=state.config.encoding == "binary")
    if state.config.encoding == "mod":
        st.caption("With [n mod 3, n mod 5] the network trains on 1..100 and is scored on the same numbers.")
    else:
        st.caption("Trained on 101..1023, tested on 1..100, which it never saw. The blog post scored 96/100.")
    predicted = per_class_metrics(shown.params, test_set)
    ch1.number_grid(test_set.numbers, predicted, test_set.labels, key="ch1l_grid")


if job is None:
    draw_untrained()
else:
    replay.watch(job, draw_run)

# --- honest notes -------------------------------------------------------------------------
with st.expander("What we found when we ran these experiments ourselves", expanded=False):
    st.markdown(
        "- **The talk's first network — no hidden layer, no biases:** fizz, buzz and none all reach 100%, "
        "fizzbuzz stays at **0/6**. For 15 the input is [0, 0], and 0 × any weight = 0: all four scores "
        "are 0, a tie, so fizzbuzz can never come out on top.\n"
        "- **No hidden layer but with biases (+ b):** on [n mod 3, n mod 5] it gets all 100 right! "
        "[0, 0] is a corner of all possible inputs, and a straight cut can always slice off a corner. "
        "The XOR problem bites when the inputs are yes/no facts, as in the truth table.\n"
        "- **No hidden layer on the 10 binary digits:** it learns nothing but 'none' (53/100). "
        "Divisibility by 3 or 5 is no straight line in binary digits; the hidden layer is needed.\n"
        "- **3 hidden units:** 17 of the seeds 0..19 reach 100/100 within 500 epochs (median: epoch 80); "
        "seeds 0, 8 and 19 get stuck, with a unit that ReLU switched off for good. More hidden units make "
        "that rare (8 units: seed 0 gets there too).\n"
        "- **Binary digits, 100 hidden units, 1,500 epochs:** on the unseen 1..100, seed 0 scores 100/100, "
        "seed 1 93/100, seed 2 97/100. The blog's 96 can be beaten — but the seed matters as much as the knobs. "
        "(`python benchmarks/ch1_training.py` re-measures all of this.)"
    )

# --- 4. the arithmetic for one number ---------------------------------------------------------
st.subheader("4 · Inside the network for one number")
network = state
if network is not None and network.status in FALLS_BACK:
    network = st.session_state.get("ch1l_previous")
if network is None:
    st.info("Train a network first; then its real numbers show up here.", icon=":material/touch_app:")
else:
    limit = 1023 if network.config.encoding == "binary" else 1_000_000
    settings.keep({"ch1l_n": 15})
    n = st.columns([1, 3])[0].number_input("n", step=1, key="ch1l_n", help=f"1–{limit:,}")
    if not 1 <= n <= limit:
        friendly_error(f"Pick n between 1 and {limit:,} for this encoding (got {n}).")
    else:
        shown = scratch.explain_number(network.params, int(n), network.config.encoding, network.config.loss)
        right_answer = ":green[right]" if shown["predicted"] == shown["expected"] else ":red[wrong]"
        st.markdown(f"**{int(n)}** → inputs **{vector(shown['inputs'])}** → the network says "
                    f"**{shown['predicted']}** (should be {shown['expected']}: {right_answer}) "
                    f"at epoch {network.epoch:,}.")
        lines = []
        params = network.params
        if shown["hidden"] is not None:
            width = len(shown["hidden"])
            lines.append("hidden layer: relu(weighted sum + bias)")
            for j in range(min(width, 6)):
                bias = params["b1"][j] if "b1" in params else None
                terms = ch1.dot_text(shown["inputs"], params["W1"][:, j], bias) \
                    if len(shown["inputs"]) <= 3 else f"w_sum(inputs, W1[:, {j}])"
                lines.append(f" h{j + 1} = relu({terms}) = {num(shown['hidden'][j])}")
            if width > 6:
                lines.append(f" … and {width - 6} more hidden units")
            source, matrix, bias_name, source_name = shown["hidden"], params["W2"], "b2", "hidden"
        else:
            source, matrix, bias_name, source_name = shown["inputs"], params["W1"], "b1", "inputs"
        lines.append("output layer: weighted sum + bias, per class")
        for k, name in enumerate(fizzbuzz.CLASSES):
            bias = params[bias_name][k] if bias_name in params else None
            terms = ch1.dot_text(source, matrix[:, k], bias) if len(source) <= 3 \
                else f"w_sum({source_name}, W[:, {k}])"
            lines.append(f" {name:<8} = {terms} = {num(shown['scores'][k])}")
        lines.append(f"softmax → {vector(shown['probs'], 2)}")
        lines.append(f"target  → {vector(shown['target'])} ({shown['expected']})")
        lines.append(f"{scratch.LOSS_NAMES[network.config.loss]} = {num(shown['error'])}")
        left, right = st.columns([5, 2])
        left.code("\n".join(lines), language=None, wrap_lines=True)
        with right:
            ch1.class_bars(fizzbuzz.CLASSES, shown["probs"], f"Confidence for {int(n)}",
                             key="ch1l_one_probs", height=360, yrange=[0, 1.2], text_digits=2)
