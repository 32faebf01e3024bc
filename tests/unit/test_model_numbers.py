"""core.model_numbers: a model as code plus numbers, on a tiny random BERT."""

import pytest

from core import model_numbers


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir):
    from transformers import AutoModel, AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    encoder = AutoModel.from_pretrained(tiny_bert_dir)
    classifier = BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=3)
    return encoder, classifier, AutoTokenizer.from_pretrained(tiny_bert_dir)


def test_layer_table_adds_up_to_the_parameter_count(tiny):
    _, classifier, _ = tiny
    rows = model_numbers.layer_table(classifier)
    assert model_numbers.total_numbers(rows) == sum(p.numel() for p in classifier.parameters())
    assert model_numbers.total_bytes(rows) == 4 * model_numbers.total_numbers(rows)     # float32
    query = next(r for r in rows if r.name == "bert.encoder.layer.0.attention.self.query.weight")
    assert query.shape == (32, 32) and query.numbers == 1024 and query.bytes == 4096


def test_an_untouched_copy_changed_nothing_but_its_new_head(tiny):
    encoder, classifier, _ = tiny
    changes = model_numbers.changes_from(classifier, encoder)
    summary = model_numbers.changed_summary(changes)
    head = sum(p.numel() for n, p in classifier.named_parameters() if n.startswith("classifier."))
    assert summary["moved"] == 0 and summary["added"] == head == 32 * 3 + 3
    blocks = {b.block: b for b in model_numbers.by_block(changes)}
    assert blocks["new head"].new and blocks["layer 0"].changed == 0


def test_moving_one_layer_shows_up_in_that_layer_only(tiny):
    import copy

    import torch

    encoder, classifier, _ = tiny
    moved = copy.deepcopy(classifier)
    with torch.no_grad():
        moved.bert.encoder.layer[1].output.dense.bias.add_(0.5)
    changes = model_numbers.changes_from(moved, encoder)
    assert model_numbers.changed_summary(changes)["moved"] == 32
    blocks = {b.block: b for b in model_numbers.by_block(changes)}
    assert blocks["layer 1"].changed == 32 and blocks["layer 0"].changed == 0
    assert blocks["layer 1"].mean_abs_change > 0


def test_same_code_random_numbers_is_the_same_class_with_other_numbers(tiny):
    _, classifier, tokenizer = tiny
    fresh = model_numbers.same_code_random_numbers(classifier, seed=1)
    assert type(fresh) is type(classifier) and fresh.config.to_dict() == classifier.config.to_dict()
    first = dict(classifier.named_parameters())
    assert any((p != first[n]).any() for n, p in fresh.named_parameters())
    side = model_numbers.predict_both(classifier, tokenizer, ["a", "b", "c"], ["too expensive", "card declined"])
    assert len(side.trained) == len(side.random) == 2
    assert all(label in "abc" and 0 <= p <= 1 for label, p in side.trained + side.random)


def test_blocks_are_named_for_bert_parts():
    assert model_numbers.block_of("bert.embeddings.word_embeddings.weight") == "embeddings"
    assert model_numbers.block_of("bert.encoder.layer.11.output.dense.bias") == "layer 11"
    assert model_numbers.block_of("bert.pooler.dense.weight") == "pooler"
    assert model_numbers.block_of("classifier.weight") == "new head"
