"""core.datasets: reading anyone's CSV, saying clearly what is wrong with it, and
the splits the fine-tune and the lessons rely on."""

import io
import itertools
from collections import Counter

import pytest

from core import datasets
from core.datasets import (
    LABELS,
    DatasetError,
    LabelledTexts,
    align_labels,
    first_per_label,
    flip_labels,
    inspect_csv,
    is_near_duplicate,
    load_paraphrases,
    load_shipped,
    near_duplicate_pairs,
    read_csv,
    shared_texts,
    stratified_split,
)

# A small, valid file: 3 labels x 3 sentences.
ROWS = [
    ("price", "Way too expensive for us"),
    ("credit", "My card was declined twice"),
    ("lead time", "Backordered until next spring"),
    ("price", "Shipping costs more than the part"),
    ("credit", "Financing was not approved"),
    ("lead time", "It would arrive after our launch"),
    ("price", "We will wait for the sale"),
    ("credit", "Over our credit limit this month"),
    ("lead time", "Still not shipped after a month"),
]


def csv_bytes(header: str | None, rows=ROWS, sep: str = ",", order=("label", "text")) -> bytes:
    lines = [header] if header is not None else []
    for label, text in rows:
        cells = {"label": label, "text": text}
        lines.append(sep.join(f'"{cells[c]}"' if sep in cells[c] else cells[c] for c in order))
    return ("\n".join(lines) + "\n").encode("utf-8")


def error_of(source, **kwargs) -> str:
    with pytest.raises(DatasetError) as caught:
        inspect_csv(source, **kwargs)
    return str(caught.value)


# ---------------------------------------------------------------- the data object


def test_labelled_texts_stores_rows_immutably_and_counts_classes():
    data = LabelledTexts(["Too expensive", "Card declined", "Way too pricey"], ["price", "credit", "price"])
    assert data.texts == ("Too expensive", "Card declined", "Way too pricey")
    assert len(data) == 3
    assert data.label_names == ("price", "credit")  # the talk's order, not alphabetical
    assert data.class_counts() == {"price": 2, "credit": 1}
    assert data.subset([2, 1]) == LabelledTexts(("Way too pricey", "Card declined"), ("price", "credit"))
    assert hash(data) == hash(LabelledTexts(list(data.texts), list(data.labels)))  # cacheable
    with pytest.raises(AttributeError):
        data.texts = ()


def test_label_names_order_for_other_label_sets():
    assert LabelledTexts(["a", "b", "c"], ["10", "2", "7"]).label_names == ("2", "7", "10")
    assert LabelledTexts(["a", "b", "c"], ["refund", "billing", "price"]).label_names == ("billing", "price", "refund")


def test_mismatched_lengths_are_refused_with_a_sentence():
    with pytest.raises(DatasetError, match="2 sentences but 1 labels"):
        LabelledTexts(["a", "b"], ["price"])


def test_shipped_splits_and_paraphrases_load_by_name():
    train, eval, challenge = (load_shipped(s) for s in ("train", "eval", "challenge"))
    assert (len(train), len(eval), len(challenge)) == (400, 160, 64)
    assert train.label_names == tuple(LABELS)
    assert set(eval.class_counts().values()) == {20}
    paraphrases = load_paraphrases()
    assert len(paraphrases) == 200
    assert set(paraphrases.sources) == set(first_per_label(train, 25).texts)
    assert paraphrases.subset([0]).sources == paraphrases.sources[:1]
    with pytest.raises(DatasetError, match="no shipped 'test' file; choose one of train, eval, challenge"):
        load_shipped("test")


def test_first_per_label_takes_file_order_and_skips():
    train = load_shipped("train")
    first = first_per_label(train, 25)
    rest = first_per_label(train, 25, skip=25)
    assert set(first.class_counts().values()) == {25}
    assert not set(first.texts) & set(rest.texts)
    assert first.texts[0] == train.texts[0]


# ---------------------------------------------------------------- finding the columns


