"""Recordings of live runs (core/recording.py): the file format, its checks, and
replaying at the recorded pace or faster on a fake clock."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from core import finetune as ft
from core import fizzbuzz, fizzbuzz_training, jobs, lessons, recording, scratch

SHIPPED = [recording.SHIPPED_FILES[recording.CH1], recording.SHIPPED_FILES[recording.FINETUNE],
           *(recording.lesson_file(key) for key in lessons.EXPERIMENTS)]


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def step(number, total=4, epoch=1):
    return ft.StepReport(epoch=epoch, step=number, total_steps=total, loss=1.0 / 2**number, accuracy=0.25 * number,
                         learning_rate=1e-4, examples_per_second=50.0, tokens_per_second=600.0,
                         elapsed=float(number), eta=float(total - number))


def epoch_report(number):
    return ft.EpochReport(epoch=number, train_loss=0.5, train_accuracy=0.8 + 0.1 * number, eval_loss=0.4,
                          eval_accuracy=0.75 + 0.1 * number, elapsed=2.0 * number, seconds=2.0)


def small_finetune_recording(clock=None) -> recording.Recording:
    """A two-epoch fine-tune recorded on a fake clock: model loaded for 3 s, then a
    report every second; the result at 8 s."""
    clock = clock or FakeClock()
    recorder = recording.Recorder(recording.FINETUNE, {"why": "a test"}, clock=clock)
    clock.now += 3.0
    for number in range(1, 5):
        recorder.on_step(step(number, epoch=1 + (number > 2)))
        if number in (2, 4):
            recorder.on_epoch(epoch_report(number // 2))
        clock.now += 1.0
    clock.now += 1.0
    result = {"labels": ["price", "credit"], "config": {"epochs": 2, "batch_size": 16, "freeze": "embeddings"},
              "train_accuracy": 0.975, "eval_accuracy": 0.95, "eval_loss": 0.2, "seconds": 8.0,
              "examples_per_second": 60.0, "total_parameters": 100, "trainable_parameters": 10,
              "eval_predictions": {"texts": ["too dear", "card refused"], "y_true": ["price", "credit"],
                                   "y_pred": ["price", "price"], "confidence": [0.9, 0.6]}}
    return recorder.finish(result)


def test_round_trip_keeps_every_report_its_time_and_the_result(tmp_path):
    made = small_finetune_recording()
    path = recording.save(made, tmp_path / "run.json")
    loaded = recording.load_recording(path)
    assert [e["t"] for e in loaded.events] == [3.0, 4.0, 4.0, 5.0, 6.0, 6.0]
    assert loaded.ended == 8.0 and loaded.result["eval_accuracy"] == 0.95
    assert loaded.machine["cpu_count"] and "load_average" in loaded.machine
    final = recording.Replay(loaded, speed=math.inf).snapshot()
    assert final.status == jobs.DONE
    assert final.steps == [step(n, epoch=1 + (n > 2)) for n in range(1, 5)]
    assert final.epochs == [epoch_report(1), epoch_report(2)]
    assert final.result.eval_accuracy == 0.95 and final.result.model is None
    assert final.result.eval_predictions.mistakes() == [("card refused", "credit", "price", 0.6)]


def test_floats_are_kept_to_six_significant_digits_and_nan_becomes_null():
    assert recording.plain({"a": 0.123456789, "b": float("nan"), "c": np.array([1.0, 2.5])}) == \
        {"a": 0.123457, "b": None, "c": [1.0, 2.5]}


def test_replay_at_four_times_plays_the_recorded_pace_faster_and_skips_the_loading():
    clock = FakeClock()
    played = recording.Replay(small_finetune_recording(), speed=4, clock=clock)
    assert played.skipped == 3.0 and played.duration == 5.0
    first = played.snapshot()
    assert first.status == jobs.RUNNING and len(first.steps) == 1   # the first point at once
    clock.now += 0.25                                                 # 1 recorded second
    assert (len(played.snapshot().steps), len(played.snapshot().epochs)) == (2, 1)
    clock.now += 0.5                                                  # 3 recorded seconds
    assert (len(played.snapshot().steps), played.snapshot().status) == (4, jobs.RUNNING)
    clock.now += 0.5                                                  # 5: the end of the recording
    done = played.snapshot()
    assert done.status == jobs.DONE and done.finished and done.result.train_accuracy == 0.975
    assert done.running_seconds == pytest.approx(8.0)


def test_replay_at_recorded_speed_takes_the_recorded_time():
    clock = FakeClock()
    played = recording.Replay(small_finetune_recording(), speed=1, clock=clock)
    clock.now += 4.9
    assert not played.snapshot().finished
    clock.now += 0.1
    assert played.snapshot().finished


def test_stop_freezes_a_replay_where_it_is():
    clock = FakeClock()
    played = recording.Replay(small_finetune_recording(), speed=1, clock=clock)
    clock.now += 1.5
    played.stop()
    clock.now += 100
    snap = played.snapshot()
    assert snap.status == jobs.STOPPED and snap.stop_requested and len(snap.steps) == 2 and snap.result is None


def test_a_recording_from_another_version_is_refused_with_what_to_do(tmp_path):
    document = small_finetune_recording().to_json()
    document["version"] = 2
    path = tmp_path / "new.json"
    path.write_text(json.dumps(document))
    with pytest.raises(recording.RecordingError, match=r"version 2; this app reads version 1.*make-all"):
        recording.load_recording(path)


def valid_text() -> str:
    return json.dumps(small_finetune_recording().to_json())


def with_change(change) -> str:
    document = json.loads(valid_text())
    change(document)
    return json.dumps(document)


@pytest.mark.parametrize("content, message", [
    (lambda: valid_text()[: len(valid_text()) // 2], "damaged or cut short"),
    (lambda: b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
    (lambda: json.dumps({"format": lessons.RESULTS_FORMAT, "version": 1, "results": {}}), "not a recording"),
    (lambda: "[1, 2, 3]", "not a recording"),
    (lambda: with_change(lambda d: d.update(kind="karaoke")), "kind of run this app doesn't know"),
    (lambda: with_change(lambda d: d["events"][0]["data"].update(loss="low")), "'loss' is str"),
    (lambda: with_change(lambda d: d["events"][0]["data"].pop("total_steps")), "has no 'total_steps'"),
    (lambda: with_change(lambda d: d["events"][0].update(t=99)), "event 2 is not a report at a time after"),
    (lambda: with_change(lambda d: d.pop("result")), "settings, events or result are missing"),
    (lambda: with_change(lambda d: d["result"].update(labels=[])), "no labels"),
])
def test_damaged_and_foreign_files_are_refused_in_one_sentence(tmp_path, content, message):
    text = content()
    path = tmp_path / "bad.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(recording.RecordingError, match=message) as refused:
        recording.load_recording(path)
    assert "\n" not in str(refused.value) and "Traceback" not in str(refused.value)


def test_an_upload_too_big_or_missing_file_is_a_sentence(tmp_path):
    with pytest.raises(recording.RecordingError, match="at most 2 MB"):
        recording.load_recording(b" " * (recording.MAX_BYTES + 1))
    with pytest.raises(recording.RecordingError, match="does not exist"):
        recording.load_recording(tmp_path / "nowhere.json")


@pytest.mark.parametrize("file_name", SHIPPED)
def test_every_shipped_recording_loads_small_and_plays_to_its_result(file_name):
    path = recording.SHIPPED_DIR / file_name
    assert path.stat().st_size < 200_000, "recordings are KB, never model weights"
    loaded = recording.load_shipped(file_name)
    assert loaded.events and loaded.machine.get("load_average") is not None
    final = recording.Replay(loaded, speed=math.inf).snapshot()
    assert final.status == jobs.DONE and final.result is not None


def test_the_chapter_1_recording_replays_a_network_that_gets_100_of_100():
    final = recording.Replay(recording.load_shipped("ch1-training.json"), speed=math.inf).snapshot()
    state = fizzbuzz_training.live_state(final, final.result.config)
    assert state.status == fizzbuzz_training.DONE and state.epoch == state.config.epochs
    test_set = fizzbuzz.train_test_split(state.config.encoding)[1]
    assert scratch.accuracy(state.params, test_set) == 1.0


def test_the_chapter_1_cli_records_a_run_the_page_can_replay(tmp_path, capsys):
    path = tmp_path / "ch1.json"
    assert fizzbuzz_training.main(["--epochs", "60", "--record", str(path)]) == 0
    assert "recorded" in capsys.readouterr().out
    played = recording.Replay(recording.load_recording(path), speed=math.inf).snapshot()
    assert [c.epoch for c in played.epochs][-1] == 60 and played.result.config.epochs == 60


def test_the_finetune_cli_records_its_reports_and_scores(tiny_bert_dir, tmp_path):
    path = tmp_path / "ch3.json"
    assert ft.main(["--model", tiny_bert_dir, "--epochs", "1", "--batch-size", "64", "--record", str(path)]) == 0
    loaded = recording.load_recording(path)
    final = recording.Replay(loaded, speed=math.inf).snapshot()
    assert len(final.steps) == math.ceil(400 / 64) and [e.epoch for e in final.epochs] == [1]
    assert final.result.eval_accuracy == pytest.approx(loaded.result["eval_accuracy"])
    assert len(final.result.eval_predictions.texts) == 160
    assert path.stat().st_size < 100_000  # reports and predictions, not weights


def test_the_lessons_cli_records_each_experiment(tiny_bert_dir, tmp_path):
    code = lessons.main(["run", "label_noise", "--record-dir", str(tmp_path), "--set", f"model_id={tiny_bert_dir}",
                         "--set", "per_label=4", "--set", "epochs=1", "--set", "noise_levels=0,0.5",
                         "--seeds", "1"])
    assert code == 0
    loaded = recording.load_recording(tmp_path / "lesson-label_noise.json")
    final = recording.Replay(loaded, speed=math.inf).snapshot()
    assert loaded.experiment == "label_noise" and final.steps[-1].fraction == pytest.approx(1.0)
    assert [p["noise"] for p in final.result["data"]["points"]] == [0.0, 0.5]


def test_replaying_needs_no_torch(root):
    code = ("import sys, math; from core import recording; "
            "r = recording.Replay(recording.load_shipped('ch3-finetune.json'), speed=math.inf); "
            "r.snapshot(); recording.Replay(recording.load_shipped('lesson-diverse_data.json')).snapshot(); "
            "print(sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
