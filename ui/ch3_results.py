"""Chapter 3, section 4: what the fine-tuned model learned, and keeping it.

Drawn from st.session_state only ("ch3_result": the latest run that learned
something; "ch3_loaded": a model loaded back from a zip), so it survives
reruns, failed runs and trips to other pages.
"""

from __future__ import annotations

import streamlit as st

from core import finetune as ft
from core.trained import TrainedModel
from ui import ch3_charts, charts
from ui.formats import as_text, duration, millions, percent
from ui.messages import friendly_error

ss = st.session_state
TRY_DEFAULT = "Honestly it just costs way more than I want to pay"


def results_section(data=None) -> None:
    st.header("4 · What the model learned")
    result = ss.get("ch3_result")
    if result is None and ss.get("ch3_loaded") is None:
        st.info("After a run (or after loading a saved model below) this section shows the confusion matrix, "
                "per-label scores, the sentences the model got wrong and a box to try your own sentence.")
    if result is not None:
        scoreboard(result)
        if result.eval_predictions is not None:
            mistakes_and_scores(result.labels, result.eval_predictions)
    save_and_load(result, data)
    try_it()


def replay_section(result) -> None:
    """The end of a replay: the recorded run's scores, confusion matrix and per-label
    scores, drawn as a live run's are. A recording keeps no weights: nothing to try."""
    st.header("4 · What the model learned")
    result.run_name = "The recorded run (replay)"
    scoreboard(result)
    if result.eval_predictions is not None:
        mistakes_and_scores(result.labels, result.eval_predictions)
    st.info("A replay shows the recorded run's numbers, but it has no model: *Try it*, the download and the "
            "other chapters need a run of your own. Press **Start fine-tuning**, or **Close replay** to see "
            "your last model again.", icon=":material/info:")


def what_learned_sentence(result) -> str:
    """'5.5M of 22.7M numbers learned: layers 4–6, the pooler and the new layer on top. ...'"""
    if not getattr(result, "total_parameters", 0):
        return ""
    total, frozen = result.total_layers, result.frozen_layers
    share = f"{millions(result.trainable_parameters)} of {millions(result.total_parameters)} numbers learned"
    if result.config.freeze == "encoder":
        return f"{share}: only the new layer on top; all of BERT kept its pretrained numbers."
    if result.config.freeze == "none":
        return f"{share}: every layer, the embeddings included."
    if frozen == 0:
        return (f"{share}: all {total} layers, the pooler and the new layer on top; the embeddings kept "
                "their pretrained numbers.")
    layers = f"layer {frozen + 1}" if frozen + 1 == total else f"layers {frozen + 1}–{total}"
    kept = "layer 1" if frozen == 1 else f"layers 1–{frozen}"
    once = (", so their output was computed once, before the first step"
            if getattr(result, "frozen_ran_once", False) else "")
    return (f"{share}: {layers}, the pooler and the new layer on top. The embeddings and {kept} kept their "
            f"pretrained numbers{once}.")


def scoreboard(result) -> None:
    st.subheader(getattr(result, "run_name", "Latest run"))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Training accuracy", percent(result.train_accuracy),
              help="Measured on the batches while they were being learned.")
    c2.metric("Evaluation accuracy", percent(result.eval_accuracy),
              help="On a different set of sentences the model never trained on.")
    c3.metric("Time (incl. model load)", duration(result.seconds))
    c4.metric("Sentences per second", f"{result.examples_per_second:.{0 if result.examples_per_second >= 10 else 1}f}",
              help="Training throughput, not counting the model load and the evaluations.")
    what_learned = what_learned_sentence(result)
    if what_learned:
        st.caption(what_learned)
    if result.train_accuracy is not None and result.eval_accuracy is not None:
        gap = 100 * (result.train_accuracy - result.eval_accuracy)
        if gap > 0:
            st.markdown(
                f"The model scores **{percent(result.train_accuracy)}** on what it studied but "
                f"**{percent(result.eval_accuracy)}** on sentences it has never seen — a gap of "
                f"**{gap:.1f} points**. The talk saw the same thing (98% vs 90%): the evaluation number, "
                "from a different file, is the one that tells you how it will do on real customers."
            )
        else:
            st.markdown(
                f"Evaluation accuracy (**{percent(result.eval_accuracy)}**) is not below training accuracy "
                f"(**{percent(result.train_accuracy)}**, averaged over the epoch while the weights were "
                "still changing). With more epochs the model usually fits its training sentences better than "
                "new ones; the evaluation number is the one that counts."
            )


def scorecard(labels, predictions):
    """(confusion matrix as lists, per-label precision/recall/F1 table) from scikit-learn."""
    import pandas as pd
    from sklearn.metrics import classification_report, confusion_matrix

    matrix = confusion_matrix(predictions.y_true, predictions.y_pred, labels=list(labels)).tolist()
    report = classification_report(predictions.y_true, predictions.y_pred, labels=list(labels),
                                   output_dict=True, zero_division=0)
    rows = {name: report[name] for name in [*labels, "macro avg", "weighted avg"] if name in report}
    table = pd.DataFrame(rows).T[["precision", "recall", "f1-score", "support"]]
    table["support"] = table["support"].astype(int)
    return matrix, table


