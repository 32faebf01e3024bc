"""Chapter 5 · Where labels come from: the ways to get them, and a labelling game that spends them well."""

import pandas as pd
import streamlit as st

from core import labelling
from ui import ch5, ch5_charts, charts, settings
from ui.messages import friendly_error

ss = st.session_state
GAME = "ch5_game"
STRATEGY_NAMES = {"margin": "least sure first (smallest gap between the top two)",
                  "least confident": "least confident first (lowest top probability)", "random": "at random"}
DEFAULTS = {"ch5_labels_strategy": "margin"}


def pool_and_curves():
    pool = labelling.load_pool()
    return pool, labelling.compare_strategies(pool, ("margin", "random"), range(5))


def new_game(pool) -> None:
    ss[GAME] = labelling.new_game(pool, ss["ch5_labels_strategy"], seed=0)
    ss.pop("ch5_game_prefill", None)


def prefill_with_dataset(pool, state) -> None:
    """The presenter's shortcut: the dataset's own labels in every row (edit any before retraining)."""
    ss["ch5_game_prefill"] = (len(state.history), {i: pool.true_labels[i] for i in state.picked})


def play(pool, curves, game_col, chart_col) -> None:
    state = ss.get(GAME)
    if state is None:
        new_game(pool)
        state = ss[GAME]

    with game_col:
        current = state.history[-1]
        st.markdown(f"**{current[0]} labels so far → {current[1]:.1%}** on 160 unseen sentences. Label the "
                    f"{len(state.picked)} sentences it picked ({STRATEGY_NAMES[state.strategy].split(' (')[0]}), "
                    "then retrain.")
        buttons = st.container()      # above the sentences, so they are on the first screen; filled below
        round_ = len(state.history)
        prefill_round, prefill = ss.get("ch5_game_prefill", (None, {}))
        answers = prefill if prefill_round == round_ else {}
        edited = st.data_editor(
            pd.DataFrame({"sentence": [pool.texts[i] for i in state.picked],
                          "your label": [answers.get(i) for i in state.picked]}),
            key=f"ch5_game_editor_{round_}_{bool(answers)}", hide_index=True, width="stretch", disabled=["sentence"],
            column_config={"sentence": st.column_config.TextColumn(width=300),
                           "your label": st.column_config.SelectboxColumn(options=list(pool.labels), width=130)})
        go, fill, again = buttons.columns(3)
        if go.button("Retrain", key="ch5_game_retrain", type="primary", icon=":material/model_training:",
                     width="stretch", help="Retrain on my labels"):
            given = {row: label for row, label in zip(state.picked, edited["your label"]) if isinstance(label, str)}
            try:
                ss[GAME] = labelling.submit_labels(pool, state, given)
                st.rerun()
            except labelling.LabellingError as error:
                friendly_error(f"{error} Nothing was lost: label a sentence with the drop-down in its row.")
        fill.button("Fill in", key="ch5_game_fill", on_click=prefill_with_dataset, args=(pool, state), width="stretch",
                    icon=":material/edit_note:",
                    help="For a demo: the labels the dataset's authors gave; change any before retraining.")
        again.button("New game", key="ch5_game_new", on_click=new_game, args=(pool,), icon=":material/restart_alt:",
                     width="stretch")

    with chart_col:
        charts.show(ch5_charts.labelling_curves(curves, list(state.history)), key="ch5_labels_chart", height=380,
                    title="Accuracy against labels paid for")
        if state.retrain_seconds:
            st.caption(f"The last retrain took {1000 * state.retrain_seconds:.0f} ms (measured here): a logistic "
                       "regression on BERT vectors computed once. The dotted and red curves are the same game played "
                       "with the dataset's labels, averaged over 5 starts.")
        st.radio("Next game picks sentences", list(STRATEGY_NAMES), format_func=STRATEGY_NAMES.get,
                 key="ch5_labels_strategy", horizontal=False)

    disagreed = state.disagreements(pool)
    if disagreed:
        st.caption(f"You and the dataset disagree on {len(disagreed)} sentence(s): labels are opinions too.")
        st.dataframe(pd.DataFrame([{"sentence": pool.texts[i], "you said": mine, "the dataset says": theirs}
                                   for i, mine, theirs in disagreed]), hide_index=True, key="ch5_game_disagreed")


st.title("Where labels come from")
st.markdown("#### Labels cost a person's time. Spend it on the sentences the model is least sure of.")
settings.keep(DEFAULTS, allowed={"ch5_labels_strategy": STRATEGY_NAMES})

game_col, chart_col = st.columns([1.35, 1])
with chart_col:
    ready = ch5.computed(("labels", "shipped"), "Embedding the 560 shipped sentences with BERT for the game",
                         pool_and_curves)
if ready is None:
    with game_col:
        st.info("The game starts when BERT has read the sentences (a few seconds, once per server).",
                icon=":material/hourglass_top:")
else:
    play(*ready, game_col, chart_col)

# ---------------------------------------------------------------- the sources
st.header("Four places labels come from")
hand, later, para, model = st.columns(4)
hand.markdown("**By hand.** People read and label, paid for it (the interview mentions Amazon's Mechanical "
              "Turk), or as a side effect: Google's captchas get you to label their images. The best ML companies, "
              "it says, get their data labelled without much effort.")
later.markdown("**Later, by what happens.** Fraud labels arrive when a card holder reports a charge they never "
               "made, long after the model scored it (a charge-back). Until then the label is unknown; see the "
               "fraud page.")
with para:
    st.markdown("**More of the same, reworded.** Paraphrases add rows cheaply, but not new information: chapter 4's "
                "first lesson measures how much less they are worth than new sentences.")
    st.page_link("pages/ch4_diverse.py", label="Lesson 1: diverse data", icon=":material/diversity_3:")
model.markdown("**From a bigger model.** For a text problem, the interview suggests letting a large model such as "
               "GPT-4 label, possibly cheaper and better than some hand labellers, then bootstrapping a small model "
               "from those labels. Check a sample by hand: its mistakes become yours.")
