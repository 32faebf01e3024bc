"""Chapter 6 · Serving with dynamic batching: a bounded load of random arrivals against the model,
one request at a time beside batches of several sizes."""

import functools

import pandas as pd
import streamlit as st

from core.serve import load
from core.serve.prediction import Classifier
from ui import ch6, ch6_charts, charts, settings

ss = st.session_state
BATCH_SIZES = (2, 4, 8, 16, 32, 64)
DEFAULTS = {"ch6_serve_rate": 80, "ch6_serve_sizes": [8, 32], "ch6_serve_wait": 10, "ch6_serve_seconds": 2.0}
ALLOWED = {"ch6_serve_rate": range(5, int(load.MAX_RATE_PER_S) + 1), "ch6_serve_sizes": BATCH_SIZES,
           "ch6_serve_wait": range(0, 51), "ch6_serve_seconds": settings.Between(0.5, 3.0)}
RUN = ch6.Run("ch6_serve", "The serving load test")
ANCHORS = pd.DataFrame([
    {"server": "Nx.Serving (Elixir)", "most requests in one call": "batch_size", "longest wait for company": "batch_timeout"},
    {"server": "Ray Serve", "most requests in one call": "@serve.batch(max_batch_size=…)",
     "longest wait for company": "batch_wait_timeout_s"},
    {"server": "NVIDIA Triton", "most requests in one call": "max_batch_size (model config)",
     "longest wait for company": "dynamic_batching { max_queue_delay_microseconds }"},
    {"server": "this app (core/serve/batcher.py)", "most requests in one call": "max_batch_size",
     "longest wait for company": "batch_wait_s"},
])

st.title("Serving with dynamic batching")
st.markdown("#### Requests that arrive close together share one model call: each caller still gets its own answer, "
            "and many more answers fit in a second.")
settings.keep(DEFAULTS, allowed=ALLOWED)

knobs, story = st.columns([1, 1.2])
with story:
    ch6.interview("The very first thing I would do is I would wrap the model in what's called an Nx.Serving, which "
                  "is our like inference abstraction. ... it implements dynamic batching. ... let's say I'm getting "
                  "100 requests at once overlapping within like a 10 millisecond timeframe, I don't want to just call "
                  "Axon.predict, my predict function, on one of those transactions at a time. I actually want to "
                  "batch these so I can efficiently use my CPU or GPU's resources.", "53:11")
    used = ch6.model_in_use("Latency depends on the model's size, not on what it learned, so it serves as well.")
classifier = Classifier(used.model, used.tokenizer, used.labels, name=used.name)
# The knobs' values are kept in the session (settings.keep), so the Run button can come first on the screen.
rate, wait_ms, seconds = ss["ch6_serve_rate"], ss["ch6_serve_wait"], ss["ch6_serve_seconds"]
plan = [(1, 0.0)] + [(size, wait_ms / 1000) for size in sorted(ss["ch6_serve_sizes"])]
each = min(seconds, load.MAX_SWEEP_SECONDS / len(plan))
with knobs:
    st.button("Run the load test", key="ch6_serve_start", type="primary", icon=":material/speed:",
              disabled=RUN.busy(),
              on_click=RUN.start, args=(functools.partial(load.sweep_job, classifier.predict_batch, float(rate), plan,
                                                          float(each), 0),))
    st.caption(f"{len(plan)} settings × {each:g} s of arrivals ≈ {rate * each * len(plan):.0f} requests; "
               "one load test runs at a time on this server.")
    st.slider("Requests per second (random arrivals)", 5, 200, step=5, key="ch6_serve_rate")
    st.multiselect("Batch sizes to try", BATCH_SIZES, key="ch6_serve_sizes", max_selections=3)
    st.slider("Wait window (ms): the oldest request waits at most this long for company", 0, 50,
              key="ch6_serve_wait")
    st.slider("Seconds of arrivals per setting", 0.5, 3.0, step=0.5, key="ch6_serve_seconds")

def table(rows):
    return pd.DataFrame([{"setting": r["label"], "p50 ms": r["p50_ms"], "p95 ms": r["p95_ms"], "p99 ms": r["p99_ms"],
                          "answers / s": r["throughput_per_s"], "mean batch": r["mean_batch_size"],
                          "answered": f"{r['answered']} of {r['sent']}",
                          "not answered in time": r["unanswered"] + r["rejected"] + r["failed"]} for r in rows])


def draw(rows, key):
    left, right = st.columns(2)
    with left:
        charts.show(ch6_charts.latency_bars(rows), key=f"{key}_latency", height=340)
    with right:
        charts.show(ch6_charts.throughput_bars(rows), key=f"{key}_throughput", height=340)
    st.dataframe(table(rows), hide_index=True, key=f"{key}_table", column_config={
        c: st.column_config.NumberColumn(format="%.1f") for c in ("p50 ms", "p95 ms", "p99 ms", "answers / s",
                                                                   "mean batch")})


def live_rows(snap, running):
    if running and snap.epochs:
        draw(list(snap.epochs), "ch6_serve_live")
    elif running:
        st.caption(f"Sending requests… {snap.running_seconds:.0f} s")


RUN.watch(live_rows)
if RUN.result and not RUN.busy():
    rows = RUN.result
    draw(rows, "ch6_serve")
    alone, batched = rows[0], [r for r in rows[1:] if r["p95_ms"] is not None]
    best = min(batched, key=lambda r: r["p95_ms"]) if batched else None
    if alone["p95_ms"] is not None and best is not None:
        st.markdown(f"Measured here at {rate} requests/s: one at a time answers **{alone['throughput_per_s']:.0f}/s** "
                    f"with p95 **{alone['p95_ms']:.0f} ms**; {best['label']} answers "
                    f"**{best['throughput_per_s']:.0f}/s** with p95 **{best['p95_ms']:.0f} ms**. Raise the rate past "
                    "what one at a time can answer and its queue, and so its latency, grows without end.")
elif not RUN.busy():
    st.info("Press **Run the load test**: the same seeded random arrivals go to one request at a time, then to "
            "each batch size, and p50/p95/p99 latency and answers per second appear here.", icon=":material/speed:")

st.subheader("The same two knobs everywhere")
st.dataframe(ANCHORS, hide_index=True, key="ch6_serve_anchors")
st.caption("The same batcher serves over HTTP: `python -m core.serve --model DIR --port 8000`, "
           "`--engine ray` for Ray Serve; `benchmarks/serve_load.py` measures both on loopback (README).")