@pytest.mark.parametrize(
    "header, order, text_column, label_column",
    [
        ("label,text", ("label", "text"), "text", "label"),
        ("text,label", ("text", "label"), "text", "label"),
        ("Utterance,Intent", ("text", "label"), "Utterance", "Intent"),
        ("CATEGORY,Comment", ("label", "text"), "Comment", "CATEGORY"),
        ("reason_code,reason", ("label", "text"), "reason", "reason_code"),
        ("Cancel Reason,Reason Code", ("text", "label"), "Cancel Reason", "Reason Code"),
        ("sentence,class", ("text", "label"), "sentence", "class"),
    ],
)
def test_header_columns_are_detected(header, order, text_column, label_column):
    report = inspect_csv(csv_bytes(header, order=order))
    assert (report.text_column, report.label_column, report.has_header) == (text_column, label_column, True)
    assert report.data.texts[0] == "Way too expensive for us"
    assert report.data.class_counts() == {"lead time": 3, "price": 3, "credit": 3}


def test_extra_columns_are_ignored_and_explicit_names_win():
    raw = b"id,message,topic,label\n" + b"".join(
        f"{i},{text},x{i % 2},{label}\n".encode() for i, (label, text) in enumerate(ROWS))
    assert inspect_csv(raw).label_column == "label"
    chosen = inspect_csv(raw, text_column="MESSAGE", label_column="topic")
    assert chosen.label_column == "topic"
    assert chosen.data.class_counts() == {"x0": 5, "x1": 4}


def test_explicit_column_that_does_not_exist_lists_the_columns():
    message = error_of(csv_bytes("label,text"), text_column="sentence")
    assert message == 'There is no column "sentence" for the sentences; the columns are "label", "text".'


def test_talks_headerless_form_with_numeric_labels():
    rows = [(str(7 if y == "price" else 2 if y == "credit" else 10), t) for y, t in ROWS]
    report = inspect_csv(csv_bytes(None, rows))
    assert report.has_header is False
    assert report.columns == ("label", "text")
    assert report.data.label_names == ("2", "7", "10")
    assert report.data.labels[0] == "7"
    assert report.row_numbers[0] == 1
    assert "label first" in report.describe_columns()


def test_headerless_sentences_may_contain_unquoted_commas():
    raw = b"price,too slow, and pricey\nprice,costs too much\ncredit,card declined, twice\ncredit,no credit\n"
    data = read_csv(raw)
    assert data.texts == ("too slow, and pricey", "costs too much", "card declined, twice", "no credit")


def test_semicolons_bom_and_file_like_sources():
    raw = b"\xef\xbb\xbf" + csv_bytes("Label;Text", sep=";")
    assert read_csv(io.BytesIO(raw)).class_counts() == {"lead time": 3, "price": 3, "credit": 3}
    assert read_csv(io.StringIO(raw.decode("utf-8-sig"))).texts[1] == "My card was declined twice"


