"""Chapter 4's experiments on a tiny random BERT and tiny data: each returns the
numbers its chart needs, stops cleanly midway, refuses data too small for its
split, and its results survive a round trip through a results file (while files
from another version or damaged ones are refused with a clear sentence)."""

import json

import pytest

from core import lessons, models
from core.datasets import LabelledTexts, Paraphrases

PRICE = ["the price is too expensive", "too expensive", "the cost is outrageous", "not cheap",
         "way too expensive", "price too high", "cost too much money", "expensive"]
CREDIT = ["my card was declined", "card declined", "the bank declined my card", "payment failed",
          "credit card declined", "my payment was declined", "bank card failed", "declined"]
TRAIN = LabelledTexts(PRICE + CREDIT, ["price"] * 8 + ["credit"] * 8)
EVAL = LabelledTexts(["it is too expensive", "the cost is too high", "card payment declined", "my bank declined it"],
                     ["price", "price", "credit", "credit"])
PARAPHRASES = Paraphrases(
    [t + " sadly" for t in PRICE[:4]] + [t + " again" for t in CREDIT[:4]],
    ["price"] * 4 + ["credit"] * 4, PRICE[:4] + CREDIT[:4])


def quick(settings_class, model, **changes):
    """Settings that run in about a second on the tiny model."""
    values = dict(model_id=model, per_label=2, epochs=1, batch_size=4, learning_rate=1e-3, max_length=16, seeds=1)
    values.update(changes)
    return settings_class(**values)


def stop_after(calls: int):
    """A should_stop that says stop at its `calls`-th question (one per training step)."""
    state = {"n": 0}

    def should_stop():
        state["n"] += 1
        return state["n"] > calls

    return should_stop


# ---------------------------------------------------------------- data selection


def test_first_per_label_takes_the_first_rows_of_every_label():
    subset = lessons.first_per_label(TRAIN, 3)
    assert subset.texts == tuple(PRICE[:3] + CREDIT[:3])
    later = lessons.first_per_label(TRAIN, 2, skip=3)
    assert later.texts == tuple(PRICE[3:5] + CREDIT[3:5])


def test_a_dataset_too_small_for_the_split_says_how_many_fit():
    with pytest.raises(lessons.LessonError, match=r"too small for this split.*at most 8 sentences per label"):
        lessons.first_per_label(TRAIN, 9)


def test_paraphrases_double_the_chosen_sentences_only():
    doubled = lessons.with_paraphrases(lessons.first_per_label(TRAIN, 4), PARAPHRASES)
    assert len(doubled) == 16
    assert "too expensive sadly" in doubled.texts
    with pytest.raises(lessons.LessonError, match="paraphrase"):
        lessons.with_paraphrases(lessons.first_per_label(TRAIN, 5), PARAPHRASES)


def test_similar_pairs_worked_example():
    assert lessons.similar_pairs([[1, 0], [0.99, 0.14], [0, 1]], 0.9) == [(0, 1, pytest.approx(0.9902, abs=1e-4))]
    assert lessons.similar_pairs([[1, 0]], 0.5) == []


def test_near_duplicate_finder_lists_the_repeated_sentence(tiny_bert_dir):
    texts = ["the price is too expensive", "my card was declined", "the price is too expensive"]
    pairs = lessons.find_near_duplicates(texts, 0.999, model_id=tiny_bert_dir)
    assert [(p.first, p.second) for p in pairs] == [(0, 2)]
    assert pairs[0].similarity == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(lessons.LessonError, match="threshold"):
        lessons.find_near_duplicates(texts, 1.5, model_id=tiny_bert_dir)


def test_best_and_early_stopping_epochs():
    history = [{"epoch": e, "eval_accuracy": a} for e, a in enumerate([0.5, 0.7, 0.6, 0.65, 0.8], start=1)]
    assert lessons.best_epoch(history) == 5
    assert lessons.early_stopping_epoch(history, patience=2) == 4
    assert lessons.best_epoch(history[:4]) == 2
    assert lessons.early_stopping_epoch(history[:2], patience=2) is None


