"""`python -m core.finetune`: one JSON object with --json, a loadable --output
folder, and one-line errors (no traceback, non-zero exit) for bad input.
The tiny random BERT (--model <folder>) keeps each run to seconds."""

import json
import os
import subprocess
import sys

import pytest

from core import datasets


def run_cli(root, *args):
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "core.finetune", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def write_csv(path, rows, header="label,text"):
    path.write_text("\n".join([header] + [f'{label},"{text}"' for label, text in rows]) + "\n", encoding="utf-8")
    return str(path)


def test_json_run_on_the_shipped_data_and_a_loadable_output_folder(root, tiny_bert_dir, tmp_path):
    out = tmp_path / "model"
    done = run_cli(root, "--model", tiny_bert_dir, "--epochs", "2", "--batch-size", "32", "--lr", "1e-3",
                   "--json", "--output", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)                  # exactly one JSON object on stdout
    assert summary["labels"] == datasets.LABELS
    assert (summary["train_examples"], summary["eval_examples"], summary["epochs"]) == (400, 160, 2)
    assert [h["epoch"] for h in summary["history"]] == [1, 2]
    assert 0 <= summary["eval_accuracy"] <= 1 and summary["eval_accuracy"] == summary["history"][-1]["eval_accuracy"]
    assert summary["eval_loss"] > 0 and summary["seconds"] > 0 and summary["tokens_per_second"] > 0
    assert "epoch  2/2" in done.stderr                 # progress goes to stderr with --json

    from core.finetune import evaluate
    from core.model_io import load_model_folder

    model, tokenizer, labels = load_model_folder(out)
    _, accuracy, _ = evaluate(model, tokenizer, datasets.load_shipped("eval"), labels)
    assert labels == datasets.LABELS and accuracy == pytest.approx(summary["eval_accuracy"])


def test_own_train_file_without_eval_is_split(root, tiny_bert_dir, tmp_path):
    rows = [(label, f"{word} reason number {i}") for label, word in (("price", "money"), ("credit", "card"))
            for i in range(10)]
    done = run_cli(root, "--train", write_csv(tmp_path / "mine.csv", rows), "--model", tiny_bert_dir,
                   "--epochs", "1", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["train_examples"], summary["eval_examples"]) == (16, 4)   # 20% of each label held out
    assert summary["labels"] == ["price", "credit"]                          # the talk's label order


def test_frozen_layers_from_the_command_line(root, tiny_bert_dir):
    done = run_cli(root, "--model", tiny_bert_dir, "--epochs", "1", "--freeze-layers", "1", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["config"]["freeze"], summary["config"]["freeze_layers"]) == ("embeddings", 1)
    assert summary["frozen_layers"] == 1 and 0 < summary["trainable_parameters"] < summary["total_parameters"]
    assert "(1 epoch, batch 16" in done.stderr and "freeze embeddings + 1 lowest layer)" in done.stderr
    refused = run_cli(root, "--model", tiny_bert_dir, "--freeze-layers", "-2")
    assert refused.returncode == 2 and "Frozen layers must be" in refused.stderr


def test_more_frozen_layers_than_the_model_has_are_announced_as_what_really_freezes(tiny_bert_dir):
    from core.finetune import FinetuneConfig
    from core.finetune.cli import _announcement

    shipped = datasets.load_shipped("train"), datasets.load_shipped("eval")
    line = _announcement(FinetuneConfig(model_id=tiny_bert_dir, freeze_layers=23), *shipped)
    assert "freeze embeddings + 1 lowest layer)" in line     # the tiny BERT has 2 layers; the top one learns


