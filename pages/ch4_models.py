"""Chapter 4, lesson 5: try another model — it's one string."""

import streamlit as st

from core import models
from ui import ch4_charts, lesson


def cached_hub_models(data: dict) -> None:
    cached = [c.label for c in models.CHOICES if not c.bundled and models.is_cached(c.id)]
    st.caption("Cached hub models that a live run adds: " + (", ".join(cached) if cached else
               "none on this machine (no network here), so only the bundled BERT is measured."))


lesson.show(lesson.Lesson(
    "models", figures=[(ch4_charts.models_bars, 420)], conclusion=ch4_charts.models_conclusion,
    after_result=cached_hub_models,
    knobs=[lesson.Slider("per_label", "Sentences per label", 1, 25), lesson.Slider("epochs", "Epochs", 1, 12),
           lesson.Slider("seeds", "Seeds", 1, 10)],
))