def mistakes_and_scores(labels, predictions) -> None:
    import pandas as pd

    matrix, table = scorecard(labels, predictions)
    mistakes = predictions.mistakes()
    matrix_tab, scores_tab, mistakes_tab = st.tabs(
        ["Confusion matrix", "Precision / recall / F1", f"Mistakes ({len(mistakes)})"])
    with matrix_tab:
        charts.show(ch3_charts.confusion_matrix(list(labels), matrix), key="ch3_confusion", height=520)
        st.caption("Each row is what the sentence really was, each column what the model said: "
                   "the diagonal is right, everything else is a mix-up worth reading.")
    with scores_tab:
        st.dataframe(table.style.format({"precision": "{:.2f}", "recall": "{:.2f}", "f1-score": "{:.2f}"}),
                     width="stretch", height=38 * (len(table) + 1))
        st.caption("scikit-learn's classification report on the evaluation sentences. Precision: when it says "
                   "*price*, how often is it price? Recall: of the real *price* sentences, how many did it "
                   "find? F1 combines the two.")
    with mistakes_tab:
        if not mistakes:
            st.markdown("**It got every evaluation sentence right.**")
        else:
            st.dataframe(
                pd.DataFrame(mistakes, columns=["sentence", "true label", "model said", "confidence"]),
                column_config={"confidence": st.column_config.ProgressColumn(
                    "confidence", min_value=0.0, max_value=1.0, format="percent")},
                hide_index=True, width="stretch",
            )


def try_it() -> None:
    model = ss.get("finetuned")
    if model is None:
        return
    st.subheader("Try it")
    text = st.text_input("A reason a customer might give for cancelling", key="ch3_try")
    if not text.strip():
        st.warning("Type a sentence to see what the model makes of it.")
        return
    probs = ft.predict_proba(model.model, model.tokenizer, [text], model.labels)[0]
    best = max(probs, key=probs.get)
    st.markdown(f"The model says **{as_text(best)}** ({percent(probs[best])}).")
    charts.show(ch3_charts.probabilities(probs), key="ch3_try_chart", height=max(300, 45 * len(probs)))


def save_and_load(result, data) -> None:
    """Download the fine-tuned weights as a zip; load such a zip back (no pickle, ever)."""
    from core import model_io

    st.subheader("Keep it: save the weights, load them back")
    left, right = st.columns(2)
    with left:
        if result is not None:
            st.download_button(
                "Download the fine-tuned model (.zip)",
                data=lambda: model_io.download_zip_bytes(result),
                file_name="finetuned-bert.zip", mime="application/zip", on_click="ignore",
                key="ch3_download", icon=":material/download:",
            )
            st.caption("safetensors weights, config, tokenizer and label names: loads with transformers, "
                       "or back into this page.")
        else:
            st.caption("Train a model to download it.")
    with right:
        # The uploader is emptied as soon as its file is read (a new key), so Streamlit
        # does not keep a copy of the zip for as long as the tab stays open.
        nonce = ss.get("ch3_zip_nonce", 0)
        upload = st.file_uploader("Load a fine-tuned model (.zip)", type=["zip"], key=f"ch3_zip_{nonce}",
                                  max_upload_size=model_io.MAX_UPLOAD_BYTES // (1024 * 1024))
        if upload is not None:
            raw, name = upload.getvalue(), upload.name
            ss["ch3_zip_nonce"] = nonce + 1
            try:
                with st.spinner("Checking and loading the model…"):
                    loaded = TrainedModel.loaded(*model_io.load_model_zip(raw), name=name)
            except model_io.ModelZipError as error:
                ss["ch3_zip_error"] = str(error)
            else:
                ss.pop("ch3_zip_error", None)
                ss["ch3_loaded"] = loaded
                ss["finetuned"] = loaded
            del raw
            st.rerun()
        if ss.get("ch3_zip_error"):
            friendly_error(f"That zip can't be used: {ss['ch3_zip_error']} Your current model is unchanged.")
        loaded = ss.get("ch3_loaded")
        if loaded is not None:
            st.success(f"Loaded {as_text(loaded.name)}: a model with {len(loaded.labels)} labels: "
                       f"{as_text(', '.join(loaded.labels))}. "
                       "It now answers in *Try it* below.")
            if data is not None and st.button("Evaluate it on the current evaluation sentences", key="ch3_eval_loaded"):
                try:
                    loss, accuracy, _ = ft.evaluate(loaded.model, loaded.tokenizer, data.eval, loaded.labels)
                except ft.FinetuneError as error:
                    friendly_error(str(error))
                else:
                    st.metric("Evaluation accuracy of the loaded model", percent(accuracy))
