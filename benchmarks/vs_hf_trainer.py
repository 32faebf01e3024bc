"""Our plain fine-tune loop (core/finetune/loop.py) against Hugging Face `Trainer`,
same model, data and hyperparameters, in one run.

    pip install -r benchmarks/requirements.txt     # Trainer needs `accelerate`
    python benchmarks/vs_hf_trainer.py             # ours, Trainer, Trainer, ours (fresh process each)
    python benchmarks/vs_hf_trainer.py --rounds 2 --grouped   # more repeats; also Trainer with group_by_length
    python benchmarks/vs_hf_trainer.py --unfrozen  # also Trainer as it comes (every weight trains)

Both sides get: the bundled BERT with the same new dense layer, the shipped
400 train / 160 eval sentences, pre-tokenised once (max 64 tokens) and padded
per batch, the app's default FinetuneConfig (4 epochs, batch 16, AdamW at lr
2e-4 with the fused kernel, weight decay 0.01 except biases and LayerNorm,
10% linear warm-up then linear decay), gradient clipping at 1.0, the embedding
block and the lowest 3 of the 6 layers frozen (requires_grad off: the same
numbers learn on both sides), evaluation after every epoch, seed 0, fp32 on
the CPU. Trainer runs with its own defaults otherwise (random sampler, no
saving, no logging). What differs is how the work is done: our loop runs the
frozen layers once before training, finishes only [CLS] in the top layer and
groups similar lengths; Trainer runs the whole model on every batch.
`--unfrozen` adds Trainer as it comes, training every weight; `--grouped` adds
Trainer with its group_by_length sampler (our loop groups lengths too).

Each contender runs in a fresh Python process, so imports and model loading
count the same for both; rounds alternate the order (ours, Trainer, Trainer,
ours, ...) so a busy neighbour on a shared machine hurts both alike.

Printed per run: wall seconds (process start to done), fine-tune seconds (the
training call, per-epoch evaluation included), training examples per second,
final evaluation accuracy, peak resident memory, CPU seconds (steadier than
wall time when other jobs share the CPU). Goal (issue 4): ours >= 1.5x
Trainer's throughput with evaluation accuracy no worse.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

def _defaults() -> dict:
    from core.finetune import FinetuneConfig   # no torch import: cheap

    keep = ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay", "max_length", "seed", "freeze",
            "freeze_layers")
    return {k: getattr(FinetuneConfig(), k) for k in keep}


SETTINGS = _defaults()   # the app's defaults, so the comparison follows them


def _quiet_transformers():
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def run_ours() -> dict:
    _quiet_transformers()
    from core import datasets
    from core.finetune import FinetuneConfig, finetune

    train, eval = datasets.load_shipped("train"), datasets.load_shipped("eval")
    result = finetune(train, eval, FinetuneConfig(**SETTINGS))
    return {"finetune_seconds": result.seconds, "eval_accuracy": result.eval_accuracy,
            "train_examples": len(train)}


def run_trainer(grouped: bool = False, unfrozen: bool = False) -> dict:
    _quiet_transformers()
    import tempfile

    import numpy as np
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from core import datasets, models
    from core.finetune import freeze

    started = time.perf_counter()
    train, eval = datasets.load_shipped("train"), datasets.load_shipped("eval")
    labels = list(train.label_names)
    index = {name: i for i, name in enumerate(labels)}
    torch.manual_seed(SETTINGS["seed"])
    tokenizer = models.load_tokenizer(models.BUNDLED)
    model = models.load_classifier(models.BUNDLED, labels)
    if not unfrozen:
        freeze(model, SETTINGS["freeze"], SETTINGS["freeze_layers"])

    def rows(data):
        encoded = tokenizer(list(data.texts), truncation=True, max_length=SETTINGS["max_length"])
        return [{"input_ids": ids, "attention_mask": mask, "labels": index[y]}
                for ids, mask, y in zip(encoded["input_ids"], encoded["attention_mask"], data.labels)]

    def accuracy(prediction):
        return {"accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())}

    with tempfile.TemporaryDirectory() as scratch:
        arguments = TrainingArguments(
            output_dir=scratch, num_train_epochs=SETTINGS["epochs"],
            per_device_train_batch_size=SETTINGS["batch_size"], per_device_eval_batch_size=64,
            learning_rate=SETTINGS["learning_rate"], warmup_steps=SETTINGS["warmup_ratio"],
            weight_decay=SETTINGS["weight_decay"], lr_scheduler_type="linear", max_grad_norm=1.0,
            eval_strategy="epoch", save_strategy="no", logging_strategy="no", report_to="none",
            seed=SETTINGS["seed"], use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if grouped else "random",
        )
        trainer = Trainer(model=model, args=arguments, train_dataset=rows(train), eval_dataset=rows(eval),
                          data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=accuracy,
                          processing_class=tokenizer)
        trainer.train()
        seconds = time.perf_counter() - started
        # The evaluation after the last epoch (no extra evaluate() call: ours doesn't make one either).
        final = [entry for entry in trainer.state.log_history if "eval_accuracy" in entry][-1]
    return {"finetune_seconds": seconds, "eval_accuracy": final["eval_accuracy"],
            "train_examples": len(train)}


def child(contender: str) -> None:
    import resource

    import torch

    figures = run_ours() if contender == "ours" else run_trainer(
        grouped=contender == "trainer-grouped", unfrozen=contender == "trainer-unfrozen")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures.update(
        contender=contender, wall_seconds=time.perf_counter() - STARTED,
        examples_per_second=figures["train_examples"] * SETTINGS["epochs"] / figures["finetune_seconds"],
        peak_rss_mb=usage.ru_maxrss / 1024, cpu_seconds=usage.ru_utime + usage.ru_stime,
        threads=torch.get_num_threads(), load_average=os.getloadavg()[0],
    )
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="each round runs every contender twice, order mirrored")
    parser.add_argument("--grouped", action="store_true", help="also run Trainer with group_by_length sampling")
    parser.add_argument("--unfrozen", action="store_true",
                        help="also run Trainer as it comes: every weight trains (no frozen embeddings)")
    parser.add_argument("--seed", type=int, default=SETTINGS["seed"],
                        help="seed for both (the new layer's start, dropout, batch order)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    SETTINGS["seed"] = args.seed
    if args.child:
        child(args.child)
        return
    try:
        import accelerate  # noqa: F401
    except ImportError:
        sys.exit("Trainer needs accelerate: pip install -r benchmarks/requirements.txt")
    contenders = (["ours", "trainer"] + (["trainer-grouped"] if args.grouped else [])
                  + (["trainer-unfrozen"] if args.unfrozen else []))
    order = []
    for _ in range(args.rounds):
        order += contenders + contenders[::-1]
    runs = []
    for contender in order:
        done = subprocess.run([sys.executable, __file__, "--child", contender, "--seed", str(args.seed)],
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{contender} failed:\n{done.stderr[-3000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = runs[-1]
        print(f"  {contender:16} wall {r['wall_seconds']:6.1f} s  fine-tune {r['finetune_seconds']:6.1f} s  "
              f"{r['examples_per_second']:6.1f} ex/s  eval {r['eval_accuracy']:.1%}  "
              f"RSS {r['peak_rss_mb']:5.0f} MB  CPU {r['cpu_seconds']:5.1f} s  load avg {r['load_average']:.1f}",
              flush=True)

    print(f"\n{'contender':16} {'runs':>4} {'wall s':>8} {'fine-tune s':>12} {'examples/s':>11} "
          f"{'eval acc':>9} {'peak RSS MB':>12} {'CPU s':>7}")
    table = {}
    for contender in contenders:
        mine = [r for r in runs if r["contender"] == contender]
        table[contender] = {k: statistics.median(r[k] for r in mine)
                            for k in ("wall_seconds", "finetune_seconds", "examples_per_second", "eval_accuracy",
                                      "peak_rss_mb", "cpu_seconds")}
        t = table[contender]
        print(f"{contender:16} {len(mine):>4} {t['wall_seconds']:8.1f} {t['finetune_seconds']:12.1f} "
              f"{t['examples_per_second']:11.1f} {t['eval_accuracy']:9.1%} {t['peak_rss_mb']:12.0f} "
              f"{t['cpu_seconds']:7.1f}")
    ours = table["ours"]
    for name in contenders[1:]:
        theirs = table[name]
        print(f"\nours vs {name} (medians): throughput x{ours['examples_per_second'] / theirs['examples_per_second']:.2f}, "
              f"wall {ours['wall_seconds'] / theirs['wall_seconds']:.2f}x, "
              f"CPU {ours['cpu_seconds'] / theirs['cpu_seconds']:.2f}x, "
              f"eval accuracy {ours['eval_accuracy']:.1%} vs {theirs['eval_accuracy']:.1%}")
    print(f"(machine: {os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.1f}; on a shared machine "
          "compare CPU seconds too)")


if __name__ == "__main__":
    main()
