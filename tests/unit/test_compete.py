"""Chapter 5, a model competition: one split, every arm, the columns a business reads."""

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import pytest

from core import compete
from core.compete import ArmResult, CompetitionError
from core.datasets import LabelledTexts
from core.rules import parse_rules

CLASSIC = ("majority", "rules", "tfidf", "tree")


@pytest.fixture(scope="module")
def shipped():
    return compete.prepare_data()


@pytest.fixture(scope="module")
def board(shipped):
    train, test, name = shipped
    return compete.run_competition(train, test, arms=CLASSIC, test_name=name)


def _row(board, key):
    return next(r for r in board.rows if r.key == key)


def test_the_shipped_split_is_train_against_eval(shipped):
    train, test, name = shipped
    assert (len(train), len(test), name) == (400, 160, "eval")


def test_every_classic_arm_reports_every_column(board):
    assert [r.key for r in board.rows][:4] == list(CLASSIC)
    for row in board.rows:
        assert 0 <= row.accuracy <= 1 and 0 <= row.macro_f1 <= 1 and 0 <= row.worst_recall <= 1
        assert row.worst_class in board.labels
        assert row.ms_per_prediction >= 0 and row.size_bytes > 0
        assert row.fit_seconds is None or row.fit_seconds >= 0
        assert set(row.row()) >= {"name", "accuracy", "macro_f1", "worst_recall", "worst_class", "fit_seconds",
                                  "ms_per_prediction", "size_bytes", "recorded"}


def test_the_majority_baseline_scores_the_share_of_its_label_and_misses_every_other(shipped, board):
    _, test, _ = shipped
    majority = _row(board, "majority")
    label = majority.predictions[0]
    assert set(majority.predictions) == {label}
    assert majority.accuracy == test.class_counts()[label] / len(test)
    assert majority.worst_recall == 0.0


def test_learned_models_beat_the_hand_written_rules_which_beat_the_baseline(board):
    assert _row(board, "tfidf").accuracy > _row(board, "rules").accuracy > _row(board, "majority").accuracy
    assert _row(board, "tfidf").accuracy > _row(board, "tree").accuracy


def test_the_tree_prints_its_rules_as_questions_about_words(board):
    assert "|---" in board.tree_rules and "class:" in board.tree_rules
    assert len(board.tree_rules) <= 4_100


def test_the_same_seed_fits_the_same_models(shipped, board):
    train, test, _ = shipped
    again = compete.run_competition(train, test, arms=("tfidf", "tree"), recorded=False)
    assert _row(again, "tfidf").predictions == _row(board, "tfidf").predictions
    assert _row(again, "tree").predictions == _row(board, "tree").predictions


def test_the_recorded_fine_tune_joins_only_on_the_sentences_it_was_scored_on(shipped, board):
    recorded = _row(board, "recorded")
    assert recorded.recorded and "recorded" in recorded.name and "not run now" in recorded.note
    train, test, _ = shipped
    other = compete.run_competition(train, test.subset(range(0, 160, 2)), arms=("majority",))
    assert not any(r.recorded for r in other.rows)


def test_sorting_puts_the_best_score_or_the_cheapest_cost_first(board):
    by_accuracy = board.sorted_rows("accuracy")
    assert [r.accuracy for r in by_accuracy] == sorted((r.accuracy for r in board.rows), reverse=True)
    by_speed = board.sorted_rows("ms_per_prediction")
    assert [r.ms_per_prediction for r in by_speed] == sorted(r.ms_per_prediction for r in board.rows)
    with pytest.raises(CompetitionError, match="Can't sort"):
        board.sorted_rows("colour")


def _arm(key, accuracy, ms, size):
    return ArmResult(key, key, accuracy, accuracy, accuracy, "price", 1.0, ms, size)


def test_the_cheapest_good_enough_model_is_the_fastest_then_the_smallest_above_the_bar():
    rows = [_arm("big", 0.97, 5.0, 90_000_000), _arm("small", 0.90, 0.03, 80_000),
            _arm("tiny", 0.90, 0.03, 800), _arm("bad", 0.60, 0.01, 100)]
    assert compete.cheapest_good_enough(rows, 0.9).key == "tiny"
    assert compete.cheapest_good_enough(rows, 0.95).key == "big"
    assert compete.cheapest_good_enough(rows, 0.99) is None
    assert "No model reaches 99%" in compete.pick_sentence(rows, 0.99)
    assert compete.pick_sentence(rows, 0.9).startswith("At 90% or better, the cheapest is tiny")


