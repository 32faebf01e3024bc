"""Chapter 3: fine-tune a pretrained BERT to say why a customer cancelled an order.

The model is the talk's: the pretrained BERT reads the sentence, its summary of
the whole sentence (the hidden state of the [CLS] token, passed through BERT's
pretrained pooler, a dense layer with tanh) goes into ONE new dense layer with
one output per label, and softmax turns those outputs into probabilities. For
the 8 labels (the talk's `num_labels: 8`) on the bundled BERT that new layer is a 384 x 8 matrix plus
8 biases: 3,080 new numbers on top of 22.7 million pretrained ones.
`transformers.AutoModelForSequenceClassification` builds exactly that, through
`core.models.load_classifier`.

One idea per module:
    config      the settings, the reports sent while training, the errors, the result
    batches     data -> numbers: checks, tokenizing once, padded batches
    frozen      which layers keep their pretrained numbers, and running them only once
    pooling     [CLS] through the pooler, or the mean of the tokens; the centroid start of the new layer
    contrastive a short contrastive warm-up on pairs of training sentences (optional)
    auto        settings chosen from the data (what the CLI uses unless told otherwise)
    loop        the training loop itself (`finetune`), on one screen
    tracking    what the loop keeps count of: time, running scores, the best epoch
    evaluation  using the model: evaluation and probabilities
    cli         `python -m core.finetune`

Usage from a page (one worker thread):

    result = finetune(train, eval, FinetuneConfig(epochs=4),
                      on_step=job.add_step, on_epoch=job.add_epoch,
                      should_stop=job.stop_event.is_set)
    predict_proba(result.model, result.tokenizer, ["too expensive"], result.labels)
    # -> [{"price": 0.93, "credit": 0.01, ...}]

torch and transformers are imported inside functions, never at import time.
"""

from core.finetune.batches import (
    Batch, CheckedData, Encoded, check_data, encode, label_names, pad_batch, pad_hidden, shuffled_batches,
    texts_and_labels,
)
from core.finetune.auto import Choice, choose_settings
from core.finetune.cli import main
from core.finetune.config import (
    DEVICE_CHOICES, FREEZE_CHOICES, HEAD_INIT_CHOICES, POOLING_CHOICES, EpochReport, EvalPredictions, FinetuneConfig, FinetuneError, FinetuneResult,
    StepReport, TrainingDiverged,
)
from core.finetune.evaluation import Evaluation, Scores, evaluate, evaluate_encoded, predict_proba
from core.finetune.frozen import (
    can_run_frozen_bottom_once, describe_freeze, encoder_layers, freeze, frozen_bottom, frozen_layer_count,
    logits_of, rest_of_bert, run_frozen_bottom, top_layer_for_cls, train_mode,
)
from core.finetune.pooling import apply_pooling, pooling_of
from core.finetune.loop import finetune, make_optimizer, pick_device, train_step, warmup_then_linear_decay

__all__ = [
    "Batch", "CheckedData", "Encoded", "check_data", "encode", "label_names", "pad_batch", "pad_hidden",
    "shuffled_batches", "texts_and_labels",
    "Choice", "choose_settings", "main", "apply_pooling", "pooling_of",
    "DEVICE_CHOICES", "FREEZE_CHOICES", "HEAD_INIT_CHOICES", "POOLING_CHOICES", "EpochReport", "EvalPredictions", "FinetuneConfig", "FinetuneError",
    "FinetuneResult", "StepReport", "TrainingDiverged",
    "Evaluation", "Scores", "evaluate", "evaluate_encoded", "predict_proba",
    "can_run_frozen_bottom_once", "describe_freeze", "encoder_layers", "freeze", "frozen_bottom",
    "frozen_layer_count", "logits_of", "rest_of_bert", "run_frozen_bottom", "top_layer_for_cls", "train_mode",
    "finetune", "make_optimizer", "pick_device", "train_step", "warmup_then_linear_decay",
]
