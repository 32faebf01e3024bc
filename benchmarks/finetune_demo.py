"""The chapter-3 demo fine-tune, timed: shipped data (400 train / 160 eval
sentences, 8 labels), default FinetuneConfig, bundled BERT.

    python benchmarks/finetune_demo.py            # defaults, 1 run
    python benchmarks/finetune_demo.py --runs 3   # repeat (fresh process each) and report the best and median
    python benchmarks/finetune_demo.py --epochs 4 --lr 2e-4 --freeze-layers 0   # try other settings

Prints, per run: wall seconds from process start (Python imports and model load
included: what a user waits for), the fine-tune's own seconds, evaluation
accuracy on the shipped eval set, accuracy on the challenge set (64 sentences
nobody tuned on), peak resident memory (getrusage), CPU seconds and the load
average, because on a shared machine wall time depends on the neighbours.

Goals (issue 4): <= 20 s wall, >= 90% eval accuracy, peak RSS <= 1.2 GB.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()   # before torch/transformers are imported

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
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # as app.py: no spinning threads on a shared CPU


def one_run(args) -> dict:
    import resource

    import torch

    torch.set_num_threads(2)
    from transformers.utils import logging as hf_logging

    from core import datasets
    from core.finetune import FinetuneConfig, evaluate, finetune

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    overrides = {k: v for k, v in dict(epochs=args.epochs, learning_rate=args.lr, freeze=args.freeze,
                                        freeze_layers=args.freeze_layers,
                                        batch_size=args.batch_size, pooling=args.pooling,
                                        head_init=args.head_init).items() if v is not None}
    config = FinetuneConfig(**overrides)
    train, eval, challenge = (datasets.load_shipped(s) for s in ("train", "eval", "challenge"))
    result = finetune(train, eval, config)
    wall = time.perf_counter() - STARTED
    _, challenge_accuracy, _ = evaluate(result.model, result.tokenizer, challenge, result.labels)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    import torch

    return {
        "config": {k: v for k, v in vars(config).items() if k in ("epochs", "learning_rate", "freeze", "freeze_layers", "batch_size",
                                                                  "pooling", "head_init")},
        "wall_seconds": round(wall, 2),
        "finetune_seconds": round(result.seconds, 2),
        "load_seconds": round(result.load_seconds, 2),
        "train_accuracy": round(result.train_accuracy, 4),
        "eval_accuracy": round(result.eval_accuracy, 4),
        "challenge_accuracy": round(challenge_accuracy, 4),
        "eval_per_epoch": [round(h.eval_accuracy, 4) for h in result.history],
        "examples_per_second": round(result.examples_per_second, 1),
        "tokens_per_second": round(result.tokens_per_second),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "threads": torch.get_num_threads(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--freeze")
    parser.add_argument("--freeze-layers", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--pooling", choices=("cls", "mean"))
    parser.add_argument("--head-init", choices=("random", "centroids"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or args.runs == 1:
        figures = one_run(args)
        print(json.dumps(figures) if args.child else _table([figures]))
        return
    # Several runs: each in a fresh process, so imports and model load are counted every time.
    runs = []
    for _ in range(args.runs):
        command = [sys.executable, __file__, "--child"] + sys.argv[1:]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(_table(runs[-1:]), flush=True)
    walls = [r["wall_seconds"] for r in runs]
    print(f"\nwall seconds over {len(runs)} runs: best {min(walls):.1f}, median {statistics.median(walls):.1f}")


def _table(runs: list[dict]) -> str:
    lines = []
    for r in runs:
        lines.append(
            f"{r['config']}\n"
            f"  wall {r['wall_seconds']:.1f} s (fine-tune {r['finetune_seconds']:.1f} s, of which load "
            f"{r['load_seconds']:.1f} s) | eval accuracy {r['eval_accuracy']:.1%} | challenge "
            f"{r['challenge_accuracy']:.1%} | train {r['train_accuracy']:.1%}\n"
            f"  per epoch eval {r['eval_per_epoch']} | {r['examples_per_second']} examples/s, "
            f"{r['tokens_per_second']} tokens/s | peak RSS {r['peak_rss_mb']} MB | CPU {r['cpu_seconds']} s | "
            f"{r['threads']} threads | load average {r['load_average']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
