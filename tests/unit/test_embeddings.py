"""Words to vectors (core/embeddings.py): ids, vocab.txt lines, one-hot, similarity, hidden states."""

import numpy as np
import pytest

from core import embeddings as emb
from core import models


@pytest.fixture(scope="module")
def bert():
    """The bundled BERT, loaded offline through the registry like the app does."""
    return models.load_tokenizer(models.BUNDLED), models.load_encoder(models.BUNDLED)


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir):
    return models.load_tokenizer(tiny_bert_dir), models.load_encoder(tiny_bert_dir)


def test_the_talks_sentence_gives_the_talks_ids(bert):
    tokenized = emb.tokenize(bert[0], "The price is outrageous")
    assert tokenized.ids == [101, 1996, 3976, 2003, 25506, 102]
    assert tokenized.tokens == ["[CLS]", "the", "price", "is", "outrageous", "[SEP]"]
    assert tokenized.attention_mask == [1] * 6
    assert not tokenized.truncated and tokenized.notes == []


def test_every_id_is_a_line_number_of_vocab_txt(bert):
    tokenizer = bert[0]
    path = emb.vocab_file(tokenizer)
    assert path is not None and path.name == "vocab.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == emb.vocab_size(tokenizer) == 30522
    tokenized = emb.tokenize(tokenizer, "The price is outrageous, unbelievably so!")
    for token_id, token in zip(tokenized.ids, tokenized.tokens):
        line = emb.vocab_line_number(token_id)
        assert lines[line - 1] == token
        assert emb.vocab_lines(path, line, line) == [(line, token)]
    assert emb.vocab_line_number(25506) == 25507
    assert emb.vocab_lines(path, 25506, 25508)[1] == (25507, "outrageous")


def test_padding_adds_pad_tokens_the_model_ignores(bert):
    tokenized = emb.tokenize(bert[0], "The price is outrageous", pad_to=10)
    assert tokenized.ids == [101, 1996, 3976, 2003, 25506, 102, 0, 0, 0, 0]
    assert tokenized.tokens[-1] == "[PAD]"
    assert tokenized.attention_mask == [1] * 6 + [0] * 4
    assert tokenized.real_tokens == 6
    too_short = emb.tokenize(bert[0], "The price is outrageous", pad_to=4)
    assert too_short.ids == [101, 1996, 3976, 2003, 25506, 102]
    assert "does nothing" in too_short.notes[0]


def test_rare_words_split_into_pieces(bert):
    tokenized = emb.tokenize(bert[0], "unbelievably cheap")
    words = dict(emb.word_pieces(tokenized))
    assert words["cheap"] == ["cheap"]
    assert len(words["unbelievably"]) > 1
    assert all(piece.startswith("##") for piece in words["unbelievably"][1:])


def test_a_10000_character_text_is_truncated_with_a_note(bert):
    tokenized = emb.tokenize(bert[0], "outrageous price " * 600)
    assert len(tokenized.ids) == 512
    assert tokenized.tokens[0] == "[CLS]" and tokenized.tokens[-1] == "[SEP]"
    assert tokenized.truncated and tokenized.full_length > 1000
    assert "at most 512" in tokenized.notes[0]


def test_emoji_and_unknown_scripts_become_unk_with_a_note(bert):
    tokenized = emb.tokenize(bert[0], "I love cheese 🧀")
    assert "[UNK]" in tokenized.tokens
    assert emb.unknown_characters(bert[0], "I love cheese 🧀") == ["🧀"]
    assert any("[UNK]" in note for note in tokenized.notes)


def test_empty_text_is_refused_with_a_message(bert):
    with pytest.raises(ValueError, match="empty"):
        emb.tokenize(bert[0], "   ")


def test_one_hot_has_a_single_one_and_no_similarity():
    cat, dog, car = (emb.one_hot(i, 30522) for i in (4937, 3899, 2482))
    assert cat.shape == (30522,) and cat.sum() == 1 and cat[4937] == 1
    assert emb.dot(cat, dog) == emb.dot(cat, car) == 0
    assert emb.dot(cat, cat) == 1
    with pytest.raises(ValueError):
        emb.one_hot(30522, 30522)