def test_scores_by_hand():
    s = compete.scores(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert s["accuracy"] == 0.75
    assert (s["worst_class"], s["worst_recall"]) == ("a", 0.5)
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_the_json_has_every_row_the_pick_and_no_nan(board):
    text = json.dumps(board.to_dict(0.85), allow_nan=False)
    data = json.loads(text)
    assert len(data["rows"]) == len(board.rows)
    assert data["cheapest_good_enough"]["key"] == compete.cheapest_good_enough(board.rows, 0.85).key


def test_the_command_line_prints_the_leaderboard_as_json(tmp_path):
    out = io.StringIO()
    with redirect_stdout(out):
        assert compete.main(["--json", "--no-bert", "--min-accuracy", "0.85"]) == 0
    data = json.loads(out.getvalue())
    assert [r["key"] for r in data["rows"]] == list(CLASSIC)
    assert all(not isinstance(v, float) or math.isfinite(v) for r in data["rows"] for v in r.values())


def _csv(rows) -> bytes:
    return ("label,text\n" + "\n".join(f"{y},{t}" for y, t in rows)).encode()


def _upload(labels, per_label):
    return _csv([(y, f"sentence {i} about {y} number {j}") for i, y in enumerate(labels) for j in range(per_label)])


def test_an_uploaded_csv_is_split_and_competes_without_the_shipped_rules():
    train, test, name = compete.prepare_data(_upload(["alpha", "beta", "gamma"], 10))
    assert (len(train), len(test)) == (24, 6) and "held out" in name
    board = compete.run_competition(train, test, arms=CLASSIC)
    assert "rules" not in [r.key for r in board.rows]
    assert "written for the shipped cancellation reasons" in board.skipped[0]
    own = compete.run_competition(train, test, arms=("rules",), rules=parse_rules("alpha: alpha\notherwise: beta",
                                                                                  ["alpha", "beta", "gamma"]))
    assert own.rows[0].key == "rules"


def test_the_command_line_reads_train_and_eval_files(tmp_path):
    (tmp_path / "t.csv").write_bytes(_upload(["alpha", "beta"], 6))
    (tmp_path / "e.csv").write_bytes(_upload(["alpha", "beta"], 2))
    out = io.StringIO()
    with redirect_stdout(out):
        assert compete.main(["--json", "--no-bert", "--train", str(tmp_path / "t.csv"),
                             "--eval", str(tmp_path / "e.csv")]) == 0
    data = json.loads(out.getvalue())
    assert (data["train_rows"], data["test_rows"], data["test"]) == (12, 4, "e.csv")


@pytest.mark.parametrize("source, words", [
    (_csv([("price", "too dear"), ("price", "costly"), ("price", "pricey"), ("credit", "card declined")]),
     '"credit" has only 1 row'),
    (_csv([("price", f"too dear {i}") for i in range(6)]), 'has the label "price"'),
    (b"label,amount\nprice,3\ncredit,4\nprice,5\ncredit,6\n", "no sentence column"),
    (_csv([("price", f"dear {i}") for i in range(6)] + [("credit", "declined"), ("credit", "refused")]),
     'Label "credit" has only 2 sentences'),
])
def test_bad_uploads_give_one_sentence(source, words):
    with pytest.raises(CompetitionError) as caught:
        compete.prepare_data(source)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_class_missing_from_the_test_file_is_refused_with_a_sentence():
    train = LabelledTexts(["a1", "a2", "b1", "b2"], ["a", "a", "b", "b"])
    with pytest.raises(CompetitionError, match='Label "b" has no sentence in the test split'):
        compete.check_split(train, LabelledTexts(["a3"], ["a"]))
    with pytest.raises(CompetitionError, match='label "c", which the training data never shows'):
        compete.check_split(train, LabelledTexts(["a3", "b3", "c3"], ["a", "b", "c"]))
    with pytest.raises(CompetitionError, match="only one label"):
        compete.check_split(LabelledTexts(["a1", "a2"], ["a", "a"]), LabelledTexts(["a3"], ["a"]))
    with pytest.raises(CompetitionError, match='Label "b" has only one training sentence'):
        compete.check_split(LabelledTexts(["a1", "a2", "b1"], ["a", "a", "b"]), LabelledTexts(["a3", "b3"], ["a", "b"]))


def test_the_command_line_says_a_sentence_for_bad_data(tmp_path):
    (tmp_path / "one.csv").write_bytes(_csv([("price", f"too dear {i}") for i in range(6)]))
    err = io.StringIO()
    with redirect_stderr(err):
        assert compete.main(["--no-bert", "--train", str(tmp_path / "one.csv")]) == 2
    assert "label" in err.getvalue() and "Traceback" not in err.getvalue()


def test_a_fine_tuned_model_competes_and_one_missing_a_label_sits_out(tiny_bert_dir, shipped):
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from core.trained import TrainedModel

    train, test, _ = shipped
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    model = BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=len(train.label_names)).eval()
    trained = TrainedModel(model, tokenizer, train.label_names, "tiny", "tiny", how={"seconds": 3.0, "load_seconds": 1.0})
    board = compete.run_competition(train, test, arms=("majority",), finetuned=trained)
    row = board.rows[-1]
    assert row.key == "finetuned" and not row.recorded and row.fit_seconds == 2.0
    assert row.size_bytes == compete.safetensors_bytes(model)
    assert not any(r.recorded for r in board.rows)      # the visitor's own model replaces the recorded one
    partial = TrainedModel(model, tokenizer, ("a",) * len(train.label_names), "odd", "tiny")
    board = compete.run_competition(train, test, arms=("majority",), finetuned=partial)
    assert [r.key for r in board.rows] == ["majority"] and "sits this one out" in board.skipped[0]