# ---------------------------------------------------------------- seeds, spreads, verdicts


def test_spread_is_mean_sample_sd_and_range():
    stats = lessons.base.spread([0.9, 0.8, 1.0])
    assert stats["mean"] == pytest.approx(0.9) and stats["sd"] == pytest.approx(0.1)
    assert (stats["min"], stats["max"], stats["n"]) == (0.8, 1.0, 3)
    assert lessons.base.spread([0.7])["sd"] == 0.0
    assert lessons.base.spread([])["mean"] is None


def test_seed_list_counts_up_from_the_first_seed():
    assert lessons.DiverseSettings().seed_list() == [0, 1, 2, 3, 4]
    assert lessons.NoiseSettings(seed=7, seeds=3).seed_list() == [7, 8, 9]
    assert "Seeds must be" in lessons.NoiseSettings(seeds=0).problems()[0]


def test_combined_keeps_every_seed_and_reports_mean_and_sd():
    arm = lessons.base.combined([{"name": "a", "seed": 0, "eval_accuracy": 0.8, "train_accuracy": 1.0, "seconds": 2},
                                 {"name": "a", "seed": 1, "eval_accuracy": 0.9, "train_accuracy": 1.0, "seconds": 4}])
    assert arm["eval_accuracy"] == pytest.approx(0.85) and arm["eval_accuracy_runs"] == [0.8, 0.9]
    assert arm["eval_accuracy_sd"] == pytest.approx(0.0707, abs=1e-4) and arm["train_accuracy_sd"] == 0
    assert arm["seeds"] == [0, 1] and arm["seconds"] == 3


@pytest.mark.parametrize("first, second, verdict", [
    ([0.90, 0.92, 0.91], [0.80, 0.83, 0.80], "higher"),     # every seed +0.08 to +0.11
    ([0.80, 0.83, 0.80], [0.90, 0.92, 0.91], "lower"),
    ([0.90, 0.80, 0.86], [0.85, 0.86, 0.84], "unclear"),    # +0.05, -0.06, +0.02: the seed decides
    ([0.9], [0.8], "unclear"),                               # one seed can't say
])
def test_difference_is_clear_only_when_the_seeds_agree(first, second, verdict):
    assert lessons.base.difference(first, second)["verdict"] == verdict


def test_the_three_sets_of_a_seed_are_drawn_fairly():
    sets = lessons.diverse.draw_sets(TRAIN, PARAPHRASES, 3, seed=1)
    assert sets == lessons.diverse.draw_sets(TRAIN, PARAPHRASES, 3, seed=1)
    n, padded, diverse = sets["N diverse"], sets["N + N paraphrases"], sets["2N diverse"]
    assert len(padded) == len(diverse) == 2 * len(n) == 12
    assert set(n.texts) <= set(diverse.texts) and set(n.texts) <= set(padded.texts)
    assert all(t in PRICE[:4] + CREDIT[:4] for t in n.texts)   # only sentences that have a rephrasing
    assert len(set(diverse.texts)) == 12                           # N others, none repeated
    other_seeds = {lessons.diverse.draw_sets(TRAIN, PARAPHRASES, 3, seed=s)["N diverse"].texts for s in range(6)}
    assert len(other_seeds) > 1
    with pytest.raises(lessons.LessonError, match="at most 4 sentences per label"):
        lessons.diverse.draw_sets(TRAIN, PARAPHRASES, 5, seed=0)


def _diverse_data(n_runs, two_n_runs, para_runs):
    arms = [{"name": name, "rows": rows, "train_accuracy": 1.0, "eval_accuracy": sum(r) / len(r),
             "eval_accuracy_runs": r} for name, rows, r in
            [("N diverse", 80, n_runs), ("N + N paraphrases", 160, para_runs), ("2N diverse", 160, two_n_runs)]]
    return {"arms": arms, "comparisons": lessons.diverse.comparisons(arms), "eval_rows": 224}


