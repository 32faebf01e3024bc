"""Chapter 3: fine-tune a pretrained BERT, live, and watch train vs evaluation accuracy.

A thin view. The training loop lives in core/finetune/loop.py and runs in a worker
thread (core/jobs.py); this page starts it, polls a snapshot of it every second
while it runs (ui.live.while_running), and draws. The knobs are kept by
ui.settings (across pages, and in the URL); a finished run is collected by
ui/harvest.py, which publishes the model as st.session_state["finetuned"]
(a core.trained.TrainedModel) for the other chapters.
"""

from __future__ import annotations

import functools

import streamlit as st

from core import finetune as ft
from core import jobs, models, recording
from ui import bert, ch3_charts, ch3_data, ch3_results, charts, live, replay, settings
from ui.formats import duration
from ui.messages import friendly_error

ss = st.session_state

_defaults = ft.FinetuneConfig()
KNOBS = {
    "ch3_source": ch3_data.SHIPPED, "ch3_per_label": ch3_data.ALL, "ch3_eval_share": 20,
    "ch3_model": models.BUNDLED, "ch3_epochs": _defaults.epochs, "ch3_batch": _defaults.batch_size,
    "ch3_lr": _defaults.learning_rate, "ch3_max_length": _defaults.max_length, "ch3_seed": _defaults.seed,
    "ch3_freeze": _defaults.freeze, "ch3_freeze_layers": _defaults.freeze_layers,
    "ch3_early": False, "ch3_patience": 2, "ch3_try": ch3_results.TRY_DEFAULT, **ch3_data.KNOBS,
}
# Option lists always include core's defaults, whatever those are tuned to.
LEARNING_RATES = sorted({1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 1e-2, 0.1, 1.0, _defaults.learning_rate})
BATCH_SIZES = sorted({4, 8, 16, 32, 64, _defaults.batch_size})
FREEZE_LABELS = {"none": "nothing: train all", "embeddings": "the embeddings",
                 "encoder": "all of BERT: train the head only"}
MAX_LENGTHS = sorted({16, 32, 64, 128, _defaults.max_length})
settings.keep(KNOBS, allowed={
    **ch3_data.ALLOWED, "ch3_source": ch3_data.SOURCES, "ch3_per_label": [2, 5, 10, 20, ch3_data.ALL],
    "ch3_eval_share": range(10, 51), "ch3_model": [c.id for c in models.CHOICES] + [bert.ANOTHER_MODEL],
    "ch3_epochs": range(1, 21), "ch3_batch": BATCH_SIZES, "ch3_lr": LEARNING_RATES, "ch3_max_length": MAX_LENGTHS,
    "ch3_seed": range(0, 10_001), "ch3_freeze": list(ft.FREEZE_CHOICES), "ch3_freeze_layers": range(0, 24),
    "ch3_patience": range(1, 11)})

ss.setdefault("ch3_runs", [])  # earlier runs' histories, for "compare two runs"


# --------------------------------------------------------------------------- story

st.title("Fine-tune BERT, live")
st.markdown(
    "#### A pretrained BERT already turns a sentence into numbers that carry its meaning. "
    "We add **one dense layer with softmax** on top and teach it *why a customer cancelled an order*."
)
POOLED = {  # how the new layer gets one vector per sentence, as core's default pooling does it
    "cls": "The first one, at `[CLS]`, passed through BERT's pooler, stands for the whole sentence",
    "mean": "Their **average** (mean pooling) stands for the whole sentence",
    "unit-mean": "Their **average**, scaled to length 1, stands for the whole sentence",
}
HEAD_START = {
    "centroids": "It starts at the class centres (each label's average sentence vector), not at random numbers, "
                 "so the first epoch already guesses well.",
    "random": "It starts with small random numbers.",
}
with st.expander("What happens when you press Start", expanded=False):
    frozen_part = ("The embeddings" + (f" and the lowest {_defaults.freeze_layers} layers"
                                       if _defaults.freeze_layers else "")) if _defaults.freeze == "embeddings" \
        else "Nothing" if _defaults.freeze == "none" else "All of BERT"
    st.markdown(
        f"""
1. **Tokenize.** Every sentence becomes vocabulary ids: `[CLS] the price is outrageous [SEP]`.
2. **Read with BERT.** The pretrained model gives back one vector per token (384 numbers for the bundled BERT,
   768 for BERT-base). {POOLED.get(_defaults.pooling, POOLED["mean"])}.
3. **One new layer.** A dense layer maps that sentence vector to one score per label (384 × 8 weights + 8 biases
   for the 8 cancellation reasons); softmax turns the scores into probabilities that add up to 1.
   {HEAD_START.get(_defaults.head_init, "")}
4. **Run the frozen part once.** {frozen_part} keep their pretrained numbers by default (*Freeze*, below; the
   bundled BERT has 6 layers), so what they make of a sentence never changes: it is computed once, before the
   first step, and every step runs only the layers above. Same numbers, less work: that is how the demo trains
   in seconds on a laptop CPU.
5. **Learn.** Exactly the loop from chapter 1: predict a batch, measure the error (cross-entropy),
   nudge every weight a little to make it smaller (AdamW), next batch. One pass over all the sentences is an
   **epoch**; the demo runs {_defaults.epochs}.
6. **Check on sentences it never saw.** After every epoch the model reads a *different file*. Training accuracy
   says how well it fits what it studied; evaluation accuracy says how well it generalises — in the talk, 98% vs 90%.
        """
    )


