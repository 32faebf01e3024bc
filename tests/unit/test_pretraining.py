"""core.pretraining: the same loop from pretrained and from random numbers (tiny BERT)."""

import pytest

from core import pretraining
from core.datasets import LabelledTexts
from core.finetune import FinetuneConfig, FinetuneError

TRAIN = LabelledTexts(["too expensive", "the price is outrageous", "card declined", "payment failed",
                       "way too expensive", "my card was declined"] * 2, ["price", "price", "credit", "credit",
                                                                         "price", "credit"] * 2)
EVAL = LabelledTexts(["expensive", "declined card"], ["price", "credit"])


def test_both_starts_train_with_the_same_settings(tiny_bert_dir):
    points = []
    result = pretraining.compare_starts(TRAIN, EVAL, epochs=2, seconds_each=30, model_id=tiny_bert_dir,
                                        on_epoch=points.append)
    assert set(result["arms"]) == {"pretrained", "random"}
    for arm in ("pretrained", "random"):
        curve = result["arms"][arm]["curve"]
        assert [p["epoch"] for p in curve] == [1, 2] and all(0 <= p["eval_accuracy"] <= 1 for p in curve)
    assert [p["arm"] for p in points] == ["pretrained", "pretrained", "random", "random"]
    # Same code, same number of numbers that learn: only their starting values differ.
    assert result["arms"]["pretrained"]["trainable_parameters"] == result["arms"]["random"]["trainable_parameters"]


def test_a_random_start_really_starts_from_other_numbers(tiny_bert_dir):
    from core.finetune import finetune

    common = dict(model_id=tiny_bert_dir, epochs=1, freeze="encoder", head_init="random", seed=0)
    frozen_pretrained = finetune(TRAIN, EVAL, FinetuneConfig(**common)).model
    frozen_random = finetune(TRAIN, EVAL, FinetuneConfig(**common, start="random")).model
    word = "bert.embeddings.word_embeddings.weight"
    assert not frozen_pretrained.state_dict()[word].equal(frozen_random.state_dict()[word])


def test_an_unknown_start_is_a_sentence():
    with pytest.raises(FinetuneError, match="Start must be one of"):
        from core.finetune import finetune

        finetune(TRAIN, EVAL, FinetuneConfig(start="zeros"))


def test_the_recorded_result_ships_and_reads(tmp_path):
    recorded = pretraining.load_recorded()
    assert recorded is not None and {"pretrained", "random"} <= set(recorded["arms"])
    assert "when" in recorded["measured"]
    (tmp_path / "bad.json").write_text("{not json")
    assert pretraining.load_recorded(tmp_path / "bad.json") is None
