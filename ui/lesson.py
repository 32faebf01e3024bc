"""The frame every chapter-4 lesson page shares: its result, its knobs, its live run.

A lesson page shows the shipped precomputed result at once (core/data/lessons/
precomputed.json: loaded in milliseconds, with when and on what machine it was
computed), and can rerun its experiment live as a background job (core/jobs.py,
the same fine-tune queue as chapter 3). Live results replace the precomputed one
for that lesson only; the results file can be downloaded, or another loaded.

A page is a description of its lesson, drawn by `show`:

    lesson.show(Lesson(
        "label_noise", figures=[(ch4_charts.noise_curve, 420)], conclusion=ch4_charts.noise_conclusion,
        knobs=[Slider("per_label", "Sentences per label", 1, 25), ...]))

What the page says (its point and the experiment's story) is in ui/lessons.toml.

Each knob is named for the field of the experiment's settings it sets (its default
comes from there too), so the live run gets exactly what the knobs show.

On screen: the title and the lesson's point, the Run button, the result's charts
and what to conclude from them, then the knobs; the story, the model for live
runs and the results file are folded away below. What ui/harvest.py collects
from a finished run lands in st.session_state["ch4_live"].
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import streamlit as st

from core import hardware, jobs, lessons, models, recording
from ui import charts, live, replay, settings, stage
from ui.formats import as_text, duration, short
from ui.messages import friendly_error

ss = st.session_state
MODEL_KEY = "ch4_model"
WORDS = Path(__file__).with_name("lessons.toml")


@dataclass(frozen=True)
class Slider:
    """A whole-number knob; `name` is the field of the experiment's settings it sets."""
    name: str
    label: str
    low: int
    high: int

    def draw(self, key: str) -> None:
        st.slider(self.label, self.low, self.high, key=knob(key, self.name))

    def shown(self, setting):
        return setting

    def setting(self, shown):
        return int(shown)


@dataclass(frozen=True)
class Number(Slider):
    def draw(self, key: str) -> None:
        st.number_input(self.label, self.low, self.high, step=1, key=knob(key, self.name))


@dataclass(frozen=True)
class Choices:
    """Several values at once (a multiselect), shown × scale (0.1 as 10%); at least one."""
    name: str
    label: str
    options: tuple
    scale: int = 1
    unit: str = ""

    def draw(self, key: str) -> None:
        st.multiselect(self.label, list(self.options), key=knob(key, self.name),
                       format_func=lambda value: f"{value}{self.unit}")

    def shown(self, setting):
        return [round(value * self.scale) for value in setting]

    def setting(self, shown):
        return [value / self.scale if self.scale != 1 else value for value in sorted(shown)]


@dataclass(frozen=True)
class Lesson:
    key: str                                   # the experiment in core.lessons.EXPERIMENTS
    figures: list                              # [(figure function of the result's data, height)]
    conclusion: Callable[[dict], str]          # the sentences that say what *these* numbers show
    knobs: list                                # each sets the settings field of its name
    side_by_side: bool = False                 # two figures in two columns
    after_result: Callable[[dict], None] | None = None   # more to draw under the conclusion
    widths: list = field(default_factory=list)  # the knobs' column widths (equal when empty)


def show(spec: Lesson) -> str | None:
    """Draw a whole lesson page. Returns the model id live runs use."""
    experiment = lessons.EXPERIMENTS[spec.key]
    defaults = experiment.settings()
    words = words_of(spec.key)
    model_id, run_slot = begin(spec.key, words["point"], words["story"])
    result = result_to_show(spec.key, lambda data: data[experiment.required[0]])
    if result:
        draw_figures(spec, result["data"])
        from ui.ch4_charts import seeds_note

        st.caption(seeds_note(result["data"][experiment.required[0]]))
        st.markdown(spec.conclusion(result["data"]))
        if spec.after_result:
            spec.after_result(result["data"])
    values = keep(spec.key, {k.name: k.shown(getattr(defaults, k.name)) for k in spec.knobs},
                  allowed={k.name: k.options for k in spec.knobs if isinstance(k, Choices)})
    if spec.widths and len(spec.widths) != len(spec.knobs):  # zip would silently drop the last knobs
        raise ValueError(f"{spec.key}: {len(spec.knobs)} knobs but {len(spec.widths)} column widths")
    for column, k in zip(st.columns(spec.widths or len(spec.knobs)), spec.knobs):
        with column:
            k.draw(spec.key)
    empty = [k.label for k in spec.knobs if isinstance(k, Choices) and not values[k.name]]
    if empty:
        st.warning(f"Choose at least one: {empty[0].lower()}.")
    live_settings = None
    if model_id and not empty:
        live_settings = experiment.settings(model_id=model_id,
                                            **{k.name: k.setting(values[k.name]) for k in spec.knobs})
    run_controls(spec.key, live_settings, run_slot)
    end()
    return model_id