def test_cosine_similarity_worked_numbers():
    assert emb.dot([1, 2], [3, 4]) == 11
    assert emb.cosine_similarity([1, 0], [1, 1]) == pytest.approx(0.7071, abs=1e-4)
    assert emb.cosine_similarity([1, 2], [2, 4]) == pytest.approx(1.0)
    assert emb.cosine_similarity([1, 0], [-1, 0]) == pytest.approx(-1.0)
    assert emb.cosine_similarity([1, 0], [0, 3]) == pytest.approx(0.0)
    assert emb.euclidean_distance([0, 0], [3, 4]) == 5
    with pytest.raises(ValueError, match="zero vector"):
        emb.cosine_similarity([0, 0], [1, 1])
    matrix = emb.cosine_matrix([[1, 0], [1, 1], [0, 0]])
    assert matrix[0, 1] == pytest.approx(0.7071, abs=1e-4)
    assert np.allclose(np.diag(matrix)[:2], 1) and matrix[2, 2] == 0


def test_pretrained_word_vectors_know_cat_is_closer_to_dog_than_car(bert):
    vectors = emb.static_word_vectors(*bert, ["cat", "dog", "car", "laughed", "laugh"])
    assert set(vectors) == {"cat", "dog", "car", "laughed", "laugh"}
    cat_dog = emb.cosine_similarity(vectors["cat"], vectors["dog"])
    cat_car = emb.cosine_similarity(vectors["cat"], vectors["car"])
    assert cat_dog > cat_car
    assert emb.cosine_similarity(vectors["laughed"], vectors["laugh"]) > 0.5


def test_hidden_states_shape_is_one_by_tokens_by_384(bert):
    states = emb.hidden_states(*bert, "The price is outrageous")
    assert states.shape == (1, 6, 384)
    assert states.tokens[0] == "[CLS]"
    similarity = emb.token_similarity(states)
    assert similarity.shape == (6, 6) and np.allclose(np.diag(similarity), 1, atol=1e-5)


def test_bank_gets_a_different_vector_in_each_context(bert):
    river = emb.word_in_context(*bert, "We walked along the bank of the river.", "bank")
    money = emb.word_in_context(*bert, "I opened an account at the bank.", "bank")
    assert river.shape == money.shape == (384,)
    assert emb.cosine_similarity(river, money) < 0.95
    with pytest.raises(ValueError, match="does not appear"):
        emb.word_in_context(*bert, "No such word here.", "bank")


def test_pooling_cls_is_first_token_mean_ignores_padding():
    vectors = np.array([[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]])
    assert emb.cls_pooling(vectors).tolist() == [1.0, 2.0]
    assert emb.mean_pooling(vectors, [1, 1, 0]).tolist() == [2.0, 3.0]


def test_sentence_embeddings_match_one_at_a_time_in_any_batching(tiny):
    texts = ["the price is outrageous", "delivery was too slow", "card declined", "no"]
    batched = emb.sentence_embeddings(*tiny, texts, batch_size=3)
    assert batched.shape == (4, 32)
    for i, text in enumerate(texts):
        alone = emb.hidden_states(*tiny, text)
        assert np.allclose(batched[i], emb.mean_pooling(alone.vectors), atol=1e-4)
        cls = emb.sentence_embeddings(*tiny, [text], pooling="cls")[0]
        assert np.allclose(cls, emb.cls_pooling(alone.vectors), atol=1e-4)
    assert emb.sentence_embeddings(*tiny, []).shape == (0, 32)


def test_nearest_neighbours_by_cosine_and_by_distance():
    corpus = np.array([[1.0, 0.0], [10.0, 1.0], [0.0, 1.0], [0.5, 0.5]])
    # Cosine looks at direction only: [10, 1] points almost exactly like [1, 0].
    by_cosine = emb.nearest_neighbours([1.0, 0.0], corpus, k=2, metric="cosine")
    assert [n.index for n in by_cosine] == [0, 1]
    assert [round(n.score, 3) for n in by_cosine] == [1.0, 0.995]
    # Euclidean distance counts length too: [10, 1] is 9 units away.
    by_distance = emb.nearest_neighbours([1.0, 0.0], corpus, k=2, metric="euclidean")
    assert [n.index for n in by_distance] == [0, 3]
    assert by_distance[1].score == pytest.approx(0.7071, abs=1e-4)
    with pytest.raises(ValueError):
        emb.nearest_neighbours([1.0, 0.0], corpus, metric="manhattan")


def test_neighbour_agreement_measures_how_well_labels_cluster():
    separate = np.array([[1, 0], [1, 0.1], [1, -0.1], [0, 1], [0.1, 1], [-0.1, 1]])
    labels = ["a", "a", "a", "b", "b", "b"]
    assert emb.neighbour_agreement(separate, labels, k=2) == 1.0
    assert emb.neighbour_agreement(separate, labels, k=2, metric="euclidean") == 1.0
    mixed = ["a", "b", "a", "b", "a", "b"]
    assert emb.neighbour_agreement(separate, mixed, k=2) < 0.5