def test_lesson_one_says_what_its_numbers_show_either_way():
    from ui import ch4_charts

    shows = ch4_charts.diverse_conclusion(_diverse_data([0.80] * 5, [0.90, 0.91, 0.92, 0.90, 0.91],
                                                        [0.78, 0.79, 0.77, 0.78, 0.78]))
    assert "new sentences beat rephrased ones" in shows and "higher in 5 of 5 seeds" in shows
    assert "*lowered* accuracy by +2.0 points" in shows and "as in the talk" in shows
    reverse = ch4_charts.diverse_conclusion(_diverse_data([0.80] * 5, [0.81, 0.80, 0.82, 0.81, 0.80],
                                                          [0.90, 0.91, 0.92, 0.90, 0.91]))
    assert "the rephrased set scored higher" in reverse and "does not show the talk's lesson" in reverse
    assert "*raised* accuracy" in reverse
    close = ch4_charts.diverse_conclusion(_diverse_data([0.80] * 5, [0.82, 0.79, 0.81, 0.78, 0.80],
                                                        [0.83, 0.78, 0.82, 0.77, 0.80]))
    assert "too close to call" in close and "made no clear difference" in close


def test_batch_text_says_which_batch_was_faster_from_its_numbers():
    from ui import ch4_charts

    def point(size, seconds, accuracy):
        return {"batch_size": size, "updates_per_epoch": 160 // size, "seconds_per_epoch": seconds,
                "eval_accuracy": accuracy, "eval_accuracy_runs": [accuracy] * 3, "train_accuracy": 1.0}

    small_slow = ch4_charts.batch_conclusion({"points": [point(8, 2.0, 0.9), point(64, 1.0, 0.9)]})
    assert "2.0× longer for the small batch" in small_slow
    small_fast = ch4_charts.batch_conclusion({"points": [point(8, 0.5, 0.9), point(64, 1.0, 0.9)]})
    assert "the *small* batch was 2.0× faster per epoch" in small_fast
    # Several seeds whose timings overlap: the words say it is within the spread, not a winner.
    noisy = [point(8, 1.5, 0.9), point(64, 1.8, 0.9)]
    noisy[0]["seconds_per_epoch_runs"], noisy[1]["seconds_per_epoch_runs"] = [1.7, 0.8, 2.1], [1.2, 1.0, 2.6]
    assert "about the same per epoch" in ch4_charts.batch_conclusion({"points": noisy})


# ---------------------------------------------------------------- the experiments


def test_diverse_data_trains_three_sets_per_seed_and_counts_duplicates(tiny_bert_dir):
    settings = quick(lessons.DiverseSettings, tiny_bert_dir, per_label=3, duplicate_threshold=0.999, seeds=2)
    progress = []
    result = lessons.diverse_data(settings, on_progress=progress.append, train=TRAIN, eval=EVAL,
                                  paraphrases=PARAPHRASES)
    arms = result["data"]["arms"]
    assert [(a["name"], a["rows"]) for a in arms] == [("N diverse", 6), ("N + N paraphrases", 12), ("2N diverse", 12)]
    assert all(0 <= a["eval_accuracy"] <= 1 and 0 <= a["train_accuracy"] <= 1 for a in arms)
    assert all(len(a["eval_accuracy_runs"]) == 2 and a["seeds"] == [0, 1] for a in arms)
    assert result["data"]["comparisons"]["equal_size"]["n"] == 2
    assert set(result["data"]["near_duplicate_pairs"]) == {"N diverse", "N + N paraphrases", "2N diverse"}
    assert result["stopped"] is False and result["message"] is None
    assert progress and progress[-1].fraction <= 1.0 and "Run" in progress[0].message
    assert result["settings"]["per_label"] == 3 and result["machine"]["cpu_count"] >= 1


