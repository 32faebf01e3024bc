"""Recordings of live runs, and replaying them through the same live view.

A live moment on stage can fail (a busy machine, a lost network, a slow laptop).
So every live run of the app can also be *recorded* from the command line and
*replayed* in the app: the same charts, fed by the recorded reports at their
recorded pace (or 4x, or all at once), clearly labelled as a replay.

A recording is one versioned JSON file (like the lessons' results file):

    {"format": "fizzbuzz-to-bert/recording", "version": 1,
     "kind": "finetune",                         # or "ch1_training", "lesson"
     "created": "2026-12-03T12:30:00+00:00", "machine": {... load_average ...},
     "settings": {...},                          # what was run
     "events": [{"t": 4.21, "type": "step", "data": {...}}, ...],   # t: seconds since the start
     "ended": 19.8,                              # when the result came back
     "result": {...}}                            # the final numbers (never model weights)

Written by the command lines (`--record FILE`), one for each kind:

    python -m core.fizzbuzz_training --record core/data/recordings/ch1-training.json
    python -m core.finetune --record core/data/recordings/ch3-finetune.json
    python -m core.lessons run --all --record-dir core/data/recordings
    python -m core.recording make-all core/data/recordings      # all of the above
    python -m core.recording show core/data/recordings/ch3-finetune.json

`Replay(load_recording(path), speed=4)` looks like a background job (core/jobs.py)
to a page: `snapshot()` gives a jobs.JobSnapshot with the reports "so far", so
ui.live.while_running and the pages' own draw functions show it unchanged. No torch
is needed to replay; numpy only for chapter 1's weights. A damaged, truncated or
foreign file raises RecordingError with one sentence, checked when it is loaded
(every report is rebuilt then), not halfway through the replay.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import time
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path

from core import jobs

FORMAT = "fizzbuzz-to-bert/recording"
VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "recordings"
MAX_BYTES = 2 * 1024 * 1024  # a recording is tens of KB; anything this big is not ours

CH1 = "ch1_training"
FINETUNE = "finetune"
LESSON = "lesson"
KINDS = (CH1, FINETUNE, LESSON)
STEP, EPOCH = "step", "epoch"

# The speed choices a page offers; "instant" shows the whole run at once.
SPEEDS = {"1×": 1.0, "4×": 4.0, "instant": math.inf}
REMAKE = "Make it again with `python -m core.recording make-all core/data/recordings`."


class RecordingError(ValueError):
    """A recording that can't be replayed; str(error) is one sentence saying why."""


@dataclass
class Recording:
    kind: str
    settings: dict
    events: list[dict]
    result: dict
    ended: float
    created: str = ""
    machine: dict = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "kind": self.kind, "created": self.created,
                "machine": self.machine, "note": self.note, "settings": self.settings,
                "events": self.events, "ended": self.ended, "result": self.result}

    @property
    def experiment(self) -> str | None:
        """The chapter 4 experiment a lesson recording ran."""
        return self.settings.get("experiment") if self.kind == LESSON else None


# --------------------------------------------------------------------------- recording


def plain(value, digits: int = 6):
    """JSON-ready and small: dataclasses and numpy arrays become dicts and lists, floats
    keep 6 significant digits (plenty for a chart), NaN and infinities become None."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), digits) for f in fields(value)}
    if hasattr(value, "tolist"):  # numpy arrays and numpy scalars
        return plain(value.tolist(), digits)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, digits) for v in value]
    return str(value)


class Recorder:
    """Collects a run's reports with their times; hand its on_step/on_epoch to the run.

        recorder = Recorder(FINETUNE, settings={...})
        result = finetune(train, eval, config, on_step=recorder.on_step, on_epoch=recorder.on_epoch)
        save(recorder.finish(finetune_result(result)), "run.json")
    """

    def __init__(self, kind: str, settings: dict, clock=time.monotonic, encode=plain):
        if kind not in KINDS:
            raise ValueError(f"unknown recording kind {kind!r}")
        self.kind, self.settings, self._clock, self._encode = kind, plain(settings), clock, encode
        self.started = clock()
        self.events: list[dict] = []

    def _add(self, kind: str, report) -> None:
        self.events.append({"t": round(self._clock() - self.started, 3), "type": kind, "data": self._encode(report)})

    def on_step(self, report) -> None:
        self._add(STEP, report)

    def on_epoch(self, report) -> None:
        self._add(EPOCH, report)

    def finish(self, result: dict, note: str = "") -> Recording:
        """The recording of the run that just ended. The machine is described now, so its
        load average (over the last minute) covers the run, not the moment before it."""
        from core import hardware

        return Recording(kind=self.kind, settings=self.settings, events=self.events, result=plain(result),
                         ended=round(self._clock() - self.started, 3), created=_now(),
                         machine=hardware.machine_description(), note=note)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def save(recording: Recording, path) -> Path:
    """Write atomically (a temporary file, then rename): a crash can't leave half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(recording.to_json(), separators=(",", ":"), allow_nan=False) + "\n",
                         encoding="utf-8")
    temporary.replace(path)
    return path