def test_paths_are_read_and_missing_paths_explained(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes(csv_bytes("text,label", order=("text", "label")))
    assert len(read_csv(path)) == 9
    assert len(read_csv(str(path))) == 9
    assert error_of(tmp_path / "nope.csv") == f"There is no file at {tmp_path / 'nope.csv'}."


# ---------------------------------------------------------------- bad input, one clear sentence each


def test_not_utf8_says_it_must_be_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("label,text\nprice,Trop chère\nprice,déjà vu\n".encode("latin-1"))
    message = error_of(path)
    assert message.startswith("latin.csv is not UTF-8 text (byte 0xe8")
    assert "it must be UTF-8" in message


def test_utf16_and_excel_files_are_named_for_what_they_are():
    assert "UTF-16" in error_of("label,text\nprice,x\n".encode("utf-16"))
    assert "Excel workbook" in error_of(b"PK\x03\x04 rest of a zip")


@pytest.mark.parametrize("raw", [b"", b"\n\n  \n"])
def test_empty_file(raw):
    assert error_of(raw) == "The file is empty."


def test_uploaded_files_are_named_in_messages():
    upload = io.BytesIO(b"")  # like st.file_uploader's UploadedFile: a file object with a name
    upload.name = "cancellations.csv"
    assert error_of(upload) == "cancellations.csv is empty."


def test_malformed_csv_names_the_row():
    raw = b'label,text\nprice,"too expensive\ncredit,declined\n'
    assert error_of(raw).startswith("The file is not a well-formed CSV near row")


def test_no_detectable_columns_lists_the_columns_found():
    raw = b"foo,bar\n" + csv_bytes(None)
    assert error_of(raw) == ('Found no sentence and label columns in the file; the columns are "foo", "bar". '
                             "Name them text and label, or choose them.")
    raw = b"id,label,score\n1,price,3\n2,credit,4\n"
    assert error_of(raw) == ('The file has no sentence column (e.g. text); the columns are "id", "label", "score". '
                             "Rename a column or choose the columns.")
    raw = b"id,text,score\n1,too dear,3\n2,declined,4\n"
    assert error_of(raw).startswith("The file has no label column (e.g. label);")


def test_one_column_file():
    assert error_of(b"text\ntoo expensive\ncard declined\n") == (
        'The file has only one column ("text"); it needs a sentence column and a label column.')


def test_one_class_only():
    raw = csv_bytes("label,text", [("price", t) for _, t in ROWS])
    assert error_of(raw) == ('Every row of the file has the label "price"; a classifier needs at least '
                             "2 different labels to tell apart.")


def test_a_class_with_a_single_row_is_named_with_its_row():
    raw = csv_bytes("label,text", ROWS + [("refund", "I want my money back")])
    assert error_of(raw) == ('The label "refund" has only 1 row (row 11); every label needs at least 2 sentences '
                             "(some to learn from, some to test on).")
    # an evaluation file may test a single label with a single row
    assert read_csv(raw, min_rows_per_label=1).class_counts()["refund"] == 1


def test_too_many_rows_and_bytes():
    assert error_of(csv_bytes("label,text"), max_rows=5) == "The file has 9 rows; the limit is 5."
    assert error_of(csv_bytes("label,text"), max_bytes=100) == "The file is larger than 100 bytes, the limit for one file."
    assert error_of(io.BytesIO(b"x" * 5000), max_bytes=2048) == "The file is larger than 2 KB, the limit for one file."


def test_all_texts_empty():
    raw = b"label,text\nprice,\ncredit,  \nprice,\n"
    assert error_of(raw) == 'Every sentence in the file is empty (3 rows); is "text" the right column?'


def test_rows_with_too_few_values():
    raw = b"text,comment,label\nfine,x,price\nshort row\n"
    assert error_of(raw) == "Row 3 of the file has 1 value but the file has 3 columns."
    raw = b"text,label,id\n\"too dear, really\",price,1\nway, too, dear,price,2\n"
    assert error_of(raw) == ("Row 3 of the file has 5 values but the file has 3 columns; "
                             "put quotes around sentences that contain commas.")


def test_header_without_rows():
    assert error_of(b"label,text\n") == "The file has a header but no rows of data."


# ---------------------------------------------------------------- what the page shows


def test_report_counts_empty_rows_and_duplicates():
    rows = ROWS + [
        ("price", ""),                           # row 11: empty sentence, dropped
        ("", "No label on this one"),            # row 12: no label, dropped
        ("price", "way too EXPENSIVE for us!"),  # row 13: same sentence as row 2
        ("credit", "Way too expensive for us"),  # row 14: same again, other label
        ("lead time", "Backordered until next spring!!"),  # row 15: repeats row 4
        ("credit", "My card got declined twice"),  # row 16: near duplicate of row 3
    ]
    report = inspect_csv(csv_bytes("label,text", rows))
    assert report.rows_read == 15
    assert report.empty_text_rows == (11,)
    assert report.empty_label_rows == (12,)
    assert len(report.data) == 13
    assert report.class_counts == {"lead time": 4, "price": 4, "credit": 5}
    assert report.exact_duplicates == ((2, 13, 14), (4, 15))
    assert report.conflicting_duplicates == ((2, 13, 14),)
    assert report.near_duplicates_checked
    assert [(a, b) for a, b, _ in report.near_duplicates] == [(3, 16)]
    assert report.warnings() == [
        "1 row with an empty sentence dropped (rows 11).",
        "1 row without a label dropped (rows 12).",
        "1 sentence appear with different labels (rows 2, 13, 14): the model can't get both right.",
        "3 rows repeat an earlier sentence: repeats teach the model nothing new.",
        "1 pair of near-identical sentences (small rewordings, like the talk's 'too expensive' / 'to expensive').",
    ]


def test_clean_file_has_no_warnings_and_near_check_can_be_skipped():
    assert inspect_csv(csv_bytes("label,text")).warnings() == []
    assert inspect_csv(csv_bytes("label,text"), near_duplicates=False).near_duplicates_checked is False


def test_fast_near_duplicate_finder_agrees_with_checking_every_pair():
    texts = ["Too expensive.", "To expensive, sorry.", "Shipping takes too long.", "Card declined.",
             "My card got declined.", "Way too pricey", "too expensive"]
    brute = [(i, j) for i, j in itertools.combinations(range(len(texts)), 2) if is_near_duplicate(texts[i], texts[j])]
    assert sorted((i, j) for i, j, _ in near_duplicate_pairs(texts)) == brute == [(0, 1), (0, 6), (1, 6), (3, 4)]
    against = near_duplicate_pairs(["too expensive!"], against=texts)
    assert [j for _, j, _ in against] == [0, 6, 1]  # most similar first
    assert near_duplicate_pairs([]) == []


def test_shared_texts_finds_training_sentences_in_the_evaluation_set():
    train = LabelledTexts(["Too expensive", "Card declined"], ["price", "credit"])
    eval = LabelledTexts(["too expensive!", "Out of stock"], ["price", "lead time"])
    assert shared_texts(train, eval) == ["too expensive!"]
    assert shared_texts(load_shipped("train"), load_shipped("eval")) == []


# ---------------------------------------------------------------- splits and lessons


def test_stratified_split_keeps_every_class_in_both_parts():
    data = load_shipped("train")
    train, eval = stratified_split(data, eval_fraction=0.2, seed=0)
    assert train.class_counts() == {label: 40 for label in LABELS}
    assert eval.class_counts() == {label: 10 for label in LABELS}
    assert sorted(train.texts + eval.texts) == sorted(data.texts)
    # file order is kept inside each part
    positions = {t: i for i, t in enumerate(data.texts)}
    assert [positions[t] for t in eval.texts] == sorted(positions[t] for t in eval.texts)


def test_stratified_split_is_deterministic_per_seed():
    data = load_shipped("train")
    assert stratified_split(data, seed=3) == stratified_split(data, seed=3)
    assert stratified_split(data, seed=3)[1] != stratified_split(data, seed=4)[1]


def test_stratified_split_of_small_and_uneven_classes():
    data = LabelledTexts([f"s{i}" for i in range(8)], ["a", "a", "a", "a", "a", "b", "b", "c"])
    train, eval = stratified_split(data, eval_fraction=0.5, seed=0)
    assert eval.class_counts() == {"a": 2, "b": 1}  # round(2.5) = 2; "c" has one row: it stays in training
    assert train.class_counts() == {"a": 3, "b": 1, "c": 1}
    with pytest.raises(DatasetError, match="between 0 and 1"):
        stratified_split(data, eval_fraction=1.5)
    with pytest.raises(DatasetError, match="every label needs at least 2"):
        stratified_split(LabelledTexts(["x", "y"], ["a", "b"]))


def test_align_labels_names_evaluation_labels_the_training_data_lacks():
    train = LabelledTexts(["a", "b", "c"], ["price", "credit", "price"])
    fine = LabelledTexts(["d"], ["credit"])
    assert align_labels(train, fine) == (train, fine)
    bad = LabelledTexts(["d", "e", "f"], ["refund", "price", "refund"])
    with pytest.raises(DatasetError) as caught:
        align_labels(train, bad)
    assert str(caught.value) == ('The evaluation data has a label the training data lacks: "refund" (2 rows). '
                                 'Labels are matched by name; the training labels are "price", "credit".')
    with pytest.raises(DatasetError, match=r'"Price" \(1 row, did you mean "price"\?\)'):
        align_labels(train, LabelledTexts(["x"], ["Price"]))


def test_flip_labels_flips_exactly_the_fraction_deterministically():
    data = load_shipped("train")
    noisy = flip_labels(data, 0.25, seed=1)
    flipped = [i for i, (a, b) in enumerate(zip(data.labels, noisy.labels)) if a != b]
    assert len(flipped) == 100
    assert noisy.texts == data.texts
    assert set(noisy.labels) <= set(LABELS)
    assert flip_labels(data, 0.25, seed=1) == noisy
    assert flip_labels(data, 0.25, seed=2) != noisy
    assert flip_labels(data, 0.0, seed=1) == data
    assert sum(a != b for a, b in zip(data.labels, flip_labels(data, 1.0).labels)) == 400
    # the wrong labels are spread over the other labels, not all moved to one
    assert len(Counter(noisy.labels[i] for i in flipped)) == len(LABELS)


def test_flip_labels_bad_settings():
    data = LabelledTexts(["a", "b"], ["price", "price"])
    with pytest.raises(DatasetError, match="at least two different labels"):
        flip_labels(data, 0.5)
    with pytest.raises(DatasetError, match="between 0 and 1"):
        flip_labels(load_shipped("eval"), -0.1)


def test_module_imports_no_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys, core.datasets; "
            "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'numpy', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=datasets.SHIPPED_DIR.parents[2])
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------- issue 15: hostile files


def many_labels(n: int) -> bytes:
    rows = [(f"reason {i}", f"sentence number {i} copy {k}") for i in range(n) for k in range(2)]
    return csv_bytes("label,text", rows=rows)


def test_more_labels_than_the_cap_are_refused_with_a_sentence():
    # 5,000 labels drew a 5,000 x 5,000 confusion matrix and killed the server.
    message = error_of(many_labels(datasets.MAX_LABELS + 1))
    assert f"{datasets.MAX_LABELS + 1} different labels" in message and f"at most {datasets.MAX_LABELS}" in message
    assert "reason 7" not in message  # no list of thousands of names either
    assert len(read_csv(many_labels(datasets.MAX_LABELS)).label_names) == datasets.MAX_LABELS


def test_the_label_cap_also_holds_for_a_headerless_file_read_leniently():
    with pytest.raises(DatasetError, match="at most"):
        read_csv(many_labels(200), min_labels=1, min_rows_per_label=1)


class CountingMatcher:
    """SequenceMatcher that adds up its work (len(a) x len(b)) and gives up loudly
    past `cap`, so a quadratic search fails fast instead of running for minutes."""

    work = 0
    cap = 0

    def __new__(cls, isjunk=None, a="", b="", autojunk=True):
        from difflib import SequenceMatcher

        CountingMatcher.work += len(a) * len(b)
        if CountingMatcher.work > CountingMatcher.cap:
            raise AssertionError(f"difflib work passed {CountingMatcher.cap:,} character pairs")
        return SequenceMatcher(isjunk, a, b, autojunk)


def test_long_near_identical_rows_cost_a_bounded_amount_of_difflib(monkeypatch):
    # 700 rows of 14 KB took 30-35 s of server CPU per click; 100 of them 198 s.
    words = "price card declined shipping slow support refund order broken late".split()
    long = " ".join(words[(i * 7) % len(words)] for i in range(3000))
    texts = [long[: 14_000 - i * 3] + f" {i}" for i in range(300)]
    monkeypatch.setattr(datasets, "SequenceMatcher", CountingMatcher)
    CountingMatcher.work, CountingMatcher.cap = 0, datasets.NEAR_DIFFLIB_BUDGET + datasets.NEAR_COMPARE_CHARS ** 2
    assert near_duplicate_pairs(texts)
    assert CountingMatcher.work <= CountingMatcher.cap


def test_the_pairs_compared_grow_with_the_rows_not_their_square(monkeypatch):
    texts = [f"the order was too expensive for us, number {i}" for i in range(1500)]
    calls = []
    real_alike = datasets._alike
    monkeypatch.setattr(datasets, "_alike", lambda a, b, j, diff=True: calls.append(1) or real_alike(a, b, j, diff))
    monkeypatch.setattr(datasets, "SequenceMatcher", CountingMatcher)
    CountingMatcher.work, CountingMatcher.cap = 0, 10**12
    pairs = near_duplicate_pairs(texts)
    assert pairs and len(calls) <= datasets.NEAR_NEIGHBOURS * len(texts)  # all pairs would be 1.1 million


def test_the_reported_pairs_are_bounded():
    texts = ["exactly the same sentence"] * 300  # 44,850 pairs
    pairs = near_duplicate_pairs(texts)
    assert len(pairs) == datasets.MAX_NEAR_PAIRS
    assert all(s == 1.0 and i < j for i, j, s in pairs)


def test_near_duplicates_of_a_file_are_computed_once_across_reruns(monkeypatch):
    calls = []
    real = datasets.near_duplicate_pairs
    monkeypatch.setattr(datasets, "near_duplicate_pairs", lambda texts, *a, **k: calls.append(1) or real(texts))
    raw = csv_bytes("label,text", rows=ROWS + [("price", "Way too expensive for us!!")])
    first = inspect_csv(raw).near_duplicates
    assert inspect_csv(raw).near_duplicates == first and len(calls) == 1