def test_label_noise_flips_exactly_the_share_asked(tiny_bert_dir):
    settings = quick(lessons.NoiseSettings, tiny_bert_dir, per_label=4, noise_levels=[0.0, 0.5])
    points = lessons.label_noise(settings, train=TRAIN, eval=EVAL)["data"]["points"]
    assert [(p["noise"], p["flipped"], p["rows"]) for p in points] == [(0.0, 0, 8), (0.5, 4, 8)]
    with pytest.raises(lessons.LessonError, match="fractions"):
        lessons.label_noise(quick(lessons.NoiseSettings, tiny_bert_dir, noise_levels=[1.5]), train=TRAIN, eval=EVAL)


def test_batch_size_reports_updates_and_time_per_epoch(tiny_bert_dir):
    settings = quick(lessons.BatchSettings, tiny_bert_dir, per_label=8, batch_sizes=[4, 16])
    points = lessons.batch_size(settings, train=TRAIN, eval=EVAL)["data"]["points"]
    assert [(p["batch_size"], p["updates_per_epoch"]) for p in points] == [(4, 4), (16, 1)]
    assert all(p["seconds_per_epoch"] > 0 for p in points)


def test_a_tiny_training_set_is_memorised(tiny_bert_dir):
    settings = quick(lessons.FittingSettings, tiny_bert_dir, tiny_per_label=2, tiny_epochs=25,
                     learning_rate=3e-3, per_label=4, epochs=2, underfit_epochs=1)
    curves = {c["name"]: c for c in lessons.fitting(settings, train=TRAIN, eval=EVAL)["data"]["curves"]}
    assert set(curves) == {"Memorises", "Underfits", "Normal"}
    memorised = curves["Memorises"]
    assert memorised["rows"] == 4 and len(memorised["history"]) == 25
    assert memorised["final_train_accuracy"] == 1.0
    assert memorised["best_epoch"] in {h["epoch"] for h in memorised["history"]}
    assert len(curves["Underfits"]["history"]) == 1


def test_models_compares_freezing_and_quotes_the_talk_separately(tiny_bert_dir):
    result = lessons.models_compared(quick(lessons.ModelSettings, tiny_bert_dir), train=TRAIN, eval=EVAL)
    measured = result["data"]["measured"]
    assert [m["freeze"] for m in measured] == ["none", "embeddings", "encoder"]
    trainable = [m["trainable_parameters"] for m in measured]
    assert trainable[0] > trainable[1] > trainable[2] == 32 * 2 + 2  # encoder frozen: only the 32x2 head
    # Nothing from the hub is cached in tests (offline): said, not silently dropped.
    assert "roberta-base" in result["data"]["not_cached"]
    assert [t["name"] for t in result["data"]["talk"]] == ["BERT", "GPT-2", "RoBERTa"]
    assert [t["eval_accuracy"] for t in result["data"]["talk"]] == [0.90, 0.77, 0.93]


def test_weights_measures_alpha_before_and_after_fine_tuning(tiny_bert_dir):
    result = lessons.weights(quick(lessons.WeightSettings, tiny_bert_dir), train=TRAIN, eval=EVAL)
    layers = result["data"]["layers"]
    assert {"L0 query", "L1 ffn-out"} <= {layer["label"] for layer in layers}
    assert all(layer["pretrained_alpha"] > 1 and layer["finetuned_alpha"] > 1 for layer in layers)
    spectrum = result["data"]["spectra"]["finetuned"]["L0 query"]
    assert len(spectrum["centres"]) == len(spectrum["density"]) and 16 <= spectrum["n"] <= 32
    assert result["data"]["band"] == [2.0, 6.0] and result["data"]["talk_band"] == [2.0, 3.0]


