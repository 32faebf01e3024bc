"""Chapter 4, lesson 1: diverse data beats paraphrased data (and a near-duplicate finder)."""

import streamlit as st

from core import jobs, lessons
from ui import bert, ch4_charts, lesson, live, settings
from ui.messages import friendly_error

model_id = lesson.show(lesson.Lesson(
    "diverse_data",
    figures=[(ch4_charts.diverse_bars, 420)],
    conclusion=ch4_charts.diverse_conclusion,
    knobs=[lesson.Slider("per_label", "N: sentences per label", 1, 25), lesson.Slider("epochs", "Epochs", 1, 12),
           lesson.Slider("seeds", "Seeds", 1, 10), lesson.Number("seed", "First seed", 0, 999)],
    widths=[2, 2, 2, 1],
))


# ------------------------------------------------------------------ near-duplicate finder

@st.cache_data(show_spinner="Reading every sentence with BERT and comparing each pair…", max_entries=8)
def near_duplicates(texts: tuple[str, ...], threshold: float, model_id: str) -> list[dict]:
    # Through the server's bounded pool: a crowd checking files queues instead of sharing the CPU.
    pairs = live.bounded(lessons.find_near_duplicates, list(texts), threshold, tokenizer=bert.tokenizer(model_id),
                         encoder=bert.encoder(model_id))
    return [{"similarity": p.similarity, "row": p.first + 1, "sentence": p.first_text,
             "other row": p.second + 1, "near-duplicate": p.second_text} for p in pairs]


def sentences_to_check(choice: str):
    from core import datasets

    if choice == "train":
        return lessons.shipped("train").texts
    if choice == "para":
        return lessons.shipped("train").texts + lessons.shipped_paraphrases().texts
    # Limited to what the app reads, and emptied once read (a new key): Streamlit keeps no copy.
    nonce = st.session_state.get("ch4_dup_nonce", 0)
    upload = st.file_uploader("A CSV with a text column (and optionally a label column)", type=["csv", "txt"],
                              key=f"ch4_dup_upload_{nonce}", max_upload_size=datasets.MAX_BYTES // 2**20)
    if upload is not None:
        st.session_state["ch4_dup_raw"] = upload.getvalue()[: datasets.MAX_BYTES + 1]
        st.session_state["ch4_dup_nonce"] = nonce + 1
        st.rerun()
    raw = st.session_state.get("ch4_dup_raw")
    if raw is None:
        return None
    try:
        return datasets.read_csv(raw, min_labels=1, min_rows_per_label=1).texts
    except datasets.DatasetError as error:
        friendly_error(str(error))
        return None


st.subheader("Near-duplicate finder")
st.caption("Sentence embeddings (chapter 2: the average of BERT's token vectors) of every sentence, compared pair "
           "by pair; pairs pointing almost the same way (cosine similarity above the threshold) are listed. "
           "Works on the shipped files or your own CSV.")
SOURCES = {"train": "Shipped training sentences (400)", "para": "Training sentences + their paraphrases (600)",
           "upload": "My own CSV"}
dup = lesson.keep("dup", {"source": "train", "threshold": 0.90},
                  allowed={"source": SOURCES, "threshold": settings.Between(0.8, 0.99)})
c1, c2 = st.columns([2, 1])
c1.radio("Sentences to check", list(SOURCES), format_func=SOURCES.get, key=lesson.knob("dup", "source"),
         horizontal=True)
c2.slider("Cosine similarity at least", 0.80, 0.99, step=0.01, key=lesson.knob("dup", "threshold"))
texts = sentences_to_check(dup["source"])
if texts is not None and model_id is not None:
    if len(texts) > 3000:
        friendly_error(f"{len(texts)} sentences is more than this finder compares live (3,000); "
                       "check a sample of the file.")
    else:
        if st.button("Find near-duplicates", key="ch4_dup_go", icon=":material/search:"):
            st.session_state["ch4_dup_request"] = (tuple(texts), dup["threshold"], model_id)
        request = st.session_state.get("ch4_dup_request")
        pairs = None
        if request and request == (tuple(texts), dup["threshold"], model_id):
            try:
                pairs = near_duplicates(*request)
            except jobs.QueueFull as busy:  # the pool for heavy page work is full: a sentence, nothing lost
                friendly_error(str(busy))
        if pairs is not None:
            st.markdown(f"**{len(pairs)}** suspicious pairs among **{len(texts)}** sentences "
                        f"(cosine ≥ {dup['threshold']:.2f}).")
            if pairs:
                st.dataframe(pairs[:200], hide_index=True, width="stretch", height=260,
                             column_config={"similarity": st.column_config.NumberColumn(format="%.3f")})
