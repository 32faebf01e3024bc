"""Chapter 6 · A model is code plus numbers: every tensor of the model, what the fine-tune changed,
and the same code with random numbers."""

import pandas as pd
import streamlit as st

from core import model_io, model_numbers, models
from core.datasets import load_shipped
from ui import ch6, ch6_charts, charts
from ui.bert import encoder
from ui.formats import as_text, millions, percent
from ui.messages import friendly_error

ss = st.session_state
SAMPLE_ROWS = (0, 21, 42, 63, 84, 105, 126, 147)   # one eval sentence of each reason

st.title("A model is code plus numbers")
st.markdown("#### The code says how to compute; the numbers are what training found. Save the numbers, keep the "
            "code, and you can load the model anywhere.")

# ------------------------------------------------------------------ which model
nonce = ss.get("ch6_zip_nonce", 0)
with st.expander("Open another model: a zip saved in chapter 3", icon=":material/upload_file:",
                 expanded=bool(ss.get("ch6_zip_error"))):
    upload = st.file_uploader("Fine-tuned model (.zip)", type=["zip"], key=f"ch6_zip_{nonce}",
                              max_upload_size=model_io.MAX_UPLOAD_BYTES // (1024 * 1024))
    if upload is not None:
        ss["ch6_zip_nonce"] = nonce + 1        # a new, empty uploader: Streamlit drops its copy of the zip
        try:
            with st.spinner("Checking and loading the model…"):
                model, tokenizer, labels = model_io.load_model_zip(upload.getvalue())
        except model_io.ModelZipError as error:
            ss["ch6_zip_error"] = f"That zip can't be used: {error} The model shown is unchanged."
        else:
            ss.pop("ch6_zip_error", None)
            ss["ch6_uploaded"] = ch6.ModelInUse(model, tokenizer, tuple(labels), upload.name, finetuned=True)
        st.rerun()
    if ss.get("ch6_zip_error"):
        friendly_error(ss["ch6_zip_error"])
    if ss.get("ch6_uploaded") is not None:
        st.button("Back to my own model", key="ch6_zip_forget", on_click=ss.pop, args=("ch6_uploaded", None))

shown = ss.get("ch6_uploaded") or ch6.model_in_use()
rows = model_numbers.layer_table(shown.model)
total = model_numbers.total_numbers(rows)
pretrained = encoder(models.BUNDLED)
changes = model_numbers.changes_from(shown.model, pretrained)
summary = model_numbers.changed_summary(changes)

# ------------------------------------------------------------------ the headline
st.markdown(f"**{as_text(shown.name)}**: {len(rows)} tensors of numbers, labels "
            f"{as_text(', '.join(shown.labels))}.")
a, b, c, d = st.columns(4)
a.metric("numbers in the model", f"{total:,}", help=f"{millions(total)}; sum of every tensor below")
b.metric("bytes on disk (float32)", f"{model_numbers.total_bytes(rows) / 2**20:.1f} MB")
c.metric("numbers the fine-tune changed", f"{summary['moved']:,}",
         help=f"{percent(summary['moved_share'])} of the pretrained numbers, compared with the bundled BERT")
d.metric("numbers it added (the new layer)", f"{summary['added']:,}")

chart_col, text_col = st.columns([1.3, 1])
with chart_col:
    charts.show(ch6_charts.changes_by_block(model_numbers.by_block(changes)), key="ch6_numbers_blocks", height=330)
with text_col:
    if summary["added"] == summary["total"]:
        st.markdown("No tensor of this model has the bundled BERT's name and shape (it started from another "
                    "pretrained model), so there are no pretrained numbers here to compare it with.")
    elif summary["moved"] == 0:
        st.markdown("Not one pretrained number moved: this model was never trained. Only its new layer "
                    f"({summary['added']:,} numbers) is new.")
    else:
        st.markdown(f"The fine-tune moved **{summary['moved']:,}** of the {total - summary['added']:,} pretrained "
                    f"numbers ({percent(summary['moved_share'])}) and added **{summary['added']:,}** for its new "
                    f"layer; {summary['kept']:,} kept their pretrained values exactly (the frozen layers). "
                    "Bars: the share of each block that changed; the label is the average size of a change.")
    ch6.interview("I would just serialize my parameter map and then I would take the definition of my model, "
                  "which is just code. ... I would pass my trained parameters into that model prediction function "
                  "and then I would use that prediction function to get outputs on production data.", "47:47")

# ------------------------------------------------------------------ same code, other numbers
st.subheader("The same code with random numbers")
eval_set = load_shipped("eval")
texts = [eval_set.texts[i] for i in SAMPLE_ROWS]
truth = [eval_set.labels[i] for i in SAMPLE_ROWS]
side = model_numbers.predict_both(shown.model, shown.tokenizer, shown.labels, texts, truth, seed=0)
right_trained = sum(p[0] == t for p, t in zip(side.trained, truth))
right_random = sum(p[0] == t for p, t in zip(side.random, truth))
st.dataframe(pd.DataFrame({
    "sentence": texts, "true reason": truth,
    "these numbers say": [f"{label} ({p:.0%})" for label, p in side.trained],
    "random numbers say": [f"{label} ({p:.0%})" for label, p in side.random]}),
    hide_index=True, key="ch6_numbers_side")
st.caption(f"Right: {right_trained} of {len(texts)} with these numbers, {right_random} of {len(texts)} with random "
           "ones (measured here). The code is identical: the same class, the same config, the same function call.")

# ------------------------------------------------------------------ every tensor
st.subheader("Every tensor")
by_name = {ch.name: ch for ch in changes}
st.dataframe(pd.DataFrame([{
    "name": r.name, "shape": " × ".join(map(str, r.shape)), "numbers": r.numbers, "bytes": r.bytes,
    "changed": by_name[r.name].changed,
    "mean |change|": by_name[r.name].mean_abs_change} for r in rows]),
    hide_index=True, height=320, key="ch6_numbers_table",
    column_config={"numbers": st.column_config.NumberColumn(format="localized"),
                   "bytes": st.column_config.NumberColumn(format="localized"),
                   "changed": st.column_config.NumberColumn(format="localized"),
                   "mean |change|": st.column_config.NumberColumn(format="%.2e", help="empty: a new tensor")})
st.caption(f"Total: {total:,} numbers in {len(rows)} tensors. In Axon the same thing is a map of layer names, each "
           "holding a map of parameter names to tensors; in PyTorch it is the state dict saved as model.safetensors.")