def test_hardware_measures_steps_per_second_and_estimates_a_run(tiny_bert_dir):
    settings = lessons.HardwareSettings(model_id=tiny_bert_dir, steps=2, run_sentences=400, run_epochs=5, seeds=2)
    result = lessons.hardware_speed(settings)
    devices = result["data"]["devices"]
    assert devices[0]["name"] == "CPU, 1 thread"
    for d in devices:
        assert d["steps_per_second"] > 0 and len(d["steps_per_second_runs"]) == 2
        assert d["steps_per_second"] == pytest.approx(sum(d["steps_per_second_runs"]) / 2)
        assert d["estimated_run_seconds"] == pytest.approx(125 / d["steps_per_second"], rel=0.01)
    # Chapter 3's default fine-tune, timed for real on the 400 shipped sentences:
    # the page shows this beside (not instead of) the every-layer estimate.
    chapter3 = result["data"]["chapter3"]
    assert chapter3["sentences"] == 400 and chapter3["epochs"] == 2 and chapter3["seconds"] > 0
    assert result["data"]["run"]["steps"] == 125
    assert result["data"]["talk"]["speedup"] == pytest.approx(9.6)


def test_stopping_midway_keeps_the_finished_runs(tiny_bert_dir):
    # 8 sentences in batches of 4: 2 steps per run. Stop during the second run.
    settings = quick(lessons.NoiseSettings, tiny_bert_dir, per_label=4, noise_levels=[0.0, 0.25, 0.5])
    result = lessons.label_noise(settings, should_stop=stop_after(3), train=TRAIN, eval=EVAL)
    assert result["stopped"] is True
    assert [p["noise"] for p in result["data"]["points"]] == [0.0]
    assert result["message"].startswith("Stopped after 1 of 3 runs")


def test_bad_settings_are_refused_before_training(tiny_bert_dir):
    with pytest.raises(lessons.LessonError, match="Epochs"):
        lessons.batch_size(quick(lessons.BatchSettings, tiny_bert_dir, epochs=0), train=TRAIN, eval=EVAL)
    with pytest.raises(lessons.LessonError, match="no setting colour"):
        lessons.settings_for("batch_size", colour="red")
    with pytest.raises(lessons.LessonError, match="No experiment called"):
        lessons.run_experiment("astrology")


# ---------------------------------------------------------------- results files


def fake_result(key="label_noise"):
    data = {"label_noise": {"points": [{"noise": 0.0, "eval_accuracy": 0.8}]},
            "hardware": {"devices": []}}[key]
    return {"experiment": key, "settings": {"epochs": 1}, "computed_at": "2026-11-23T14:00:00+00:00",
            "machine": {"cpu_count": 2}, "seconds": 1.5, "stopped": False, "message": None, "data": data}


def test_results_round_trip(tmp_path):
    path = lessons.save_results(lessons.new_results({"label_noise": fake_result()}, note="demo"), tmp_path / "r.json")
    loaded = lessons.load_results(path)
    assert loaded.results["label_noise"]["data"]["points"][0]["eval_accuracy"] == 0.8
    assert loaded.note == "demo" and loaded.machine["cpu_count"] >= 1
    # Uploads arrive as bytes.
    assert lessons.load_results(path.read_bytes()).results == loaded.results
    # Adding one experiment keeps the others.
    both = lessons.merged(loaded, {"hardware": fake_result("hardware")})
    assert set(both.results) == {"label_noise", "hardware"}


def test_a_file_from_another_version_is_refused_with_what_to_do(tmp_path):
    document = lessons.new_results({"label_noise": fake_result()}).to_json()
    document["version"] = lessons.RESULTS_VERSION + 1
    path = tmp_path / "future.json"
    path.write_text(json.dumps(document))
    with pytest.raises(lessons.ResultsFileError,
                       match=rf"format version {lessons.RESULTS_VERSION + 1}; this app reads version "
                             rf"{lessons.RESULTS_VERSION}.*Recompute"):
        lessons.load_results(path)