# --------------------------------------------------------------------------- 1 · data

st.header("1 · The data")
data = ch3_data.choose_data()


# --------------------------------------------------------------------------- 2 · model & knobs

st.header("2 · The model and its knobs")
col_model, col_a, col_b, col_c = st.columns([1.5, 1, 1, 1])
with col_model:
    model_folder = ss.get("ch3_model_folder")  # tests put a tiny BERT's folder here
    if model_folder:
        model_id = model_folder
        st.caption(f"Model folder: `{model_folder}`")
    else:
        model_id = bert.model_picker(key="ch3_model", label="Pretrained model")
    freeze = st.selectbox("Freeze (keep as pretrained)", list(ft.FREEZE_CHOICES), key="ch3_freeze",
                          format_func=lambda choice: FREEZE_LABELS.get(choice, choice),
                          help="nothing: train every weight. embeddings: keep the token table as pretrained "
                               "(faster). encoder: train only the new layer on top.")
    freeze_layers = st.number_input(
        "…and the lowest layers", 0, 23, key="ch3_freeze_layers", disabled=freeze != "embeddings",
        help="These transformer layers keep their pretrained numbers too. Frozen layers give the same "
             "output every epoch, so it is computed once, before training: each step only runs the layers "
             "above them. The top layer always learns.")
with col_a:
    epochs = st.slider("Epochs", 1, 20, key="ch3_epochs",
                       help="One epoch = every training sentence seen once.")
    batch_size = st.select_slider("Batch size", BATCH_SIZES, key="ch3_batch",
                                  help="Sentences per step. The talk went from 64 down to 16 and generalised better.")
with col_b:
    learning_rate = st.select_slider(
        "Learning rate", LEARNING_RATES, key="ch3_lr", format_func=lambda v: f"{v:g}",
        help="How big a nudge each step gives the weights. Too big and it stops learning (or the loss explodes).")
    max_length = st.select_slider("Max length (tokens)", MAX_LENGTHS, key="ch3_max_length",
                                  help="Longer sentences are cut here.")
with col_c:
    seed = st.number_input("Seed", 0, 10_000, key="ch3_seed",
                           help="Same seed, same data, same settings: the same run.")
    early = st.toggle("Early stopping", key="ch3_early",
                      help="Stop when evaluation accuracy hasn't improved for a few epochs; keep the best epoch.")
    patience = st.number_input("Patience (epochs)", 1, 10, key="ch3_patience") if early else None

config = ft.FinetuneConfig(
    model_id=model_id, epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
    max_length=int(max_length), seed=int(seed), freeze=freeze, freeze_layers=int(freeze_layers),
    early_stopping_patience=int(patience) if early else None,
)

job = ss.get("ch3_job")
busy = job is not None and not job.snapshot().finished


def start_finetune(train, evaluation, config: ft.FinetuneConfig) -> None:
    """Check everything a user can get wrong here, then queue the job and return."""
    problems = config.problems()
    if problems:
        friendly_error(problems[0])
        return
    try:
        ft.check_data(train, evaluation)
    except ft.FinetuneError as error:
        friendly_error(str(error))
        return
    number = ss.get("ch3_run_count", 0) + 1
    name = f"Run {number} · batch {config.batch_size} · lr {config.learning_rate:g} · {config.epochs} ep"

    # A partial of core's function, not a function defined here: a function of this page
    # would hold the page's globals, and through them the previous job and its model.
    work = functools.partial(ft.finetune, train, evaluation, config)
    try:
        new_job = jobs.submit(work, meta={"name": name, "short": f"Run {number}", "epochs": config.epochs},
                              owner=live.session_id(), priority=live.is_speaker())
    except jobs.QueueFull as full:
        friendly_error(str(full))
        return
    ss["ch3_run_count"] = number
    replay.discard("ch3")
    live.stop_when_tab_closes("ch3_finetune", new_job)
    ss["ch3_job"] = new_job
    ss.pop("ch3_notice", None)
    st.rerun()