def finetune_result(result) -> dict:
    """What a replay of chapter 3 ends with: the scores, the confusion matrix's and the
    per-class scores' raw material (what the model said about each evaluation sentence),
    how long it took and what learned. Never the weights."""
    summary = result.summary()
    summary.pop("history", None)  # the epoch events carry it
    summary.update(eval_predictions=plain(result.eval_predictions), weights_epoch=result.weights_epoch,
                   total_layers=result.total_layers, frozen_ran_once=result.frozen_ran_once)
    return summary


def lesson_progress(progress) -> dict:
    """A lesson's progress report without its partial result (the final one is recorded)."""
    return {"fraction": plain(progress.fraction), "message": str(progress.message)}


# --------------------------------------------------------------------------- loading


def load_recording(source, name: str | None = None) -> Recording:
    """Read and check a recording: a path, or the bytes of an upload. Every report is
    rebuilt once here (see `decode`), so a damaged file is refused now, in one sentence."""
    name = name or "The recording"
    try:
        if isinstance(source, (str, Path)):
            path = Path(source)
            name = f"'{path.name}'" if name == "The recording" else name
            if not path.is_file():
                raise RecordingError(f"{name} does not exist. {REMAKE}")
            if path.stat().st_size > MAX_BYTES:
                raise RecordingError(f"{name} is {path.stat().st_size / 1e6:.0f} MB; a recording is at most "
                                     f"{MAX_BYTES // 2**20} MB, so it is not one of ours.")
            source = path.read_bytes()
        if len(source) > MAX_BYTES:
            raise RecordingError(f"{name} is {len(source) / 1e6:.0f} MB; a recording is at most "
                                 f"{MAX_BYTES // 2**20} MB, so it is not one of ours.")
        document = json.loads(source.decode("utf-8"))
    except RecordingError:
        raise
    except UnicodeDecodeError:
        raise RecordingError(f"{name} is not a text file; a recording is JSON.") from None
    except json.JSONDecodeError as error:
        raise RecordingError(f"{name} is damaged or cut short: it is not valid JSON (line {error.lineno}, "
                             f"column {error.colno}). {REMAKE}") from None
    except OSError as error:
        raise RecordingError(f"{name} could not be read: {error.strerror or error}.") from None
    recording = _validated(document, name)
    decode(recording, name)  # raises RecordingError if any report can't be rebuilt
    return recording


def load_shipped(file_name: str) -> Recording:
    """A recording shipped with the app (core/data/recordings/), with its own name in errors."""
    return load_recording(SHIPPED_DIR / file_name, name=f"The shipped recording '{file_name}'")


def _validated(document, name: str) -> Recording:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RecordingError(f"{name} is not a recording of this app (it has no '{FORMAT}' marker).")
    version = document.get("version")
    if version != VERSION:
        raise RecordingError(f"{name} was written in recording format version {version}; this app reads "
                             f"version {VERSION}. {REMAKE}")
    kind = document.get("kind")
    if kind not in KINDS:
        raise RecordingError(f"{name} records a kind of run this app doesn't know ({str(kind)[:40]!r}).")
    settings, events, result = document.get("settings"), document.get("events"), document.get("result")
    if not isinstance(settings, dict) or not isinstance(events, list) or not isinstance(result, dict):
        raise RecordingError(f"{name} is damaged: its settings, events or result are missing. {REMAKE}")
    last = 0.0
    for number, event in enumerate(events, 1):
        if not (isinstance(event, dict) and event.get("type") in (STEP, EPOCH)
                and isinstance(event.get("data"), dict) and _is_time(event.get("t")) and event["t"] >= last):
            raise RecordingError(f"{name} is damaged: event {number} is not a report at a time after the one "
                                 f"before. {REMAKE}")
        last = event["t"]
    ended = document.get("ended")
    if not _is_time(ended) or ended < last:
        raise RecordingError(f"{name} is damaged: it doesn't say when the run ended. {REMAKE}")
    if kind == LESSON:
        from core.lessons import EXPERIMENTS

        if settings.get("experiment") not in EXPERIMENTS:
            raise RecordingError(f"{name} records a chapter 4 experiment this app doesn't have.")
    machine = document.get("machine")
    return Recording(kind=kind, settings=settings, events=events, result=result, ended=float(ended),
                     created=str(document.get("created") or ""), machine=machine if isinstance(machine, dict) else {},
                     note=str(document.get("note") or ""))


