"""Using the model: how well it does on labelled sentences it never trained on,
and its probabilities for any sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

from core.finetune.batches import Encoded, encode, pad_batch, texts_and_labels
from core.finetune.config import EvalPredictions, FinetuneError
from core.finetune.frozen import logits_of, sentence_vectors_of


@dataclass(frozen=True)
class Evaluation:
    """What the model said about every sentence of an encoded set, and how well that went."""

    loss: float | None          # mean cross-entropy; None for sentences without labels
    accuracy: float | None      # 0..1; None for sentences without labels
    predicted: list[int]        # label index per sentence
    confidence: list[float]     # probability of the predicted label, per sentence

    def predictions(self, data: Encoded, labels: Sequence[str]) -> EvalPredictions:
        """Per sentence, by label name: for the confusion matrix and the list of mistakes."""
        return EvalPredictions(texts=data.texts, y_true=[labels[i] for i in data.targets],
                               y_pred=[labels[i] for i in self.predicted], confidence=self.confidence)


class Scores(NamedTuple):
    """`evaluate`'s answer; it also unpacks as (loss, accuracy, predicted)."""

    loss: float
    accuracy: float
    predicted: list[str]        # label name per sentence


def evaluate_encoded(model, data: Encoded, device: str | None = None, batch_size: int = 64) -> Evaluation:
    """The model's verdict on every sentence, in eval mode (no dropout, no gradients).
    Sorted by length so each batch pads little."""
    import torch
    import torch.nn.functional as F

    device = device or str(next(model.parameters()).device)
    was_training = model.training
    model.eval()
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    predicted, confidence = [0] * len(data), [0.0] * len(data)
    loss_sum = 0.0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start: start + batch_size]
            logits = logits_of(model, data.batch(rows, device)).float()
            if data.targets:
                targets = data.targets_of(rows, logits.device)
                loss_sum += float(F.cross_entropy(logits, targets, reduction="sum"))
            best_prob, best_index = logits.softmax(-1).max(-1)
            for row, p, c in zip(rows, best_index.tolist(), best_prob.tolist()):
                predicted[row], confidence[row] = p, c
    model.train(was_training)
    if not data.targets:
        return Evaluation(None, None, predicted, confidence)
    right = sum(p == t for p, t in zip(predicted, data.targets))
    return Evaluation(loss_sum / len(data), right / len(data), predicted, confidence)


def sentence_vectors(model, data: Encoded, device: str | None = None, batch_size: int = 64):
    """(sentences, hidden) tensor: what the new dense layer reads for each sentence, in eval mode."""
    import torch

    device = device or str(next(model.parameters()).device)
    was_training = model.training
    model.eval()
    vectors = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            rows = list(range(start, min(start + batch_size, len(data))))
            vectors.append(sentence_vectors_of(model, data.batch(rows, device)))
    model.train(was_training)
    return torch.cat(vectors)


def evaluate(model, tokenizer, data, labels: Sequence[str], max_length: int = 64,
             batch_size: int = 64) -> Scores:
    """Loss, accuracy and predicted label names of a model on labelled data: the
    talk's Axon evaluator run on a different CSV."""
    texts, y = texts_and_labels(data)
    unknown = sorted(set(y) - set(labels))
    if unknown:
        raise FinetuneError(f"The data has labels this model doesn't know: {', '.join(unknown)}.")
    evaluation = evaluate_encoded(model, encode(tokenizer, texts, y, labels, max_length), batch_size=batch_size)
    return Scores(evaluation.loss, evaluation.accuracy, [labels[i] for i in evaluation.predicted])


def predict_proba(model, tokenizer, texts: Sequence[str], labels: Sequence[str],
                  max_length: int = 64) -> list[dict[str, float]]:
    """One {label: probability} per sentence, probabilities summing to 1 (softmax):
    predict_proba(..., ["the price is outrageous"], labels)[0]["price"] -> e.g. 0.94."""
    import torch

    texts = [str(t) for t in texts]
    if not texts:
        return []
    device = str(next(model.parameters()).device)
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    was_training = model.training
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(ids), 64):
            batch, mask = pad_batch(ids[start: start + 64], tokenizer.pad_token_id or 0)
            logits = model(input_ids=batch.to(device), attention_mask=mask.to(device)).logits.float()
            for row in logits.softmax(-1).tolist():
                out.append({name: p for name, p in zip(labels, row)})
    model.train(was_training)
    return out
