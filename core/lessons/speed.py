"""Lesson 7, fast feedback needs hardware: training steps per second on every
device here (timed `seeds` times, for a spread), what that means for a fine-tune
in which every layer learns, and chapter 3's real default fine-tune timed end to
end (which runs its frozen lower layers once and trains only the top ones), beside
the talk's 720 s (CPU) vs 75 s (RTX 3060)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.lessons.base import Runs, Settings, check, envelope, spread


@dataclass
class HardwareSettings(Settings):
    steps: int = 8                 # timed training steps per device (after 2 warm-up steps)
    run_sentences: int = 400       # the run whose time is estimated: chapter 3's default
    run_epochs: int | None = None  # None: chapter 3's default number of epochs
    time_chapter3: bool = True     # also run chapter 3's default fine-tune once and time it


def hardware_speed(settings: HardwareSettings | None = None, should_stop=lambda: False, on_progress=None,
                   train=None, eval=None) -> dict:
    """Time `steps` training steps per device (`seeds` times each) and estimate from
    them a run of chapter 3's size in which every layer learns; then time chapter
    3's real default fine-tune on the shipped files. `train` and `eval` are ignored."""
    from core import finetune, hardware

    settings = settings or HardwareSettings()
    check(settings)
    started = time.perf_counter()
    devices = hardware.devices_present()
    if settings.run_epochs is None:
        settings.run_epochs = finetune.FinetuneConfig().epochs
    repeats = len(settings.seed_list())
    runs = Runs(len(devices) * repeats + int(settings.time_chapter3), should_stop, on_progress)
    timings: list[dict] = []
    for device, name, threads in devices:
        measured = []
        for repeat in range(repeats):
            runs.tell(0.0, f"Timing {settings.steps} training steps on {name} ({repeat + 1} of {repeats})")
            timing = hardware.measure_device(device, name, threads, model_id=settings.model_id,
                                             batch_size=settings.batch_size, steps=settings.steps,
                                             should_stop=should_stop)
            if timing is None:
                break
            runs.done += 1
            measured.append(timing)
        if len(measured) < repeats:
            runs.stopped = True
            break
        rates = spread([t.steps_per_second for t in measured])
        row = measured[0].to_dict()
        row.update(steps_per_second=rates["mean"], steps_per_second_sd=rates["sd"],
                   steps_per_second_runs=[t.steps_per_second for t in measured],
                   seconds_per_step=1.0 / rates["mean"], examples_per_second=settings.batch_size * rates["mean"])
        row["estimated_run_seconds"] = hardware.estimate_seconds(
            rates["mean"], settings.run_sentences, settings.batch_size, settings.run_epochs)
        timings.append(row)
        runs.finished({"devices": list(timings)})
    chapter3 = None
    if settings.time_chapter3 and not runs.stopped:
        chapter3 = time_chapter3(runs, settings.model_id)
    return envelope("hardware", settings, started, runs, {
        "devices": timings,
        "run": {"sentences": settings.run_sentences, "batch_size": settings.batch_size,
                "epochs": settings.run_epochs,
                "steps": hardware.steps_in_run(settings.run_sentences, settings.batch_size, settings.run_epochs)},
        "chapter3": chapter3,
        "talk": {"cpu_seconds": hardware.TALK_CPU_SECONDS, "gpu_seconds": hardware.TALK_GPU_SECONDS,
                 "gpu_name": hardware.TALK_GPU_NAME, "speedup": hardware.talk_speedup()},
    }, stopped_message=f"Stopped after timing {len(timings)} of {len(devices)} devices: those are kept.")


def time_chapter3(runs: Runs, model_id: str) -> dict | None:
    """Chapter 3's default fine-tune, exactly as its Start button runs it (400
    sentences, its default settings, evaluation after every epoch), timed end to end."""
    from core import finetune
    from core.lessons.data import shipped

    config = finetune.FinetuneConfig(model_id=model_id)
    train, eval = shipped("train"), shipped("eval")
    result, complete = runs.finetune(train, eval, config, "chapter 3's default fine-tune")
    if not complete:
        return None
    return {"seconds": round(result.seconds, 2), "load_seconds": round(result.load_seconds, 2),
            "sentences": len(train), "epochs": len(result.history), "eval_accuracy": result.eval_accuracy,
            "frozen_layers": result.frozen_layers, "total_layers": result.total_layers,
            "frozen_ran_once": result.frozen_ran_once, "device": result.device}


def headline(data: dict) -> str:
    return " | ".join(f"{d['name']}: {d['steps_per_second']:.1f} steps/s" for d in data["devices"])