@pytest.mark.parametrize("content, message", [
    ('{"format": "fizzbuzz-to-bert/lessons", "version": VERSION, "results": {', "not valid JSON"),
    ("[1, 2, 3]", "not a lessons results file"),
    ('{"format": "fizzbuzz-to-bert/lessons", "version": VERSION}', "no 'results' section"),
    ('{"format": "fizzbuzz-to-bert/lessons", "version": VERSION, "results": {"label_noise": {"experiment": '
     '"label_noise", "settings": {}, "seconds": 1, "data": {}}}}', "no 'points' list"),
    ('{"format": "fizzbuzz-to-bert/lessons", "version": VERSION, "results": {"tarot": {}}}',
     "unknown experiment 'tarot'"),
    ('{"format": "fizzbuzz-to-bert/lessons", "version": 1, "results": {}}', "format version 1"),
])
def test_damaged_files_are_refused_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content.replace("VERSION", str(lessons.RESULTS_VERSION)))
    with pytest.raises(lessons.ResultsFileError, match=message):
        lessons.load_results(path)
    with pytest.raises(lessons.ResultsFileError, match="not a text file"):
        lessons.load_results(b"\xff\xfe\x00binary")


def test_the_shipped_precomputed_file_loads_and_has_every_experiment():
    loaded = lessons.load_precomputed()
    assert set(loaded.results) == set(lessons.EXPERIMENTS)
    for result in loaded.results.values():
        assert result["stopped"] is False
        assert result["settings"]["model_id"] == models.BUNDLED


def test_cli_runs_an_experiment_saves_it_and_refuses_to_overwrite_a_damaged_file(tiny_bert_dir, tmp_path, capsys):
    output = tmp_path / "cli.json"
    code = lessons.main(["run", "label_noise", "--output", str(output), "--set", f"model_id={tiny_bert_dir}",
                         "--set", "per_label=3", "--set", "epochs=1", "--set", "noise_levels=0,0.25", "--seeds", "2"])
    assert code == 0
    saved = lessons.load_results(output)
    points = saved.results["label_noise"]["data"]["points"]
    assert [p["noise"] for p in points] == [0.0, 0.25] and all(len(p["eval_accuracy_runs"]) == 2 for p in points)
    # The file says how busy the machine was while it ran, not just at the end.
    assert saved.machine["load_during"]["samples"] >= 1
    printed = capsys.readouterr().out
    assert "Run 1 of 4: 0% of labels flipped, seed 0" in printed and f"saved {output} in" in printed
    assert lessons.main(["show", str(output)]) == 0
    assert "label_noise" in capsys.readouterr().out
    damaged = tmp_path / "damaged.json"
    damaged.write_text("{ not json")
    assert lessons.main(["run", "hardware", "--output", str(damaged)]) == 2
    assert damaged.read_text() == "{ not json"
    assert "Refusing to overwrite" in capsys.readouterr().err


def test_load_watch_records_the_load_throughout_and_the_description_shows_its_range():
    from core import hardware

    with hardware.LoadWatch(every=0.01) as watch:
        import time
        time.sleep(0.05)
    summary = watch.summary()
    assert summary["samples"] >= 2 and summary["min"] <= summary["max"]
    shown = hardware.describe({"processor": "Some CPU", "cpu_count": 2, "load_average": 0.4,
                               "load_during": {"min": 0.3, "max": 6.2, "samples": 9}})
    assert "load 0.3-6.2 throughout" in shown and "busy: load up to 6.2 on 2 cores" in shown


def test_machine_description_warns_when_timings_come_from_a_busy_machine():
    from core import hardware

    idle = hardware.describe({"processor": "Some CPU", "cpu_count": 2, "torch": "2.13.0", "load_average": 0.5})
    busy = hardware.describe({"processor": "Some CPU", "cpu_count": 2, "torch": "2.13.0", "load_average": 9.5})
    assert idle == "Some CPU · 2 cores · torch 2.13.0 · no GPU"
    assert "busy: load up to 9.5 on 2 cores" in busy
    assert hardware.steps_in_run(400, 16, 5) == 125
    assert hardware.estimate_seconds(8.0, 400, 16, 5) == pytest.approx(15.625)
