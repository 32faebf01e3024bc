"""Chapter 3, section 1: choose the sentences to learn from and to be tested on.

The shipped cancellation reasons (8 labels named and ordered as in the talk's
repository toranb/elixirconf2023, a training file and a *different* evaluation
file), BANKING77 (77 banking intents, a few examples of each, evaluated on its own
test set), or your own CSV files: we show what is in them —
sentences per label, duplicates, empty rows, which columns we read — before
anything trains, because bad data was the talk's most expensive lesson.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import streamlit as st

from core import banking77, datasets
from ui import ch3_charts, charts
from ui.formats import as_text
from ui.messages import friendly_error

ss = st.session_state
SHIPPED = "Why customers cancel (shipped with the app)"
BANKING77 = "BANKING77 (77 banking intents)"
UPLOAD = "My own CSV files"
SOURCES = [SHIPPED, BANKING77, UPLOAD]
ALL = "all"
SHOTS = [ALL if k is None else k for k in banking77.FEW_SHOT_CHOICES]  # examples per intent
EVAL_ON = {"sample": f"a seeded sample of {banking77.EVAL_SAMPLE} test sentences (quicker)",
           "test": "the whole test set (3,080 sentences, as in the paper)"}
# ch3_finetune keeps these knobs (defaults and allowed values) with its others.
KNOBS = {"ch3_b77_shots": 10, "ch3_b77_eval": "sample"}
ALLOWED = {"ch3_b77_shots": SHOTS, "ch3_b77_eval": list(EVAL_ON)}
AUTO = "(detect)"


@dataclass
class ChosenData:
    train: datasets.LabelledTexts
    eval: datasets.LabelledTexts
    labels: list[str]
    note: str = ""


@st.cache_data(show_spinner=False)
def shipped(split: str) -> datasets.LabelledTexts:
    return datasets.load_shipped(split)


def choose_data() -> ChosenData | None:
    source = st.radio("Sentences", SOURCES, key="ch3_source", horizontal=True,
                      label_visibility="collapsed")
    if source == SHIPPED:
        chosen = ChosenData(shipped("train"), shipped("eval"), [],
                            "Two different files: no evaluation sentence is in the training file. The 8 labels and "
                            "their order (1 unknown … 7 price, 8 credit) are those of the talk's repository, "
                            "toranb/elixirconf2023 (priv/data/training.csv); the talk itself names price, "
                            "availability and response time. The sentences were written for this app.")
    elif source == BANKING77:
        chosen = banking77_data()
    else:
        chosen = uploaded_data()
        if chosen is None:
            return None
    if source != BANKING77:  # BANKING77 has its own "examples per intent"
        per_label = st.select_slider(
            "Quick demo: training sentences per label", [2, 5, 10, 20, ALL], key="ch3_per_label",
            help="Fewer sentences train in seconds (good on stage); 'all' is the real run.")
        if per_label != ALL:
            chosen.train = datasets.first_per_label(chosen.train, int(per_label))
    chosen.labels = list(chosen.train.label_names)
    counts_col, text_col = st.columns([2, 1])
    with counts_col:
        charts.show(ch3_charts.class_counts(chosen.train.class_counts(), chosen.eval.class_counts()),
                 key="ch3_counts", height=340)
    with text_col:
        st.metric("Training sentences", len(chosen.train))
        st.metric("Evaluation sentences", len(chosen.eval))
        if chosen.note:
            st.caption(chosen.note)
    return chosen


# --------------------------------------------------------------------------- BANKING77


@st.cache_data(show_spinner=False, max_entries=8)
def banking77_split(shots, evaluate_on: str) -> tuple[datasets.LabelledTexts, datasets.LabelledTexts]:
    """`shots` random training sentences of every intent (seed 0) and the test set or its seeded sample."""
    train = banking77.few_shot(banking77.load("train"), None if shots == ALL else int(shots), seed=0)
    test = banking77.load("test")
    return train, test if evaluate_on == "test" else banking77.sample(test, banking77.EVAL_SAMPLE, seed=0)


def banking77_data() -> ChosenData:
    """BANKING77 the way its paper uses it: k examples of every intent to learn from,
    its own test set (or a seeded sample, so a live run stays short) to be scored on."""
    left, right = st.columns(2)
    shots = left.select_slider("Examples per intent", SHOTS, key="ch3_b77_shots",
                               help="The paper's few-shot setting is 10 of each of the 77 intents (770 sentences); "
                                    "'all' is the whole training file (10,003, a long run).")
    evaluate_on = right.radio("Evaluate on", list(EVAL_ON), format_func=EVAL_ON.get, key="ch3_b77_eval")
    train, evaluation = banking77_split(shots, evaluate_on)
    st.caption(f"Online-banking questions from [PolyAI]({banking77.SOURCE_URL}), under "
               f"[CC BY 4.0]({banking77.LICENCE_URL}): {banking77.ATTRIBUTION} "
               "Published accuracy with 10 examples per intent, on the whole test set: " +
               ", ".join(f"{name} {score:.1f}%" for name, score in banking77.PUBLISHED.items()) + ".")
    with st.expander("BANKING77's dataset card"):
        st.markdown(banking77.card())
    how = "all its sentences" if shots == ALL else f"{shots} random sentences of every intent (seed 0)"
    return ChosenData(train, evaluation, [], f"Training: {how}. Evaluation: the separate test file"
                      + ("." if evaluate_on == "test" else f", {banking77.EVAL_SAMPLE} of its sentences (seed 0)."))


# --------------------------------------------------------------------------- uploads


def uploaded_data() -> ChosenData | None:
    """Your own training CSV (and optionally an evaluation CSV), checked and described.
    Returns None, with a message on the page, when they can't be trained on."""
    st.caption("A CSV with a sentence column (text, sentence, utterance, …) and a label column "
               "(label, category, intent, …), or the talk's headerless `label,text` rows. UTF-8, up to "
               f"{datasets.MAX_BYTES // 2**20} MB and {datasets.MAX_ROWS:,} rows.")
    left, right = st.columns(2)
    with left:
        train_report = upload_and_inspect("train", "Training CSV")
    with right:
        eval_report = upload_and_inspect("eval", "Evaluation CSV (optional)", min_labels=1, min_rows_per_label=1)
    if train_report is None:
        return None
    train = train_report.data
    if ss.get("ch3_upload_eval") is None:
        share = st.slider("No evaluation file: hold out this share of every label for evaluation (%)",
                          10, 50, step=5, key="ch3_eval_share")
        try:
            train, evaluation = datasets.stratified_split(train, share / 100, seed=0)
        except datasets.DatasetError as error:
            friendly_error(str(error))
            return None
        return ChosenData(train, evaluation, [], f"{share}% of every label held out (stratified split, seed 0).")
    if eval_report is None:
        return None
    try:
        train, evaluation = datasets.align_labels(train, eval_report.data)
    except datasets.DatasetError as error:
        friendly_error(str(error))
        return None
    leaked = datasets.shared_texts(train, evaluation)
    if leaked:
        st.warning(f"{len(leaked)} evaluation sentence(s) also appear in the training file, e.g. "
                   f"\"{as_text(leaked[0])}\": evaluation accuracy will look better than it really is.")
    return ChosenData(train, evaluation, [], "Labels are matched by name across the two files.")