@functools.cache
def _all_words() -> dict:
    with open(WORDS, "rb") as file:
        return tomllib.load(file)


def words_of(key: str) -> dict:
    """A lesson's point and story, from ui/lessons.toml."""
    return _all_words()[key]


def draw_figures(spec: Lesson, data: dict) -> None:
    columns = st.columns(len(spec.figures)) if spec.side_by_side else [st.container() for _ in spec.figures]
    for column, (figure, height) in zip(columns, spec.figures):
        with column:
            charts.show(figure(data), key=f"ch4_chart_{spec.key}_{figure.__name__}", height=height)


def knob(key: str, name: str) -> str:
    """The widget key of one lesson's knob: ch4_<lesson>_<name>."""
    return f"ch4_{key}_{name}"


def keep(key: str, defaults: dict, allowed: dict | None = None) -> dict:
    """The lesson's knobs kept like every page's (ui.settings): across pages and in the URL."""
    settings.keep({knob(key, name): value for name, value in defaults.items()},
                  allowed={knob(key, name): value for name, value in (allowed or {}).items()})
    return {name: ss[knob(key, name)] for name in defaults}


def begin(key: str, point: str, story: str):
    """Title, the lesson's point, and a slot under them for the Run button. Returns the
    model id live runs use (None when the typed one can't be loaded here) and the slot."""
    load_shipped_results()
    settings.keep({MODEL_KEY: models.BUNDLED})
    st.title(lessons.EXPERIMENTS[key].title)
    st.markdown(f"#### {point}")
    with st.expander("What this experiment does", icon=":material/info:"):
        st.markdown(story)
    return live_model(), st.container()


def end() -> None:
    """Below the knobs: the model for live runs and the results file."""
    with st.expander("Model for live runs, and the results file", icon=":material/folder_open:"):
        model_for_live_runs()
        results_file_panel()


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


REPLAYED = "Replay of a run recorded"


def replay_page(key: str) -> str:
    """The replay of one lesson is kept per lesson page: ch4_<lesson>."""
    return f"ch4_{key}"


def current(key: str) -> tuple[dict | None, str]:
    """The result to show for an experiment and where it came from."""
    replayed = replay.finished(replay_page(key))
    if replayed is not None:
        return replayed, REPLAYED
    live_results = ss.setdefault("ch4_live", {})
    if key in live_results:
        result = live_results[key]
        return result, f"Measured live in this session at {_clock(result.get('computed_at'))}"
    loaded = ss.get("ch4_file")
    if loaded and key in loaded.results:
        return loaded.results[key], "Precomputed"
    return None, ""


def result_to_show(key: str, has_data) -> dict | None:
    """The lesson's result, with a line saying where and when it was measured; None
    (and a sentence) when there is nothing to draw yet."""
    result, origin = current(key)
    if not result or not has_data(result["data"]):
        if ss.get("ch4_file_problem"):
            st.warning(ss["ch4_file_problem"] + " Every experiment can still be run live.")
        st.info("No result to show yet: press **Run live**.", icon=":material/touch_app:")
        return None
    source_line(result, origin)
    return result


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


def source_line(result: dict, origin: str) -> None:
    from ui.ch4_charts import settings_text

    where = hardware.describe(result.get("machine") or {})
    if origin.startswith("Measured"):
        origin, when = "Measured here now" + origin.removeprefix("Measured live"), ""
    elif origin.startswith("Replay"):
        when = f" {_when(result.get('computed_at'))}"  # a replay says so: never "Recorded" like the shipped file
    else:
        origin, when = "Recorded", f" {_when(result.get('computed_at'))}"
    line = f"**{origin}**{when} on {where} in {duration(result.get('seconds'))}"
    every_setting = f"settings: {settings_text(result.get('settings', {}), result.get('experiment'))}"
    stage.caption(line, full=f"{line} · {every_setting}", behind=every_setting)
    if result.get("stopped"):
        st.warning(result.get("message") or "This experiment was stopped midway: what finished is shown.")


def results_file_panel() -> None:
    loaded = ss.get("ch4_file")
    if loaded:
        st.caption(f"Showing {as_text(ss.get('ch4_file_name'))}: computed **{_when(loaded.created)}** on "
                   f"**{hardware.describe(loaded.machine)}**.")
    upload = st.file_uploader("A results file written by `python -m core.lessons run … --output FILE`",
                              type=["json"], key="ch4_upload", max_upload_size=lessons.MAX_RESULTS_MB)
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
        (st.success if message[0] == "success" else st.error)(as_text(message[1]))
    live_results = ss.setdefault("ch4_live", {})
    merged = lessons.merged(loaded, live_results) if (loaded or live_results) else None
    if merged is not None:
        st.download_button("Download these results (JSON)", data=json.dumps(merged.to_json(), indent=1),
                           file_name="lessons-results.json", mime="application/json", key="ch4_download",
                           icon=":material/download:")