def _is_time(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


# --------------------------------------------------------------------------- decoding


@dataclass
class Decoded:
    """A recording's reports rebuilt as the objects the live run sent, and its result."""

    events: list          # [(t, "step" | "epoch", report)]
    result: object
    stopped_result: typing.Callable | None = None  # (steps, epochs) -> the result of a replay stopped midway
    meta: dict = field(default_factory=dict)       # what the page's draw code reads from job.meta


def decode(recording: Recording, name: str = "The recording") -> Decoded:
    """Rebuild every report with the live run's own types: chapter 1's Checkpoint and
    Progress, chapter 3's StepReport and EpochReport, chapter 4's Progress."""
    try:
        return _DECODERS[recording.kind](recording)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        detail = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise RecordingError(f"{name} is damaged: {detail}. {REMAKE}") from None


def build(cls, data: dict):
    """A dataclass from a recorded dict, each field checked against its annotation
    (int, float, str, bool, optional): a string where a number belongs is refused here."""
    if not isinstance(data, dict):
        raise ValueError(f"a {cls.__name__} report is not a table of values")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f"a {cls.__name__} report has no '{f.name}'")
            continue
        values[f.name] = _checked(data[f.name], hints[f.name], f.name)
    return cls(**values)


def _checked(value, hint, name: str):
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if option not in (bool, int, float, str, type(None)):
            return value  # lists, dicts, nested objects: checked by whoever uses them
    raise ValueError(f"'{name}' is {type(value).__name__}, not {'/'.join(getattr(o, '__name__', str(o)) for o in options)}")


def _decode_ch1(recording: Recording) -> Decoded:
    import numpy as np

    from core import fizzbuzz_training, scratch

    config = build(scratch.TrainConfig, recording.settings)
    problems = scratch.validate_config(config)
    if problems:
        raise ValueError(problems[0].rstrip("."))
    shapes = {k: np.shape(v) for k, v in fizzbuzz_training.untrained(config).items()}

    def params(values) -> dict:
        if not isinstance(values, dict) or set(values) != set(shapes):
            raise ValueError("a checkpoint's weights are not this network's")
        arrays = {k: np.asarray(values[k], dtype=float) for k in shapes}
        if any(arrays[k].shape != shapes[k] or not np.isfinite(arrays[k]).all() for k in shapes):
            raise ValueError("a checkpoint's weights have the wrong shape or aren't numbers")
        return arrays

    events = []
    for event in recording.events:
        data = event["data"]
        if event["type"] == STEP:
            report = fizzbuzz_training.Progress(_checked(data.get("epoch"), int, "epoch"), params(data.get("params")))
        else:
            report = build(scratch.Checkpoint, data)
        events.append((event["t"], event["type"], report))
    history = [report for _, kind, report in events if kind == EPOCH]
    result_data = recording.result
    status = result_data.get("status")
    if status not in (fizzbuzz_training.DONE, fizzbuzz_training.STOPPED, fizzbuzz_training.DIVERGED):
        raise ValueError("its result has no status")
    result = scratch.RunResult(config, params(result_data.get("params")), history, status,
                               str(result_data.get("message") or ""))

    def stopped(steps, epochs):
        last = steps[-1].params if steps else fizzbuzz_training.untrained(config)
        epoch = steps[-1].epoch if steps else 0
        return scratch.RunResult(config, last, list(epochs), fizzbuzz_training.STOPPED,
                                 f"Replay stopped at epoch {epoch:,}.")

    return Decoded(events, result, stopped, meta={"config": config})


