"""A model competition: several models, one split, the numbers a business cares about.

The interview's advice, as code: before paying for deep learning, train three
to five models on the same data and compare them on accuracy and precision,
and on which is cheapest and fastest. Every arm here learns from the same
training sentences and is scored on the same test sentences:

    majority class        always the most common training label: the floor
    keyword rules         chapter 5's hand-written rules (core.rules)
    TF-IDF + LR           word weights into a logistic regression
    decision tree         yes/no questions about words; its rules print as text
    BERT + LR             logistic regression on frozen BERT sentence vectors
    BERT + MLP            chapter 1's from-scratch network on the same vectors
    fine-tuned BERT       chapter 3's model (a TrainedModel), or a recorded run

Per arm: accuracy, macro-F1, worst-class recall (and which class), fit seconds,
milliseconds per prediction, and size on disk (the fitted model serialized for
real; the BERT-based arms include the BERT weights they need to predict).

    run_competition(train, test, ...) -> Leaderboard
    cheapest_good_enough(rows, min_accuracy) -> ArmResult | None
    prepare_data(train_source=None, test_source=None, ...) -> (train, test, test_name)
    banking77_data(per_label=10, test_per_label=7, seed=0) -> (train, test, test_name)
    python -m core.compete --json     the leaderboard on the shipped data
    python -m core.compete --banking77 10 --test-per-intent 0 --json     on BANKING77, whole test set
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core import compete_arms as arms_
from core.compete_arms import human_bytes
from core.datasets import LABELS, DatasetError, LabelledTexts, load_shipped, read_csv, stratified_split
from core.models import BUNDLED

ARMS = ("majority", "rules", "tfidf", "tree", "bert_lr", "bert_mlp")
EMBEDDING_ARMS = ("bert_lr", "bert_mlp")
ARM_NAMES = {
    "majority": "majority class",
    "rules": "keyword rules",
    "tfidf": "TF-IDF + logistic regression",
    "tree": "decision tree on words",
    "bert_lr": "BERT embeddings + logistic regression",
    "bert_mlp": "BERT embeddings + small MLP (chapter 1)",
    "finetuned": "fine-tuned BERT",
}
COLUMNS = ("accuracy", "macro_f1", "worst_recall", "fit_seconds", "ms_per_prediction", "size_bytes")

RECORDED_PATH = Path(__file__).resolve().parent / "data" / "compete" / "recorded_bert.json"

MIN_TRAIN_PER_LABEL = 2
MAX_TRAIN_ROWS = 10_000
MAX_TEST_ROWS = 5_000
MAX_EMBEDDED_ROWS = 4_000   # train + test: the BERT pass costs ~8 ms a sentence on 2 cores (BANKING77
                            # 10 per intent + its whole test set: 3,850, ~30 s once per server)


class CompetitionError(ValueError):
    """Data the competition can't run on; str(error) is one sentence for the page or CLI."""


@dataclass(frozen=True)
class ArmResult:
    key: str                        # "tfidf", "finetuned", "recorded", ...
    name: str                       # what the table shows
    accuracy: float
    macro_f1: float
    worst_recall: float             # the recall of the class it gets right least often
    worst_class: str
    fit_seconds: float | None       # None: not known (a model uploaded without its history)
    ms_per_prediction: float        # the whole test set predicted at once, divided by its size
    size_bytes: int                 # the fitted model serialized, BERT weights included where needed
    recorded: bool = False          # True: numbers from a file, not measured in this run
    note: str = ""
    predictions: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def row(self) -> dict:
        """JSON-ready; never NaN."""
        return {
            "key": self.key, "name": self.name, "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4), "worst_recall": round(self.worst_recall, 4),
            "worst_class": self.worst_class,
            "fit_seconds": None if self.fit_seconds is None else round(self.fit_seconds, 3),
            "ms_per_prediction": round(self.ms_per_prediction, 4), "size_bytes": int(self.size_bytes),
            "recorded": self.recorded, "note": self.note,
        }


