"""The data layer: labelled sentences in, clear sentences out when the data is bad.

The talk's fine-tune starts from a CSV of cancellation reasons ("the price was
outrageous" -> price) and its most expensive lesson was about data, so this
module both reads files and says what is in them. Everything the fine-tune
(chapter 3) and the lessons (chapter 4) need:

    LABELS                      8 reasons, named and ordered as in the talk's repository
    DatasetError                bad data; str(error) is one sentence for the page / CLI
    LabelledTexts(texts, labels)
        len(data)               number of sentences
        data.label_names        the labels present, in LABELS order (or sorted: numbers
                                numerically, names alphabetically) - the model's outputs
        data.class_counts()     {'unknown': 50, ...} in label_names order
        data.subset([0, 5, 9])  the same kind of object with just those rows
    Paraphrases(texts, labels, sources)  a LabelledTexts that also names the original
                                         train sentence each row rephrases

    load_shipped("train" | "eval" | "challenge") -> LabelledTexts   400 / 160 / 64 rows
    load_paraphrases()          -> Paraphrases (200 rows: the first 25 train rows per label, reworded)
    read_csv(source, *, text_column=None, label_column=None, max_rows=20000, max_bytes=10 MiB,
             min_labels=2, min_rows_per_label=2) -> LabelledTexts
                                source: a path, bytes, or a file-like object (st.file_uploader's file).
                                Columns are detected from the header, or named (or 0-based positions);
                                the talk's headerless `label,text` form works too. For an evaluation
                                file that may hold one label or one row of a label, pass
                                min_labels=1, min_rows_per_label=1.
    inspect_csv(source, ..., near_duplicates=True) -> CsvReport: .data plus what the page shows:
                                describe_columns(), class_counts, rows_read, empty_text_rows /
                                empty_label_rows (dropped), exact_duplicates, conflicting_duplicates
                                (same sentence, different labels), near_duplicates (row, row,
                                similarity; checked up to 3,000 rows), warnings() -> list of sentences.
                                Row numbers are spreadsheet rows (header = row 1).
    stratified_split(data, eval_fraction=0.2, seed=0) -> (train, eval)
    align_labels(train, eval)   -> (train, eval), or DatasetError naming eval labels train lacks
    flip_labels(data, fraction, seed=0) -> LabelledTexts with exactly round(fraction * n) wrong labels
    first_per_label(data, limit, skip=0) -> at most `limit` rows of every label, in file order
    shared_texts(a, b)          -> sentences in both (a leak from training into evaluation)
    near_duplicate_pairs(texts) -> [(i, j, similarity)] by characters, no model needed
    is_near_duplicate(a, b), text_similarity(a, b), normalise_text(text)   the measure behind it

Labels are always names (strings): "price", or "7" in the talk's numbered CSV.
Files are matched by label *name*, never by position. Nothing here imports
torch, transformers or scikit-learn; numpy and scipy are imported only by the
near-duplicate finder.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import random
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

# The eight names and their order come from the talk's repository, toranb/elixirconf2023
# (priv/data/training.csv numbers them 1 unknown ... 7 price, 8 credit). The talk itself names
# only a few: "price availability, price and response time" for the label ids 7, 6, 7, 2.
LABELS = ["unknown", "unresponsive", "error", "not needed", "found elsewhere", "lead time", "price", "credit"]

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "cancellations"
SHIPPED_SPLITS = ("train", "eval", "challenge")

MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024  # 10 MiB: ~100,000 short sentences, far more than a CPU fine-tune wants

# Header names we recognise, best first (compared lower-case, spaces and dashes as '_').
TEXT_COLUMNS = ("text", "sentence", "utterance", "query", "message", "reason", "comment", "comments",
                "review", "content", "body", "description", "feedback", "question", "input", "phrase",
                "note", "notes", "document", "example", "sentence1")
LABEL_COLUMNS = ("label", "category", "intent", "class", "target", "reason_code", "labels", "label_name",
                 "class_name", "tag", "topic", "sentiment", "y", "cat", "output")

# Near duplicates by characters (no model): "Too expensive." vs "To expensive, sorry." has a
# character-trigram Jaccard of 0.55 (difflib ratio 0.77); "My card was declined." vs "My card
# got declined." 0.60 (0.85). Two different reasons ("Too expensive." vs "Shipping takes too
# long.") score 0.09 (0.28).
NEAR_JACCARD = 0.5
NEAR_RATIO = 0.8      # difflib's ratio, asked only of pairs whose trigrams overlap at least JACCARD_FLOOR
JACCARD_FLOOR = 0.3
NEAR_DUPLICATE_ROW_LIMIT = 3_000  # above this inspect_csv skips the near-duplicate check
# The near-duplicate check compares the first NEAR_COMPARE_CHARS characters of each
# normalised sentence (difflib is O(len^2) per pair: 100 rows of 14 KB took 198 s),
# and only each sentence's NEAR_NEIGHBOURS most overlapping others: at most k * n
# difflib calls, whatever the file holds. MAX_NEAR_PAIRS bounds what is reported.
NEAR_COMPARE_CHARS = 200
NEAR_NEIGHBOURS = 5
MAX_NEAR_PAIRS = 1_000
# difflib's cost grows as len(a) * len(b): 3,000 realistic sentences spend ~60M of these
# character pairs (~1 s); 3,000 near-identical 200-character rows would spend 540M
# (~13 s). Past this budget a pair's similarity is its trigram Jaccard alone, and
# pairs only difflib could have confirmed (Jaccard 0.3-0.5) are left out.
NEAR_DIFFLIB_BUDGET = 80_000_000
# A classifier with thousands of labels can't be fine-tuned here, and every view
# built from labels (the confusion matrix: labels x labels) grows with them.
# 100 leaves room for BANKING77's 77 intents (a 77 x 77 matrix is 6,000 cells).
MAX_LABELS = 100


class DatasetError(ValueError):
    """Data we can't train on. str(error) is one sentence a person can act on."""

    def __init__(self, message: str):
        # messages name the file; an upload without a name is "the file", which may start the sentence
        super().__init__(message[:1].upper() + message[1:] if message.startswith("the file") else message)


