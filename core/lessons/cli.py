"""Run chapter 4's experiments from a shell and save their results, or summarise a results file.

    python -m core.lessons run --all --output core/data/lessons/precomputed.json
    python -m core.lessons run label_noise batch_size --output my.json --seeds 5 --set epochs=3
    python -m core.lessons run --all --quick --output /tmp/smoke.json
    python -m core.lessons run --all --record-dir core/data/recordings   # recordings for the Replay buttons
    python -m core.lessons show core/data/lessons/precomputed.json

`run` prints every fine-tune as it starts and the total time at the end, samples
the machine's load average throughout (stored in the file as machine.load_during,
with a warning when it went above 1.5), saves after every experiment, keeping the
file's results for the others, and refuses to overwrite a file it can't read.
The shipped file is the first command, run on an idle machine (about 10 minutes
on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

from core import models, recording
from core.finetune.config import FinetuneError
from core.lessons.base import LessonError, now
from core.lessons.registry import EXPERIMENTS, experiment, summary_line
from core.lessons.results import ResultsFileError, load_results, merged, save_results


def _parse_value(text: str):
    """'3' -> 3, '0.5' -> 0.5, '8,16' -> [8, 16], 'true' -> True, else the text."""
    if "," in text:
        return [_parse_value(part) for part in text.split(",") if part]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.lessons", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run experiments and save their results")
    run.add_argument("experiments", nargs="*", help=f"any of: {', '.join(EXPERIMENTS)}")
    run.add_argument("--all", action="store_true", help="run every experiment")
    run.add_argument("--output",
                     help="results file (JSON); existing results for other experiments are kept")
    run.add_argument("--record-dir", metavar="DIR",
                     help="also save each run as a recording the app can replay: DIR/lesson-<experiment>.json")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="change a setting for every experiment run, e.g. --set epochs=3 --set model_id=PATH")
    run.add_argument("--seeds", type=int, default=None,
                     help="runs per arm for every experiment (default: each experiment's own, 5 for lesson 1, else 3)")
    run.add_argument("--quick", action="store_true",
                     help="a smoke test: 1 seed, 4 sentences per label, 1 epoch (numbers mean nothing)")
    run.add_argument("--note", default="", help="a note stored in the file")
    show = commands.add_parser("show", help="summarise a results file")
    show.add_argument("file")
    return parser


def _show(file: str) -> int:
    try:
        loaded = load_results(file)
    except ResultsFileError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"computed {loaded.created} on {loaded.machine.get('processor', '?')}")
    for key, result in loaded.results.items():
        print(f"{key:14s} {result['seconds']:7.1f} s  {'STOPPED ' if result.get('stopped') else ''}"
              f"{summary_line(result)}")
    return 0


def _quiet_torch() -> None:
    """Two threads at most, and no 'newly initialized classifier' report or
    download bar for every fine-tune."""
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(min(2, torch.get_num_threads()))
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    import os

    # Before torch loads: idle OpenMP threads sleep instead of spinning. On a busy
    # 2-core machine spinning threads made each training step ~20x slower
    # (measured 6.3 s vs 0.28 s per step); on an idle one it costs nothing visible.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "show":
        return _show(args.file)

    keys = list(EXPERIMENTS) if args.all else args.experiments
    if not keys:
        parser.error("name experiments to run, or --all")
    if not args.output and not args.record_dir:
        parser.error("give --output FILE, --record-dir DIR, or both")
    try:
        changes = dict(item.split("=", 1) for item in args.set)
    except ValueError:
        parser.error("--set takes NAME=VALUE")
    changes = {k: _parse_value(v) for k, v in changes.items()}
    if args.quick:
        changes = {"seeds": 1, "per_label": 4, "epochs": 1, "tiny_epochs": 2, "steps": 2,
                   "noise_levels": [0.0, 0.5], "batch_sizes": [8, 32], "time_chapter3": False, **changes}
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    existing = None
    if args.output and Path(args.output).exists():
        try:
            existing = load_results(args.output)
        except ResultsFileError as error:
            print(f"{error}\nRefusing to overwrite it; choose another --output or delete it.", file=sys.stderr)
            return 2

    _quiet_torch()
    from core import hardware

    began = time.perf_counter()
    with hardware.LoadWatch() as watch:
        for number, key in enumerate(keys, start=1):
            try:
                chosen = experiment(key)
                known = {f.name for f in fields(chosen.settings)}
                settings = chosen.settings(**{k: v for k, v in changes.items() if k in known})
                print(f"[{number}/{len(keys)}] {chosen.title}: {settings.describe()}", flush=True)
                recorder = recording.Recorder(recording.LESSON, {"experiment": key, **asdict(settings)},
                                              encode=recording.lesson_progress) if args.record_dir else None
                printer = _printer(began)

                def on_progress(progress, recorder=recorder, printer=printer):
                    printer(progress)
                    if recorder:
                        recorder.on_step(progress)

                result = chosen.run(settings, on_progress=on_progress)
            except (LessonError, models.ModelUnavailable, FinetuneError) as error:
                print(f"{key}: {error}", file=sys.stderr)
                return 2
            print(f"    {result['seconds']:.1f} s  {summary_line(result)}", flush=True)
            if recorder:
                saved = recording.save(recorder.finish(result), Path(args.record_dir) / recording.lesson_file(key))
                print(f"    recorded {saved}", flush=True)
            if not args.output:
                continue
            result["machine"]["load_during"] = watch.summary()  # so far: this result and those before it
            # Save after every experiment: an interrupted --all keeps what finished.
            existing = merged(existing, {key: result})
            existing.created = now()  # the file's date: when it last changed (each result keeps its own)
            existing.machine = {**hardware.machine_description(), "load_during": watch.summary()}
            if args.note:
                existing.note = args.note
            save_results(existing, args.output)
    load = watch.summary()
    where = f"saved {args.output}" if args.output else "done"
    print(f"{where} in {_minutes(time.perf_counter() - began)}; load average "
          f"{load['min']}-{load['max']} throughout ({load['samples']} samples)", flush=True)
    if load["max"] is not None and load["max"] > QUIET_LOAD:
        print(f"warning: the load average reached {load['max']} (above {QUIET_LOAD}): the machine was not quiet, "
              "so the times in this file are slower than an idle machine's. Rerun when it is idle.", file=sys.stderr)
    return 0


QUIET_LOAD = 1.5


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _printer(began: float):
    """Print each fine-tune once, when it starts: '  12 s  Run 2 of 15: N diverse, seed 0 — loading'."""
    last = {"run": None}

    def on_progress(progress) -> None:
        run = progress.message.split(":")[0]
        if run != last["run"]:
            last["run"] = run
            print(f"  {time.perf_counter() - began:6.0f} s  {progress.message}", flush=True)

    return on_progress