@dataclass(frozen=True)
class Leaderboard:
    rows: tuple[ArmResult, ...]     # in the order the arms ran
    labels: tuple[str, ...]
    train_rows: int
    test_rows: int
    test_name: str
    tree_rules: str                 # the decision tree's top levels, as sklearn's export_text prints them
    skipped: tuple[str, ...]        # one sentence per arm that could not run here
    seconds: float

    def sorted_rows(self, column: str = "accuracy", descending: bool | None = None) -> list[ArmResult]:
        """Rows by a column; scores best-first and costs cheapest-first unless told; unknowns last."""
        if column not in COLUMNS:
            raise CompetitionError(f'Can\'t sort by "{column}"; choose one of {", ".join(COLUMNS)}.')
        if descending is None:
            descending = column in ("accuracy", "macro_f1", "worst_recall")
        known = [r for r in self.rows if getattr(r, column) is not None]
        unknown = [r for r in self.rows if getattr(r, column) is None]
        return sorted(known, key=lambda r: getattr(r, column), reverse=descending) + unknown

    def to_dict(self, min_accuracy: float | None = None) -> dict:
        out = {"train_rows": self.train_rows, "test_rows": self.test_rows, "test": self.test_name,
               "labels": list(self.labels), "rows": [r.row() for r in self.rows],
               "skipped": list(self.skipped), "seconds": round(self.seconds, 3), "tree_rules": self.tree_rules}
        if min_accuracy is not None:
            pick = cheapest_good_enough(self.rows, min_accuracy)
            out["cheapest_good_enough"] = {"min_accuracy": min_accuracy, "key": pick.key if pick else None,
                                           "sentence": pick_sentence(self.rows, min_accuracy)}
        return out


# ---------------------------------------------------------------- scores