# ---------------------------------------------------------------- the data object


def _label_order(labels: Iterable[str]) -> tuple[str, ...]:
    """The talk's repository's order when every label is one of its 8; numbers numerically
    ('2' before '10'); anything else alphabetically. Deterministic for any file."""
    present = set(labels)
    if present <= set(LABELS):
        return tuple(name for name in LABELS if name in present)
    if all(re.fullmatch(r"-?\d+", name) for name in present):
        return tuple(sorted(present, key=int))
    return tuple(sorted(present))


@dataclass(frozen=True)
class LabelledTexts:
    """Sentences and their label names, row by row. Immutable (safe to cache and
    share between sessions); lists are accepted and stored as tuples.

    >>> data = LabelledTexts(["Too expensive", "Card declined", "Way too pricey"], ["price", "credit", "price"])
    >>> len(data), data.label_names, data.class_counts()
    (3, ('credit', 'price'), {'credit': 1, 'price': 2})
    """

    texts: tuple[str, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        texts = tuple(str(t) for t in self.texts)
        labels = tuple(str(y) for y in self.labels)
        if len(texts) != len(labels):
            raise DatasetError(f"{len(texts)} sentences but {len(labels)} labels: every sentence needs exactly one label.")
        object.__setattr__(self, "texts", texts)
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_names(self) -> tuple[str, ...]:
        """The distinct labels, in the order a model's outputs should use."""
        return _label_order(self.labels)

    def class_counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {name: counts[name] for name in self.label_names}

    def subset(self, indices: Iterable[int]) -> "LabelledTexts":
        rows = list(indices)
        return LabelledTexts(tuple(self.texts[i] for i in rows), tuple(self.labels[i] for i in rows))

    def with_labels(self, labels: Sequence[str]) -> "LabelledTexts":
        """The same sentences with other labels (used by flip_labels)."""
        return LabelledTexts(self.texts, tuple(labels))


@dataclass(frozen=True)
class Paraphrases(LabelledTexts):
    """Reworded copies of training sentences; sources[i] is the original of texts[i]."""

    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        sources = tuple(str(s) for s in self.sources)
        if len(sources) != len(self.texts):
            raise DatasetError(f"{len(self.texts)} paraphrases but {len(sources)} sources: each needs its original.")
        object.__setattr__(self, "sources", sources)

    def subset(self, indices: Iterable[int]) -> "Paraphrases":
        rows = list(indices)
        return Paraphrases(tuple(self.texts[i] for i in rows), tuple(self.labels[i] for i in rows),
                           tuple(self.sources[i] for i in rows))


# ---------------------------------------------------------------- the shipped files


@lru_cache(maxsize=None)
def load_shipped(split: str = "train") -> LabelledTexts:
    """The app's cancellation reasons: 'train' 400 rows (50 per label), 'eval' 160
    (20 per label), 'challenge' 64 (8 per label, never used for tuning)."""
    if split not in SHIPPED_SPLITS:
        raise DatasetError(f"There is no shipped '{split}' file; choose one of {', '.join(SHIPPED_SPLITS)}.")
    return read_csv(SHIPPED_DIR / f"{split}.csv", text_column="text", label_column="label")


@lru_cache(maxsize=None)
def load_paraphrases() -> Paraphrases:
    """200 near-paraphrases (the first 25 train rows of every label, reworded),
    for the lesson 'diverse data beats more of the same' - never for normal training."""
    path = SHIPPED_DIR / "paraphrases.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return Paraphrases(tuple(r["text"] for r in rows), tuple(r["label"] for r in rows),
                       tuple(r["source"] for r in rows))


