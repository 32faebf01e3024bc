"""Chapter 5's pages in AppTest, as a visitor sees them: the numbers on the page are
core's numbers; editing a rule, moving the fraud threshold and labelling ten
sentences each change what is shown; bad uploads end in one sentence with nothing lost."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from apptest_pages import chart, open_page, uploader
from streamlit.testing.v1 import AppTest

from core import compete, fraud, rules
from core.datasets import load_shipped


def texts(at: AppTest, kind: str) -> list[str]:
    """The page's elements of one kind as plain text (Markdown escapes removed)."""
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in at.get(kind)]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


TABLE_COLUMNS = {"ch5_rules_breaks": "rules said", "ch5_compete_table": "ms / prediction",
                 "ch5_fraud_encoded": "first row"}


def frame(at: AppTest, key: str):
    """The table drawn with `key` (AppTest doesn't expose a dataframe's key: found by a column only it has)."""
    found = [d.value for d in at.dataframe if TABLE_COLUMNS[key] in d.value.columns]
    assert len(found) == 1, f"{len(found)} tables like {key}"
    return found[0]


def finish_jobs(at: AppTest, timeout: float = 300) -> AppTest:
    """run_every fragments don't tick in AppTest: wait for chapter 5's background jobs, then rerun."""
    for _ in range(3):
        running = list(at.session_state["ch5_jobs"].values()) if "ch5_jobs" in at.session_state else []
        if not running:
            break
        for job in running:
            assert job.join(timeout), "a chapter 5 background job did not finish"
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# ---------------------------------------------------------------- rules first


def test_rules_page_shows_core_scores_on_both_files_and_where_they_break():
    at = open_page("ch5_rules")
    shipped = rules.default_rules()
    scored = {split: rules.score_rules(shipped, load_shipped(split), split) for split in ("eval", "challenge")}
    shown = metrics(at)
    assert shown["Right on eval"] == f"{scored['eval'].accuracy:.1%}"
    assert shown["Right on challenge"] == f"{scored['challenge'].accuracy:.1%}"
    assert len(frame(at, "ch5_rules_breaks")) == len(scored["eval"].breaks())
    page = " ".join(texts(at, "markdown"))
    assert "birds fly except penguins" in page and "links with redirects" in page and "happy face" in page


def test_editing_a_rule_changes_the_score_and_the_challenge_split_shows_its_breaks():
    at = open_page("ch5_rules")
    before = metrics(at)["Right on eval"]
    without_price = "\n".join(line for line in rules.DEFAULT_RULES_TEXT.splitlines() if not line.startswith("price:"))
    at.text_area(key="ch5_rules_text").set_value(without_price).run()
    expected = rules.score_rules(rules.parse_rules(without_price), load_shipped("eval"))
    after = metrics(at)["Right on eval"]
    assert after == f"{expected.accuracy:.1%}" and after != before
    at.radio(key="ch5_rules_split").set_value("challenge").run()
    challenge = rules.score_rules(rules.parse_rules(without_price), load_shipped("challenge"))
    assert len(frame(at, "ch5_rules_breaks")) == len(challenge.breaks())
    at.text_input(key="ch5_rules_try").set_value("My card was declined at checkout").run()
    assert any("rules say: credit" in t and "card" in t for t in texts(at, "text"))


def test_rules_that_do_not_parse_get_a_sentence_and_the_text_is_kept():
    at = open_page("ch5_rules")
    broken = "price expensive, cheaper\n"
    at.text_area(key="ch5_rules_text").set_value(broken).run()
    assert not at.exception
    assert any("has no colon" in e and "Your text is kept" in e for e in texts(at, "error"))
    assert at.text_area(key="ch5_rules_text").value == broken
    assert "Right on eval" not in metrics(at)


# ---------------------------------------------------------------- the competition


def table_rows(at: AppTest) -> list[str]:
    return list(frame(at, "ch5_compete_table")["model"])


