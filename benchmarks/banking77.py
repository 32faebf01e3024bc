"""BANKING77, 10 examples per intent, the paper's few-shot setting: ours against
SetFit and Hugging Face Trainer on the same draws, the same bundled model
(all-MiniLM-L6-v2, 22.7M parameters) and the whole test set (3,080 sentences).

    pip install -r benchmarks/requirements.txt        # setfit, accelerate (Trainer)
    python benchmarks/banking77.py                    # 3 draws x (ours, SetFit, Trainer), writes FINETUNE.md
    python benchmarks/banking77.py --arms ours --seeds 0 1 2 --no-write
    python benchmarks/banking77.py --setfit-python /tmp/setfit-venv/bin/python   # SetFit in its own venv

Draw seed s = `core.banking77.few_shot(train, 10, seed=s)`: exactly 10 random
sentences of every intent (770), the same for every arm. Each arm and seed runs
in a fresh process, so imports and model loading count; wall is from process
start to the test accuracy. Arms:

- **ours**: `python -m core.finetune`'s own choice for this data
  (`core.finetune.auto.choose_settings`; chosen by cross-validation over the
  shots, benchmarks/banking77_cv.py), seed s, evaluated once at the end.
- **SetFit** 1.2 (the few-shot library): the bundled model as the sentence-transformers
  body (mean pooling), its paper's recipe: 20 contrastive pair iterations per sentence,
  1 epoch, batch 16, then its default logistic-regression head; seed s.
- **Trainer**: `BertForSequenceClassification` as it comes ([CLS] through the pooler,
  every weight trains), the plain-loop settings ENGINEERING.md records for this data
  (10 epochs, lr 1e-4, batch 16, 10% warm-up, weight decay 0.01), seed s.

Prints one line per run and a table; writes the table into benchmarks/FINETUNE.md
between the `banking77-table` markers (unless --no-write). Timings depend on the
neighbours: the load average is printed beside each.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _key, _value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                     ("OMP_WAIT_POLICY", "PASSIVE")):
    os.environ.setdefault(_key, _value)

PER_LABEL = 10
ARMS = ("ours", "trainer", "setfit")
MARK_BEGIN, MARK_END = "<!-- banking77-table -->", "<!-- /banking77-table -->"


def draws(seed: int):
    from core import banking77

    return banking77.few_shot(banking77.load("train"), PER_LABEL, seed=seed), banking77.load("test")


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def run_ours(seed: int) -> dict:
    quiet_transformers()
    from core.finetune import finetune
    from core.finetune.auto import choose_settings

    train, test = draws(seed)
    choice = choose_settings(train, test, given={"seed": seed})
    result = finetune(train, test, choice.config)
    return {"accuracy": result.eval_accuracy, "settings": choice.summary(), "why": choice.why}


SETFIT_ITERATIONS = int(os.environ.get("SETFIT_ITERATIONS", "20"))


def run_setfit(seed: int) -> dict:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    from core import models

    quiet_transformers()
    train, test = draws(seed)
    model = SetFitModel.from_pretrained(models.bundled_model_path())
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:   # SetFit writes checkpoints/ otherwise
        arguments = TrainingArguments(output_dir=scratch, batch_size=16, num_iterations=SETFIT_ITERATIONS,
                                      num_epochs=1, seed=seed)
        trainer = Trainer(model=model, args=arguments,
                          train_dataset=Dataset.from_dict({"text": list(train.texts), "label": list(train.labels)}))
        trainer.train()
    predicted = model.predict(list(test.texts), batch_size=64)
    right = sum(str(p) == y for p, y in zip(predicted, test.labels))
    return {"accuracy": right / len(test), "settings": {"num_iterations": SETFIT_ITERATIONS, "num_epochs": 1, "batch_size": 16,
                                                          "head": "logistic regression"}}


def run_trainer(seed: int) -> dict:
    quiet_transformers()
    import tempfile

    import numpy as np
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from core import models

    train, test = draws(seed)
    labels = list(train.label_names)
    index = {name: i for i, name in enumerate(labels)}
    torch.manual_seed(seed)
    tokenizer = models.load_tokenizer(models.BUNDLED)
    model = models.load_classifier(models.BUNDLED, labels)

    def rows(data):
        encoded = tokenizer(list(data.texts), truncation=True, max_length=64)
        return [{"input_ids": ids, "attention_mask": mask, "labels": index[y]}
                for ids, mask, y in zip(encoded["input_ids"], encoded["attention_mask"], data.labels)]

    settings = {"epochs": 10, "learning_rate": 1e-4, "batch_size": 16, "warmup_ratio": 0.1, "weight_decay": 0.01}
    with tempfile.TemporaryDirectory() as scratch:
        arguments = TrainingArguments(
            output_dir=scratch, num_train_epochs=settings["epochs"], per_device_train_batch_size=16,
            per_device_eval_batch_size=64, learning_rate=settings["learning_rate"], warmup_steps=0.1,
            weight_decay=0.01, lr_scheduler_type="linear", eval_strategy="no", save_strategy="no",
            logging_strategy="no", report_to="none", seed=seed, use_cpu=True, disable_tqdm=True,
            dataloader_num_workers=0)
        trainer = Trainer(model=model, args=arguments, train_dataset=rows(train),
                          data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
        trainer.train()
        prediction = trainer.predict(rows(test))
    accuracy = float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())
    return {"accuracy": accuracy, "settings": settings}


def child(arm: str, seed: int) -> None:
    import torch

    torch.set_num_threads(2)
    figures = {"ours": run_ours, "setfit": run_setfit, "trainer": run_trainer}[arm](seed)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures.update(arm=arm, seed=seed, wall_seconds=round(time.perf_counter() - STARTED, 1),
                   peak_rss_mb=round(usage.ru_maxrss / 1024), cpu_seconds=round(usage.ru_utime + usage.ru_stime, 1),
                   load_average=round(os.getloadavg()[0], 2))
    print(json.dumps(figures))


NAMES = {"ours": "ours (core.finetune, its own choice of settings)",
         "setfit": "SetFit 1.2 ({iterations} pair iterations, 1 epoch, logistic-regression head)",
         "trainer": "HF Trainer (every weight, [CLS], 10 epochs, lr 1e-4)"}


def done_settings(mine: dict) -> dict:
    return next(iter(mine.values())).get("settings") or {}


def table(runs: list[dict]) -> str:
    seeds = sorted({r["seed"] for r in runs})
    head = ("| arm | " + " | ".join(f"seed {s}: acc / wall s" for s in seeds)
            + " | mean acc | mean wall s | peak RSS MB | load avg |")
    lines = [head, "|" + "---|" * (len(seeds) + 5)]
    for arm in ARMS:
        mine = {r["seed"]: r for r in runs if r["arm"] == arm}
        if not mine:
            continue
        cells = [f"{100 * mine[s]['accuracy']:.1f} / {mine[s]['wall_seconds']:.0f}" if s in mine else "-"
                 for s in seeds]
        done = list(mine.values())
        name = NAMES[arm].format(iterations=done_settings(mine).get("num_iterations"))
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | **{100 * statistics.mean(r['accuracy'] for r in done):.1f}**"
                     + f" | {statistics.mean(r['wall_seconds'] for r in done):.0f}"
                     + f" | {max(r['peak_rss_mb'] for r in done)}"
                     + f" | {min(r['load_average'] for r in done):.1f}-{max(r['load_average'] for r in done):.1f} |")
    return "\n".join(lines)


def write_table(text: str) -> None:
    path = ROOT / "benchmarks" / "FINETUNE.md"
    doc = path.read_text(encoding="utf-8")
    if MARK_BEGIN in doc and MARK_END in doc:
        before, rest = doc.split(MARK_BEGIN, 1)
        doc = before + MARK_BEGIN + "\n" + text + "\n" + MARK_END + rest.split(MARK_END, 1)[1]
    else:
        doc += f"\n{MARK_BEGIN}\n{text}\n{MARK_END}\n"
    path.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--setfit-python", default=sys.executable,
                        help="the Python that has benchmarks/requirements.txt (setfit, accelerate) installed, "
                             "for the SetFit and Trainer arms (default: this one)")
    parser.add_argument("--table-only", action="store_true",
                        help="no runs: the table from the latest run of every arm and seed in --results")
    parser.add_argument("--setfit-iterations", type=int, default=SETFIT_ITERATIONS,
                        help="SetFit's pair iterations per sentence (its paper: 20)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave FINETUNE.md alone")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "banking77_runs.jsonl"))
    parser.add_argument("--child", nargs=2, metavar=("ARM", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if args.table_only:
        latest = {}
        for line in Path(args.results).read_text().splitlines():
            run = json.loads(line)
            if run["seed"] in args.seeds and run["arm"] in args.arms:
                latest[run["arm"], run["seed"]] = run
        text = table(list(latest.values()))
        print(text)
        if not args.no_write:
            write_table(text)
        return
    runs = []
    Path(args.results).parent.mkdir(exist_ok=True)
    for seed in args.seeds:
        for arm in args.arms:
            python = args.setfit_python if arm in ("setfit", "trainer") else sys.executable
            env = dict(os.environ, SETFIT_ITERATIONS=str(args.setfit_iterations))
            done = subprocess.run([python, __file__, "--child", arm, str(seed)], capture_output=True, text=True,
                                  env=env)
            if done.returncode:
                print(f"{arm} seed {seed} failed:\n{done.stderr[-2000:]}", flush=True)
                continue
            run = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append(run)
            with open(args.results, "a") as fh:
                fh.write(json.dumps(run) + "\n")
            print(f"  {arm:8} seed {seed}: test {run['accuracy']:.1%}  wall {run['wall_seconds']:6.1f} s  "
                  f"RSS {run['peak_rss_mb']} MB  CPU {run['cpu_seconds']} s  load avg {run['load_average']}",
                  flush=True)
    text = table(runs)
    print(text)
    if runs and not args.no_write:
        write_table(text)


if __name__ == "__main__":
    main()