def model_for_live_runs() -> None:
    """The one string the talk changed to try another model. A hosted copy offers only
    its allow-list: no box in which a visitor names a folder or any hub model."""
    if models.is_hosted():
        allowed = list(models.allowed_models())
        if ss.get(MODEL_KEY) not in allowed:
            ss[MODEL_KEY] = allowed[0]
        st.selectbox("Model for live runs", allowed, key=MODEL_KEY)
        return
    st.text_input("Model for live runs — change this one string to try another model "
                  "(a registry id, a hub id or a folder)", key=MODEL_KEY)
    chosen = live_model()
    if chosen is None:
        typed = ss.get(MODEL_KEY, "")
        try:
            models.check_model_id(typed)
        except models.ModelUnavailable as error:  # too long, odd characters, outside the models root
            friendly_error(str(error))
            return
        friendly_error(f"'{short(typed.strip())}' is not on this machine (and the hub is off or "
                       "unreachable): live runs use it only once it can be loaded. Put back the bundled id "
                       "to run now.")


def live_model() -> str | None:
    chosen = (ss.get(MODEL_KEY) or "").strip()
    if len(chosen) > models.MAX_ID_LENGTH:
        return None
    if chosen == models.BUNDLED:
        return chosen
    return chosen if chosen and models.is_cached(chosen) else None


def start(key: str, experiment_settings) -> None:
    problems = experiment_settings.problems()
    if problems:
        ss["ch4_notice"] = (key, "error", problems[0])
        return

    work = functools.partial(_run_experiment, key, experiment_settings)
    try:
        job = jobs.submit(work, meta={"key": key, "title": lessons.EXPERIMENTS[key].title},
                          owner=live.session_id(), priority=live.is_speaker())
    except jobs.QueueFull as full:
        ss["ch4_notice"] = (key, "error", str(full))
        return
    live.stop_when_tab_closes("ch4_lessons", job)
    replay.discard(replay_page(key))
    ss["ch4_job"] = job
    ss.pop("ch4_notice", None)


def _run_experiment(key, experiment_settings, on_step, on_epoch, should_stop):
    return lessons.run_experiment(key, experiment_settings, should_stop=should_stop, on_progress=on_step)


def busy() -> bool:
    job = ss.get("ch4_job")
    return job is not None and not job.snapshot().finished


def run_controls(key: str, experiment_settings, slot) -> None:
    """Run / Stop and the live progress of this experiment, drawn in the slot begin()
    left under the title, so the button is on the first screen."""
    precomputed, origin = current(key)
    precomputed = precomputed if origin == "Precomputed" else None
    job = ss.get("ch4_job")
    running_here = job is not None and job.meta["key"] == key and not job.snapshot().finished
    with slot:
        left, middle, right = st.columns([1.1, 2.2, 1.7], vertical_alignment="center")
        with middle:
            replay.controls(replay_page(key), recording.lesson_file(key), disabled=busy())
        with left:
            if st.button("Run live", key=f"ch4_run_{key}", type="primary", icon=":material/play_arrow:",
                         disabled=busy() or experiment_settings is None, width="stretch"):
                start(key, experiment_settings)
                st.rerun()
        with right:
            if busy() and not running_here:
                st.caption(f"Another experiment ({job.meta['title']}) is running; this one can start when it ends.")
            elif experiment_settings is not None:
                took = f" When precomputed it took {duration(precomputed['seconds'])}." if precomputed else ""
                stage.caption(f"A live run takes about {duration(precomputed['seconds'])}." if precomputed
                              else "A live run: its settings are behind the (?).",
                              full=f"Live settings: {experiment_settings.describe()}.{took}")
        notice = ss.get("ch4_notice")
        if notice and notice[0] == key:
            {"error": st.error, "warning": st.warning}.get(notice[1], st.info)(notice[2])
        replaying = replay.current(replay_page(key))
        if replaying is not None:
            progress_panel(replaying)
        elif job is not None and job.meta["key"] == key:
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
        st.progress(fraction, text=f"{text} · {duration(snap.running_seconds)}")
        if snap.stop_requested:
            st.caption("Stopping after this step… finished runs are kept.")
        else:
            st.button("Stop", key=f"ch4_stop_{job.meta['key']}", on_click=job.stop, icon=":material/stop:",
                      help="Stops at the next training step; runs that finished are kept and shown.")

    replay.watch(job, draw)
