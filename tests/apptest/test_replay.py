"""The Replay button beside Start (ui/replay.py): a recording shipped with the app
plays through the page's own live charts, labelled as a replay, and ends with the
recording's numbers. AppTest doesn't tick the polling fragment, so most tests pick
"instant"; one plays at the recorded speed and sees the first point at once."""

import json
import shutil

import pytest

from apptest_pages import open_page
from core import lessons, recording
from ui.formats import duration, percent

LABEL = "Replay of a run recorded"


def shipped(file_name):
    return json.loads((recording.SHIPPED_DIR / file_name).read_text())


def click_replay(at, page, speed="instant"):
    at.session_state[f"{page}_replay_speed"] = speed
    at.button(key=f"{page}_replay").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def replay_banner(at) -> str:
    found = [str(box.value) for box in at.info if LABEL in str(box.value)]
    assert len(found) == 1, [box.value for box in at.info]
    return found[0]


def charts(at) -> dict:
    """Title -> plotly spec of every chart on the page."""
    found = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        title = spec.get("layout", {}).get("title", {})
        found[title.get("text", "") if isinstance(title, dict) else str(title)] = spec
    return found


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def recordings(tmp_path, monkeypatch):
    """A copy of the shipped recordings the test may change or damage."""
    folder = tmp_path / "recordings"
    shutil.copytree(recording.SHIPPED_DIR, folder)
    monkeypatch.setattr(recording, "SHIPPED_DIR", folder)
    return folder


def test_chapter_1_replay_shows_the_recorded_network_on_the_live_charts():
    recorded = shipped("ch1-training.json")
    at = click_replay(open_page("ch1_learning"), "ch1l")
    banner = replay_banner(at)
    assert "AMD" in banner or "cores" in banner  # where it was recorded (core.hardware.describe)
    epochs = recorded["settings"]["epochs"]
    assert any(f"Finished after {epochs:,} epochs: {recorded['result']['right_of_100']}/100 right" in str(s.value)
               for s in at.success)
    assert metrics(at)["Right on 1..100"] == f"{recorded['result']['right_of_100']}%"
    history = [spec for spec in (json.loads(e.proto.spec) for e in at.get("plotly_chart"))
               if spec["layout"].get("xaxis", {}).get("title", {}).get("text") == "epoch"]
    recorded_epochs = [e["data"]["epoch"] for e in recorded["events"] if e["type"] == "epoch"]
    assert history and history[0]["data"][0]["x"] == recorded_epochs


def test_training_after_a_chapter_1_replay_shows_the_live_run_again():
    at = click_replay(open_page("ch1_learning"), "ch1l")
    at.button(key="ch1l_train").click().run()
    assert not [box for box in at.info if LABEL in str(box.value)]
    assert at.session_state["ch1l_job"].join(timeout=60)


def test_chapter_3_replay_ends_with_the_recorded_scores_and_says_there_is_no_model():
    recorded = shipped("ch3-finetune.json")["result"]
    at = click_replay(open_page("ch3_finetune"), "ch3")
    replay_banner(at)
    shown = metrics(at)
    assert shown["Evaluation accuracy"] == percent(recorded["eval_accuracy"])
    assert shown["Training accuracy"] == percent(recorded["train_accuracy"])
    titles = charts(at)
    assert "Training vs evaluation accuracy" in titles and "Each step: loss and batch accuracy" in titles
    matrix = titles["Confusion matrix (evaluation sentences)"]["data"][0]["z"]
    predictions = recorded["eval_predictions"]
    assert sum(map(sum, matrix)) == len(predictions["texts"])
    assert sum(matrix[i][i] for i in range(len(matrix))) == \
        sum(t == p for t, p in zip(predictions["y_true"], predictions["y_pred"]))
    assert any("it has no model" in str(box.value) for box in at.info)
    assert "finetuned" not in at.session_state  # a replay never poses as the session's model


def test_chapter_3_replay_at_recorded_speed_shows_its_first_step_at_once_and_stops():
    at = click_replay(open_page("ch3_finetune"), "ch3", speed="1×")
    assert "Played at its recorded speed" in replay_banner(at)
    assert any(str(p.proto.text).startswith("Step ") for p in at.get("progress"))  # not "Loading…"
    assert "Each step: loss and batch accuracy" in charts(at)
    at.button(key="ch3_stop").click().run()
    assert at.session_state["ch3_replay_run"].snapshot().status == "stopped"
    at.button(key="ch3_replay_close").click().run()
    assert not [box for box in at.info if LABEL in str(box.value)]


def test_a_chapter_4_replay_draws_the_recordings_numbers(recordings):
    # Change the recording so its numbers can't be mistaken for the precomputed ones.
    path = recordings / recording.lesson_file("label_noise")
    document = json.loads(path.read_text())
    for point in document["result"]["data"]["points"]:
        point["eval_accuracy"] = 0.5
    path.write_text(json.dumps(document))
    at = click_replay(open_page("ch4_noise"), "ch4_label_noise")
    replay_banner(at)
    assert any(str(c.value).startswith(f"**{LABEL}**") for c in at.caption)
    curve = charts(at)["Accuracy as more training labels are wrong"]["data"][0]
    assert curve["y"] == [50.0] * len(document["result"]["data"]["points"])


@pytest.mark.parametrize("damage", ["truncate", "foreign"])
def test_a_damaged_shipped_recording_gives_a_sentence_and_start_still_works(recordings, damage):
    path = recordings / recording.SHIPPED_FILES[recording.FINETUNE]
    text = path.read_text()
    path.write_text(text[: len(text) // 3] if damage == "truncate"
                    else json.dumps(lessons.new_results().to_json()))
    at = click_replay(open_page("ch3_finetune"), "ch3")
    errors = [str(e.value) for e in at.error]
    expected = "damaged or cut short" if damage == "truncate" else "not a recording of this app"
    assert any(expected in e and "press the Start button" in e for e in errors), errors
    assert not at.button(key="ch3_start").disabled
    assert "ch3_replay_run" not in at.session_state


@pytest.mark.parametrize("page, key", [
    ("ch4_diverse", "diverse_data"), ("ch4_noise", "label_noise"), ("ch4_batch", "batch_size"),
    ("ch4_fitting", "fitting"), ("ch4_models", "models"), ("ch4_weights", "weights"), ("ch4_hardware", "hardware")])
def test_every_lesson_replays_its_own_recording(page, key):
    recorded = shipped(recording.lesson_file(key))["result"]
    at = click_replay(open_page(page), f"ch4_{key}")
    replay_banner(at)
    source = [str(c.value) for c in at.caption if str(c.value).startswith(f"**{LABEL}**")]
    assert len(source) == 1 and f"in {duration(recorded['seconds'])}" in source[0]  # the recorded run's time
    assert at.get("plotly_chart"), "the lesson's charts are drawn from the replayed result"
