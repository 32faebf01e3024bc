"""Chapter 5 · A model competition: every model on the same split, scored on what a business pays for."""

import dataclasses
import functools

import pandas as pd
import streamlit as st

from core import banking77, compete, rules
from core.compete_arms import human_bytes
from ui import ch5, ch5_charts, charts, settings
from ui.ch3_data import shipped, uploaded_data
from ui.messages import friendly_error

ss = st.session_state
SHIPPED, BANKING, UPLOAD = "The shipped cancellation reasons", "BANKING77 (77 banking intents)", "My own CSV files"
SOURCES = (SHIPPED, BANKING, UPLOAD)
TEST_SIZES = {7: "7 per intent (539, seeded)", 0: "all 3,080"}
SORTS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "worst_recall": "worst-class recall",
         "fit_seconds": "fit seconds", "ms_per_prediction": "ms per prediction", "size_bytes": "size on disk"}
DEFAULTS = {"ch5_compete_source": SHIPPED, "ch5_compete_min": 0.90, "ch5_compete_sort": "accuracy",
            "ch5_compete_k": 10, "ch5_compete_test": 7}


@st.cache_data(show_spinner="Fitting the models that need no BERT…", max_entries=16)
def classic_board(train, test, test_name: str, rules_text: str) -> compete.Leaderboard:
    """Majority, keyword rules (the visitor's, from the Rules page), TF-IDF and the tree: under a second."""
    try:
        keyword_rules = rules.parse_rules(rules_text) if set(train.label_names) <= set(rules.LABELS) else None
    except rules.RulesError:
        keyword_rules = None   # the Rules page says what is wrong; here the shipped rules stand in
    arms = [a for a in compete.ARMS if a not in compete.EMBEDDING_ARMS]
    return compete.run_competition(train, test, arms=arms, rules=keyword_rules, recorded=False, test_name=test_name)


@st.cache_data(show_spinner=False, max_entries=6)
def banking77_split(per_label: int, test_per_label: int):
    return compete.banking77_data(per_label, test_per_label or None, seed=0)


def finetuned_row(train, test, labels) -> tuple[list, list]:
    """([this session's fine-tuned BERT, scored in a background job], []), or ([the recorded
    run], []), or ([], [why it sits out]). None of them: the row is still being scored."""
    trained = ss.get("finetuned")
    if trained is None:
        recorded = compete.recorded_arm(test, train=train)
        if recorded:
            return [recorded], []
        if len(train.label_names) == banking77.INTENTS:
            return [], [f"No fine-tuned BERT row here: none was recorded on these very sentences. For scale, "
                        f"{compete.BANKING77_FINETUNED}."]
        return [], ["No fine-tuned BERT was recorded on these very sentences: fine-tune one in chapter 3 "
                    "on the same data and it joins this table."]
    missing = [label for label in test.label_names if label not in trained.labels]
    if missing:
        return [], [f'{trained.name} does not know the label "{missing[0]}", so it sits this one out.']
    row = ch5.computed(("compete_ft", id(trained.model), trained.name, ch5.shipped_key(test)),
                       f"Scoring {trained.name} on the same {len(test):,} sentences",
                       functools.partial(compete.finetuned_arm, trained, test, labels), shared=False)
    return ([row] if row else []), []


def table(rows, pick_key):
    return pd.DataFrame([{
        "pick": "★" if r.key == pick_key else "", "model": r.name + (" (recorded)" if r.recorded and "recorded" not in r.name else ""),
        "accuracy": 100 * r.accuracy, "macro-F1": r.macro_f1, "worst-class recall": 100 * r.worst_recall,
        "fit s": r.fit_seconds, "ms / prediction": r.ms_per_prediction, "size (MB)": r.size_bytes / 2**20,
        "worst class": r.worst_class, "note": r.note} for r in rows])


def chosen_data(source: str):
    """(train, test, test name, shipped or seeded data?) or None, with the reason on the page."""
    if source == SHIPPED:
        return shipped("train"), shipped("eval"), "eval", True
    if source == BANKING:
        k_col, test_col = st.columns(2)
        per_label = k_col.select_slider("Training sentences per intent", (5, 10, 20), key="ch5_compete_k")
        test_size = test_col.radio("Test on", list(TEST_SIZES), format_func=TEST_SIZES.get, key="ch5_compete_test",
                                   horizontal=True)
        train, test, name = banking77_split(per_label, int(test_size))
        st.caption(f"BANKING77 (PolyAI, CC BY 4.0): {per_label} questions of each of 77 intents drawn at random "
                   "(seed 0), as in the paper's few-shot setting; its published fine-tuned BERT-Large scored 83.4% "
                   "with 10 per intent on the whole test set.")
        return train, test, name, True
    chosen = uploaded_data()
    if chosen is None:
        st.info("Upload a training CSV (the same checks as chapter 3); without a test file, a stratified "
                "share of it is held out.", icon=":material/upload_file:")
        return None
    try:
        compete.check_split(chosen.train, chosen.eval)
    except compete.CompetitionError as error:
        friendly_error(f"{error} Your file is kept: fix it and upload it again, or choose another data set.")
        return None
    return chosen.train, chosen.eval, "your test sentences", False


