"""Lesson 7: fast feedback needs hardware.

The talk timed the same fine-tune on a CPU and on a budget RTX 3060: 720 s
against 75 s, about ten times faster. Here we measure what *this* machine
does: training steps per second of the real fine-tune step (forward, loss,
backward, AdamW) for each device present - the CPU with 1 and with all its
threads, and a CUDA or Apple MPS GPU when there is one - and turn that into
an estimate of how long a whole fine-tune would take on each.

    steps per run = ceil(sentences / batch size) x epochs
    seconds       = steps per run / steps per second
    e.g. 400 sentences, batch 16, 5 epochs = 25 x 5 = 125 steps; at 8 steps/s -> 16 s

torch is imported inside functions only.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass

from core import models

# The talk's own measurement of one fine-tune (same job, two machines).
TALK_CPU_SECONDS = 720.0
TALK_GPU_SECONDS = 75.0
TALK_GPU_NAME = "RTX 3060"

# Short sentences like the app's data: a batch of them is ~10-15 tokens wide.
SAMPLE_SENTENCES = [
    "The price is outrageous", "I found a better deal elsewhere", "My card was declined",
    "Delivery takes far too many weeks", "Nobody answered my emails", "The checkout page crashed",
    "I don't need it anymore", "Please cancel this order", "Too expensive for what it is",
    "Support never replied to my call", "The website kept showing an error", "Changed my mind, sorry",
    "Another store sells it cheaper", "The lead time is way too long", "My bank blocked the payment",
    "Just cancel it please",
]


@dataclass
class DeviceTiming:
    """How fast one device trains: measured, not looked up."""

    device: str               # "cpu", "cuda", "mps"
    name: str                 # what a person calls it: "CPU, 2 threads", "NVIDIA H100"
    threads: int | None       # CPU threads used (None for a GPU)
    batch_size: int
    steps: int                # timed steps (after warm-up)
    seconds_per_step: float
    steps_per_second: float
    examples_per_second: float

    def to_dict(self) -> dict:
        return asdict(self)


def machine_description() -> dict:
    """Where results were computed: shown beside every precomputed number."""
    info = {
        "platform": platform.platform(terse=True),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": _load_average(),
    }
    if "torch" not in sys.modules:
        # Don't import torch (a second or more) just to describe the machine.
        from importlib import metadata

        try:
            info["torch"] = metadata.version("torch")
        except metadata.PackageNotFoundError:  # pragma: no cover
            pass
        return info
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            info["gpu"] = "Apple MPS"
    except ImportError:  # pragma: no cover - torch is a requirement
        pass
    return info


def _load_average() -> float | None:
    """Processes wanting a CPU over the last minute (Linux/macOS). Above the core
    count the machine was busy and every timing is slower than it would be idle."""
    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):  # Windows
        return None


def _cpu_name() -> str:
    """'Intel(R) Xeon(R) Platinum 8488C' from /proc/cpuinfo, else platform's guess."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(info: dict) -> str:
    """One line for the page: 'Intel Xeon ... · 2 cores · torch 2.13.0 · no GPU'."""
    parts = [info.get("processor") or "unknown CPU", f"{info.get('cpu_count', '?')} cores"]
    if info.get("torch"):
        parts.append(f"torch {info['torch']}")
    parts.append(info.get("gpu") or "no GPU")
    load, cores = info.get("load_average"), info.get("cpu_count") or 1
    during = info.get("load_during") or {}
    if during.get("max") is not None:
        load = during["max"]
        parts.append(f"load {during['min']:g}-{during['max']:g} throughout")
    if load is not None and load > cores:
        parts.append(f"busy: load up to {load:g} on {cores} cores, so timings are slower than on an idle machine")
    return " · ".join(parts)


