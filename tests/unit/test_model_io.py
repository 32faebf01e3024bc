"""Saving a fine-tuned model and loading it back (core/model_io.py): the download
round-trips exactly, and an upload that isn't such a model is refused in one
sentence without unpickling anything."""

import io
import json
import pickle
import zipfile

import pytest

from core.finetune import FinetuneConfig, finetune, predict_proba
from core.model_io import ModelZipError, load_model_folder, load_model_zip, model_zip_bytes, save_model_folder

TEXTS = ["the price is too expensive", "way too much money", "my card was declined",
         "the bank declined the payment", "delivery is too slow", "shipping takes weeks"]
LABELS = ["price", "price", "credit", "credit", "lead time", "lead time"]


@pytest.fixture(scope="module")
def trained(tiny_bert_dir):
    import torch

    torch.set_num_threads(1)
    try:
        return finetune((TEXTS, LABELS), None, FinetuneConfig(
            model_id=tiny_bert_dir, epochs=3, batch_size=2, learning_rate=3e-3, freeze="none"))
    finally:
        torch.set_num_threads(2)


@pytest.fixture(scope="module")
def zipped(trained) -> bytes:
    return model_zip_bytes(trained)


def rezip(original: bytes, drop=(), add=None, rename=None) -> bytes:
    """A copy of a model zip with members dropped, added or renamed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name in drop:
                continue
            target.writestr((rename or {}).get(name, name), source.read(name))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def test_zip_round_trip_gives_identical_predictions(trained, zipped):
    model, tokenizer, labels = load_model_zip(zipped)
    assert labels == trained.labels == ["credit", "lead time", "price"]
    sentences = TEXTS + ["an unseen sentence about money"]
    assert (predict_proba(model, tokenizer, sentences, labels)
            == predict_proba(trained.model, trained.tokenizer, sentences, trained.labels))
    assert model.config.id2label == {0: "credit", 1: "lead time", 2: "price"}


def test_zip_holds_only_data_files(zipped):
    names = set(zipfile.ZipFile(io.BytesIO(zipped)).namelist())
    assert {"config.json", "model.safetensors", "labels.json", "tokenizer.json"} <= names
    assert all(n.rsplit(".", 1)[-1] in {"json", "txt", "safetensors"} for n in names)


def test_folder_round_trip_and_a_zipped_folder_loads(trained, tmp_path):
    folder = save_model_folder(trained, tmp_path / "model")
    model, tokenizer, labels = load_model_folder(folder)
    assert json.loads((folder / "labels.json").read_text()) == labels == trained.labels
    # Someone zips the folder itself (files one level down): still accepted.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, f"my-model/{path.name}")
    again, _, again_labels = load_model_zip(buffer.getvalue())
    assert again_labels == labels
    assert (predict_proba(again, tokenizer, TEXTS, labels) == predict_proba(model, tokenizer, TEXTS, labels))


@pytest.mark.parametrize("make, message", [
    (lambda z: b"this is not a zip at all", "not a zip"),
    (lambda z: rezip(z, drop={"model.safetensors"}), "model.safetensors is missing"),
    (lambda z: rezip(z, drop={"labels.json", "config.json"}), "config.json, labels.json are missing"),
    (lambda z: rezip(z, drop={"model.safetensors"}, add={"pytorch_model.bin": pickle.dumps({"w": 1})}),
     "pickle-style"),
    (lambda z: rezip(z, add={"evil.pkl": pickle.dumps(print)}), "pickle-style"),
    (lambda z: rezip(z, add={"../../outside.json": b"{}"}), "path that is not allowed"),
    (lambda z: rezip(z, add={"run_me.py": b"import os"}), "not part of a saved model"),
    (lambda z: rezip(z, drop={"labels.json"}, add={"labels.json": b"[\"only one\"]"}), "3 outputs"),
    (lambda z: rezip(z, drop={"labels.json"}, add={"labels.json": b"{not json"}), "not valid JSON"),
    (lambda z: rezip(z, drop={"model.safetensors"}, add={"model.safetensors": b"\x00" * 64}),
     "not a safetensors file"),
])
def test_foreign_or_corrupt_zips_are_refused_with_a_sentence(zipped, make, message):
    with pytest.raises(ModelZipError, match=message) as refused:
        load_model_zip(make(zipped))
    assert "\n" not in str(refused.value)


def test_oversized_zip_is_refused_before_unpacking(zipped):
    with pytest.raises(ModelZipError, match="more than"):
        load_model_zip(zipped, max_bytes=1024)


def test_a_custom_code_model_is_refused(zipped):
    config = json.loads(zipfile.ZipFile(io.BytesIO(zipped)).read("config.json"))
    config["auto_map"] = {"AutoModelForSequenceClassification": "evil.Model"}
    bad = rezip(zipped, drop={"config.json"}, add={"config.json": json.dumps(config)})
    with pytest.raises(ModelZipError, match="own Python code"):
        load_model_zip(bad)