@pytest.mark.slow
def test_the_bert_embedding_arms_beat_tf_idf_and_carry_bert_in_their_size(shipped, board):
    from core.embedding_cache import encoder_bytes

    train, test, _ = shipped
    bert = compete.run_competition(train, test, arms=compete.EMBEDDING_ARMS, recorded=False)
    tfidf = _row(board, "tfidf").accuracy
    for row in bert.rows:
        assert row.accuracy > tfidf
        assert row.size_bytes > encoder_bytes()
        assert row.ms_per_prediction > _row(board, "tfidf").ms_per_prediction
    again = compete.run_competition(train, test, arms=("bert_mlp",), recorded=False)
    assert again.rows[0].predictions == _row(bert, "bert_mlp").predictions


def test_banking77_data_draws_k_per_intent_and_scores_every_intent():
    train, test, name = compete.banking77_data(5, 7, seed=0)
    assert len(train) == 5 * 77 and len(test) == 7 * 77
    assert set(train.class_counts().values()) == {5} and set(test.class_counts().values()) == {7}
    assert "7 per intent" in name
    again, _, _ = compete.banking77_data(5, 7, seed=0)
    assert again.texts == train.texts
    board = compete.run_competition(train, test, arms=("majority", "rules", "tfidf"), test_name=name)
    assert [r.key for r in board.rows] == ["majority", "tfidf"]          # no recorded fine-tune for this draw
    assert any("cancellation reasons" in s for s in board.skipped)


@pytest.mark.parametrize("per_label, test_per_label", [(3, 7), (10, 500)])
def test_banking77_choices_outside_the_menu_get_a_sentence(per_label, test_per_label):
    with pytest.raises(compete.CompetitionError):
        compete.banking77_data(per_label, test_per_label)


def test_a_recorded_row_that_names_its_training_sentences_joins_only_beside_them(shipped, tmp_path):
    train, test, _ = shipped
    entry = compete.load_recorded()
    entry["train_sha256"] = compete.data_fingerprint(train)
    path = tmp_path / "recorded.json"
    path.write_text(json.dumps(entry))
    assert compete.recorded_arm(test, path, train=train) is not None
    assert compete.recorded_arm(test, path, train=train.subset(range(0, 400, 2))) is None


def test_the_command_line_runs_the_competition_on_banking77():
    out = io.StringIO()
    with redirect_stdout(out):
        assert compete.main(["--json", "--no-bert", "--banking77", "5"]) == 0
    printed = json.loads(out.getvalue())
    assert printed["train_rows"] == 5 * 77 and printed["test_rows"] == 7 * 77 and len(printed["labels"]) == 77
    assert {r["key"] for r in printed["rows"]} == {"majority", "tfidf", "tree"}
