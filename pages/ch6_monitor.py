"""Chapter 6 · Retrain and monitor: weeks of a simulated inbox that drifts, weekly false negatives
and false positives, Retrain for v2, v3…, and roll back to any version."""

import pandas as pd
import streamlit as st

from core import monitoring
from ui import ch6, ch6_charts, charts, settings
from ui.formats import as_text, percent

ss = st.session_state
DEFAULTS = {"ch6_monitor_week": 6}
ALLOWED = {"ch6_monitor_week": range(1, monitoring.WEEKS + 1)}
RECENT_WEEKS = 3


@st.cache_resource(show_spinner="Reading every simulated message with BERT once (a few seconds, first visit only)…")
def stream_and_vectors(seed: int = 0):
    stream = monitoring.make_stream(seed)
    return stream, monitoring.embed_stream(stream)


def registry() -> monitoring.Registry:
    """This visitor's versions (v1 is trained on week 0 the first time)."""
    if "ch6_registry" not in ss:
        stream, vectors = stream_and_vectors()
        ss["ch6_registry"] = monitoring.Registry(stream, vectors)
    return ss["ch6_registry"]


def retrain(week: int) -> None:
    version = registry().retrain(through_week=week)
    ss["ch6_monitor_pick"] = version.name
    ss["ch6_monitor_notice"] = (f"Trained {version.name} on weeks 0–{week} ({version.examples} labelled messages) in "
                                f"{version.seconds:.2f} s, and deployed it.")


def roll_back() -> None:
    number = int(ss["ch6_monitor_pick"].removeprefix("v"))
    registry().rollback(number)
    ss["ch6_monitor_notice"] = f"Rolled back: v{number} is deployed again."


st.title("Retrain and monitor")
st.markdown("#### The world moves after the model is trained. Watch its mistakes every week; retrain when they grow; "
            "keep every version so a bad one can be rolled back.")
settings.keep(DEFAULTS, allowed=ALLOWED)
reg = registry()

chart_col, side_col = st.columns([1.45, 1])
with side_col:
    now = st.slider("Now: week", 1, reg.weeks, key="ch6_monitor_week")
    deployed = reg.version(reg.deployed)
    st.button(f"Retrain on weeks 0–{now} → v{reg.versions[-1].number + 1}", key="ch6_monitor_retrain",
              type="primary", icon=":material/model_training:", on_click=retrain, args=(now,))
    names = [v.name for v in reg.versions]
    pick_col, go_col = st.columns([1, 1])
    if ss.get("ch6_monitor_pick") not in names:
        ss["ch6_monitor_pick"] = deployed.name
    pick_col.selectbox("Version", names, key="ch6_monitor_pick",
                       label_visibility="collapsed")
    go_col.button("Deploy it (roll back)", key="ch6_monitor_rollback", icon=":material/undo:", on_click=roll_back)
    if ss.get("ch6_monitor_notice"):
        st.success(ss["ch6_monitor_notice"])
    st.markdown(f"Deployed: **{deployed.name}**, trained on weeks 0–{deployed.trained_through}. New phrasings "
                f"(\"pull the plug on my order\") start in week {monitoring.PHRASING_FROM}; a new reason to cancel "
                f"(a safety recall) in week {monitoring.NEW_REASON_FROM}.")

with chart_col:
    trained_weeks = {v.name: v.trained_through for v in reg.versions}
    charts.show(ch6_charts.monitoring(reg.weekly(), now, trained_weeks), key="ch6_monitor_chart", height=360)

# ------------------------------------------------------------------ versions side by side
st.subheader(f"Every version on the last {RECENT_WEEKS} weeks (weeks {max(1, now - RECENT_WEEKS + 1)}–{now})")
rows = []
for v in reg.versions:
    recent = reg.scores(v.number, max(1, now - RECENT_WEEKS + 1), now)
    rows.append({"version": v.name + (" (deployed)" if v.number == reg.deployed else ""),
                 "trained on weeks": f"0–{v.trained_through}", "examples": v.examples,
                 "false negatives": recent["false_negatives"], "false positives": recent["false_positives"],
                 "accuracy": percent(recent["accuracy"]), "training took": f"{v.seconds:.2f} s"})
st.dataframe(pd.DataFrame(rows), hide_index=True, key="ch6_monitor_versions")
if any(v.trained_through >= now for v in reg.versions if v.number != 1):
    st.caption("A version trained on the weeks it is scored on has seen those messages: its score there flatters it.")

with st.expander(f"What {deployed.name} got wrong in week {now}: the examples to look at", icon=":material/search:"):
    wrong = reg.missed(deployed.number, now)
    if wrong:
        st.dataframe(pd.DataFrame([{"message": m.text, "really": "cancellation" if m.is_cancel else "not one",
                                    "kind": m.kind} for m in wrong]), hide_index=True, key="ch6_monitor_wrong")
    else:
        st.markdown("Nothing: every message that week was handled right.")

ch6.interview("Over time you end up logging your model's outputs, you save some snapshot of the data that you have "
              "... And you want to say, hey, did my model catch this? Did it not catch this? Why didn't it catch "
              "this? And those are the examples you're really going to want to pay attention to.", "55:07")
st.caption(f"Simplified, and simulated: {monitoring.PER_WEEK} messages a week, seeded, written for this page "
           "(old-style cancellations are the shipped sentences); each week's true labels are known at its end; "
           "every version is a logistic regression on the frozen bundled BERT's sentence vectors (computed once), "
           "so retraining takes about a second instead of a fine-tune. "
           f"{as_text('The model flags messages that ask to cancel an order.')}")