@pytest.mark.parametrize("make_args, message", [
    (lambda tmp: ["--eval", write_csv(tmp / "e.csv", [("refund", "give it back"), ("refund", "money back"),
                                                        ("price", "too dear"), ("price", "costly")])],
     '"refund"'),
    (lambda tmp: ["--train", str(tmp / "missing.csv")], "no file"),
    (lambda tmp: ["--train", write_csv(tmp / "cols.csv", [("a", "b")] * 3, header="colour,shape")], "column"),
    (lambda tmp: ["--model", "no-such-org/no-such-model"], "not cached"),
    (lambda tmp: ["--lr", "-1"], "learning rate"),
])
def test_bad_input_gives_one_line_and_a_non_zero_exit(root, tmp_path, make_args, message):
    done = run_cli(root, *make_args(tmp_path), "--epochs", "1", "--json")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def strict_json(text):
    """json.loads accepts NaN; JSON doesn't."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_a_diverged_run_prints_valid_json_with_null_not_nan(root, tiny_bert_dir):
    done = run_cli(root, "--model", tiny_bert_dir, "--epochs", "1", "--lr", "1e30", "--warmup", "0", "--json")
    assert done.returncode == 3, done.stderr
    summary = strict_json(done.stdout)
    assert summary["diverged"] and "NaN" not in done.stdout


def a_file(tmp):
    (tmp / "taken.txt").write_text("mine")
    return tmp / "taken.txt"


def a_folder_of_other_files(tmp):
    (tmp / "photos").mkdir()
    (tmp / "photos" / "cat.jpg").write_bytes(b"x")
    return tmp / "photos"


@pytest.mark.parametrize("make_output, message", [(a_file, "existing file"), (a_folder_of_other_files, "other files")])
def test_a_bad_output_is_refused_before_training(root, tiny_bert_dir, tmp_path, make_output, message):
    output = make_output(tmp_path)
    done = run_cli(root, "--model", tiny_bert_dir, "--epochs", "1", "--json", "--output", str(output))
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "epoch" not in done.stderr and "Fine-tuning" not in done.stderr  # nothing was trained first


def test_an_unwritable_output_is_refused_before_training(root, tiny_bert_dir):
    # Under /proc nothing can be created, not even by root (CI runs as root).
    done = run_cli(root, "--model", tiny_bert_dir, "--epochs", "1", "--output", "/proc/fb2b-model")
    assert done.returncode == 2 and "can't be written" in done.stderr, done.stderr


def synthetic(labels: int, per_label: int):
    words = ("price money cost", "card credit bank", "slow late weeks", "error bug crash", "reply support call")
    return [(f"label{j}", f"{words[j]} {w} {i}") for j in range(labels) for i in range(per_label)
            for w in ("reason",)]


def test_settings_are_chosen_for_the_data_unless_given(tiny_bert_dir):
    from core.finetune import FinetuneConfig
    from core.finetune.auto import FEW_SHOT_SETTINGS, choose_settings

    base = FinetuneConfig(model_id=tiny_bert_dir)
    few = list(zip(*[(t, y) for y, t in synthetic(5, 4)]))
    choice = choose_settings(few, few, base=base)
    assert (choice.config.epochs, choice.config.learning_rate) == (FEW_SHOT_SETTINGS["epochs"],
                                                                    FEW_SHOT_SETTINGS["learning_rate"])
    assert (choice.config.pooling, choice.config.head_init) == ("mean", "centroids")    # a BERT
    assert "20 sentences, 5 labels, 4-4 per label; few examples per label" in choice.why
    many = list(zip(*[(t, y) for y, t in synthetic(3, 40)]))
    big_eval = (many[0] * 10, many[1] * 10)
    choice = choose_settings(many, big_eval, base=base)
    assert (choice.config.epochs, choice.config.learning_rate) == (FinetuneConfig().epochs,
                                                                    FinetuneConfig().learning_rate)
    assert choice.config.eval_every_epoch is False and "1200 evaluation sentences" in choice.why
    given = choose_settings(few, few, given={"epochs": 2, "pooling": "cls"}, base=base)
    assert (given.config.epochs, given.config.pooling, given.config.head_init) == (2, "cls", "centroids")
    assert "epochs" not in given.chosen and "(as given: epochs, pooling)" in given.why


def test_the_cli_prints_what_it_chose_and_why(root, tiny_bert_dir, tmp_path):
    train = write_csv(tmp_path / "few.csv", synthetic(5, 6))
    done = run_cli(root, "--train", train, "--eval", train, "--model", tiny_bert_dir, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    line = next(x for x in done.stderr.splitlines() if x.startswith("Settings:"))
    assert "30 sentences, 5 labels, 6-6 per label; few examples per label" in line and "mean pooling" in line
    assert summary["settings"]["chosen"]["pooling"] == "mean" and summary["config"]["head_init"] == "centroids"
    assert summary["epochs"] == summary["settings"]["chosen"]["epochs"]
    told = run_cli(root, "--train", train, "--eval", train, "--model", tiny_bert_dir, "--epochs", "1",
                   "--pooling", "cls", "--json")
    assert told.returncode == 0, told.stderr
    summary = json.loads(told.stdout)
    assert (summary["epochs"], summary["config"]["pooling"]) == (1, "cls")
    assert "(as given: epochs, pooling)" in told.stderr