def scores(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """accuracy, macro_f1 (F1 averaged over `labels`, each label counting the same),
    worst_recall and worst_class (over the labels present in y_true)."""
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    f1s, recalls = [], {}
    for label in labels:
        truth, guess = y_true == label, y_pred == label
        hits = int((truth & guess).sum())
        precision = hits / guess.sum() if guess.sum() else 0.0
        recall = hits / truth.sum() if truth.sum() else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        if truth.any():
            recalls[label] = recall
    worst = min(recalls, key=lambda k: (recalls[k], list(labels).index(k)))
    return {"accuracy": float((y_true == y_pred).mean()), "macro_f1": float(np.mean(f1s)),
            "worst_recall": float(recalls[worst]), "worst_class": worst}


def cheapest_good_enough(rows: Sequence[ArmResult], min_accuracy: float) -> ArmResult | None:
    """Of the arms at or above `min_accuracy`, the fastest to predict; equal speed
    goes to the smaller one, then the more accurate. None when no arm is good enough."""
    good = [r for r in rows if r.accuracy >= min_accuracy]
    # Speeds are compared to the hundredth of a millisecond: below that the clock's noise
    # decides, e.g. two arms that share the same BERT pass.
    return min(good, key=lambda r: (round(r.ms_per_prediction, 2), r.size_bytes, -r.accuracy), default=None)


def pick_sentence(rows: Sequence[ArmResult], min_accuracy: float) -> str:
    if not rows:
        return "No model ran."
    pick = cheapest_good_enough(rows, min_accuracy)
    if pick is None:
        best = max(rows, key=lambda r: r.accuracy)
        return (f"No model reaches {min_accuracy:.0%}; the best is {best.name} at {best.accuracy:.1%}.")
    return (f"At {min_accuracy:.0%} or better, the cheapest is {pick.name}: {pick.accuracy:.1%} accurate, "
            f"{pick.ms_per_prediction:.3g} ms per prediction, {human_bytes(pick.size_bytes)} on disk.")


# ---------------------------------------------------------------- data


def check_split(train: LabelledTexts, test: LabelledTexts) -> None:
    """Raise CompetitionError unless every arm can be fitted on `train` and scored on `test`."""
    if len(train) == 0 or len(test) == 0:
        raise CompetitionError("The competition needs sentences to learn from and sentences to test on.")
    if len(train) > MAX_TRAIN_ROWS or len(test) > MAX_TEST_ROWS:
        raise CompetitionError(f"The competition takes at most {MAX_TRAIN_ROWS:,} training and {MAX_TEST_ROWS:,} "
                               f"test sentences; this data has {len(train):,} and {len(test):,}.")
    counts = train.class_counts()
    if len(counts) < 2:
        raise CompetitionError(f'The training data has only one label ("{next(iter(counts))}"): '
                               "there is nothing to choose between, so every model would be right.")
    few = [label for label, n in counts.items() if n < MIN_TRAIN_PER_LABEL]
    if few:
        raise CompetitionError(f'Label "{few[0]}" has only one training sentence; every label needs at least '
                               f"{MIN_TRAIN_PER_LABEL} to learn from and 1 to test on.")
    unseen = [label for label in test.label_names if label not in counts]
    if unseen:
        raise CompetitionError(f'The test split has label "{unseen[0]}", which the training data never shows; '
                               "no model can predict a label it never saw.")
    untested = [label for label in counts if label not in set(test.labels)]
    if untested:
        raise CompetitionError(f'Label "{untested[0]}" has no sentence in the test split, so no model can be '
                               "scored on it; give it more rows.")


def prepare_data(train_source=None, test_source=None, eval_fraction: float = 0.2,
                 seed: int = 0) -> tuple[LabelledTexts, LabelledTexts, str]:
    """(train, test, test name). Nothing given: the shipped train.csv and eval.csv.
    A CSV alone (path, bytes or an uploaded file): held out by stratified split.
    Both: each file as given. Any problem is a CompetitionError sentence."""
    try:
        if train_source is None:
            train, test, name = load_shipped("train"), load_shipped("eval"), "eval"
        else:
            data = read_csv(train_source)
            if test_source is None:
                too_few = {label: n for label, n in data.class_counts().items() if n < MIN_TRAIN_PER_LABEL + 1}
                if too_few:
                    label, n = next(iter(too_few.items()))
                    raise CompetitionError(f'Label "{label}" has only {n} sentence{"s" if n > 1 else ""}; a held-out '
                                           f"split needs at least {MIN_TRAIN_PER_LABEL + 1} of every label.")
                train, test = stratified_split(data, eval_fraction, seed)
                name = f"{eval_fraction:.0%} held out"
            else:
                train = data
                test = read_csv(test_source, min_labels=1, min_rows_per_label=1)
                name = _source_name(test_source)
    except DatasetError as error:
        raise CompetitionError(str(error)) from None
    check_split(train, test)
    return train, test, name


BANKING77_TEST_CHOICES = (7, None)      # the test set: 7 of every intent (539, seeded), or all 3,080
BANKING77_FINETUNED = ("a fine-tuned bundled BERT reached 86.4% on BANKING77 with 10 per intent on the whole test "
                       "set (mean of 3 draws; benchmarks/banking77.py, recorded in benchmarks/FINETUNE.md)")


def banking77_data(per_label: int = 10, test_per_label: int | None = 7,
                   seed: int = 0) -> tuple[LabelledTexts, LabelledTexts, str]:
    """(train, test, test name) on BANKING77: `per_label` training sentences of each of
    the 77 intents (core.banking77.few_shot, seeded), tested on its whole test set
    (None) or on a seeded sample of `test_per_label` of each intent (every intent is
    scored), as in the paper's few-shot setting."""
    from core import banking77

    if per_label not in (5, 10, 20):
        raise CompetitionError("Choose 5, 10 or 20 BANKING77 training sentences per intent.")
    if test_per_label not in BANKING77_TEST_CHOICES:
        raise CompetitionError("Test on 7 BANKING77 sentences per intent or on all 3,080.")
    try:
        train = banking77.few_shot(banking77.load("train"), per_label, seed)
        full = banking77.load("test")
        test = banking77.few_shot(full, test_per_label, seed)
    except DatasetError as error:
        raise CompetitionError(str(error)) from None
    name = "BANKING77 test, all of it" if test_per_label is None else \
        f"BANKING77 test, {test_per_label} per intent ({len(test):,} of {len(full):,})"
    return train, test, name


def _source_name(source) -> str:
    """A path's file name, an upload's name, or "the test file" for raw bytes."""
    if isinstance(source, (str, Path)):
        return Path(source).name
    return getattr(source, "name", None) or "the test file"


def data_fingerprint(data: LabelledTexts) -> str:
    """Identifies a test set, so a recorded result is only shown beside runs on the same sentences."""
    import hashlib

    return hashlib.sha256("\x1e".join(f"{y}\x1f{t}" for t, y in zip(data.texts, data.labels)).encode()).hexdigest()


# ---------------------------------------------------------------- the competition


def _result(key: str, test: LabelledTexts, labels, run, name: str | None = None) -> ArmResult:
    s = scores(test.labels, run.predicted, labels)
    return ArmResult(key=key, name=name or ARM_NAMES[key], accuracy=s["accuracy"], macro_f1=s["macro_f1"],
                     worst_recall=s["worst_recall"], worst_class=s["worst_class"], fit_seconds=run.fit_seconds,
                     ms_per_prediction=1000 * run.predict_seconds / len(test), size_bytes=int(run.size_bytes),
                     note=run.note, predictions=tuple(run.predicted))


def run_competition(train: LabelledTexts, test: LabelledTexts, *, arms: Sequence[str] = ARMS, rules=None,
                    finetuned=None, recorded: bool = True, seed: int = 0, test_name: str = "test",
                    model_id: str = BUNDLED, on_arm: Callable[[str], None] | None = None) -> Leaderboard:
    """Fit every arm in `arms` on `train`, score it on `test`. `rules`: a
    KeywordRules (default: the shipped rules, when the labels are the shipped
    ones). `finetuned`: a core.trained.TrainedModel to score too; without one, a
    recorded fine-tune is added when `test` is the shipped eval set."""
    from core import rules as rules_module

    check_split(train, test)
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise CompetitionError(f'There is no arm "{unknown[0]}"; choose from {", ".join(ARMS)}.')
    started = time.perf_counter()
    labels = train.label_names
    rows: list[ArmResult] = []
    skipped: list[str] = []
    tree_rules = ""
    for key in arms:
        if on_arm:
            on_arm(ARM_NAMES[key])
        if key == "rules":
            if rules is None and not set(labels) <= set(LABELS):
                skipped.append("The keyword rules are written for the shipped cancellation reasons; "
                               "this data has other labels.")
                continue
            run = arms_.rules_arm(train, test, rules or rules_module.default_rules())
        elif key in EMBEDDING_ARMS and len(train) + len(test) > MAX_EMBEDDED_ROWS:
            skipped.append(f"{ARM_NAMES[key]} was left out: it embeds every sentence with BERT, and "
                           f"{len(train) + len(test):,} sentences are more than the {MAX_EMBEDDED_ROWS:,} "
                           "this page runs live.")
            continue
        elif key == "tree":
            run = arms_.tree_arm(train, test, seed)
            tree_rules = run.extra
        elif key in EMBEDDING_ARMS:
            run = {"bert_lr": arms_.bert_lr_arm, "bert_mlp": arms_.bert_mlp_arm}[key](train, test, seed, model_id)
        else:
            run = {"majority": arms_.majority_arm, "tfidf": arms_.tfidf_arm}[key](train, test, seed)
        rows.append(_result(key, test, labels, run))
    if finetuned is not None:
        if on_arm:
            on_arm(ARM_NAMES["finetuned"])
        missing = [label for label in test.label_names if label not in finetuned.labels]
        if missing:
            skipped.append(f'{finetuned.name} does not know the label "{missing[0]}", so it sits this one out.')
        else:
            rows.append(finetuned_arm(finetuned, test, labels))
    elif recorded:
        entry = recorded_arm(test, train=train)
        if entry is not None:
            rows.append(entry)
    return Leaderboard(tuple(rows), labels, len(train), len(test), test_name, tree_rules, tuple(skipped),
                       time.perf_counter() - started)


def finetuned_arm(trained, test: LabelledTexts, labels: Sequence[str] | None = None) -> ArmResult:
    """Chapter 3's fine-tuned BERT on the same test sentences; its fit seconds are
    the training time it reported (unknown for an uploaded model)."""
    from core.finetune import predict_proba

    started = time.perf_counter()
    probs = predict_proba(trained.model, trained.tokenizer, list(test.texts), list(trained.labels))
    predict_seconds = time.perf_counter() - started
    predicted = [max(p, key=p.get) for p in probs]
    how = trained.how or {}
    fit = how["seconds"] - how.get("load_seconds", 0.0) if "seconds" in how else None
    note = "trained in chapter 3" if fit is not None else "uploaded: training time unknown"
    run = arms_.ArmRun(predicted, fit, predict_seconds, safetensors_bytes(trained.model), note)
    return _result("finetuned", test, labels or test.label_names, run, name=f"fine-tuned BERT ({trained.name})")


def safetensors_bytes(model) -> int:
    """Size of model.safetensors when the model is saved as this app saves it."""
    with tempfile.TemporaryDirectory(prefix="compete-size-") as folder:
        model.save_pretrained(folder, safe_serialization=True)
        return (Path(folder) / "model.safetensors").stat().st_size


def load_recorded(path: Path = RECORDED_PATH) -> dict | None:
    """The recorded fine-tune (see benchmarks/ch5.py --record-bert), or None when absent."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def recorded_entries(folder: Path = RECORDED_PATH.parent) -> list[dict]:
    """Every recorded fine-tune row in core/data/compete/recorded*.json: a file holds one
    entry, or {"entries": [...]} (one model scored on several test sets)."""
    out = []
    for path in sorted(Path(folder).glob("recorded*.json")):
        entry = load_recorded(path)
        if entry is not None:
            out += entry.get("entries", [entry])
    return out


def recorded_arm(test: LabelledTexts, path: Path | None = None, train: LabelledTexts | None = None) -> ArmResult | None:
    """The recorded fine-tuned BERT row, only when `test` holds the very sentences it was
    scored on (and, where the entry names its training sentences, `train` is those)."""
    entries = recorded_entries() if path is None else [e for e in [load_recorded(path)] if e]
    test_sha = data_fingerprint(test)
    train_sha = data_fingerprint(train) if train is not None else None
    entry = next((e for e in entries if e.get("test_sha256") == test_sha
                  and e.get("train_sha256", train_sha) == train_sha), None)
    if entry is None:
        return None
    row = entry["row"]
    return ArmResult(key="recorded", name=row["name"], accuracy=row["accuracy"], macro_f1=row["macro_f1"],
                     worst_recall=row["worst_recall"], worst_class=row["worst_class"],
                     fit_seconds=row["fit_seconds"], ms_per_prediction=row["ms_per_prediction"],
                     size_bytes=row["size_bytes"], recorded=True,
                     note=f"recorded {entry['measured']['date']} on {entry['measured']['machine']}, not run now")


# ---------------------------------------------------------------- command line


def _table(board: Leaderboard, min_accuracy: float) -> str:
    lines = [f"{board.train_rows} training sentences, {board.test_rows} test ({board.test_name}), "
             f"{board.seconds:.1f} s", "",
             f"{'model':44} {'acc':>6} {'F1':>6} {'worst':>6} {'fit s':>7} {'ms/pred':>8} {'size':>9}"]
    for r in board.sorted_rows("accuracy"):
        fit = "?" if r.fit_seconds is None else f"{r.fit_seconds:.2f}"
        lines.append(f"{r.name + (' *' if r.recorded else ''):44} {r.accuracy:6.1%} {r.macro_f1:6.3f} "
                     f"{r.worst_recall:6.1%} {fit:>7} {r.ms_per_prediction:8.3f} {human_bytes(r.size_bytes):>9}")
    if any(r.recorded for r in board.rows):
        lines.append("* recorded, not run now")
    lines += [f"- {s}" for s in board.skipped]
    lines += ["", pick_sentence(board.rows, min_accuracy)]
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse
    import sys

    from core.quiet import quiet_console

    quiet_console()

    parser = argparse.ArgumentParser(prog="python -m core.compete", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", help="a CSV of labelled sentences (default: the shipped train.csv)")
    parser.add_argument("--eval", help="a CSV to test on (default: shipped eval.csv, or a split of --train)")
    parser.add_argument("--banking77", type=int, metavar="K", choices=(5, 10, 20),
                        help="BANKING77 instead: K training sentences per intent (5, 10 or 20)")
    parser.add_argument("--test-per-intent", type=int, choices=(7, 0), default=7,
                        help="with --banking77: test on 7 sentences per intent (seeded), or 0 for all 3,080")
    parser.add_argument("--eval-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-bert", action="store_true", help="skip the arms that run BERT")
    parser.add_argument("--min-accuracy", type=float, default=0.9)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.eval and not args.train:
        parser.error("--eval needs --train")
    if args.banking77 and args.train:
        parser.error("--banking77 or --train, not both")
    if not args.no_bert:   # transformers' loading bar would land in the output
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    try:
        if args.banking77:
            train, test, name = banking77_data(args.banking77, args.test_per_intent or None, args.seed)
        else:
            train, test, name = prepare_data(args.train, args.eval, args.eval_fraction, args.seed)
        arms = [a for a in ARMS if not (args.no_bert and a in EMBEDDING_ARMS)]
        board = run_competition(train, test, arms=arms, seed=args.seed, test_name=name,
                                recorded=not args.no_bert)
    except CompetitionError as error:
        print(error, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(board.to_dict(args.min_accuracy), indent=1, allow_nan=False))
    else:
        print(_table(board, args.min_accuracy))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
