"""Lesson 7, fast feedback needs hardware: training steps per second on every
device here, and what that means for a whole fine-tune, beside the talk's 720 s
(CPU) vs 75 s (RTX 3060)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.lessons.base import Runs, Settings, check, envelope


@dataclass
class HardwareSettings(Settings):
    steps: int = 8                 # timed training steps per device (after 2 warm-up steps)
    run_sentences: int = 400       # the run whose time is estimated: chapter 3's default
    run_epochs: int | None = None  # None: chapter 3's default number of epochs


def hardware_speed(settings: HardwareSettings | None = None, should_stop=lambda: False, on_progress=None,
                   train=None, eval=None) -> dict:
    """Time `steps` training steps per device and estimate chapter 3's whole run
    from them. Uses no training data, so `train` and `eval` are ignored."""
    from core import finetune, hardware

    settings = settings or HardwareSettings()
    check(settings)
    started = time.perf_counter()
    devices = hardware.devices_present()
    if settings.run_epochs is None:
        settings.run_epochs = finetune.FinetuneConfig().epochs
    runs = Runs(len(devices), should_stop, on_progress)
    timings: list[dict] = []
    for device, name, threads in devices:
        runs.tell(0.0, f"Timing {settings.steps} training steps on {name}")
        timing = hardware.measure_device(device, name, threads, model_id=settings.model_id,
                                         batch_size=settings.batch_size, steps=settings.steps,
                                         should_stop=should_stop)
        if timing is None:
            runs.stopped = True
            break
        runs.done += 1
        row = timing.to_dict()
        row["estimated_run_seconds"] = hardware.estimate_seconds(
            timing.steps_per_second, settings.run_sentences, settings.batch_size, settings.run_epochs)
        timings.append(row)
        runs.finished({"devices": list(timings)})
    return envelope("hardware", settings, started, runs, {
        "devices": timings,
        "run": {"sentences": settings.run_sentences, "batch_size": settings.batch_size,
                "epochs": settings.run_epochs,
                "steps": hardware.steps_in_run(settings.run_sentences, settings.batch_size, settings.run_epochs)},
        "talk": {"cpu_seconds": hardware.TALK_CPU_SECONDS, "gpu_seconds": hardware.TALK_GPU_SECONDS,
                 "gpu_name": hardware.TALK_GPU_NAME, "speedup": hardware.talk_speedup()},
    }, stopped_message=f"Stopped after timing {len(timings)} of {len(devices)} devices: those are kept.")


def headline(data: dict) -> str:
    return " | ".join(f"{d['name']}: {d['steps_per_second']:.1f} steps/s" for d in data["devices"])
