"""Choosing the BANKING77 settings on the training shots alone: cross-validation
over a k-per-intent draw (the test set is never read here).

    python benchmarks/banking77_cv.py --name mean-c3 --pooling mean --head-init centroids \
        --draws 0 --folds 5 --use-folds 0 1 --epochs 10

For each draw seed and fold: train on the other folds' shots (8 per intent for
k=10, 5 folds), evaluate after every epoch on the held-out shots (2 per intent,
154 sentences). Prints one JSON line per fold and appends it to
benchmarks/results/banking77_cv.jsonl, with the load average beside the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                   ("OMP_WAIT_POLICY", "PASSIVE")):
    os.environ.setdefault(key, value)


def summary(path: Path) -> str:
    """Every configuration tried, as a markdown table: held-out accuracy per fold and
    mean, mean per epoch, seconds per fold and the load average meanwhile."""
    import statistics
    from collections import defaultdict

    runs = defaultdict(list)
    for line in path.read_text().splitlines():
        run = json.loads(line)
        runs[run["name"]].append(run)
    lines = ["| configuration | folds (draw:fold) | held-out acc per fold | **mean** | mean per epoch | s per fold | load avg |",
             "|---|---|---|---|---|---|---|"]
    for name, done in runs.items():
        per_epoch = [round(100 * statistics.mean(x), 1) for x in zip(*[r["held_out_per_epoch"] for r in done])]
        folds = ", ".join("%d:%d" % (r["draw"], r["fold"]) for r in done)
        scores = " / ".join("%.1f" % (100 * r["held_out_accuracy"]) for r in done)
        mean = 100 * statistics.mean(r["held_out_accuracy"] for r in done)
        seconds = [r["seconds"] for r in done]
        loads = [r["load_average"] for r in done]
        lines.append(f"| {name} | {folds} | {scores} | **{mean:.1f}** | {per_epoch} "
                     f"| {min(seconds):.0f}-{max(seconds):.0f} | {min(loads):.1f}-{max(loads):.1f} |")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:] == ["--summary"]:
        print(summary(ROOT / "benchmarks" / "results" / "banking77_cv.jsonl"))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--per-label", type=int, default=10)
    parser.add_argument("--draws", type=int, nargs="+", default=[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--use-folds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--freeze-layers", type=int, default=3)
    parser.add_argument("--freeze", default="embeddings")
    parser.add_argument("--pooling", default="cls")
    parser.add_argument("--head-init", default="random")
    parser.add_argument("--head-scale", type=float, default=10.0)
    parser.add_argument("--contrastive", type=int, default=0, help="contrastive warm-up passes")
    parser.add_argument("--layer-lr-decay", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=0.1)
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    from core import banking77
    from core.finetune import FinetuneConfig, finetune

    torch.set_num_threads(2)
    hf_logging.set_verbosity_error()
    config = FinetuneConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size,
                            freeze=args.freeze, freeze_layers=args.freeze_layers, pooling=args.pooling,
                            head_init=args.head_init, head_scale=args.head_scale, contrastive_passes=args.contrastive, layer_lr_decay=args.layer_lr_decay,
                            warmup_ratio=args.warmup)
    out = ROOT / "benchmarks" / "results" / "banking77_cv.jsonl"
    out.parent.mkdir(exist_ok=True)
    for draw in args.draws:
        shots = banking77.few_shot(banking77.load("train"), args.per_label, seed=draw)
        folds = banking77.shot_folds(shots, args.folds, seed=draw)
        for f in args.use_folds:
            train, held = folds[f]
            started = time.perf_counter()
            result = finetune(train, held, config)
            line = {"name": args.name, "per_label": args.per_label, "draw": draw, "fold": f,
                    "settings": {k: getattr(config, k) for k in ("epochs", "learning_rate", "batch_size", "freeze",
                                 "freeze_layers", "pooling", "head_init", "head_scale", "contrastive_passes", "layer_lr_decay", "warmup_ratio")},
                    "held_out_per_epoch": [round(h.eval_accuracy, 4) for h in result.history],
                    "held_out_accuracy": round(result.eval_accuracy, 4),
                    "held_out_loss_per_epoch": [round(h.eval_loss, 4) for h in result.history],
                    "seconds": round(time.perf_counter() - started, 1),
                    "load_average": round(os.getloadavg()[0], 2)}
            print(json.dumps(line), flush=True)
            with out.open("a") as fh:
                fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
