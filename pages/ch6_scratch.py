"""Chapter 6 · Pretrained vs from scratch: the same loop, data and time budget, from random numbers
and from pretrained ones."""

import functools

import streamlit as st

from core import jobs, pretraining
from ui import ch6, ch6_charts, charts, settings
from ui.formats import percent

ss = st.session_state
DEFAULTS = {"ch6_scratch_epochs": 4, "ch6_scratch_seconds": 25}
ALLOWED = {"ch6_scratch_epochs": range(1, pretraining.MAX_EPOCHS + 1),
           "ch6_scratch_seconds": range(5, int(pretraining.MAX_SECONDS_EACH) + 1)}
RUN = ch6.Run("ch6_scratch", "Pretrained vs from scratch", kind=jobs.FINETUNE)
CHANCE = 1 / 8


def recorded() -> dict | None:
    """What the page shows before any live run: the shipped result. (A replay of the
    recording, epoch by epoch, can hook in here.)"""
    return pretraining.load_recorded()


def conclusion(result: dict) -> str:
    arms = result["arms"]
    if not {"pretrained", "random"} <= set(arms):
        return "Only one of the two starts ran, so there is nothing to compare yet."
    pre, scratch = arms["pretrained"]["eval_accuracy"], arms["random"]["eval_accuracy"]
    return (f"Same code, same {result['settings']['train_sentences']} training sentences, same settings: from "
            f"pretrained numbers **{percent(pre)}** on the {result['settings']['eval_sentences']} unseen sentences, "
            f"from random numbers **{percent(scratch)}** (chance: {percent(CHANCE)}). Pretraining on a lot of text "
            "is what taught BERT what words mean; four hundred sentences can't teach that from nothing.")


st.title("Pretrained vs from scratch")
st.markdown("#### One training loop, started twice: from BERT's pretrained numbers, and from random ones.")
settings.keep(DEFAULTS, allowed=ALLOWED)

chart_col, side_col = st.columns([1.4, 1])
with side_col:
    ch6.interview("If you're using a pretrained model, ... you would pass your pretrained parameters into that run. "
                  "Whereas if you're dealing with just training a model from scratch, you would pass an empty map "
                  "because you don't have any parameters to start with.", "46:27")
    epochs = st.slider("Epochs (each start)", 1, pretraining.MAX_EPOCHS, key="ch6_scratch_epochs")
    seconds = st.slider("Time budget per start (s)", 5, int(pretraining.MAX_SECONDS_EACH), key="ch6_scratch_seconds")
    st.button("Start both (live, up to a minute)", key="ch6_scratch_start", type="primary",
              icon=":material/play_arrow:", disabled=RUN.busy(),
              on_click=RUN.start, args=(functools.partial(pretraining.compare_job, epochs, seconds, 0),))

with chart_col:
    def live_curves(snap, running):
        if running:
            arms = {}
            for point in snap.epochs:
                arms.setdefault(point["arm"], {"curve": []})["curve"].append(point)
            charts.show(ch6_charts.accuracy_curves(arms, pretraining.ARM_TITLES, CHANCE), key="ch6_scratch_live",
                        height=380)
            st.caption(f"Training live: {snap.running_seconds:.0f} s; first from pretrained numbers, then from random.")

    RUN.watch(live_curves)
    result, source = (RUN.result, "measured live just now") if RUN.result else (recorded(), None)
    if result and not RUN.busy():
        if source is None:
            where = result.get("measured", {})
            source = f"recorded {where.get('when', '')} on {where.get('where', 'this kind of machine')}"
        charts.show(ch6_charts.accuracy_curves(result["arms"], pretraining.ARM_TITLES, CHANCE), key="ch6_scratch_chart",
                    height=380)
        st.caption(f"Result {source}. Every layer trains in both; learning rate "
                   f"{result['settings']['learning_rate']:g}, seed {result['settings']['seed']}.")
        st.markdown(conclusion(result))
    elif not result and not RUN.busy():
        st.info("No recorded result ships with this copy; press Start to measure it.")
