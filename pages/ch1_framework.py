"""Chapter 1, page 4: the same network, the framework way.

The from-scratch NumPy network (core/scratch.py) and the same architecture in
PyTorch (core/fizzbuzz_torch.py) side by side, their real code shown, both
trained from the same starting weights to the same result. torch is imported
lazily inside core/fizzbuzz_torch.py, only when "Train both" is pressed.
"""

import time

import plotly.graph_objects as go
import streamlit as st

from core import fizzbuzz, fizzbuzz_torch, scratch
from ui import ch1, charts, settings
from ui.messages import friendly_error

st.title("The same network, the framework way")
st.markdown(
    "#### By hand we wrote forward, backward and the update. A framework writes backward for us."
)
st.markdown(
    "The talk built FizzBuzz in Nx by hand, then again in a few lines of Axon. Here the same two "
    "versions in Python: NumPy by hand, and PyTorch's `nn.Sequential`, loss and optimizer. "
    "Both start from the same weights — and end with the same weights."
)

st.subheader("Train both")
WIDGETS = {"ch1f_hidden": 3, "ch1f_lr": 0.3, "ch1f_epochs": 300, "ch1f_seed": 1, "ch1f_loss": "cross_entropy"}
settings.keep(WIDGETS)
cols = st.columns([1, 1, 1, 1, 1.4, 1.2], vertical_alignment="bottom")
hidden = cols[0].number_input("Hidden units", step=1, key="ch1f_hidden",
                              help=f"{scratch.HIDDEN_RANGE[0]}–{scratch.HIDDEN_RANGE[1]}; 0 = no hidden layer")
lr = cols[1].number_input("Learning rate", step=0.05, format="%g", key="ch1f_lr")
epochs = cols[2].number_input("Epochs", step=100, key="ch1f_epochs",
                              help="1–5,000 here: torch's per-step overhead makes long runs slow.")
seed = cols[3].number_input("Seed", step=1, key="ch1f_seed")
loss = cols[4].radio("Loss", scratch.LOSSES, format_func=scratch.LOSS_NAMES.get, key="ch1f_loss",
                     horizontal=False)
go_clicked = cols[5].button("Train both", icon=":material/play_arrow:", type="primary", key="ch1f_train",
                            width="stretch")


st.caption("Optimizer: both step with plain gradient descent (SGD), the update written by hand in chapter 1. "
           "The talk's Axon code used **Adam** (\"I am going to hand wave past the atom optimizer\"), which gives "
           "every weight its own step size; here SGD keeps the two versions identical step for step. Chapter 3's "
           "fine-tune uses AdamW.")

config = scratch.TrainConfig(hidden_size=int(hidden), learning_rate=float(lr), epochs=int(epochs),
                             seed=int(seed), loss=loss)
problems = scratch.validate_config(config)
if config.epochs > 5000:
    problems.append("Epochs must be between 1 and 5,000 on this page (got {:,}).".format(config.epochs))
for problem in problems:
    friendly_error(problem + " The last comparison is kept.")

if go_clicked and not problems:
    with st.spinner("Loading PyTorch, then training the NumPy network and the PyTorch one…"):
        started = time.perf_counter()
        fizzbuzz_torch.warm_up()
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        by_hand = scratch.run_training(config, report_every=5)
        numpy_seconds = time.perf_counter() - started
        started = time.perf_counter()
        framework = fizzbuzz_torch.train_torch(config, report_every=5)
        torch_seconds = time.perf_counter() - started
    st.session_state["ch1f_result"] = (by_hand, framework, numpy_seconds, torch_seconds, load_seconds)

result = st.session_state.get("ch1f_result")
if result is None:
    st.info("Press **Train both** to train the two versions from the same starting weights.", icon=":material/touch_app:")
else:
    by_hand, framework, numpy_seconds, torch_seconds, load_seconds = result
    for run in (by_hand, framework):
        if run.status == "diverged":
            friendly_error(run.message)
    if by_hand.history and framework.history:
        gap = max(float(abs(by_hand.params[k] - framework.params[k]).max()) for k in by_hand.params)
        a, b = by_hand.final, framework.final
        m = st.columns(3)
        m[0].metric("NumPy: right on 1..100", f"{round(a.test_accuracy * 100)}/100")
        m[1].metric("PyTorch: right on 1..100", f"{round(b.test_accuracy * 100)}/100")
        m[2].metric("Weights differ by", f"{gap:.1e}",
                    help="The largest difference between the two networks' weights after the last step.")
        st.caption(f"Training time: NumPy {numpy_seconds:.2f} s, PyTorch {torch_seconds:.2f} s "
                   f"(plus {load_seconds:.1f} s to load PyTorch, once per server).")
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=[c.epoch for c in by_hand.history], y=[c.train_error for c in by_hand.history],
                                 name="NumPy by hand", line=dict(color=charts.TRAIN_COLOR, width=6)))
        fig.add_trace(go.Scatter(x=[c.epoch for c in framework.history], y=[c.train_error for c in framework.history],
                                 name="PyTorch", line=dict(color="#ff7f0e", width=2, dash="dash")))
        fig.update_xaxes(title_text="epoch")
        fig.update_yaxes(title_text=scratch.LOSS_NAMES[by_hand.config.loss], rangemode="tozero")
        charts.title(f"Error per epoch — {by_hand.config.layers_text}: the two curves lie on top of each other")
        charts.show(fig, key="ch1f_curves", height=360)
        if gap < 1e-6:
            st.success("Same starting weights, same data, same arithmetic → the same network, to the last "
                       "few decimal places. The framework didn't do anything magic; it did the bookkeeping.",
                       icon=":material/handshake:")
        else:
            st.warning("The two runs drifted apart: tiny rounding differences grow when training is "
                       "unstable (large learning rates).", icon=":material/swap_horiz:")
        test = fizzbuzz.make_dataset(*fizzbuzz.TEST_RANGE)
        per_class = scratch.per_class_accuracy(framework.params, test)
        st.caption("PyTorch network per class on 1..100: " +
                   " · ".join(f"{name} {value:.0%}" for name, value in per_class.items()))

st.subheader("The code, step by step")
# Side by side, one line per step of the recipe; the full code of both follows in tabs.
st.table({
    "step": ["layers", "confidence", "error", "slopes", "step downhill"],
    "by hand (NumPy)": ["x @ W1 + b1 → relu → @ W2 + b2", "softmax(scores)", "cross_entropy(probs, targets)",
                        "backward(): written out, layer by layer", "params - learning_rate * grads"],
    "framework (PyTorch)": ["nn.Sequential(Linear, ReLU, Linear)", "inside nn.CrossEntropyLoss",
                            "nn.CrossEntropyLoss()", "loss.backward() (autograd)", "optimizer.step() (SGD)"],
})
by_hand_tab, framework_tab = st.tabs(["By hand: core/scratch.py", "The framework way: core/fizzbuzz_torch.py"])
with by_hand_tab:
    ch1.code_block(scratch.forward)
    ch1.code_block(scratch.backward)
    ch1.code_block(scratch.train_step)
with framework_tab:
    ch1.code_block(fizzbuzz_torch.build_model)
    ch1.code_block(fizzbuzz_torch._train)