def show_leaderboard(train, test, test_name: str, is_shipped: bool, min_accuracy: float, sort: str) -> None:
    try:
        board = classic_board(train, test, test_name, ss.get("ch5_rules_text", rules.DEFAULT_RULES_TEXT))
    except compete.CompetitionError as error:
        friendly_error(f"{error} Nothing was lost: choose other data or fix the file.")
        return
    pick_slot, table_slot, progress_slot = st.container(), st.container(), st.container()
    with progress_slot:
        embedded = ch5.computed(
            ("compete", ch5.shipped_key(train, test)),
            f"Embedding {len(train) + len(test):,} sentences with BERT for the two arms on its vectors",
            functools.partial(compete.run_competition, train, test, arms=compete.EMBEDDING_ARMS, recorded=False,
                              test_name=test_name),
            shared=is_shipped)
        bert_rows, why_not = finetuned_row(train, test, board.labels)
    board = dataclasses.replace(
        board, rows=board.rows + (embedded.rows if embedded else ()) + tuple(bert_rows),
        skipped=board.skipped + (embedded.skipped if embedded else ()) + tuple(why_not))
    pick = compete.cheapest_good_enough(board.rows, min_accuracy)

    with pick_slot:
        (st.success if pick else st.warning)(compete.pick_sentence(board.rows, min_accuracy),
                                             icon=":material/emoji_events:" if pick else ":material/warning:")
    with table_slot:
        st.dataframe(table(board.sorted_rows(sort), pick.key if pick else None), hide_index=True, key="ch5_compete_table",
                     column_config={
                         "pick": st.column_config.TextColumn("", width=30),
                         "model": st.column_config.TextColumn(width=190),
                         "accuracy": st.column_config.NumberColumn(format="%.1f%%", width=80),
                         "macro-F1": st.column_config.NumberColumn(format="%.3f", width=75),
                         "worst-class recall": st.column_config.NumberColumn(
                             "worst recall", format="%.0f%%", width=90,
                             help="Recall of the class this model gets right least often (named in 'worst class')"),
                         "fit s": st.column_config.NumberColumn(format="%.3f", width=60),
                         "ms / prediction": st.column_config.NumberColumn("ms/pred", format="%.4f", width=80,
                                                                          help="Milliseconds per prediction"),
                         "size (MB)": st.column_config.NumberColumn("MB", format="%.3f", width=70,
                                                                    help="Size on disk, in MB"),
                     })
        st.caption(f"{board.train_rows} training sentences, {board.test_rows} test ({board.test_name}); measured here, "
                   "on this machine, now, except rows marked recorded. Click a column to sort. Sizes are each model "
                   "serialized for real; the BERT arms carry BERT's "
                   f"{human_bytes(max((r.size_bytes for r in board.rows), default=0))} of weights, without which they "
                   "can't predict.")
    for sentence in board.skipped:
        st.info(sentence, icon=":material/info:")

    chart_col, text_col = st.columns([1.3, 1])
    with chart_col:
        charts.show(ch5_charts.leaderboard_scatter(board.rows, min_accuracy, pick.key if pick else None),
                    key="ch5_compete_chart", height=420, title="Accuracy against the cost of one prediction")
    with text_col:
        st.markdown(
            "**The interview's advice:** before paying for deep learning, run a competition of three to five models "
            "on your data and see which is best on accuracy and precision, and also which is cheapest and fastest; "
            "sometimes a rule or a simpler model beats the deep one outright. Here the business question is the "
            "slider: *how accurate is enough?* Everything above the dashed line is good enough; the star is the "
            "cheapest of those to run.")
        st.caption("Like PyCaret's `compare_models` grid and AutoGluon's leaderboard, the table reports fit and "
                   "prediction time beside the scores. The fine-tuned BERT is yours from chapter 3 when this session "
                   "trained one, else a recorded run of chapter 3's demo (labelled).")
        if board.tree_rules:
            with st.expander("The decision tree's first questions, as rules"):
                st.caption('A line such as "expensive <= 0.5" reads: the sentence does not contain "expensive".')
                st.code(board.tree_rules, language=None)


st.title("A model competition")
st.markdown("#### Same sentences for every model: which is good enough, and cheapest?")
settings.keep(DEFAULTS, allowed={"ch5_compete_source": SOURCES, "ch5_compete_min": settings.Between(0.5, 1),
                                 "ch5_compete_sort": SORTS, "ch5_compete_k": (5, 10, 20), "ch5_compete_test": TEST_SIZES})
source_col, min_col, sort_col = st.columns([1.2, 1.4, 1])
source = source_col.selectbox("Data", SOURCES, key="ch5_compete_source")
min_accuracy = min_col.slider("Good enough: minimum accuracy", 0.5, 1.0, step=0.01, key="ch5_compete_min",
                              format="%.2f")
sort = sort_col.selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="ch5_compete_sort")

data = chosen_data(source)
if data is not None:
    show_leaderboard(*data, min_accuracy, sort)
