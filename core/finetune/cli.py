"""The fine-tune from a shell: `python -m core.finetune --json` prints one JSON
object; progress goes to stderr, bad input gives one line and exit status 2."""

from __future__ import annotations

import contextlib
import os
import sys

from core.finetune.config import (
    DEVICE_CHOICES, FREEZE_CHOICES, HEAD_INIT_CHOICES, POOLING_CHOICES, EpochReport, FinetuneConfig, FinetuneError,
)
from core.finetune.frozen import describe_freeze
from core.finetune.loop import finetune

# Errors whose message is written for the user; anything else also names its type.
KNOWN_ERRORS = {"FinetuneError", "DatasetError", "ModelUnavailable", "ModelZipError"}


def _parse_args(argv):
    import argparse

    defaults = FinetuneConfig()
    parser = argparse.ArgumentParser(
        prog="python -m core.finetune",
        description="Fine-tune a BERT to classify why customers cancelled (the shipped data unless --train is given).",
    )
    parser.add_argument("--train", help="training CSV (label and text columns); default: the shipped train.csv")
    parser.add_argument("--eval", help="evaluation CSV; default: the shipped eval.csv (or a split of --train)")
    parser.add_argument("--model", default=defaults.model_id, help="registry id, hub id or model folder")
    parser.add_argument("--epochs", type=int, help="default: chosen for the data (printed)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, help="peak learning rate; default: chosen for the data")
    parser.add_argument("--warmup", type=float, default=defaults.warmup_ratio, help="warm-up fraction of the steps")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--max-length", type=int, default=defaults.max_length)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--freeze", choices=FREEZE_CHOICES,
                        help="keep as pretrained: none, the embeddings (plus --freeze-layers), or the whole encoder")
    parser.add_argument("--freeze-layers", type=int, metavar="N",
                        help="with --freeze embeddings: also keep the lowest N transformer layers")
    parser.add_argument("--early-stopping", type=int, default=None, metavar="EPOCHS",
                        help="stop after this many epochs without better evaluation accuracy")
    parser.add_argument("--pooling", choices=POOLING_CHOICES,
                        help="sentence vector for the new layer: [CLS] through the pooler, or the mean of the tokens")
    parser.add_argument("--head-init", choices=HEAD_INIT_CHOICES,
                        help="start the new layer at random or at the class centres")
    parser.add_argument("--layer-lr-decay", type=float, default=defaults.layer_lr_decay,
                        help="each layer below the top learns at this fraction of the rate of the one above")
    parser.add_argument("--eval-every-epoch", choices=("yes", "no"),
                        help="default: yes, unless the evaluation set is large")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=defaults.device)
    parser.add_argument("--output",
                        help="write the fine-tuned model folder here (safetensors, config, tokenizer, labels)")
    parser.add_argument("--record", metavar="FILE",
                        help="save the run (its reports, times and final scores, no weights) as a recording "
                             "the app can replay")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout; progress goes to stderr")
    return parser.parse_args(argv)


# Command-line flags that `choose_settings` would otherwise choose, and their config names.
CHOOSABLE = {"epochs": "epochs", "lr": "learning_rate", "freeze": "freeze", "freeze_layers": "freeze_layers",
             "pooling": "pooling", "head_init": "head_init", "eval_every_epoch": "eval_every_epoch"}


def _choice(args, train, eval):
    """The settings: what was given on the command line, the rest chosen for the data
    (core.finetune.auto); a FinetuneError names the first bad one."""
    from core.finetune.auto import choose_settings

    given = {field: getattr(args, flag) for flag, field in CHOOSABLE.items() if getattr(args, flag) is not None}
    if "eval_every_epoch" in given:
        given["eval_every_epoch"] = given["eval_every_epoch"] == "yes"
    base = FinetuneConfig(
        model_id=args.model, batch_size=args.batch_size, warmup_ratio=args.warmup, weight_decay=args.weight_decay,
        max_length=args.max_length, seed=args.seed, early_stopping_patience=args.early_stopping,
        device=args.device, layer_lr_decay=args.layer_lr_decay,
    )
    choice = choose_settings(train, eval, given=given, base=base)
    problems = choice.config.problems()
    if problems:
        raise FinetuneError(problems[0])
    return choice


def _load_data(args):
    """(train, eval) as LabelledTexts: shipped files unless paths are given; an
    --train without --eval is split (stratified) into train and evaluation parts."""
    from core import datasets

    train = datasets.read_csv(args.train) if args.train else datasets.load_shipped("train")
    if args.eval:
        eval = datasets.read_csv(args.eval)
    elif args.train:
        train, eval = datasets.stratified_split(train, seed=args.seed)
    else:
        eval = datasets.load_shipped("eval")
    return datasets.align_labels(train, eval)


