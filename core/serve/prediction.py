"""The one function every engine serves: a list of sentences in, one Prediction
per sentence out, in the same order, in ONE model call (the batch).

    classifier = Classifier.from_folder("/tmp/serve-model")   # python -m core.finetune --output
    classifier.predict_batch(["the price is outrageous", "my card was declined"])
    # -> [Prediction(label="price", confidences={"price": 0.93, ...}), ...]

A batch is padded only to its longest sentence (dynamic padding): this app's
sentences are 10-15 tokens, so padding everyone to 64 would multiply the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

MAX_TOKENS = 64          # longer sentences are cut: the fine-tune trained on at most 64
MAX_TEXT_CHARS = 1000    # a sentence about a cancelled order is far shorter
MAX_TEXTS_PER_REQUEST = 64


class BadText(ValueError):
    """One sentence that can't be predicted; str(error) is one sentence for the caller."""


@dataclass(frozen=True)
class Prediction:
    label: str                      # the most likely label
    confidences: dict[str, float]   # every label's softmax probability; they sum to 1

    def to_json(self) -> dict:
        return {"label": self.label, "confidences": dict(self.confidences)}


def check_text(text, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text if it can be predicted, else BadText naming what is wrong. Run per
    sentence BEFORE batching, so one bad sentence never reaches a shared batch."""
    if not isinstance(text, str):
        raise BadText(f"Each text must be a string, not {type(text).__name__}.")
    if not text.strip():
        raise BadText("A text is empty; send at least one word.")
    if len(text) > max_chars:
        raise BadText(f"A text has {len(text):,} characters; the limit is {max_chars:,}.")
    return text


def check_texts(texts, max_texts: int = MAX_TEXTS_PER_REQUEST, max_chars: int = MAX_TEXT_CHARS) -> list[str]:
    """A request's list of texts, checked as a whole and one by one; BadText names the first problem."""
    if not isinstance(texts, list):
        raise BadText('"texts" must be a list of strings, e.g. {"texts": ["too expensive"]}.')
    if not texts:
        raise BadText('"texts" is empty; send at least one sentence.')
    if len(texts) > max_texts:
        raise BadText(f"{len(texts)} texts in one request; the limit is {max_texts}.")
    for index, text in enumerate(texts):
        try:
            check_text(text, max_chars)
        except BadText as error:
            raise BadText(f"texts[{index}]: {error}") from None
    return list(texts)


def predict_batch(model, tokenizer, labels: Sequence[str], texts: Sequence[str],
                  max_length: int = MAX_TOKENS) -> list[Prediction]:
    """One forward pass over all `texts` (padded to the longest), one Prediction each."""
    import torch

    if not texts:
        return []
    device = next(model.parameters()).device
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding="longest",
                        return_tensors="pt")
    with torch.no_grad():   # serving never trains: no graph, less memory, faster
        logits = model(input_ids=encoded["input_ids"].to(device),
                       attention_mask=encoded["attention_mask"].to(device)).logits.float()
    out = []
    for row in logits.softmax(-1).tolist():
        confidences = {name: p for name, p in zip(labels, row)}
        out.append(Prediction(label=max(confidences, key=confidences.get), confidences=confidences))
    return out


class Classifier:
    """A fine-tuned sequence classifier ready to serve: (model, tokenizer, labels)
    plus the limits, with `predict_batch(texts)` as the batcher's function."""

    def __init__(self, model, tokenizer, labels: Sequence[str], max_length: int = MAX_TOKENS,
                 name: str = "model"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.max_length = max_length
        self.name = name

    @classmethod
    def from_trained(cls, trained, max_length: int = MAX_TOKENS) -> "Classifier":
        """From anything with .model, .tokenizer and .labels (core.trained.TrainedModel,
        a FinetuneResult). Shares the model: serving only reads it."""
        return cls(trained.model, trained.tokenizer, trained.labels, max_length,
                   name=getattr(trained, "name", "model"))

    @classmethod
    def from_folder(cls, folder, max_length: int = MAX_TOKENS) -> "Classifier":
        """From a folder written by `python -m core.finetune --output DIR`."""
        from core import model_io

        quiet_transformers()
        model, tokenizer, labels = model_io.load_model_folder(folder)
        return cls(model, tokenizer, labels, max_length, name=Path(folder).name)

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        return predict_batch(self.model, self.tokenizer, self.labels, texts, self.max_length)

    def describe(self) -> dict:
        return {"model": self.name, "labels": list(self.labels), "max_tokens": self.max_length}


def quiet_transformers() -> None:
    """No load reports ("some weights were not used...") or progress bars on the server console."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