start_col, replay_col, note_col = st.columns([1.3, 2.2, 1.5], vertical_alignment="center")
with start_col:
    start = st.button("Start fine-tuning", key="ch3_start", type="primary", icon=":material/play_arrow:",
                      disabled=busy or data is None, width="stretch")
with replay_col:
    replay.controls("ch3", recording.SHIPPED_FILES[recording.FINETUNE], disabled=busy)
with note_col:
    if data is not None:
        st.markdown(f"**{len(data.train.texts)}** training sentences, **{len(data.eval.texts)}** evaluation "
                    f"sentences, **{len(data.labels)}** labels; "
                    f"{config.epochs} epochs × {-(-len(data.train.texts) // config.batch_size)} steps.")
if start and data is not None and not busy:
    start_finetune(data.train, data.eval, config)


# --------------------------------------------------------------------------- 3 · live


def draw_status(snap: jobs.JobSnapshot, job: jobs.Job) -> None:
    if snap.status == jobs.QUEUED:
        ahead = snap.position - 1
        st.progress(0.0, text=f"Queued: {'you are next' if ahead == 0 else f'{ahead} fine-tune(s) ahead of yours'}. "
                              "This server trains one model at a time.")
        st.button("Cancel", key="ch3_cancel", on_click=job.stop, icon=":material/close:")
        return
    if snap.status == jobs.RUNNING:
        last = snap.last_step
        if last is None:
            st.progress(0.0, text="Loading the pretrained model, tokenizing, running the frozen layers "
                                  f"once… ({duration(snap.running_seconds)})")
        else:
            text = (f"Step {last.step} of {last.total_steps} · epoch {last.epoch} of {job_epochs(job)} · "
                    f"loss {last.loss:.3f} · {last.examples_per_second:.{0 if last.examples_per_second >= 10 else 1}f} sentences/s · "
                    f"about {duration(last.eta)} left")
            st.progress(min(1.0, last.step / last.total_steps), text=text)
        if snap.stop_requested:
            st.caption("Stopping after this step…")
        else:
            st.button("Stop", key="ch3_stop", on_click=job.stop, icon=":material/stop:",
                      help="Stops at the next step and keeps everything learned so far.")


def job_epochs(job: jobs.Job) -> int:
    return job.meta.get("epochs", "?")


def draw_charts(snap: jobs.JobSnapshot, name: str) -> None:
    others = [run for run in ss["ch3_runs"] if run["name"] != name]
    left, right = st.columns(2)
    with left:
        compare = None
        if others:
            choice = st.selectbox("Compare with an earlier run", ["(none)"] + [run["name"] for run in others],
                                  key="ch3_compare")
            compare = next(((run["short"], run["epochs"]) for run in others if run["name"] == choice), None)
        figures = ss.setdefault("_ch3_figures", {})
        if snap.epochs or compare:
            charts.show_cached(figures, "ch3_epoch_chart", (name, len(snap.epochs), compare and compare[0]),
                               lambda: ch3_charts.accuracy_by_epoch(snap.epochs, compare), height=420)
        else:
            st.info("Training vs evaluation accuracy appears here after the first epoch.")
    with right:
        if snap.steps:
            charts.show_cached(ss.setdefault("_ch3_figures", {}), "ch3_step_chart", (name, len(snap.steps)),
                               lambda: ch3_charts.training_steps(snap.steps), height=420)


def live_panel() -> None:
    job = replay.current("ch3") or ss.get("ch3_job")
    if job is None:
        st.info("Press **Start fine-tuning** to train. Training runs in the background: "
                "you can visit other pages and come back.")
        return

    def draw(snap, running):
        st.subheader(job.meta["name"])
        draw_status(snap, job)
        draw_charts(snap, job.meta["name"])

    replay.watch(job, draw)


with st.container(key="ch3_training"):  # in presenter mode drawn right under Start (ui/stage.FOLLOWS)
    st.header("3 · Training")
    notice = ss.get("ch3_notice")
    if notice:
        {"error": st.error, "warning": st.warning}.get(notice[0], st.info)(notice[1])
    live_panel()


# --------------------------------------------------------------------------- 4 · results

replayed = replay.finished("ch3")
if replayed is not None:
    ch3_results.replay_section(replayed)
else:
    ch3_results.results_section(data)
