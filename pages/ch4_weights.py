"""Chapter 4, lesson 6: judge weights without data (power-law alpha per layer)."""

import streamlit as st

from ui import ch4_charts, charts, lesson

CAVEATS = (
    "- **How it is fitted:** for every candidate start of the tail λ_min, the most likely exponent is "
    "α = 1 + n / Σ ln(λᵢ/λ_min); the λ_min kept is where the fitted line and the data agree best "
    "(Clauset–Shalizi–Newman, the same fit WeightWatcher 0.7.7 uses; on the bundled model our numbers "
    "match its output).\n"
    "- **It is a heuristic, not an accuracy.** It needs no test data, which is its charm, but it cannot say "
    "whether a model is good *for your task*.\n"
    "- **It is noisy on small layers:** a 384×384 matrix has 384 eigenvalues and the tail is often only "
    "15–80 of them; differences of a few tenths mean little.\n"
    "- **Fine-tuning barely moves it:** a few hundred sentences for a few epochs hardly change 22 million "
    "pretrained numbers, so alpha mostly describes the pretraining.")


def inside_one_layer(data: dict) -> None:
    labels = [layer["label"] for layer in data["layers"]]
    if st.session_state.get("ch4_layer") not in labels:
        st.session_state["ch4_layer"] = "L0 ffn-in" if "L0 ffn-in" in labels else labels[0]
    layer = st.selectbox("Layer to look inside", labels, key="ch4_layer")
    charts.show(ch4_charts.spectrum_chart(data.get("spectra", {}), layer), key="ch4_chart_spectrum", height=420)
    with st.expander("What alpha can and can't tell you", icon=":material/info:"):
        st.markdown(CAVEATS)


lesson.show(lesson.Lesson(
    "weights",
    figures=[(ch4_charts.alpha_by_layer, 440)],
    conclusion=ch4_charts.weights_conclusion,
    after_result=inside_one_layer,
    knobs=[lesson.Slider("per_label", "Sentences per label", 1, 25), lesson.Slider("epochs", "Epochs", 1, 12),
           lesson.Slider("seeds", "Seeds", 1, 10)],
))