def _decode_finetune(recording: Recording) -> Decoded:
    from core import finetune as ft

    events = []
    for event in recording.events:
        cls = ft.StepReport if event["type"] == STEP else ft.EpochReport
        report = build(cls, event["data"])
        if isinstance(report, ft.StepReport) and (report.total_steps < 1 or report.step < 1):
            raise ValueError("a step report counts no steps")
        events.append((event["t"], event["type"], report))
    data = dict(recording.result)
    config_values = data.get("config")
    if not isinstance(config_values, dict):
        raise ValueError("its result has no settings")
    known = {f.name for f in fields(ft.FinetuneConfig)}
    config = build(ft.FinetuneConfig, {k: v for k, v in config_values.items() if k in known})
    labels = data.get("labels")
    if not (isinstance(labels, list) and labels and all(isinstance(label, str) for label in labels)):
        raise ValueError("its result has no labels")
    predictions = None
    if data.get("eval_predictions") is not None:
        predictions = build(ft.EvalPredictions, data["eval_predictions"])
        columns = (predictions.texts, predictions.y_true, predictions.y_pred, predictions.confidence)
        if not all(isinstance(c, list) and len(c) == len(predictions.texts) for c in columns) \
                or not set(predictions.y_true) | set(predictions.y_pred) <= set(labels):
            raise ValueError("its evaluation predictions don't match its labels")
    numbers = build(_FinetuneNumbers, {k: data[k] for k in (f.name for f in fields(_FinetuneNumbers)) if k in data})
    result = ft.FinetuneResult(
        model=None, tokenizer=None, labels=labels, config=config,
        history=[r for _, kind, r in events if kind == EPOCH], steps=[r for _, kind, r in events if kind == STEP],
        eval_predictions=predictions, **vars(numbers))
    epochs = config.epochs
    return Decoded(events, result, None, meta={"epochs": epochs})


@dataclass
class _FinetuneNumbers:
    """The plain numbers of a FinetuneResult a recording keeps (the summary's names)."""

    train_accuracy: float | None = None
    eval_accuracy: float | None = None
    eval_loss: float | None = None
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    examples_per_second: float = 0.0
    best_epoch: int | None = None
    cancelled: bool = False
    stopped_early: bool = False
    diverged: str | None = None
    device: str = "cpu"
    warning: str | None = None
    load_seconds: float = 0.0
    weights_epoch: int | None = None
    trainable_parameters: int = 0
    total_parameters: int = 0
    frozen_layers: int = 0
    total_layers: int = 0
    frozen_ran_once: bool = False


def _decode_lesson(recording: Recording) -> Decoded:
    from core import lessons
    from core.lessons.results import _result_problem

    key = recording.experiment
    events = []
    for event in recording.events:
        if event["type"] != STEP:
            raise ValueError("a lesson records progress steps only")
        progress = build(lessons.Progress, {"fraction": event["data"].get("fraction"),
                                            "message": event["data"].get("message")})
        events.append((event["t"], STEP, progress))
    problem = _result_problem(key, recording.result)
    if problem:
        raise ValueError(f"its result {problem}")
    return Decoded(events, recording.result, None,
                   meta={"key": key, "title": lessons.EXPERIMENTS[key].title})


_DECODERS = {CH1: _decode_ch1, FINETUNE: _decode_finetune, LESSON: _decode_lesson}


# --------------------------------------------------------------------------- replaying


def recorded_when(recording: Recording) -> str:
    try:
        return dt.datetime.fromisoformat(recording.created).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return "at an unknown time"


def label(recording: Recording) -> str:
    """'Replay of a run recorded 2026-12-03 12:30 UTC on AMD EPYC 7B13 · 2 cores · ...'"""
    from core import hardware

    return f"Replay of a run recorded {recorded_when(recording)} on {hardware.describe(recording.machine)}"