def upload_and_inspect(kind: str, label: str, **limits) -> datasets.CsvReport | None:
    """One file uploader, remembered across pages, with what the file holds below it."""
    key, stored_key = f"ch3_{kind}_csv", f"ch3_upload_{kind}"
    nonce = ss.get(f"{key}_nonce", 0)
    upload = st.file_uploader(label, type=["csv", "txt", "tsv"], key=f"{key}_{nonce}",
                              max_upload_size=datasets.MAX_BYTES // (1024 * 1024))
    if upload is not None:
        # A new file: keep its bytes (at most the limit) and detect its columns afresh;
        # then empty the uploader, so Streamlit holds no second copy for the tab's life.
        ss[stored_key] = {"id": upload.file_id, "name": upload.name, "raw": upload.getvalue()[: datasets.MAX_BYTES + 1]}
        ss.pop(f"ch3_{kind}_text_col", None)
        ss.pop(f"ch3_{kind}_label_col", None)
        ss[f"{key}_nonce"] = nonce + 1
        st.rerun()
    stored = ss.get(stored_key)
    if stored is None:
        return None
    if upload is None:
        st.caption(f"Using **{as_text(stored['name'])}**.")
        if st.button("Forget this file", key=f"ch3_forget_{kind}"):
            ss.pop(stored_key, None)
            st.rerun()
    # The pickers' values are read before the pickers are drawn: a change reruns the
    # page, and the file is then read with the chosen columns.
    chosen = [ss.get(f"ch3_{kind}_{what}_col", AUTO) for what in ("text", "label")]
    text_col, label_col = [None if c == AUTO else c for c in chosen]
    source = io.BytesIO(stored["raw"])
    source.name = stored["name"]  # messages name the file
    try:
        report = datasets.inspect_csv(source, text_column=text_col, label_column=label_col, **limits)
    except datasets.DatasetError as error:
        friendly_error(str(error))
        report = None
    if report is None or report.has_header:
        column_pickers(kind, header_cells(stored["raw"]))
    if report is not None:
        describe(report)
    return report


def header_cells(raw: bytes) -> list[str]:
    """The first row's cells, for the column pickers; [] when it can't be read."""
    try:
        first = raw.decode("utf-8-sig").splitlines()[0]
        delimiter = "," if "," in first else next((d for d in ";\t|" if d in first), ",")
        return [cell.strip() for cell in next(csv.reader([first], delimiter=delimiter))]
    except (UnicodeDecodeError, IndexError, StopIteration, csv.Error):
        return []


def column_pickers(kind: str, columns: list[str]) -> None:
    """'(detect)' by default: the chance to correct which columns were used."""
    if len(columns) < 2:
        return
    a, b = st.columns(2)
    a.selectbox("Sentence column", [AUTO, *columns], key=f"ch3_{kind}_text_col")
    b.selectbox("Label column", [AUTO, *columns], key=f"ch3_{kind}_label_col")


def describe(report: datasets.CsvReport) -> None:
    """What is in the file: rows, columns used, and anything worth a second look."""
    counts = report.class_counts
    st.markdown(f"**{len(report.data)}** sentences, **{len(counts)}** labels "
                f"(smallest: {min(counts.values())}, largest: {max(counts.values())}). "
                f"{report.describe_columns()}")
    notes = report.warnings()
    for note in notes:
        st.warning(note)
    if not notes and report.near_duplicates_checked:
        st.caption("No empty rows, no duplicates, no near-duplicates.")
    pairs = duplicate_pairs(report)
    if pairs:
        with st.expander(f"Show the {len(pairs)} duplicate / near-duplicate pair(s)"):
            st.dataframe(pairs, hide_index=True, width="stretch")


def duplicate_pairs(report: datasets.CsvReport, limit: int = 50) -> list[dict]:
    text_at = dict(zip(report.row_numbers, report.data.texts))
    label_at = dict(zip(report.row_numbers, report.data.labels))
    pairs = [(group[0], other, 1.0) for group in report.exact_duplicates for other in group[1:]]
    pairs += list(report.near_duplicates)
    return [{"row": a, "sentence": text_at[a], "label": label_at[a], "similar row": b,
             "similar sentence": text_at[b], "its label": label_at[b], "similarity": similarity}
            for a, b, similarity in pairs[:limit]]
