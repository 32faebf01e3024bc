"""Pre-flight, for the hour before a talk: will this machine make the live moments in time?

    model_offline()            -> Check: the bundled BERT loads from disk, no network
    memory_check()             -> Check: memory free now
    load_check()               -> Check: the load average against the CPU count
    predict_finetune(steps=4)  -> Prediction: chapter 3's demo fine-tune (core.finetune's real
                                  defaults, the shipped data), from a few timed training steps
    predict_lessons(pred)      -> [Check]: chapter 4's live reruns, scaled from their precomputed times
    run_checks(on_step, on_epoch, should_stop) -> Report: all of the above, in order (a background job)
    warm_caches()              -> {what: seconds}: model, tokenizer, embeddings of the shipped sentences

Each Check is green, amber or red. The fine-tune's budget is 20 s (how long an audience
watches a live run; the demo's default settings were chosen to fit it on a 2-core CPU).

How the fine-tune is predicted: the real `finetune` runs with the demo's settings and is
stopped after a few steps. It reports the seconds spent loading and preparing (model load,
frozen layers run once, the new layer's start), each step, and (at the stop) one evaluation.
The prediction is load + first step + (steps - 1) x a later step + evaluations x one evaluation.
`benchmarks/presenter_render.py` compares it with a whole fine-tune run right after.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

GREEN, AMBER, RED = "green", "amber", "red"
FINETUNE_BUDGET = 20.0          # seconds: the live fine-tune on stage
AMBER_OVER = 1.5                # up to 1.5x a budget is amber; beyond, red
GIB = 1024 ** 3
MEMORY_GREEN = 2 * GIB          # free memory for a fine-tune (the model, its copy, AdamW's state) and a browser
MEMORY_AMBER = 1 * GIB
LOAD_PER_CORE_GREEN = 1.0       # runnable processes per core: above 1 something else competes for the CPU
LOAD_PER_CORE_AMBER = 2.0

# The demo fine-tune's later-step time on the kind of machine, and under the kind of load, the
# chapter-4 results were precomputed on (2-core AMD EPYC; they record a load average of 8.5).
# Measured here, 3 December 2026, load average 8.4: median step 0.236 s. A lesson's time now is
# its precomputed time scaled by (step now / this): rough, and the page says so.
REFERENCE_STEP_SECONDS = 0.236


@dataclass(frozen=True)
class Check:
    name: str
    value: str              # what was found, as a person reads it
    status: str             # GREEN | AMBER | RED
    detail: str = ""        # why that colour


@dataclass
class Prediction:
    """Chapter 3's demo fine-tune on this machine now."""
    seconds: float                  # predicted whole fine-tune, model load included (what chapter 3 shows)
    load_seconds: float             # loading and preparing, before the first step
    first_step_seconds: float
    step_seconds: float             # a later step (the median of those measured)
    eval_seconds: float             # one evaluation of the held-out sentences
    total_steps: int
    evaluations: int
    measured_steps: int
    measured_seconds: float         # what measuring took
    config: dict = field(default_factory=dict)

    def check(self, budget: float = FINETUNE_BUDGET) -> Check:
        return Check("Chapter 3 fine-tune", f"{self.seconds:.0f} s predicted", grade(self.seconds, budget),
                     f"budget {budget:.0f} s: {self.total_steps} steps of {self.step_seconds * 1000:.0f} ms, "
                     f"{self.load_seconds:.1f} s to load and prepare, {self.evaluations} evaluations of "
                     f"{self.eval_seconds:.1f} s")


def grade(value: float, budget: float) -> str:
    """Green within the budget, amber up to 1.5x it, red beyond (and for a value that isn't a number)."""
    if not math.isfinite(value):
        return RED
    if value <= budget:
        return GREEN
    return AMBER if value <= budget * AMBER_OVER else RED


def available_memory(meminfo: str = "/proc/meminfo") -> int | None:
    """Bytes of memory available now (Linux's MemAvailable), None where it can't be read."""
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_check(available: int | None = None) -> Check:
    available = available_memory() if available is None else available
    if available is None:
        return Check("Free memory", "unknown", AMBER, "this system does not say")
    status = GREEN if available >= MEMORY_GREEN else AMBER if available >= MEMORY_AMBER else RED
    return Check("Free memory", f"{available / GIB:.1f} GiB", status,
                 f"green from {MEMORY_GREEN / GIB:.0f} GiB: a fine-tune needs about 1 GiB beside the app")


def load_check(load: float | None = None, cores: int | None = None) -> Check:
    """The 1-minute load average per CPU core: other work competing with the live runs."""
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (OSError, AttributeError):
            return Check("Load average", "unknown", AMBER, "this system does not say")
    cores = cores or os.cpu_count() or 1
    per_core = load / cores
    status = GREEN if per_core <= LOAD_PER_CORE_GREEN else AMBER if per_core <= LOAD_PER_CORE_AMBER else RED
    return Check("Load average", f"{load:.1f} on {cores} cores", status,
                 "green up to 1 per core: above that, something else is using the CPU the live runs need")