class Replay:
    """A recording played back as if it were a running job (see core/jobs.py).

    The clock starts at the first report: the seconds a live run spends loading before
    it (the model, the frozen layers) are skipped, so the first point shows at once.
    From there reports come at their recorded times divided by `speed` (math.inf:
    all at once). `clock` is injectable so tests can play a replay without waiting.
    """

    def __init__(self, recording: Recording, speed: float = 1.0, clock=time.monotonic, meta: dict | None = None):
        if not speed > 0:
            raise ValueError("a replay's speed must be above 0")
        self.recording, self.speed, self._clock = recording, float(speed), clock
        decoded = decode(recording)
        self._events, self._result, self._stopped_result = decoded.events, decoded.result, decoded.stopped_result
        self.skipped = decoded.events[0][0] if decoded.events else 0.0  # recorded seconds before the first report
        self._times = [t - self.skipped for t, _, _ in decoded.events]
        self.duration = max(0.0, recording.ended - self.skipped)  # recorded seconds from first report to the end
        self.meta = {**decoded.meta, **(meta or {}), "replay": True}
        self._started = clock()
        self._stopped_at: float | None = None

    @property
    def label(self) -> str:
        return label(self.recording)

    def position(self) -> float:
        """Recorded seconds played so far (0 at the first report, `duration` at the end)."""
        if self._stopped_at is not None:
            return self._stopped_at
        if math.isinf(self.speed):
            return self.duration
        return min(self.duration, (self._clock() - self._started) * self.speed)

    def stop(self) -> None:
        """Freeze the replay where it is, as Stop freezes a run."""
        if self._stopped_at is None:
            self._stopped_at = self.position()

    @property
    def stop_requested(self) -> bool:
        return self._stopped_at is not None

    def join(self, timeout: float | None = None) -> bool:
        return True

    def snapshot(self) -> jobs.JobSnapshot:
        played = self.position()
        shown = self._events[:bisect.bisect_right(self._times, played)]
        steps = [report for _, kind, report in shown if kind == STEP]
        epochs = [report for _, kind, report in shown if kind == EPOCH]
        if self._stopped_at is not None and played < self.duration:
            status, result = jobs.STOPPED, (self._stopped_result(steps, epochs) if self._stopped_result else None)
            error = "Replay stopped."
        elif played >= self.duration:
            status, result, error = jobs.DONE, self._result, None
        else:
            status, result, error = jobs.RUNNING, None, None
        return jobs.JobSnapshot(status=status, position=0, steps=steps, epochs=epochs, result=result, error=error,
                                stop_requested=self._stopped_at is not None,
                                running_seconds=self.skipped + played)

    @property
    def finished(self) -> bool:
        return self.snapshot().finished


# --------------------------------------------------------------------------- command line

SHIPPED_FILES = {CH1: "ch1-training.json", FINETUNE: "ch3-finetune.json"}


def lesson_file(key: str) -> str:
    return f"lesson-{key}.json"


def make_all(folder) -> int:
    """Record every live run of the app at its default settings into `folder`: chapter 1's
    training, chapter 3's demo fine-tune, the seven chapter 4 experiments."""
    from core import fizzbuzz_training
    from core import finetune
    from core import lessons

    folder = Path(folder)
    steps = [
        ("chapter 1 training", lambda: fizzbuzz_training.main(["--record", str(folder / SHIPPED_FILES[CH1])])),
        ("chapter 3 fine-tune", lambda: finetune.main(["--record", str(folder / SHIPPED_FILES[FINETUNE])])),
        ("chapter 4 experiments", lambda: lessons.main(["run", "--all", "--record-dir", str(folder)])),
    ]
    for what, run in steps:
        print(f"== recording {what}", flush=True)
        status = run()
        if status not in (0, None):
            print(f"recording {what} failed (exit status {status})", flush=True)
            return status
    print(f"recordings written to {folder}")
    return 0


def _show(path) -> int:
    import sys

    try:
        recording = load_recording(path)
    except RecordingError as error:
        print(error, file=sys.stderr)
        return 2
    what = recording.experiment or recording.kind
    size = Path(path).stat().st_size
    print(f"{what}: {len(recording.events)} reports over {recording.ended:.1f} s, {size / 1024:.0f} KiB")
    print(label(recording))
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(prog="python -m core.recording",
                                     description="Record the app's live runs for replay, or describe a recording.")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-all", help="record every live run at its default settings")
    make.add_argument("folder", nargs="?", default=str(SHIPPED_DIR))
    show = commands.add_parser("show", help="check and describe a recording")
    show.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "show":
        return _show(args.file)
    return make_all(args.folder)


if __name__ == "__main__":
    raise SystemExit(main())