def test_leaderboard_has_every_arm_and_its_pick_is_the_cheapest_good_enough():
    at = finish_jobs(open_page("ch5_compete", timeout=300))
    models = table_rows(at)
    for name in ("majority class", "keyword rules", "TF-IDF + logistic regression", "decision tree on words",
                 "BERT embeddings + logistic regression", "BERT embeddings + small MLP (chapter 1)"):
        assert name in models
    assert any("fine-tuned BERT" in m and "recorded" in m for m in models)   # no fine-tune in this session
    board = frame(at, "ch5_compete_table")
    for column in ("accuracy", "macro-F1", "worst-class recall", "fit s", "ms / prediction", "size (MB)"):
        assert column in board.columns
    majority = board[board["model"] == "majority class"].iloc[0]
    assert majority["accuracy"] == pytest.approx(100 * 20 / 160)       # always "unknown": 20 of the 160 eval sentences

    def pick_is_cheapest(board, min_accuracy):
        good = board[board["accuracy"] >= 100 * min_accuracy]
        starred = board[board["pick"] == "★"]
        assert len(starred) == 1
        assert starred.iloc[0]["ms / prediction"] == pytest.approx(good["ms / prediction"].min(), abs=0.006)
        return starred.iloc[0]["model"]

    strict = pick_is_cheapest(board, 0.90)
    assert any(strict in s for s in texts(at, "success"))
    at.slider(key="ch5_compete_min").set_value(0.6).run()
    loose = pick_is_cheapest(frame(at, "ch5_compete_table"), 0.6)
    assert loose == "keyword rules"                   # 65% and no fitting: the cheapest that is good enough
    at.slider(key="ch5_compete_min").set_value(1.0).run()
    assert any("No model reaches 100%" in w for w in texts(at, "warning"))
    at.selectbox(key="ch5_compete_sort").set_value("ms_per_prediction").run()
    times = list(frame(at, "ch5_compete_table")["ms / prediction"])
    assert times == sorted(times)


def test_banking77_is_a_dataset_choice(monkeypatch):
    at = open_page("ch5_compete", timeout=300)
    at.selectbox(key="ch5_compete_source").set_value("BANKING77 (77 banking intents)").run()
    at.select_slider(key="ch5_compete_k").set_value(5).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("385 training sentences, 539 test" in c for c in texts(at, "caption"))
    models = table_rows(at)
    assert "TF-IDF + logistic regression" in models and "keyword rules" not in models
    infos = " ".join(texts(at, "info"))
    assert "written for the shipped cancellation reasons" in infos and "86.4%" in infos


def test_this_sessions_fine_tuned_bert_replaces_the_recorded_one(tiny_bert_dir):
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from core.datasets import LABELS
    from core.trained import TrainedModel

    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=len(LABELS)).eval()
    trained = TrainedModel.loaded(model, AutoTokenizer.from_pretrained(tiny_bert_dir), LABELS, "tiny test model")
    at = open_page("ch5_compete", timeout=300)
    at.session_state["finetuned"] = trained
    at = finish_jobs(at.run())
    models = table_rows(at)
    assert "fine-tuned BERT (tiny test model)" in models
    assert not any("recorded" in m for m in models)
    row = frame(at, "ch5_compete_table").set_index("model").loc["fine-tuned BERT (tiny test model)"]
    expected = compete.finetuned_arm(trained, load_shipped("eval"))
    assert row["accuracy"] == pytest.approx(100 * expected.accuracy)


def upload(at: AppTest, kind: str, content: bytes) -> AppTest:
    uploader(at, f"ch3_{kind}_csv_").set_value((f"{kind}.csv", content, "text/csv"))
    return at.run()


THREE_LABELS = "".join(f"too dear {i},price\nmy card failed {i},credit\nlate again {i},lead time\n" for i in range(6))


@pytest.mark.parametrize("train, test, message", [
    ("text,label\n" + THREE_LABELS + "just one of these,error\n", None, '"error" has only 1 row'),
    ("text,label\n" + THREE_LABELS, "text,label\ntoo dear,price\ncard failed,credit\n",
     'Label "lead time" has no sentence in the test split'),
    ("text,label\n" + "".join(f"too dear {i},price\n" for i in range(8)), None, 'has the label "price"'),
    ("foo,bar,baz\n1,2,3\n4,5,6\n", None, "Found no sentence and label columns"),
])
def test_bad_uploads_get_one_sentence_and_nothing_is_lost(train, test, message):
    at = open_page("ch5_compete", timeout=300)
    at.selectbox(key="ch5_compete_source").set_value("My own CSV files").run()
    upload(at, "train", train.encode())
    if test:
        upload(at, "eval", test.encode())
    assert not at.exception, [e.value for e in at.exception]
    errors = texts(at, "error")
    assert any(message in e for e in errors), errors
    assert at.session_state["ch3_upload_train"]["raw"] == train.encode()     # the file is kept
    at.selectbox(key="ch5_compete_source").set_value("The shipped cancellation reasons").run()
    assert "majority class" in table_rows(at)


def test_an_uploaded_csv_gets_its_own_leaderboard():
    at = open_page("ch5_compete", timeout=300)
    at.selectbox(key="ch5_compete_source").set_value("My own CSV files").run()
    upload(at, "train", ("text,label\n" + THREE_LABELS).encode())
    assert not at.exception
    models = table_rows(at)
    assert "keyword rules" in models and "TF-IDF + logistic regression" in models
    assert any("your test sentences" in c for c in texts(at, "caption"))