class LoadWatch:
    """The machine's load average sampled every `every` seconds while a block runs,
    so a results file can say how quiet the machine was *throughout*, not just at
    the end:

        with LoadWatch() as watch:
            ...
        watch.summary() -> {'min': 0.2, 'max': 1.1, 'samples': 40, 'every_seconds': 5}
    """

    def __init__(self, every: float = 5.0):
        import threading

        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="load-watch")

    def _watch(self) -> None:
        while True:
            load = _load_average()
            if load is not None:
                self.samples.append(load)
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> "LoadWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def summary(self) -> dict:
        if not self.samples:
            return {"min": None, "max": None, "samples": 0, "every_seconds": self.every}
        return {"min": min(self.samples), "max": max(self.samples), "samples": len(self.samples),
                "every_seconds": self.every}


def devices_present() -> list[tuple[str, str, int | None]]:
    """(device, name, threads) for every way this machine can train: the CPU with
    one thread and with all of them, plus CUDA / MPS when present."""
    import torch

    cores = os.cpu_count() or 1
    found = [("cpu", "CPU, 1 thread", 1)]
    if cores > 1:
        found.append(("cpu", f"CPU, {cores} threads", cores))
    if torch.cuda.is_available():
        found.append(("cuda", torch.cuda.get_device_name(0), None))
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        found.append(("mps", "Apple GPU (MPS)", None))
    return found


def measure_device(device: str, name: str, threads: int | None, model_id: str = models.BUNDLED,
                   batch_size: int = 16, steps: int = 8, warmup: int = 2,
                   should_stop=lambda: False) -> DeviceTiming | None:
    """Time `steps` real training steps (after `warmup` untimed ones) on one device.

    The step is chapter 3's loop run through the whole model (every layer
    computes, as for any architecture): the classifier with its word embeddings
    frozen, AdamW, one batch of short sentences padded to the longest. Returns None
    when should_stop() said stop before the timing finished.
    """
    import torch

    from core import finetune

    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        tokenizer = models.load_tokenizer(model_id)
        model = models.load_classifier(model_id, ["a", "b"]).to(device)
        finetune.freeze(model, "embeddings")
        model.train()
        optimizer = finetune.make_optimizer(model, finetune.FinetuneConfig(model_id=model_id))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
        texts = (SAMPLE_SENTENCES * math.ceil(batch_size / len(SAMPLE_SENTENCES)))[:batch_size]
        ids, mask = finetune.pad_batch(tokenizer(texts, truncation=True, max_length=32)["input_ids"],
                                       tokenizer.pad_token_id or 0)
        targets = torch.tensor([i % 2 for i in range(batch_size)])
        batch = finetune.Batch(mask=mask.to(device), ids=ids.to(device))
        targets = targets.to(device)

        def one_step():
            finetune.train_step(model, batch, targets, optimizer, scheduler)

        for _ in range(warmup):
            if should_stop():
                return None
            one_step()
        _synchronise(device)
        started = time.perf_counter()
        for _ in range(steps):
            if should_stop():
                return None
            one_step()
        _synchronise(device)
        seconds = (time.perf_counter() - started) / steps
    finally:
        torch.set_num_threads(previous_threads)
    return DeviceTiming(device=device, name=name, threads=threads, batch_size=batch_size, steps=steps,
                        seconds_per_step=seconds, steps_per_second=1.0 / seconds,
                        examples_per_second=batch_size / seconds)


def _synchronise(device: str) -> None:
    """GPUs run asynchronously: wait for the queued work before reading the clock."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def steps_in_run(sentences: int, batch_size: int, epochs: int) -> int:
    """steps_in_run(400, 16, 5) = ceil(400 / 16) x 5 = 125."""
    return math.ceil(sentences / batch_size) * epochs


def estimate_seconds(steps_per_second: float, sentences: int, batch_size: int, epochs: int) -> float:
    """Training time of a run at a measured speed: 125 steps at 8 steps/s -> 15.6 s
    (evaluation and loading the model come on top)."""
    return steps_in_run(sentences, batch_size, epochs) / steps_per_second


def talk_speedup() -> float:
    """The talk's GPU advantage: 720 s / 75 s = 9.6x."""
    return TALK_CPU_SECONDS / TALK_GPU_SECONDS
