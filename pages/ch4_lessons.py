"""Chapter 4: the talk's lessons as experiments, one tab each.

A thin view over core/lessons/. On arrival it shows the shipped precomputed
results (core/data/lessons/precomputed.json: loaded in milliseconds, with when
and on what machine they were computed); every tab can rerun its experiment
live. A live run is a background job (core/jobs.py, shared with chapter 3 so
only one fine-tune runs at a time); a fragment polls it once a second. Live
results replace the precomputed ones for that tab only and can be downloaded as
a results file; another results file can be uploaded. Everything that must
survive reruns and navigation lives in st.session_state under "ch4_*" keys.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core import hardware, jobs, lessons, models
from pages import ch4_views as views, ui

ss = st.session_state

KEPT_WIDGETS = [
    "ch4_model", "ch4_dup_source", "ch4_dup_threshold", "ch4_layer",
    *(f"ch4_{key}_{name}" for key in lessons.EXPERIMENTS
      for name in ("per_label", "epochs", "levels", "sizes", "tiny", "tiny_epochs", "steps", "seed")),
]
for _key in KEPT_WIDGETS:
    if _key in ss:
        ss[_key] = ss[_key]
ss.setdefault("ch4_live", {})   # experiment key -> result measured live in this session


# --------------------------------------------------------------------------- results: shipped, uploaded, live


def chart(fig, key: str, height: int | None = None) -> None:
    """pages/ui.style, plus room at the top for the title *and* a legend row or two
    above the plot (with ui.style's 50 px top margin the two overlap)."""
    fig = ui.style(fig, height=height or fig.layout.height or 400)
    fig.update_layout(margin=dict(t=100), title=dict(y=0.985, yanchor="top", x=0.01, xanchor="left"))
    st.plotly_chart(fig, key=key, config=ui.CHART_CONFIG)


def load_shipped_results() -> None:
    """Once per session: the precomputed file, or a clear message if it is unusable."""
    if "ch4_file" in ss:
        return
    try:
        ss["ch4_file"] = lessons.load_precomputed()
        ss["ch4_file_name"] = "the precomputed results shipped with the app"
    except lessons.ResultsFileError as error:
        ss["ch4_file"] = None
        ss["ch4_file_problem"] = f"The shipped precomputed results can't be used: {error}"


def harvest_finished_job() -> None:
    """Once per job, when it has ended: keep its result (even a partial one)."""
    job = ss.get("ch4_job")
    snap = job.claim_if_finished() if job is not None else None
    if snap is None:
        return
    key = job.meta["key"]
    if snap.status == jobs.FAILED:
        ss["ch4_notice"] = (key, "error", f"The experiment could not run: {snap.error} Earlier results are kept.")
    elif snap.result is None:
        ss["ch4_notice"] = (key, "info", "The queued experiment was cancelled before it started; nothing changed.")
    else:
        ss["ch4_live"][key] = snap.result
        if snap.result.get("stopped"):
            ss["ch4_notice"] = (key, "warning", snap.result.get("message") or "Stopped midway; partial results kept.")
        else:
            ss.pop("ch4_notice", None)


def current(key: str) -> tuple[dict | None, str]:
    """The result to show for an experiment and where it came from."""
    if key in ss["ch4_live"]:
        result = ss["ch4_live"][key]
        return result, f"Measured live in this session at {_clock(result.get('computed_at'))}"
    loaded = ss.get("ch4_file")
    if loaded and key in loaded.results:
        return loaded.results[key], "Precomputed"
    return None, ""


def _clock(iso: str | None) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%H:%M:%S UTC")
    except (TypeError, ValueError):
        return "?"


def _when(iso: str | None) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return "an unknown time"


def results_file_panel() -> None:
    loaded = ss.get("ch4_file")
    if ss.get("ch4_file_problem"):
        st.warning(ss["ch4_file_problem"] + " Every experiment can still be run live.")
    if loaded:
        st.caption(f"Showing {ss.get('ch4_file_name')}: computed **{_when(loaded.created)}** on "
                   f"**{hardware.describe(loaded.machine)}**. Press *Run live* in any tab to measure it again here.")
    with st.expander("Results file: download these results, or load another file", icon=":material/folder_open:"):
        upload = st.file_uploader("A results file written by `python -m core.lessons run … --output FILE`",
                                  type=["json"], key="ch4_upload")
        if upload is not None and ss.get("ch4_upload_seen") != upload.file_id:
            ss["ch4_upload_seen"] = upload.file_id
            try:
                ss["ch4_file"] = lessons.load_results(upload.getvalue())
                ss["ch4_file_name"] = f"'{upload.name}'"
                ss.pop("ch4_file_problem", None)
                ss["ch4_upload_message"] = ("success", f"Loaded '{upload.name}': its results replace the "
                                                       "precomputed ones (your live runs stay on top).")
            except lessons.ResultsFileError as error:
                ss["ch4_upload_message"] = ("error", f"{error} The results shown before are kept.")
            st.rerun()
        message = ss.get("ch4_upload_message")
        if message:
            (st.success if message[0] == "success" else st.error)(message[1])
        merged = lessons.merged(loaded, ss["ch4_live"]) if (loaded or ss["ch4_live"]) else None
        if merged is not None:
            st.download_button("Download these results (JSON)", data=_json(merged), file_name="lessons-results.json",
                               mime="application/json", key="ch4_download", icon=":material/download:")


def _json(results: lessons.ResultsFile) -> str:
    import json

    return json.dumps(results.to_json(), indent=1)


# --------------------------------------------------------------------------- live runs


def model_for_live_runs() -> str | None:
    """The one string the talk changed to try another model."""
    chosen = st.text_input(
        "Model for live runs — change this one string to try another model (a registry id, a hub id or a folder)",
        key=remember("ch4_model", models.BUNDLED))
    chosen = (chosen or "").strip()
    if chosen == models.BUNDLED:
        return chosen
    if not models.is_cached(chosen):
        ui.friendly_error(f"'{chosen}' is not on this machine (and the hub is off or unreachable): live runs "
                          "use it only once it can be loaded. Put back the bundled id to run now.")
        return None
    return chosen


def start(key: str, settings) -> None:
    problems = settings.problems()
    if problems:
        ss["ch4_notice"] = (key, "error", problems[0])
        return

    def work(on_step, on_epoch, should_stop):
        return lessons.run_experiment(key, settings, should_stop=should_stop, on_progress=on_step)

    try:
        job = jobs.submit(work, meta={"key": key, "title": lessons.EXPERIMENTS[key].title})
    except jobs.QueueFull as full:
        ss["ch4_notice"] = (key, "error", str(full))
        return
    ui.stop_when_tab_closes("ch4_lessons", job)
    ss["ch4_job"] = job
    ss.pop("ch4_notice", None)


def busy() -> bool:
    job = ss.get("ch4_job")
    return job is not None and not job.snapshot().finished


def run_controls(key: str, settings, precomputed: dict | None) -> None:
    """Run / Stop and the live progress of this experiment."""
    job = ss.get("ch4_job")
    running_here = job is not None and job.meta["key"] == key and not job.snapshot().finished
    other = busy() and not running_here
    left, right = st.columns([1, 3])
    with left:
        if st.button("Run live", key=f"ch4_run_{key}", type="primary", icon=":material/play_arrow:",
                     disabled=busy() or settings is None, width="stretch"):
            start(key, settings)
            st.rerun()
    with right:
        if other:
            st.caption(f"Another experiment ({job.meta['title']}) is running; this one can start when it ends.")
        elif settings is not None:
            took = f" When precomputed it took {views.duration(precomputed['seconds'])}." if precomputed else ""
            st.caption(f"Live settings: {settings.describe()}.{took}")
    notice = ss.get("ch4_notice")
    if notice and notice[0] == key:
        {"error": st.error, "warning": st.warning}.get(notice[1], st.info)(notice[2])
    if job is not None and job.meta["key"] == key:
        progress_panel(job)


def progress_panel(job: jobs.Job) -> None:
    def draw(snap, running):
        if not running:
            return
        if snap.status == jobs.QUEUED:
            st.progress(0.0, text=f"Queued behind {snap.position - 1 or 'another'} fine-tune(s): this server "
                                  "trains one model at a time.")
            st.button("Cancel", key=f"ch4_cancel_{job.meta['key']}", on_click=job.stop, icon=":material/close:")
            return
        last = snap.last_step
        fraction = last.fraction if last else 0.0
        text = last.message if last else "Starting…"
        st.progress(fraction, text=f"{text} · {views.duration(snap.running_seconds)}")
        if snap.stop_requested:
            st.caption("Stopping after this step… finished runs are kept.")
        else:
            st.button("Stop", key=f"ch4_stop_{job.meta['key']}", on_click=job.stop, icon=":material/stop:",
                      help="Stops at the next training step; runs that finished are kept and shown.")

    ui.while_running(job, draw)


def source_line(result: dict, origin: str) -> None:
    where = hardware.describe(result.get("machine") or {})
    when = "" if origin.startswith("Measured") else f" {_when(result.get('computed_at'))}"
    st.caption(f"**{origin}**{when} on {where} in {views.duration(result.get('seconds'))} · "
               f"settings: {views.settings_text(result.get('settings', {}), result.get('experiment'))}")
    if result.get("stopped"):
        st.warning(result.get("message") or "This experiment was stopped midway: what finished is shown.")


# --------------------------------------------------------------------------- the lessons


def remember(key: str, default):
    """A widget key whose value starts at `default` and survives trips to other
    pages (the value lives in session_state, so the widget gets no default of its own)."""
    ss.setdefault(key, default)
    return key


def per_label_slider(key: str, default: int, top: int = 25, label: str = "Sentences per label") -> int:
    return st.slider(label, 1, top, key=remember(f"ch4_{key}_per_label", default))


def epochs_slider(key: str, default: int, top: int = 12) -> int:
    return st.slider("Epochs", 1, top, key=remember(f"ch4_{key}_epochs", default))


def lesson_diverse(model_id):
    st.markdown("The talk's costliest shortcut: instead of labelling 800 sentences by hand, it labelled 400 and "
                "had a model **rephrase** them — and accuracy went *down*. A rephrased sentence teaches the model "
                "almost nothing it did not already see. Here: **N** sentences per label; the same N **plus a "
                "rephrasing of each**; and **2N different** sentences — all tested on the same unseen file. "
                "To be fair, every set gets the same number of training steps (the N set trains twice as many "
                "epochs): only *what* the model sees differs, not how long it trains.")
    result, origin = current("diverse_data")
    if result and result["data"]["arms"]:
        source_line(result, origin)
        chart(views.diverse_bars(result["data"]), key="ch4_chart_diverse", height=420)
        st.markdown(views.diverse_conclusion(result["data"]))
    defaults = lessons.DiverseSettings()
    c1, c2, c3 = st.columns([2, 2, 1])
    with c1:
        n = per_label_slider("diverse_data", defaults.per_label, top=25, label="N: sentences per label")
    with c2:
        epochs = epochs_slider("diverse_data", defaults.epochs)
    with c3:
        seed = st.number_input("Seed", 0, 999, step=1, key=remember("ch4_diverse_data_seed", defaults.seed))
    settings = lessons.DiverseSettings(model_id=model_id, per_label=n, epochs=epochs,
                                       seed=int(seed)) if model_id else None
    run_controls("diverse_data", settings, result if origin == "Precomputed" else None)
    near_duplicate_finder(model_id)


@st.cache_data(show_spinner="Reading every sentence with BERT and comparing each pair…", max_entries=8)
def _near_duplicates(texts: tuple[str, ...], threshold: float, model_id: str) -> list[dict]:
    pairs = lessons.find_near_duplicates(list(texts), threshold, tokenizer=ui.tokenizer(model_id),
                                         encoder=ui.encoder(model_id))
    return [{"similarity": p.similarity, "row": p.first + 1, "sentence": p.first_text,
             "other row": p.second + 1, "near-duplicate": p.second_text} for p in pairs]


def near_duplicate_finder(model_id):
    from core import datasets

    st.markdown("##### Near-duplicate finder")
    st.caption("Sentence embeddings (chapter 2: the average of BERT's token vectors) of every sentence, compared "
               "pair by pair; pairs pointing almost the same way (cosine similarity above the threshold) are "
               "listed. Works on the shipped files or your own CSV.")
    sources = {"Shipped training sentences (400)": "train",
               "Training sentences + their paraphrases (600)": "para",
               "My own CSV": "upload"}
    c1, c2 = st.columns([2, 1])
    with c1:
        choice = st.radio("Sentences to check", list(sources), key=remember("ch4_dup_source", list(sources)[0]),
                          horizontal=True)
    with c2:
        threshold = st.slider("Cosine similarity at least", 0.80, 0.99, step=0.01,
                              key=remember("ch4_dup_threshold", 0.90))
    texts = None
    if sources[choice] == "train":
        texts = lessons.shipped("train").texts
    elif sources[choice] == "para":
        texts = lessons.shipped("train").texts + lessons.shipped_paraphrases().texts
    else:
        upload = st.file_uploader("A CSV with a text column (and optionally a label column)", type=["csv", "txt"],
                                  key="ch4_dup_upload")
        if upload is not None:
            try:
                texts = datasets.read_csv(upload.getvalue(), min_labels=1, min_rows_per_label=1).texts
            except datasets.DatasetError as error:
                ui.friendly_error(str(error))
    if texts is None or model_id is None:
        return
    if len(texts) > 3000:
        ui.friendly_error(f"{len(texts)} sentences is more than this finder compares live (3,000); "
                          "check a sample of the file.")
        return
    if st.button("Find near-duplicates", key="ch4_dup_go", icon=":material/search:"):
        ss["ch4_dup_request"] = (tuple(texts), threshold, model_id)
    request = ss.get("ch4_dup_request")
    if request and request == (tuple(texts), threshold, model_id):
        pairs = _near_duplicates(*request)
        st.markdown(f"**{len(pairs)}** suspicious pairs among **{len(texts)}** sentences "
                    f"(cosine ≥ {threshold:.2f}).")
        if pairs:
            st.dataframe(pairs[:200], hide_index=True, width="stretch", height=260,
                         column_config={"similarity": st.column_config.NumberColumn(format="%.3f")})


def lesson_noise(model_id):
    st.markdown("**Garbage in, garbage out.** The talk's advice: look at your data before training on it. Here we "
                "make the garbage on purpose: a chosen share of training sentences gets a *wrong* label, and we "
                "measure accuracy on unseen sentences whose labels are right.")
    result, origin = current("label_noise")
    if result and result["data"]["points"]:
        source_line(result, origin)
        chart(views.noise_curve(result["data"]), key="ch4_chart_noise", height=420)
        st.markdown(views.noise_conclusion(result["data"]))
    defaults = lessons.NoiseSettings()
    c1, c2, c3 = st.columns([1, 1, 2])
    with c1:
        n = per_label_slider("label_noise", defaults.per_label)
    with c2:
        epochs = epochs_slider("label_noise", defaults.epochs)
    with c3:
        levels = st.multiselect("Share of labels flipped", [0, 10, 20, 30, 40, 50], format_func=lambda x: f"{x}%",
                                key=remember("ch4_label_noise_levels",
                                             [round(100 * x) for x in defaults.noise_levels]))
    settings = None
    if not levels:
        st.warning("Choose at least one share of labels to flip.")
    elif model_id:
        settings = lessons.NoiseSettings(model_id=model_id, per_label=n, epochs=epochs,
                                         noise_levels=[x / 100 for x in sorted(levels)])
    run_controls("label_noise", settings, result if origin == "Precomputed" else None)


def lesson_batch(model_id):
    st.markdown("**Batch size.** Each epoch still shows the model every sentence, just in chunks: 48 sentences in "
                "batches of 16 are 3 weight updates. The talk started at batch 64 and got better results at 16. "
                "Here: the same sentences, epochs and learning rate with different batch sizes.")
    result, origin = current("batch_size")
    if result and result["data"]["points"]:
        source_line(result, origin)
        left, right = st.columns([3, 2])
        with left:
            chart(views.batch_accuracy(result["data"]), key="ch4_chart_batch", height=400)
        with right:
            chart(views.batch_time(result["data"]), key="ch4_chart_batch_time", height=400)
        st.markdown(views.batch_conclusion(result["data"]))
    defaults = lessons.BatchSettings()
    c1, c2, c3 = st.columns([1, 1, 2])
    with c1:
        n = per_label_slider("batch_size", defaults.per_label, top=50)
    with c2:
        epochs = epochs_slider("batch_size", defaults.epochs)
    with c3:
        sizes = st.multiselect("Batch sizes", [4, 8, 16, 32, 64, 128],
                               key=remember("ch4_batch_size_sizes", list(defaults.batch_sizes)))
    settings = None
    if not sizes:
        st.warning("Choose at least one batch size.")
    elif model_id:
        settings = lessons.BatchSettings(model_id=model_id, per_label=n, epochs=epochs, batch_sizes=sorted(sizes))
    run_controls("batch_size", settings, result if origin == "Precomputed" else None)


def lesson_fitting(model_id):
    st.markdown("**Over- and underfitting.** *Overfitting*: the model does well only on the sentences it trained "
                "on — it memorised them. *Underfitting*: it does poorly even on those. Three runs, training and "
                "unseen accuracy after every epoch; the star marks the best unseen epoch, the one early stopping "
                "keeps.")
    result, origin = current("fitting")
    if result and result["data"]["curves"]:
        source_line(result, origin)
        chart(views.fitting_curves(result["data"]), key="ch4_chart_fitting", height=430)
        st.markdown(views.fitting_conclusion(result["data"]))
    defaults = lessons.FittingSettings()
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        tiny = st.slider("Memorising run: sentences per label", 1, 5,
                         key=remember("ch4_fitting_tiny", defaults.tiny_per_label))
    with c2:
        tiny_epochs = st.slider("Memorising run: epochs", 2, 20,
                                key=remember("ch4_fitting_tiny_epochs", defaults.tiny_epochs))
    with c3:
        n = per_label_slider("fitting", defaults.per_label, label="Other runs: sentences per label")
    with c4:
        epochs = epochs_slider("fitting", defaults.epochs, top=15)
    settings = lessons.FittingSettings(model_id=model_id, tiny_per_label=tiny, tiny_epochs=tiny_epochs,
                                       per_label=n, epochs=epochs) if model_id else None
    run_controls("fitting", settings, result if origin == "Precomputed" else None)


def lesson_models(model_id):
    st.markdown("**Try another model — it's one string.** The talk got 90% with BERT, 77% with GPT-2 and 93% with "
                "RoBERTa by changing a model name. Here we measure what this machine can load: the model above "
                "fine-tuned fully, with its word embeddings frozen, and with its whole encoder frozen (only the new "
                "layer learns) — plus every hub model from the registry that is already cached.")
    result, origin = current("models")
    if result and result["data"]["measured"]:
        source_line(result, origin)
        chart(views.models_bars(result["data"]), key="ch4_chart_models")
        st.markdown(views.models_conclusion(result["data"]))
    defaults = lessons.ModelSettings()
    c1, c2 = st.columns(2)
    with c1:
        n = per_label_slider("models", defaults.per_label)
    with c2:
        epochs = epochs_slider("models", defaults.epochs)
    cached = [c.label for c in models.CHOICES if not c.bundled and models.is_cached(c.id)]
    st.caption("Cached hub models that a live run adds: " + (", ".join(cached) if cached else
               "none on this machine (no network here), so only the bundled BERT is measured."))
    settings = lessons.ModelSettings(model_id=model_id, per_label=n, epochs=epochs) if model_id else None
    run_controls("models", settings, result if origin == "Precomputed" else None)


def lesson_weights(model_id):
    st.markdown("**Judge weights without data.** The talk's WeightWatcher looks only at the weight matrices. For each "
                "matrix W it takes the eigenvalues of WᵀW/N (the squared singular values): a random matrix has a "
                "compact bump of them, a trained one grows a *heavy tail* of large eigenvalues, "
                "p(λ) ∝ λ^−α. A small **alpha** means a heavy tail — structure learned. Its authors call about "
                "**2–6** well trained (the talk quoted 2–3, and showed BERT layers up to 10).")
    result, origin = current("weights")
    if result and result["data"]["layers"]:
        data = result["data"]
        source_line(result, origin)
        chart(views.alpha_by_layer(data), key="ch4_chart_alpha", height=440)
        st.markdown(views.weights_conclusion(data))
        labels = [layer["label"] for layer in data["layers"]]
        default = "L0 ffn-in" if "L0 ffn-in" in labels else labels[0]
        if ss.get("ch4_layer") not in labels:
            ss["ch4_layer"] = default
        layer = st.selectbox("Layer to look inside", labels, key="ch4_layer")
        chart(views.spectrum_chart(data.get("spectra", {}), layer), key="ch4_chart_spectrum", height=420)
    with st.expander("What alpha can and can't tell you", icon=":material/info:"):
        st.markdown(
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
    defaults = lessons.WeightSettings()
    c1, c2 = st.columns(2)
    with c1:
        n = per_label_slider("weights", defaults.per_label)
    with c2:
        epochs = epochs_slider("weights", defaults.epochs)
    settings = lessons.WeightSettings(model_id=model_id, per_label=n, epochs=epochs) if model_id else None
    run_controls("weights", settings, result if origin == "Precomputed" else None)


def lesson_hardware(model_id):
    st.markdown("**Fast feedback needs hardware.** The talk timed one fine-tune at **720 s on a CPU** and **75 s on "
                "a budget RTX 3060**. Here we time real training steps (forward, loss, backward, AdamW; batch 16) "
                "on every device this machine has, and estimate how long chapter 3's default fine-tune would take.")
    result, origin = current("hardware")
    if result and result["data"]["devices"]:
        source_line(result, origin)
        chart(views.hardware_speed(result["data"]), key="ch4_chart_speed")
        chart(views.hardware_times(result["data"]), key="ch4_chart_times")
        st.markdown(views.hardware_conclusion(result["data"]))
    defaults = lessons.HardwareSettings()
    steps = st.slider("Timed steps per device", 2, 30, key=remember("ch4_hardware_steps", defaults.steps))
    settings = lessons.HardwareSettings(model_id=model_id, steps=steps) if model_id else None
    run_controls("hardware", settings, result if origin == "Precomputed" else None)


LESSONS = [
    ("1 · Diverse data", lesson_diverse),
    ("2 · Noise", lesson_noise),
    ("3 · Batch size", lesson_batch),
    ("4 · Fitting", lesson_fitting),
    ("5 · Models", lesson_models),
    ("6 · Weights", lesson_weights),
    ("7 · Hardware", lesson_hardware),
]


# --------------------------------------------------------------------------- the page

st.title("Lessons as experiments")
st.markdown("The talk ended with the lessons it paid for. Here each one is **an experiment** on the same BERT and "
            "data as chapter 3: shown from a precomputed run, and runnable live in about a minute.")
load_shipped_results()
harvest_finished_job()
results_file_panel()
live_model = model_for_live_runs()

for tab, (_, draw) in zip(st.tabs([title for title, _ in LESSONS], key="ch4_tab"), LESSONS):
    with tab:
        draw(live_model)