# ---------------------------------------------------------------- fraud


@pytest.fixture(scope="module")
def default_run() -> fraud.FraudRun:
    return fraud.demo_run(0, "one-hot", False)


def brute_force_cheapest(scores, y, missed: float, alarm: float) -> float:
    candidates = list(np.unique(scores)) + [np.inf]
    return min(fraud.confusion_at(scores, y, t).cost(missed, alarm) for t in candidates)


def test_fraud_page_shows_the_accuracy_trap_at_once_and_the_models_after():
    at = open_page("ch5_fraud", timeout=300)
    shown = metrics(at)
    assert shown["accuracy"] == "99.2%"
    assert shown["frauds caught"] == "0 of 48"
    finish_jobs(at)
    assert "it catches" in metrics(at)
    assert "Precision against recall: gradient-boosted trees" in [
        json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def test_the_cheapest_threshold_shown_is_the_brute_force_minimum_and_the_slider_prices_a_move(default_run):
    at = finish_jobs(open_page("ch5_fraud", timeout=300))
    scores, y = default_run.scores("gradient-boosted trees"), default_run.y_test
    best = brute_force_cheapest(scores, y, 500.0, 10.0)
    page = " ".join(texts(at, "markdown"))
    assert f"${best:,.0f} in all" in page
    on_slider = fraud.cheapest_on_slider(scores, y, 500.0, 10.0, step=0.01)
    assert f"Use the cheapest threshold ({on_slider:.2f})" in [b.label for b in at.button]

    at.slider(key="ch5_fraud_threshold").set_value(0.2).run()
    cost_at_02 = fraud.confusion_at(scores, y, 0.2).cost(500, 10)
    assert metrics(at)["cost here"] == f"${cost_at_02:,.0f}"
    at.number_input(key="ch5_fraud_alarm").set_value(100).run()
    assert metrics(at)["cost here"] == f"${fraud.confusion_at(scores, y, 0.2).cost(500, 100):,.0f}"
    at.button(key="ch5_fraud_cheapest").click().run()
    moved = at.slider(key="ch5_fraud_threshold").value
    # The button moves the slider to its cheapest setting: no 0.01 step of it costs less (the
    # exact minimum may sit between steps; rounding that to 0.00 would flag every transaction).
    grid_costs = [fraud.confusion_at(scores, y, t / 100).cost(500, 100) for t in range(101)]
    assert metrics(at)["cost here"] == f"${min(grid_costs):,.0f}"
    assert moved == fraud.cheapest_on_slider(scores, y, 500.0, 100.0, step=0.01)


def test_encoding_choice_shows_one_hot_columns_or_one_number_per_category():
    at = open_page("ch5_fraud", timeout=300)
    columns = list(frame(at, "ch5_fraud_encoded")["column"])
    assert "country=US" in columns and "merchant=travel" in columns
    at.radio(key="ch5_fraud_encoding").set_value("integers").run()
    columns = list(frame(at, "ch5_fraud_encoded")["column"])
    assert "country" in columns and "country=US" not in columns
    assert not at.exception


# ---------------------------------------------------------------- labels


def test_labelling_ten_sentences_retrains_and_adds_a_point():
    at = finish_jobs(open_page("ch5_labels", timeout=300))
    game = at.session_state["ch5_game"]
    assert len(game.picked) == 10 and len(game.history) == 1
    curves = chart(at, "Accuracy against labels paid for")
    assert {t["name"] for t in curves["data"]} >= {"least sure first (simulated)", "at random (simulated)", "yours"}
    at.button(key="ch5_game_fill").click().run()
    at.button(key="ch5_game_retrain").click().run()
    assert not at.exception, [e.value for e in at.exception]
    game = at.session_state["ch5_game"]
    assert [n for n, _ in game.history] == [8, 18]
    yours = next(t for t in chart(at, "Accuracy against labels paid for")["data"] if t["name"] == "yours")
    assert yours["x"] == [8, 18]
    assert yours["y"][1] == pytest.approx(100 * game.history[1][1])
    assert any("18 labels so far" in m for m in texts(at, "markdown"))
    assert any("The last retrain took" in c for c in texts(at, "caption"))


def test_retraining_with_no_labels_says_so_and_keeps_the_game():
    at = finish_jobs(open_page("ch5_labels", timeout=300))
    before = at.session_state["ch5_game"]
    at.button(key="ch5_game_retrain").click().run()
    assert any("Label at least one" in e for e in texts(at, "error"))
    assert at.session_state["ch5_game"] == before
    page = " ".join(texts(at, "markdown"))
    assert "Mechanical Turk" in page and "charge-back" in page and "GPT-4" in page
