"""The model registry: the bundled BERT loads offline; anything else that can't be
loaded becomes one readable sentence, never a traceback."""

import pytest

from core import models


def test_bundled_bert_loads_offline_with_the_talks_vocabulary():
    tokenizer = models.load_tokenizer(models.BUNDLED)
    assert tokenizer("The price is outrageous")["input_ids"] == [101, 1996, 3976, 2003, 25506, 102]
    assert tokenizer.vocab_size == 30522


def test_bundled_encoder_is_a_six_layer_bert_with_384_numbers_per_token():
    encoder = models.load_encoder(models.BUNDLED)
    assert encoder.config.model_type == "bert"
    assert (encoder.config.num_hidden_layers, encoder.config.hidden_size) == (6, 384)
    assert not encoder.training


@pytest.mark.parametrize("model_id", ["bert-base-uncased", "no-such-org/no-such-model"])
def test_hub_model_offline_is_a_clear_message(model_id):
    with pytest.raises(models.ModelUnavailable) as error:
        models.load_tokenizer(model_id)
    message = str(error.value)
    assert model_id in message and "bundled BERT stays in use" in message


def test_empty_model_name_is_refused():
    with pytest.raises(models.ModelUnavailable, match="No model name"):
        models.load_encoder("  ")


def test_a_local_folder_loads_through_the_same_path(tiny_bert_dir):
    classifier = models.load_classifier(tiny_bert_dir, ["price", "credit", "error"])
    assert classifier.config.id2label == {0: "price", 1: "credit", 2: "error"}
    assert models.is_cached(tiny_bert_dir)


def test_a_broken_folder_says_so(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(models.ModelUnavailable, match="could not be loaded"):
        models.load_encoder(str(tmp_path))


def test_only_the_bundled_model_counts_as_available_offline():
    assert models.is_cached(models.BUNDLED)
    assert not models.is_cached("no-such-org/no-such-model")
