"""The fine-tuned model that every chapter shares.

Chapter 3 makes one (a live fine-tune, or a zip the visitor uploads); chapter 2's
map, chapter 5's competition and chapter 6's serving and weights pages use it.
It travels as this one explicit type, never as a training result with extra
attributes stuck on: what it is (model, tokenizer, labels), what it is called on
screen, and how it came to be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrainedModel:
    model: Any                 # a transformers sequence classifier, eval mode
    tokenizer: Any
    labels: tuple[str, ...]    # label names; index i is the model's output i
    name: str                  # what the page calls it, e.g. "Run 2 · lr 2e-4, 4 epochs"
    base_model: str            # the pretrained model it started from (a model id or "uploaded")
    how: dict = field(default_factory=dict)   # how it was trained: settings and scores, JSON-ready
    result: Any = None         # the FinetuneResult when it was trained in this process, else None

    @property
    def eval_accuracy(self) -> float | None:
        return self.how.get("eval_accuracy")

    @classmethod
    def from_result(cls, result, name: str) -> "TrainedModel":
        """A fine-tune's outcome as the shared model."""
        return cls(model=result.model, tokenizer=result.tokenizer, labels=tuple(result.labels),
                   name=name, base_model=result.config.model_id, how=result.summary(), result=result)

    @classmethod
    def loaded(cls, model, tokenizer, labels, name: str) -> "TrainedModel":
        """A model read back from a zip or folder: its training history is not known here."""
        return cls(model=model, tokenizer=tokenizer, labels=tuple(labels), name=name,
                   base_model="uploaded", how={})