def model_offline() -> Check:
    """The bundled BERT and its tokenizer load from the package on disk, with the network off."""
    from core import models

    saved = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    started = time.perf_counter()
    try:
        models.load_tokenizer(models.BUNDLED)
        encoder = models.load_encoder(models.BUNDLED)
        layers = encoder.config.num_hidden_layers
    except Exception as error:  # noqa: BLE001 - any failure is the answer: it did not load
        return Check("Bundled model, offline", "did not load", RED, f"{type(error).__name__}: {error}"[:300])
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    seconds = time.perf_counter() - started
    return Check("Bundled model, offline", f"loaded in {seconds:.1f} s", GREEN,
                 f"{models.BUNDLED}, {layers} layers, from {models.bundled_model_path()}")


def predict_finetune(steps: int = 4, train=None, eval=None, config=None) -> Prediction:
    """Time the first `steps` training steps of the demo fine-tune (stopped there) and
    predict the whole run. Needs at least 2 steps: the first one is slower than the rest.
    The model is loaded once first, untimed: the first load in a process also imports
    transformers and reads the weights from a cold disk, which the live run won't pay again."""
    from core import datasets, finetune, models

    steps = max(2, steps)
    config = config or finetune.FinetuneConfig()
    models.load_tokenizer(config.model_id)
    models.load_classifier(config.model_id, ["a", "b"])
    train = train if train is not None else datasets.load_shipped("train")
    eval = eval if eval is not None else datasets.load_shipped("eval")
    reports = []
    started = time.perf_counter()
    result = finetune.finetune(train, eval, config, on_step=reports.append,
                               should_stop=lambda: len(reports) >= steps)
    measured = time.perf_counter() - started
    if len(reports) < 2:
        raise finetune.FinetuneError("The data gives fewer than two training steps: nothing to time.")
    gaps = sorted(b.elapsed - a.elapsed for a, b in zip(reports, reports[1:]))
    step = gaps[len(gaps) // 2]
    first = reports[0].elapsed
    trained = reports[-1].elapsed
    evaluation = max(0.0, result.seconds - result.load_seconds - trained) if eval is not None else 0.0
    total = reports[0].total_steps
    evaluations = (config.epochs if config.eval_every_epoch else 1) if eval is not None else 0
    seconds = result.load_seconds + first + (total - 1) * step + evaluations * evaluation
    from dataclasses import asdict

    return Prediction(seconds=seconds, load_seconds=result.load_seconds, first_step_seconds=first,
                      step_seconds=step, eval_seconds=evaluation, total_steps=total, evaluations=evaluations,
                      measured_steps=len(reports), measured_seconds=measured, config=asdict(config))


def predict_lessons(prediction: Prediction, precomputed: dict | None = None) -> list[Check]:
    """Each chapter-4 lesson's live rerun now: its precomputed seconds x (a fine-tune step now /
    the step on the precomputed machine). Green when it would take no longer than the precomputed
    run, amber up to 1.5x, red beyond."""
    if precomputed is None:
        from core.lessons import results

        precomputed = results.load_precomputed().results
    speed = prediction.step_seconds / REFERENCE_STEP_SECONDS
    checks = []
    for key, result in precomputed.items():
        then = float(result.get("seconds") or 0.0)
        if then <= 0:
            continue
        now = then * speed
        checks.append(Check(f"Chapter 4: {key.replace('_', ' ')}", f"{now:.0f} s predicted", grade(now, then),
                            f"precomputed in {then:.0f} s; this machine trains at {1 / speed:.2f}x its speed"))
    return checks


def shipped_sentences(split: str) -> list[str]:
    """The shipped cancellation sentences of one file (train, eval, challenge): what the pages embed."""
    from core import datasets

    return list(datasets.load_shipped(split).texts)


def warm_caches() -> dict[str, float]:
    """Load once what the first live page would load: the shared tokenizer and encoder, and the
    embeddings of the shipped sentences (chapters 2 and 5 reuse them). Seconds per item."""
    from core import embedding_cache, models

    took = {}
    for name, load in (("tokenizer", models.shared_tokenizer), ("model", models.shared_encoder)):
        started = time.perf_counter()
        load(models.BUNDLED)
        took[name] = time.perf_counter() - started
    from core import datasets

    for split in datasets.SHIPPED_SPLITS:
        started = time.perf_counter()
        embedding_cache.embed_texts(shipped_sentences(split))
        took[f"embeddings of {split}.csv"] = time.perf_counter() - started
    return took


@dataclass
class Report:
    checks: list[Check]
    prediction: Prediction | None


def run_checks(on_step=lambda check: None, on_epoch=lambda report: None, should_stop=lambda: False,
               steps: int = 4) -> Report:
    """Every check in turn, each handed to `on_step` as it is known (a job's live view shows it):
    the model offline, memory, load, then the fine-tune prediction and the lessons' times."""
    checks: list[Check] = []

    def found(check: Check) -> None:
        checks.append(check)
        on_step(check)

    offline = model_offline()
    for check in (offline, memory_check(), load_check()):
        found(check)
    prediction = None
    if offline.status != RED and not should_stop():
        from core.finetune import FinetuneError

        try:
            prediction = predict_finetune(steps)
        except FinetuneError as error:
            found(Check("Chapter 3 fine-tune", "not timed", RED, str(error)))
        else:
            found(prediction.check())
            for check in predict_lessons(prediction):
                found(check)
    return Report(checks, prediction)
