"""FizzBuzz as a classification problem: labels, encodings, data sets.

The talk solves FizzBuzz with data instead of `if` statements. A number becomes
a vector of inputs (an *encoding*), its answer becomes one of four classes, and
a network learns the mapping. Two encodings are offered:

* ``"mod"``: the talk's ``[n mod 3, n mod 5]`` (3 -> [0, 3]). Trained and
  tested on 1..100 (the remainders repeat every 15 numbers, so this is about
  whether the network can *represent* FizzBuzz, not about generalising).
* ``"binary"``: the 10 binary digits of n, as in Joel Grus's "FizzBuzz in
  TensorFlow": trained on 101..1023 and tested on the unseen 1..100. That
  post's network scored 96/100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES = ("fizz", "buzz", "fizzbuzz", "none")
ENCODINGS = ("mod", "binary")
BINARY_DIGITS = 10
# The talk's range, and the classic blog post's split.
TEST_RANGE = (1, 100)
BINARY_TRAIN_RANGE = (101, 1023)


def fizzbuzz_label(n: int) -> str:
    """The answer the interview wants: fizzbuzz_label(15) = 'fizzbuzz', (9) = 'fizz', (7) = 'none'."""
    if n % 15 == 0:
        return "fizzbuzz"
    if n % 3 == 0:
        return "fizz"
    if n % 5 == 0:
        return "buzz"
    return "none"


def class_index(n: int) -> int:
    """Position of n's label in CLASSES: class_index(3) = 0 (fizz), class_index(15) = 2."""
    return CLASSES.index(fizzbuzz_label(n))


def one_hot(index: int, size: int = len(CLASSES)) -> np.ndarray:
    """The ideal output: 100% for the right class, 0% elsewhere. one_hot(0) = [1, 0, 0, 0]."""
    target = np.zeros(size)
    target[index] = 1.0
    return target


def mod_encoding(n: int) -> np.ndarray:
    """The talk's encoding: the remainders after dividing by 3 and by 5. mod_encoding(3) = [0, 3]."""
    return np.array([n % 3, n % 5], dtype=float)


def binary_encoding(n: int, digits: int = BINARY_DIGITS) -> np.ndarray:
    """The classic blog post's encoding, lowest bit first: binary_encoding(6)[:4] = [0, 1, 1, 0]."""
    if not 0 <= n < 2**digits:
        raise ValueError(f"{n} does not fit in {digits} binary digits (0..{2**digits - 1})")
    return np.array([(n >> d) & 1 for d in range(digits)], dtype=float)


def encode(n: int, encoding: str = "mod") -> np.ndarray:
    if encoding == "mod":
        return mod_encoding(n)
    if encoding == "binary":
        return binary_encoding(n)
    raise ValueError(f"unknown encoding {encoding!r}; choose one of {ENCODINGS}")


def input_size(encoding: str) -> int:
    return len(encode(1, encoding))


@dataclass(frozen=True)
class Dataset:
    """Numbers, their encoded inputs (one row each), class ids and one-hot targets."""

    numbers: np.ndarray  # (N,)
    inputs: np.ndarray  # (N, input_size)
    labels: np.ndarray  # (N,) class ids into CLASSES
    targets: np.ndarray  # (N, 4) one-hot

    def __len__(self) -> int:
        return len(self.numbers)


def make_dataset(first: int, last: int, encoding: str = "mod") -> Dataset:
    """Every number from first to last inclusive: make_dataset(1, 100) has 100 rows,
    27 fizz, 14 buzz, 6 fizzbuzz and 53 none."""
    if last < first:
        raise ValueError(f"empty range {first}..{last}")
    numbers = np.arange(first, last + 1)
    labels = np.array([class_index(int(n)) for n in numbers])
    return Dataset(
        numbers=numbers,
        inputs=np.stack([encode(int(n), encoding) for n in numbers]),
        labels=labels,
        targets=np.eye(len(CLASSES))[labels],
    )


def train_test_split(encoding: str = "mod") -> tuple[Dataset, Dataset]:
    """The data each encoding learns from and is scored on.

    mod: train and test are both 1..100 (the talk's setting).
    binary: train on 101..1023, test on 1..100, which the network never saw.
    """
    test = make_dataset(*TEST_RANGE, encoding)
    if encoding == "mod":
        return test, test
    if encoding == "binary":
        return make_dataset(*BINARY_TRAIN_RANGE, encoding), test
    raise ValueError(f"unknown encoding {encoding!r}; choose one of {ENCODINGS}")


def divisibility_truth_table(numbers=(1, 3, 5, 15)) -> list[dict]:
    """Why fizzbuzz is XOR-like: the row for 15 is 'divisible by 3' AND 'divisible by 5',
    yet neither fizz nor buzz. A single layer adds evidence up; it can't say 'both, so
    something else'."""
    return [
        {
            "n": n,
            "divisible by 3": int(n % 3 == 0),
            "divisible by 5": int(n % 5 == 0),
            "fizz": int(fizzbuzz_label(n) == "fizz"),
            "buzz": int(fizzbuzz_label(n) == "buzz"),
            "fizzbuzz": int(fizzbuzz_label(n) == "fizzbuzz"),
        }
        for n in numbers
    ]
