"""FizzBuzz as data: labels, the two encodings, and the data sets the network learns from."""

import numpy as np
import pytest

from core import fizzbuzz


@pytest.mark.parametrize("n, label", [(1, "none"), (3, "fizz"), (5, "buzz"), (9, "fizz"), (10, "buzz"),
                                      (15, "fizzbuzz"), (30, "fizzbuzz"), (98, "none")])
def test_labels_match_the_interview_answer(n, label):
    assert fizzbuzz.fizzbuzz_label(n) == label
    assert fizzbuzz.CLASSES[fizzbuzz.class_index(n)] == label


def test_mod_encoding_is_the_talks_vector():
    assert fizzbuzz.mod_encoding(3).tolist() == [0, 3]
    assert fizzbuzz.mod_encoding(15).tolist() == [0, 0]
    assert fizzbuzz.mod_encoding(7).tolist() == [1, 2]


def test_binary_encoding_reads_back_to_the_number():
    for n in (0, 1, 6, 100, 1023):
        bits = fizzbuzz.binary_encoding(n)
        assert len(bits) == 10
        assert int(sum(bit * 2**d for d, bit in enumerate(bits))) == n
    with pytest.raises(ValueError, match="does not fit"):
        fizzbuzz.binary_encoding(1024)


def test_dataset_1_to_100_has_the_known_class_counts():
    data = fizzbuzz.make_dataset(1, 100)
    counts = {name: int((data.labels == i).sum()) for i, name in enumerate(fizzbuzz.CLASSES)}
    assert counts == {"fizz": 27, "buzz": 14, "fizzbuzz": 6, "none": 53}
    assert data.inputs.shape == (100, 2)
    assert np.array_equal(data.targets.argmax(axis=1), data.labels)
    assert np.allclose(data.targets.sum(axis=1), 1)


def test_binary_split_trains_on_101_to_1023_and_tests_on_unseen_1_to_100():
    train, test = fizzbuzz.train_test_split("binary")
    assert (train.numbers.min(), train.numbers.max(), len(train)) == (101, 1023, 923)
    assert (test.numbers.min(), test.numbers.max()) == (1, 100)
    assert not set(train.numbers) & set(test.numbers)
    assert train.inputs.shape[1] == test.inputs.shape[1] == 10


def test_mod_split_trains_and_tests_on_1_to_100():
    train, test = fizzbuzz.train_test_split("mod")
    assert np.array_equal(train.numbers, np.arange(1, 101))
    assert np.array_equal(test.numbers, train.numbers)


def test_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="unknown encoding"):
        fizzbuzz.train_test_split("roman")


def test_truth_table_shows_15_as_both_divisible_and_neither_fizz_nor_buzz():
    rows = {row["n"]: row for row in fizzbuzz.divisibility_truth_table()}
    assert rows[15]["divisible by 3"] == rows[15]["divisible by 5"] == 1
    assert rows[15]["fizz"] == rows[15]["buzz"] == 0 and rows[15]["fizzbuzz"] == 1
    assert rows[3]["fizz"] == 1 and rows[5]["buzz"] == 1 and rows[1]["fizz"] == rows[1]["buzz"] == 0
