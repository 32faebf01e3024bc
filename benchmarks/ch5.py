"""Chapter 5's speed figures, measured in one process.

    python benchmarks/ch5.py                 # one quick pass: prints the figures below
    python benchmarks/ch5.py --record-bert   # also fine-tune the demo BERT (~20 s) and write
                                             # core/data/compete/recorded_bert.json

Figures (targets from issue 12):
  - each page's first render (AppTest, in-process; <= 1.5 s), cold and after its background
    jobs, the fraud page's threshold move (<= 0.5 s) and the labelling retrain click;
  - the leaderboard without BERT (majority, rules, TF-IDF + LR, tree): cold, i.e. the
    first call in a fresh process with scikit-learn's import, and warm (<= 5 s);
  - the BERT-embedding arms: the first call (model load and BERT pass) and a later one
    (vectors cached), and each embedding arm's own fit seconds (<= 5 s);
  - fraud: generating 20,000 transactions, fitting all five models, and one threshold
    move (confusion, cost and the cheapest threshold, <= 0.5 s);
  - the labelling game: one retrain with ~100 labels (<= 1 s), and the simulated
    curves (least sure vs random) averaged over 5 seeds.
Prints the load average too: on a shared machine the neighbours set the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                    ("OMP_WAIT_POLICY", "PASSIVE")):
    os.environ.setdefault(name, value)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def leaderboard_figures() -> dict:
    from core import compete

    train, test, name = compete.prepare_data()
    classic = [a for a in compete.ARMS if a not in compete.EMBEDDING_ARMS]
    _, cold = timed(compete.run_competition, train, test, arms=classic, test_name=name)
    warm = [timed(compete.run_competition, train, test, arms=classic, test_name=name)[1] for _ in range(3)]
    board, first_bert = timed(compete.run_competition, train, test, arms=compete.EMBEDDING_ARMS, recorded=False)
    _, cached_bert = timed(compete.run_competition, train, test, arms=compete.EMBEDDING_ARMS, recorded=False)
    return {
        "leaderboard_without_bert_cold_s": round(cold, 3),
        "leaderboard_without_bert_warm_s": round(statistics.median(warm), 3),
        "embedding_arms_first_call_s (model load + BERT pass)": round(first_bert, 2),
        "embedding_arms_cached_s": round(cached_bert, 3),
        "embedding_arm_fit_s": {r.key: round(r.fit_seconds, 2) for r in board.rows},
    }


def fraud_figures() -> dict:
    from core import fraud

    tx, generate = timed(fraud.generate_transactions)
    run, fit_all = timed(fraud.fit_fraud_models, tx)
    scores = run.scores("gradient-boosted trees")
    moves = [timed(fraud.threshold_report, scores, run.y_test, t, 500.0, 10.0)[1] for t in (0.1, 0.3, 0.5, 0.7, 0.9)]
    return {"generate_20000_s": round(generate, 3), "fit_all_five_models_s": round(fit_all, 2),
            "per_model_fit_s": {k: round(m.fit_seconds, 3) for k, m in run.models.items()},
            "threshold_move_ms_max_of_5": round(1000 * max(moves), 2)}


def labelling_figures() -> dict:
    from core import labelling

    pool = labelling.load_pool()
    state = labelling.new_game(pool, "margin", seed=0)
    while len(state.labelled) < 98:
        state = labelling.submit_labels(pool, state, {i: pool.true_labels[i] for i in state.picked})
    curves, simulate = timed(labelling.compare_strategies, pool, ("margin", "least confident", "random"), range(5))
    return {"retrain_with_98_labels_s": round(state.retrain_seconds, 3),
            "simulated_curves_3_strategies_5_seeds_s": round(simulate, 2),
            "curves": {k: {"labels": list(c.labels_used), "accuracy": [round(a, 3) for a in c.accuracy]}
                       for k, c in curves.items()}}


def page_figures() -> dict:
    """Each chapter 5 page's first render in a fresh AppTest session (in-process, as
    benchmarks/ch2_embeddings.py measures chapter 2): the first visit on a new server
    (cold: imports, nothing computed yet, background jobs started but not waited for),
    then a first visit by a second visitor once those jobs have finished (warm); and on
    the fraud page, one threshold move (the whole script's rerun)."""
    from streamlit import cache_data
    from streamlit.testing.v1 import AppTest

    app = str(ROOT / "app.py")
    out = {}
    for page in ("ch5_rules", "ch5_compete", "ch5_fraud", "ch5_labels"):
        at = AppTest.from_file(app, default_timeout=600).run()
        _, cold = timed(lambda: at.switch_page(f"pages/{page}.py").run())
        for job in list(at.session_state["ch5_jobs"].values()) if "ch5_jobs" in at.session_state else []:
            job.join(600)
        at.run()                # files the finished jobs' results where every visitor finds them
        second = AppTest.from_file(app, default_timeout=600).run()
        cache_data.clear()      # a new visitor's per-input caches; the shared job results stay
        _, warm = timed(lambda: second.switch_page(f"pages/{page}.py").run())
        out[page] = {"first_render_cold_s": round(cold, 2), "first_render_after_jobs_s": round(warm, 2),
                     "exception": bool(second.exception)}
        if page == "ch5_fraud":
            moves = []
            for value in (0.3, 0.6, 0.2):
                moves.append(timed(lambda: second.slider(key="ch5_fraud_threshold").set_value(value).run())[1])
            out[page]["threshold_move_rerun_s_max_of_3"] = round(max(moves), 3)
        if page == "ch5_labels":
            second.button(key="ch5_game_fill").click().run()
            _, retrain = timed(lambda: second.button(key="ch5_game_retrain").click().run())
            out[page]["retrain_click_rerun_s"] = round(retrain, 3)
            out[page]["retrain_itself_s"] = round(second.session_state["ch5_game"].retrain_seconds, 3)
    return out


def record_bert() -> dict:
    """Fine-tune the demo BERT (chapter 3's defaults) and store its leaderboard row."""
    from core import compete
    from core.datasets import load_shipped
    from core.finetune import FinetuneConfig, finetune
    from core.trained import TrainedModel

    train, test = load_shipped("train"), load_shipped("eval")
    config = FinetuneConfig()
    result = finetune(train, test, config)
    arm = compete.finetuned_arm(TrainedModel.from_result(result, "demo, recorded"), test, train.label_names)
    row = arm.row() | {"key": "recorded", "name": "fine-tuned BERT (recorded demo run)", "recorded": True,
                       "note": "chapter 3's demo fine-tune, default settings"}
    entry = {
        "row": row,
        "test": "core/data/cancellations/eval.csv",
        "test_sha256": compete.data_fingerprint(test),
        "config": {"epochs": config.epochs, "learning_rate": config.learning_rate, "freeze": config.freeze,
                   "freeze_layers": config.freeze_layers, "batch_size": config.batch_size, "seed": config.seed,
                   "pooling": config.pooling, "head_init": config.head_init},
        "measured": {"date": date.today().isoformat(),
                     "machine": f"{os.cpu_count()}-core CPU, {platform.machine()}, no GPU used",
                     "load_average": [round(x, 2) for x in os.getloadavg()],
                     "command": "python benchmarks/ch5.py --record-bert"},
    }
    compete.RECORDED_PATH.parent.mkdir(parents=True, exist_ok=True)
    compete.RECORDED_PATH.write_text(json.dumps(entry, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record-bert", action="store_true")
    parser.add_argument("--only", choices=("leaderboard", "fraud", "labelling", "pages", "none"))
    args = parser.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    out = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    # The pages last: their figures in a fresh process are `--only pages` (the others warm them up).
    for name, figures in (("leaderboard", leaderboard_figures), ("fraud", fraud_figures),
                          ("labelling", labelling_figures), ("pages", page_figures)):
        if args.only in (None, name):
            out[name] = figures()
    if args.record_bert:
        out["recorded_bert"] = record_bert()
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