# ---------------------------------------------------------------- reading any CSV


@dataclass(frozen=True)
class CsvReport:
    """What a CSV held, for the page to show before anything trains.

    Row numbers are as a spreadsheet shows them: the header (if any) is row 1."""

    data: LabelledTexts
    columns: tuple[str, ...]            # the header as written, or ('label', 'text') for the headerless form
    text_column: str                    # the column the sentences came from
    label_column: str
    has_header: bool
    rows_read: int                      # data rows in the file (blank lines not counted)
    empty_text_rows: tuple[int, ...]    # rows dropped because their text was empty
    empty_label_rows: tuple[int, ...]   # rows dropped because their label was empty
    row_numbers: tuple[int, ...]        # file row of each kept sentence
    exact_duplicates: tuple[tuple[int, ...], ...] = ()  # groups of file rows with the same text
    conflicting_duplicates: tuple[tuple[int, ...], ...] = ()  # ... of those, groups with different labels
    near_duplicates: tuple[tuple[int, int, float], ...] = ()  # (row, row, similarity), most similar first
    near_duplicates_checked: bool = False

    @property
    def class_counts(self) -> dict[str, int]:
        return self.data.class_counts()

    def describe_columns(self) -> str:
        """'Sentences from column "utterance", labels from column "intent".'"""
        if not self.has_header:
            return "No header: read as the talk's form, label first, then the sentence."
        return f'Sentences from column "{self.text_column}", labels from column "{self.label_column}".'

    def warnings(self) -> list[str]:
        """One sentence per thing worth a second look (empty list: nothing found)."""
        notes = []
        if self.empty_text_rows:
            notes.append(f"{_count(len(self.empty_text_rows), 'row')} with an empty sentence dropped "
                         f"(rows {_rows(self.empty_text_rows)}).")
        if self.empty_label_rows:
            notes.append(f"{_count(len(self.empty_label_rows), 'row')} without a label dropped "
                         f"(rows {_rows(self.empty_label_rows)}).")
        if self.conflicting_duplicates:
            notes.append(f"{_count(len(self.conflicting_duplicates), 'sentence')} appear with different labels "
                         f"(rows {_rows(self.conflicting_duplicates[0])}{' and more' if len(self.conflicting_duplicates) > 1 else ''}): "
                         "the model can't get both right.")
        extra = sum(len(group) - 1 for group in self.exact_duplicates)
        if extra:
            notes.append(f"{_count(extra, 'row')} repeat an earlier sentence: repeats teach the model nothing new.")
        if self.near_duplicates:
            notes.append(f"{_count(len(self.near_duplicates), 'pair')} of near-identical sentences "
                         "(small rewordings, like the talk's 'too expensive' / 'to expensive').")
        return notes


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _rows(rows: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _read_bytes(source, max_bytes: int) -> tuple[bytes, str]:
    """(raw bytes, a name for messages) from a path, bytes, or a file-like object
    (an open file or Streamlit's UploadedFile). Refuses files over max_bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw, name = bytes(source), "the file"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name
        if not path.is_file():
            raise DatasetError(f"There is no file at {path}.")
        size = path.stat().st_size
        if size > max_bytes:
            raise DatasetError(f"{name} is {_size(size)}; the limit is {_size(max_bytes)}.")
        raw = path.read_bytes()
    elif hasattr(source, "read"):
        name = getattr(source, "name", None) or "the file"
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        raw = source.read(max_bytes + 1)
        if isinstance(raw, str):  # a text-mode file: it was already decoded
            raw = raw.encode("utf-8")
    else:
        raise DatasetError(f"Can't read a CSV from a {type(source).__name__}; give a path, bytes or a file.")
    if len(raw) > max_bytes:
        raise DatasetError(f"{name} is larger than {_size(max_bytes)}, the limit for one file.")
    return raw, name


def _size(n: int) -> str:
    """10485760 -> '10.0 MB', 2048 -> '2 KB', 100 -> '100 bytes'."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(b"PK\x03\x04"):
        raise DatasetError(f"{name} looks like an Excel workbook or a zip, not a CSV; save it as 'CSV UTF-8' and try again.")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DatasetError(f"{name} is UTF-16 text; it must be UTF-8 (save it as 'CSV UTF-8').")
    if b"\x00" in raw[:4096]:
        raise DatasetError(f"{name} contains binary data; it must be a UTF-8 text CSV.")
    try:
        return raw.decode("utf-8-sig")  # -sig: Excel's 'CSV UTF-8' starts with a byte-order mark
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{name} is not UTF-8 text (byte 0x{raw[error.start]:02x} at position {error.start} can't be read); "
            "it must be UTF-8: save it as 'CSV UTF-8' and try again."
        ) from None


def _delimiter(text: str) -> str:
    """Comma, unless the first line has none and clearly uses ';', tab or '|' instead
    (Excel in many European locales writes ';')."""
    first = text.split("\n", 1)[0]
    if "," in first:
        return ","
    for candidate in (";", "\t", "|"):
        if candidate in first:
            return candidate
    return ","


def _key(name: str) -> str:
    return re.sub(r"[\s\-\.]+", "_", name.strip().lower())


def _find_column(header: Sequence[str], wanted, known: Sequence[str], what: str, avoid: int | None = None) -> int | None:
    """Index of the column to use: the one named `wanted` (a name, case-insensitive,
    or a 0-based position), else the best known name, else a column whose name
    contains a known word ('cancel_reason' -> reason). None when nothing fits."""
    keys = [_key(h) for h in header]
    if wanted is not None:
        if isinstance(wanted, int):
            if 0 <= wanted < len(header):
                return wanted
            raise DatasetError(f"There is no column {wanted} for the {what}: the file has {len(header)} columns.")
        if _key(str(wanted)) in keys:
            return keys.index(_key(str(wanted)))
        raise DatasetError(f'There is no column "{wanted}" for the {what}; the columns are {_quote_all(header)}.')
    for name in known:
        for i, key in enumerate(keys):
            if key == name and i != avoid:
                return i
    for name in known:
        for i, key in enumerate(keys):
            if i != avoid and len(name) > 2 and f"_{name}_" in f"_{key}_":
                return i
    return None


def _quote_all(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names) if names else "(none)"


def _parse_rows(text: str, name: str) -> list[tuple[int, list[str]]]:
    """(row number, cells) for every non-blank CSV record; row numbers count records."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    rows = []
    try:
        for number, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):
                rows.append((number, cells))
    except csv.Error as error:
        raise DatasetError(f"{name} is not a well-formed CSV near row {reader.line_num}: {error}.") from None
    return rows


def _looks_like_header(cells: Sequence[str], text_column, label_column) -> bool:
    keys = {_key(c) for c in cells}
    named = {_key(str(c)) for c in (text_column, label_column) if isinstance(c, str)}
    return bool(keys & (set(TEXT_COLUMNS) | set(LABEL_COLUMNS) | named))


def inspect_csv(source, *, text_column: str | int | None = None, label_column: str | int | None = None,
                max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES, min_labels: int = 2,
                min_rows_per_label: int = 2, near_duplicates: bool = True,
                max_labels: int = MAX_LABELS) -> CsvReport:
    """Read labelled sentences from a CSV and say what was in it.

    Accepts a header with a text column (text / sentence / utterance / query /
    message / reason / comment ...) and a label column (label / category / intent /
    class / target / reason_code ...), found case-insensitively or named
    explicitly; or the talk's headerless form `label,text` (e.g. `7,the price was
    outrageous`). Rows with an empty sentence or label are dropped and counted.
    A headerless text column may hold unquoted commas ("price,too slow, and pricey").

    Raises DatasetError for a file that isn't UTF-8, is empty, isn't well-formed
    CSV, has no recognisable columns, too many rows or bytes, no sentences, fewer
    than `min_labels` labels, or a label with fewer than `min_rows_per_label` rows
    (pass 1 and 1 for an evaluation file that may test a single label).
    """
    raw, name = _read_bytes(source, max_bytes)
    if not raw.strip():
        raise DatasetError(f"{name} is empty.")
    rows = _parse_rows(_decode(raw, name), name)
    if not rows:
        raise DatasetError(f"{name} is empty.")

    first_number, first = rows[0]
    if len(first) < 2:
        raise DatasetError(f"{name} has only one column ({_quote_all(first[:1])}); it needs a sentence column and a label column.")
    has_header = _looks_like_header(first, text_column, label_column)
    if has_header:
        header = [c.strip() for c in first]
        body = rows[1:]
        label_at = _find_column(header, label_column, LABEL_COLUMNS, "labels")
        text_at = _find_column(header, text_column, TEXT_COLUMNS, "sentences", avoid=label_at)
        if text_at is not None and label_at == text_at:
            raise DatasetError(f'The sentences and the labels can\'t both come from column "{header[text_at]}".')
        if text_at is None or label_at is None:
            missing = {(True, False): "sentence column (e.g. text)", (False, True): "label column (e.g. label)",
                       (True, True): "sentence column and no label column"}[(text_at is None, label_at is None)]
            raise DatasetError(f"{name} has no {missing}; the columns are {_quote_all(header)}. "
                               "Rename a column or choose the columns.")
    elif len(first) == 2 or (len(first) > 2 and _is_label_then_text(rows)):
        header, body, label_at, text_at = ["label", "text"], rows, 0, 1
        if isinstance(text_column, int) or isinstance(label_column, int):
            label_at = label_column if isinstance(label_column, int) else 0
            text_at = text_column if isinstance(text_column, int) else 1 - label_at
        if not _first_row_is_data(rows):
            raise DatasetError(f"Found no sentence and label columns in {name}; the columns are {_quote_all(first)}. "
                               "Name them text and label, or choose them.")
    else:
        raise DatasetError(f"Found no sentence and label columns in {name}; the columns are {_quote_all(first)}. "
                           "Name them text and label, or choose them.")

    if len(body) > max_rows:
        raise DatasetError(f"{name} has {len(body):,} rows; the limit is {max_rows:,}.")

    texts, labels, numbers, empty_text, empty_label = [], [], [], [], []
    text_is_last = text_at == len(header) - 1
    for number, cells in body:
        if len(cells) <= max(text_at, label_at):
            raise DatasetError(f"Row {number} of {name} has {len(cells)} value{'s' if len(cells) != 1 else ''} "
                               f"but the file has {len(header)} columns.")
        if len(cells) > len(header) and not text_is_last:
            raise DatasetError(f"Row {number} of {name} has {len(cells)} values but the file has {len(header)} "
                               "columns; put quotes around sentences that contain commas.")
        sentence = ",".join(cells[text_at:]) if text_is_last else cells[text_at]
        sentence, label = " ".join(sentence.split()), cells[label_at].strip()
        if not sentence:
            empty_text.append(number)
        elif not label:
            empty_label.append(number)
        else:
            texts.append(sentence)
            labels.append(label)
            numbers.append(number)

    if not texts:
        if empty_text:
            raise DatasetError(f"Every sentence in {name} is empty ({_count(len(empty_text), 'row')}); "
                               f'is "{header[text_at]}" the right column?')
        raise DatasetError(f"{name} has a header but no rows of data.")
    data = LabelledTexts(tuple(texts), tuple(labels))
    _check_classes(data, numbers, name, min_labels, min_rows_per_label, max_labels)

    exact, conflicting = _exact_duplicate_groups(data, numbers)
    near, checked = (), False
    if near_duplicates and len(data) <= NEAR_DUPLICATE_ROW_LIMIT:
        near = tuple((numbers[i], numbers[j], round(s, 3)) for i, j, s in cached_near_duplicate_pairs(list(data.texts))
                     if normalise_text(data.texts[i]) != normalise_text(data.texts[j]))
        checked = True
    return CsvReport(data=data, columns=tuple(header), text_column=header[text_at], label_column=header[label_at],
                     has_header=has_header, rows_read=len(body), empty_text_rows=tuple(empty_text),
                     empty_label_rows=tuple(empty_label), row_numbers=tuple(numbers),
                     exact_duplicates=exact, conflicting_duplicates=conflicting,
                     near_duplicates=near, near_duplicates_checked=checked)


def _is_label_then_text(rows) -> bool:
    """The talk's headerless form with unquoted commas inside the sentence:
    `7,too slow, and pricey` -> label '7', text 'too slow, and pricey'. True when
    the first column looks like labels (short, few distinct values)."""
    firsts = [cells[0].strip() for _, cells in rows]
    return all(len(f.split()) <= 3 for f in firsts) and len(set(firsts)) <= max(2, len(firsts) // 2)


def _first_row_is_data(rows) -> bool:
    """Without a known header, the first row is data when its label occurs again
    below (a real class), or when the file is just that one row."""
    label = rows[0][1][0].strip()
    return len(rows) == 1 or any(cells[0].strip() == label for _, cells in rows[1:])


def _check_classes(data: LabelledTexts, numbers: Sequence[int], name: str, min_labels: int, min_rows: int,
                   max_labels: int = MAX_LABELS) -> None:
    counts = data.class_counts()
    if len(counts) == 1 and min_labels > 1:
        raise DatasetError(f'Every row of {name} has the label "{next(iter(counts))}"; a classifier needs at least '
                           f"{min_labels} different labels to tell apart.")
    if len(counts) < min_labels:
        raise DatasetError(f"{name} has only {len(counts)} labels ({_quote_all(list(counts))}); "
                           f"at least {min_labels} are needed.")
    check_label_count(len(counts), name, max_labels)
    thin = [label for label, n in counts.items() if n < min_rows]
    if thin:
        first_row = {label: numbers[data.labels.index(label)] for label in thin}
        listed = ", ".join(
            f'"{label}" has only {_count(counts[label], "row")} (row {first_row[label]})' if counts[label] == 1
            else f'"{label}" has only {counts[label]} rows' for label in thin[:3])
        more = f" (and {len(thin) - 3} more labels)" if len(thin) > 3 else ""
        raise DatasetError(f"The label {listed}{more}; every label needs at least {min_rows} sentences "
                           "(some to learn from, some to test on).")


def check_label_count(count: int, name: str = "The data", max_labels: int = MAX_LABELS) -> None:
    """Refuse more than `max_labels` labels (a visitor's file: MAX_LABELS): one sentence, naming none of them."""
    if count > max_labels:
        raise DatasetError(f"{name} has {count:,} different labels; this app fine-tunes at most {max_labels}. "
                           "Merge rare labels into broader ones (or into \"other\") and upload it again.")


def read_csv(source, *, text_column: str | int | None = None, label_column: str | int | None = None,
             max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES, min_labels: int = 2,
             min_rows_per_label: int = 2, max_labels: int = MAX_LABELS) -> LabelledTexts:
    """Just the labelled sentences of a CSV (see inspect_csv for the rules and errors)."""
    return inspect_csv(source, text_column=text_column, label_column=label_column, max_rows=max_rows,
                       max_bytes=max_bytes, min_labels=min_labels, min_rows_per_label=min_rows_per_label,
                       near_duplicates=False, max_labels=max_labels).data


# ---------------------------------------------------------------- duplicates


def normalise_text(text: str) -> str:
    """'Too  Expensive!' -> 'too expensive': case, punctuation and spacing make no new sentence."""
    return " ".join(re.sub(r"[^\w ]+", " ", text.lower()).replace("_", " ").split())


def _exact_duplicate_groups(data: LabelledTexts, numbers: Sequence[int]):
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(data.texts):
        groups.setdefault(normalise_text(text), []).append(i)
    repeated = [rows for rows in groups.values() if len(rows) > 1]
    exact = tuple(tuple(numbers[i] for i in rows) for rows in repeated)
    conflicting = tuple(tuple(numbers[i] for i in rows) for rows in repeated
                        if len({data.labels[i] for i in rows}) > 1)
    return exact, conflicting


def shared_texts(first: LabelledTexts, second: LabelledTexts) -> list[str]:
    """Sentences of `second` that are also in `first` (after normalising): training
    sentences leaking into the evaluation set make its accuracy look better than it is."""
    seen = {normalise_text(t) for t in first.texts}
    return [t for t in second.texts if normalise_text(t) in seen]


def _trigrams(text: str) -> frozenset[str]:
    padded = f" {normalise_text(text)} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


def text_similarity(a: str, b: str) -> float:
    """How alike two sentences are by their characters, 0..1: the larger of the
    character-trigram Jaccard and difflib's ratio of the normalised texts.
    'Too expensive.' vs 'To expensive, sorry.' -> 0.77 (difflib; Jaccard 0.55)."""
    return max(_jaccard(a, b), SequenceMatcher(None, normalise_text(a), normalise_text(b)).ratio())


def _jaccard(a: str, b: str) -> float:
    ta, tb = _trigrams(a), _trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta | tb else 1.0


def is_near_duplicate(a: str, b: str) -> bool:
    """The same after normalising, or character trigrams overlapping by half
    (Jaccard >= 0.5), or - for pairs overlapping at least 0.3 - difflib finding
    them 80% alike. 'Your quote was 30% above our budget' vs 'Your quote is over
    our budget': Jaccard 0.47, difflib 0.86 -> near duplicate."""
    jaccard = _jaccard(a, b)
    if normalise_text(a) == normalise_text(b) or jaccard >= NEAR_JACCARD:
        return True
    return jaccard >= JACCARD_FLOOR and SequenceMatcher(None, normalise_text(a), normalise_text(b)).ratio() >= NEAR_RATIO


def _compared(text: str) -> str:
    return normalise_text(text)[:NEAR_COMPARE_CHARS]


def _trigram_rows(texts: Sequence[str], vocab: dict[str, int]):
    """A sparse 0/1 matrix: one row per text, one column per character trigram."""
    import numpy as np
    from scipy import sparse

    indptr, indices = [0], []
    for text in texts:
        padded = f" {text} "
        grams = {padded[i:i + 3] for i in range(len(padded) - 2)}
        indices += [vocab.setdefault(g, len(vocab)) for g in grams]
        indptr.append(len(indices))
    return indptr, indices, np.ones(len(indices), np.float32), sparse


def _neighbour_candidates(a: list[str], b: list[str], within: bool, k: int, block: int = 512):
    """(i, j, jaccard) for each row i of `a`: its k rows of `b` sharing the most
    trigrams (Jaccard >= JACCARD_FLOOR), by one sparse product per block of rows,
    so no n x n matrix exists and the pairs to check grow as k * n, not n^2."""
    import numpy as np

    vocab: dict[str, int] = {}
    pa, ia, da, sparse = _trigram_rows(a, vocab)
    pb, ib, db, _ = _trigram_rows(b, vocab)
    grams_a = sparse.csr_matrix((da, ia, pa), shape=(len(a), len(vocab)))
    grams_b = sparse.csr_matrix((db, ib, pb), shape=(len(b), len(vocab))).T.tocsc()
    sizes_a = np.diff(grams_a.indptr).astype(np.float32)
    sizes_b = np.diff(np.asarray(grams_b.indptr)).astype(np.float32)
    for start in range(0, len(a), block):
        shared = (grams_a[start:start + block] @ grams_b).toarray()
        union = sizes_a[start:start + block, None] + sizes_b[None, :] - shared
        jaccard = np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
        if within:
            rows = np.arange(start, start + len(shared))
            jaccard[np.arange(len(shared)), rows] = -1.0  # a row is not its own neighbour
        take = min(k, jaccard.shape[1])
        best = np.argpartition(-jaccard, take - 1, axis=1)[:, :take]
        for r, columns in enumerate(best):
            for j in columns:
                if jaccard[r, j] >= JACCARD_FLOOR:
                    yield start + r, int(j), float(jaccard[r, j])


def _alike(a: str, b: str, jaccard: float, diff: bool = True) -> float | None:
    """The pair's similarity if it is a near duplicate, else None; difflib's cheap
    upper bounds first (quick_ratio >= ratio) so most pairs never run the full diff.
    diff=False (the difflib budget is spent): trigram Jaccard only."""
    if a == b:
        return 1.0
    if not diff:
        return jaccard if jaccard >= NEAR_JACCARD else None
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if jaccard >= NEAR_JACCARD:
        return max(jaccard, matcher.ratio())
    if matcher.real_quick_ratio() < NEAR_RATIO or matcher.quick_ratio() < NEAR_RATIO:
        return None
    ratio = matcher.ratio()
    return max(jaccard, ratio) if ratio >= NEAR_RATIO else None


def near_duplicate_pairs(texts: Sequence[str], against: Sequence[str] | None = None,
                         neighbours: int = NEAR_NEIGHBOURS, limit: int = MAX_NEAR_PAIRS) -> list[tuple[int, int, float]]:
    """(i, j, similarity) for near-duplicate pairs within `texts` (i < j), or
    between texts[i] and against[j]; most similar first, at most `limit`. Each
    sentence is compared (its first NEAR_COMPARE_CHARS normalised characters) with
    its `neighbours` most trigram-overlapping others only, so the work grows with
    the number of rows, not its square: ~0.3 s for 3,000 sentences.

    near_duplicate_pairs(["Too expensive.", "To expensive, sorry.", "Card declined."]) -> [(0, 1, 0.77)]
    """
    a = [_compared(str(t)) for t in texts]
    b = a if against is None else [_compared(str(t)) for t in against]
    if not a or not b:
        return []
    if against is not None:
        found = _near_pairs(a, b, False, neighbours)
        return sorted(((i, j, sim) for (i, j), sim in found.items()), key=lambda p: (-p[2], p[0], p[1]))[:limit]
    # Repeats would fill a sentence's few neighbour slots: compare each distinct text
    # once, then expand its pairs to every row holding it (stopping at `limit`).
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(a):
        groups.setdefault(text, []).append(i)
    distinct = list(groups)
    found = _near_pairs(distinct, distinct, True, neighbours)
    ranked = [(1.0, rows, rows) for rows in groups.values() if len(rows) > 1]
    ranked += [(sim, groups[distinct[i]], groups[distinct[j]]) for (i, j), sim in found.items()]
    ranked.sort(key=lambda r: (-r[0], r[1][0], r[2][0]))
    pairs: list[tuple[int, int, float]] = []
    for sim, first, second in ranked:
        if len(pairs) >= limit:
            break
        combos = itertools.combinations(first, 2) if first is second else itertools.product(first, second)
        pairs += [(min(i, j), max(i, j), sim) for i, j in itertools.islice(combos, limit - len(pairs))]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))


def _near_pairs(a: list[str], b: list[str], within: bool, neighbours: int) -> dict[tuple[int, int], float]:
    found: dict[tuple[int, int], float] = {}
    budget = NEAR_DIFFLIB_BUDGET
    for i, j, jaccard in _neighbour_candidates(a, b, within, neighbours):
        pair = (min(i, j), max(i, j)) if within else (i, j)
        if pair not in found:
            budget -= len(a[i]) * len(b[j])
            similarity = _alike(a[i], b[j], jaccard, diff=budget > 0)
            if similarity is not None:
                found[pair] = round(similarity, 3)
    return found


_near_cache: "OrderedDict[str, list] | None" = None


def cached_near_duplicate_pairs(texts: Sequence[str]) -> list[tuple[int, int, float]]:
    """near_duplicate_pairs(texts), remembered for the last few files (keyed by a
    digest of the sentences): a page rerun on every click doesn't redo the work."""
    import hashlib

    global _near_cache
    if _near_cache is None:
        _near_cache = OrderedDict()
    digest = hashlib.sha256("\x00".join(str(t) for t in texts).encode("utf-8", "surrogatepass")).hexdigest()
    if digest in _near_cache:
        _near_cache.move_to_end(digest)
        return list(_near_cache[digest])
    pairs = near_duplicate_pairs(texts)
    _near_cache[digest] = pairs
    while len(_near_cache) > 16:
        _near_cache.popitem(last=False)
    return list(pairs)


# ---------------------------------------------------------------- splitting and lessons


def stratified_split(data: LabelledTexts, eval_fraction: float = 0.2, seed: int = 0) -> tuple[LabelledTexts, LabelledTexts]:
    """Hold out `eval_fraction` of every label for evaluation, chosen at random
    with `seed`; both parts keep file order. Every label with at least 2 rows is
    in both parts. 50 rows per label at 0.2 -> 40 train + 10 eval per label."""
    if not 0 < eval_fraction < 1:
        raise DatasetError(f"The evaluation share must be between 0 and 1 (e.g. 0.2), not {eval_fraction}.")
    rng = random.Random(seed)
    held_out: list[int] = []
    for label in data.label_names:
        rows = [i for i, y in enumerate(data.labels) if y == label]
        if len(rows) < 2:
            continue  # one sentence can't be in both parts: it stays in training
        take = min(max(1, round(len(rows) * eval_fraction)), len(rows) - 1)
        held_out += rng.sample(rows, take)
    chosen = set(held_out)
    if not chosen:
        raise DatasetError("Too few sentences to split off an evaluation set: every label needs at least 2.")
    return (data.subset(i for i in range(len(data)) if i not in chosen),
            data.subset(i for i in range(len(data)) if i in chosen))


def align_labels(train: LabelledTexts, eval: LabelledTexts) -> tuple[LabelledTexts, LabelledTexts]:
    """Check that the evaluation data only uses labels the training data has
    (matched by name) and return both unchanged; a model can't predict a label
    it never saw. Training labels missing from evaluation are fine."""
    if len(eval) == 0:
        raise DatasetError("The evaluation data has no sentences.")
    known = set(train.labels)
    missing = {label: n for label, n in eval.class_counts().items() if label not in known}
    if missing:
        by_case = {label.casefold(): label for label in known}
        listed = ", ".join(
            f'"{label}" ({_count(n, "row")}' + (f', did you mean "{by_case[label.casefold()]}"?)' if label.casefold() in by_case else ")")
            for label, n in missing.items())
        raise DatasetError(f"The evaluation data has {'a label' if len(missing) == 1 else 'labels'} the training "
                           f"data lacks: {listed}. Labels are matched by name; the training labels are "
                           f"{_quote_all(train.label_names)}.")
    return train, eval


def flip_labels(data: LabelledTexts, fraction: float, seed: int = 0) -> LabelledTexts:
    """Garbage in: exactly round(fraction * n) sentences, chosen at random with
    `seed`, get a different label (another of the data's labels, at random).
    400 sentences at 0.25 -> exactly 100 wrong labels; same seed, same flips."""
    if not 0 <= fraction <= 1:
        raise DatasetError(f"The share of labels to flip must be between 0 and 1, not {fraction}.")
    names = data.label_names
    if len(names) < 2:
        raise DatasetError("Flipping labels needs at least two different labels.")
    rng = random.Random(seed)
    labels = list(data.labels)
    for i in rng.sample(range(len(data)), round(fraction * len(data))):
        labels[i] = rng.choice([name for name in names if name != labels[i]])
    return data.with_labels(labels)


def first_per_label(data: LabelledTexts, limit: int, skip: int = 0) -> LabelledTexts:
    """At most `limit` sentences of every label after skipping its first `skip`,
    in file order: first_per_label(load_shipped(), 25) -> the 200 rows that
    load_paraphrases() rewords; skip=25 -> the other 200."""
    seen: Counter = Counter()
    keep = []
    for i, label in enumerate(data.labels):
        seen[label] += 1
        if skip < seen[label] <= skip + limit:
            keep.append(i)
    return data.subset(keep)


__all__ = [
    "LABELS", "DatasetError", "LabelledTexts", "Paraphrases", "CsvReport", "load_shipped", "load_paraphrases",
    "read_csv", "inspect_csv", "stratified_split", "align_labels", "flip_labels", "first_per_label",
    "shared_texts", "near_duplicate_pairs", "is_near_duplicate", "text_similarity", "normalise_text",
]
