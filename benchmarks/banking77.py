"""Real intent data: fine-tune on BANKING77 with 10 examples per intent, as in the
few-shot tables of the BANKING77 paper, and compare with the published figure
issue 4 quotes (BERT-Large, fine-tuned, 10 examples per intent: 83.4%).

BANKING77 (PolyAI, CC BY 4.0: 13,083 online-banking questions over 77 intents)
is not shipped with the app and can't be downloaded from here; point the script
at the two CSVs of the data set's own release (`train.csv`, `test.csv`, header
`text,category`, any column order: the app's CSV reader finds them):

    python benchmarks/banking77.py --train banking_data/train.csv --test banking_data/test.csv
    python benchmarks/banking77.py ... --epochs 10 --lr 1e-4 --freeze-layers 0    # other settings

The first `--per-label` (10) rows of every intent in the training file are used,
in file order (no cherry-picking); evaluation is on the whole test file. The
settings were fixed before looking at the test set: the app's defaults with
more epochs (few examples per label need more passes; 10 epochs of 770
sentences is 490 steps). Prints one line per epoch and a JSON summary.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PUBLISHED = {  # 10 examples per intent, accuracy on the BANKING77 test set, as quoted in issue 4
    "BERT-Large, fine-tuned": 0.834,
}


def main() -> None:
    from core.finetune import FinetuneConfig

    defaults = FinetuneConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="BANKING77 train.csv (or any few-shot file)")
    parser.add_argument("--test", required=True, help="BANKING77 test.csv")
    parser.add_argument("--per-label", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--freeze-layers", type=int, default=defaults.freeze_layers)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from core import datasets
    from core.finetune import finetune

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    full = datasets.read_csv(args.train)
    train = datasets.first_per_label(full, args.per_label)
    test = datasets.read_csv(args.test)
    train, test = datasets.align_labels(train, test)
    config = FinetuneConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size,
                            freeze_layers=args.freeze_layers, seed=args.seed)
    print(f"{len(train.texts)} training sentences ({args.per_label} per intent, {len(set(train.labels))} intents), "
          f"{len(test.texts)} test sentences; {args.epochs} epochs, lr {args.lr:g}, batch {args.batch_size}, "
          f"embeddings + {args.freeze_layers} lowest layers frozen, seed {args.seed}", flush=True)

    def on_epoch(e):
        print(f"  epoch {e.epoch:>2}: train {e.train_accuracy:6.1%}  test {e.eval_accuracy:6.1%}  "
              f"({e.elapsed:5.1f} s)", flush=True)

    result = finetune(train, test, config, on_epoch=on_epoch)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "train_examples": len(train.texts), "test_examples": len(test.texts), "intents": len(result.labels),
        "settings": {"epochs": args.epochs, "learning_rate": args.lr, "batch_size": args.batch_size,
                     "freeze_layers": args.freeze_layers, "seed": args.seed},
        "test_accuracy": round(result.eval_accuracy, 4),
        "final_train_accuracy": round(result.train_accuracy, 4),
        "finetune_seconds": round(result.seconds, 1),
        "wall_seconds": round(time.perf_counter() - STARTED, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "published": PUBLISHED,
    }
    print(json.dumps(summary))
    for name, accuracy in PUBLISHED.items():
        print(f"ours {result.eval_accuracy:.1%} vs {name} {accuracy:.1%} "
              f"({(result.eval_accuracy - accuracy) * 100:+.1f} points)")


if __name__ == "__main__":
    main()