def _quiet_transformers() -> None:
    """No "newly initialized weights" table and no download progress bars."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _announcement(config: FinetuneConfig, train, eval) -> str:
    from core import models

    layers = models.load_config(config.model_id).num_hidden_layers
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    return (f"Fine-tuning {config.model_id} on {len(train.texts)} sentences, "
            f"evaluating on {len(eval.texts)} ({epochs}, batch {config.batch_size}, "
            f"lr {config.learning_rate:g}, freeze {describe_freeze(config, layers)}). "
            "Ctrl-C stops and keeps what was learned.")


def _epoch_line(e: EpochReport, epochs: int) -> str:
    evaluated = f"  eval loss {e.eval_loss:.3f} acc {e.eval_accuracy:6.1%}" if e.eval_accuracy is not None else ""
    return (f"epoch {e.epoch:>2}/{epochs}  train loss {e.train_loss:.3f} "
            f"acc {e.train_accuracy:6.1%}{evaluated}  {e.seconds:5.1f} s")


@contextlib.contextmanager
def _first_ctrl_c_stops():
    """The first Ctrl-C sets the event (training stops after the current step and
    keeps its result); a second one quits. The old handler comes back afterwards."""
    import signal
    import threading

    stop = threading.Event()

    def on_interrupt(*_):
        stop.set()
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    previous_handler = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous_handler)


def _say(out, text: str) -> None:
    print(text, file=out, flush=True)


def _error_line(error: Exception) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"error: {message}" if type(error).__name__ in KNOWN_ERRORS else f"error ({type(error).__name__}): {message}"


def check_output(path) -> None:
    """Before any training: --output must be a folder we may write a model into,
    not an existing file or someone's unrelated non-empty folder."""
    import os
    from pathlib import Path

    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise FinetuneError(f"--output {path} is an existing file; give a folder to save the model in.")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "labels.json").is_file():
        raise FinetuneError(f"--output {path} is a folder with other files in it; give an empty or new folder.")
    parent = folder if folder.is_dir() else next((p for p in folder.parents if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK) or not _can_create_in(parent):
        raise FinetuneError(f"--output {path} can't be written here: {parent} is not a writable folder.")


def _can_create_in(folder) -> bool:
    """Try it: os.access says yes to root everywhere, even where nothing can be made (/proc)."""
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".fb2b-probe-"))
    except OSError:
        return False
    return True


def json_safe(value):
    """NaN and infinities become null: json.dumps would print NaN, which is not JSON."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _recorder(args, choice):
    """A core.recording.Recorder for --record FILE (None without it); refuses a folder."""
    path = args.record
    if not path:
        return None
    from pathlib import Path

    from core import recording

    if Path(path).is_dir():
        raise FinetuneError(f"--record {path} is a folder; give a file name for the recording.")
    return recording.Recorder(recording.FINETUNE, settings={
        **choice.summary(), "train": args.train or "shipped", "eval": args.eval or "shipped"})


def main(argv=None) -> int:
    """`python -m core.finetune --json` -> one JSON object; errors -> one line on stderr, exit 2."""
    import json
    import os

    args = _parse_args(argv)
    out = sys.stderr if args.json else sys.stdout
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        if args.output:
            check_output(args.output)          # before minutes of training, not after
        train, eval = _load_data(args)         # bad files fail fast, before torch is imported
        _quiet_transformers()
        from core import model_io

        choice = _choice(args, train, eval)
        config = choice.config
        _say(out, f"Settings: {choice.why}.")
        _say(out, _announcement(config, train, eval))
        recorder = _recorder(args, choice)

        def on_epoch(report):
            _say(out, _epoch_line(report, config.epochs))
            if recorder:
                recorder.on_epoch(report)

        with _first_ctrl_c_stops() as stop:
            result = finetune(train, eval, config, should_stop=stop.is_set, on_epoch=on_epoch,
                              on_step=recorder.on_step if recorder else None)
            if recorder:
                from core import recording

                _say(out, f"recorded {recording.save(recorder.finish(recording.finetune_result(result)), args.record)}")
            summary = result.summary()
            summary.update(train_examples=len(train.texts), eval_examples=len(eval.texts), settings=choice.summary())
            if args.output:
                summary["output"] = str(model_io.save_model_folder(result, args.output))
        for note in (result.diverged, result.warning,
                     "Stopped by Ctrl-C; the model keeps what it learned." if result.cancelled else None,
                     f"Early stopping: kept epoch {result.weights_epoch}." if result.stopped_early else None):
            if note:
                _say(out, note)
        if args.json:
            print(json.dumps(json_safe(summary), allow_nan=False))
        elif result.eval_accuracy is not None:
            _say(out, f"train accuracy {result.train_accuracy:.1%}  eval accuracy {result.eval_accuracy:.1%}  "
                      f"({result.seconds:.1f} s, {result.tokens_per_second:,.0f} tokens/s on {result.device})")
        else:
            _say(out, f"done in {result.seconds:.1f} s")
        if args.output and not args.json:
            _say(out, f"saved to {summary['output']}")
        return 3 if result.diverged else 0
    except Exception as error:  # noqa: BLE001 - the CLI promises one line, never a traceback
        print(_error_line(error), file=sys.stderr)
        return 2
