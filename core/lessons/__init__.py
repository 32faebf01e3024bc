"""Chapter 4: the talk's hard-won lessons, each one an experiment you can run.

Told as bullet points the lessons are forgettable; measured, they convince.
Every experiment fine-tunes the bundled BERT a few times with chapter 3's
`finetune` and returns plain numbers (a JSON-ready dict) for a chart, one
module each:

    1 diverse_data  diverse.py       N diverse rows vs N + N rephrased copies vs 2N diverse rows
    2 label_noise   noise.py         flip 0-50% of the training labels, watch accuracy fall
    3 batch_size    batches.py       the same data and epochs with batch 8, 16, 32, 64
    4 fitting       overfitting.py   memorise a tiny set, underfit with a frozen encoder, and
                                     where early stopping would stop a normal run
    5 models        other_models.py  change one string: full fine-tune vs frozen parts vs any
                                     cached hub model, beside the talk's BERT 90 / GPT-2 77 /
                                     RoBERTa 93
    6 weights       weight_alpha.py  WeightWatcher's alpha per layer, before and after fine-tuning
    7 hardware      speed.py         training steps per second on every device present

What they share is in base.py (settings, progress, the bookkeeping of several
fine-tunes) and data.py (which sentences); registry.py names them
(EXPERIMENTS, run_experiment); results.py is the versioned results file
(save_results, load_results, the shipped PRECOMPUTED one); cli.py is the
command line:

    python -m core.lessons run --all --output core/data/lessons/precomputed.json
    python -m core.lessons run label_noise batch_size --output my.json --set epochs=3
    python -m core.lessons show core/data/lessons/precomputed.json

torch and transformers are imported inside functions, never at import time.
"""

from core.lessons.base import LessonError, Progress, Settings
from core.lessons.batches import BatchSettings, batch_size
from core.lessons.cli import main
from core.lessons.data import first_per_label, shipped, shipped_paraphrases
from core.lessons.diverse import (DiverseSettings, DuplicatePair, diverse_data, find_near_duplicates,
                                  similar_pairs, with_paraphrases)
from core.lessons.noise import NoiseSettings, count_flipped, label_noise
from core.lessons.other_models import TALK_MODEL_ACCURACY, ModelSettings, models_compared
from core.lessons.overfitting import FittingSettings, best_epoch, early_stopping_epoch, fitting
from core.lessons.registry import EXPERIMENTS, Experiment, run_experiment, settings_for, summary_line
from core.lessons.results import (MAX_RESULTS_MB, PRECOMPUTED, RESULTS_FORMAT, RESULTS_VERSION, ResultsFile, ResultsFileError,
                                  load_precomputed, load_results, merged, new_results, save_results)
from core.lessons.speed import HardwareSettings, hardware_speed
from core.lessons.weight_alpha import WeightSettings, weights

__all__ = [
    "LessonError", "Progress", "Settings",
    "DiverseSettings", "NoiseSettings", "BatchSettings", "FittingSettings", "ModelSettings", "WeightSettings",
    "HardwareSettings",
    "diverse_data", "label_noise", "batch_size", "fitting", "models_compared", "weights", "hardware_speed",
    "shipped", "shipped_paraphrases", "first_per_label", "with_paraphrases", "count_flipped",
    "DuplicatePair", "similar_pairs", "find_near_duplicates", "best_epoch", "early_stopping_epoch",
    "TALK_MODEL_ACCURACY",
    "Experiment", "EXPERIMENTS", "settings_for", "run_experiment", "summary_line",
    "MAX_RESULTS_MB", "RESULTS_FORMAT", "RESULTS_VERSION", "PRECOMPUTED", "ResultsFileError", "ResultsFile", "new_results",
    "save_results", "load_results", "merged", "load_precomputed",
    "main",
]
