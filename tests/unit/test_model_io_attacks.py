"""Hostile model zips (issue 15): each one cost the shared server memory, a
traceback or a stray temp folder before core/model_io.py refused it. Every
refusal must be a ModelZipError whose message is one sentence."""

import gc
import io
import json
import os
import struct
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from core import model_io
from core.model_io import ModelZipError, load_model_zip, model_zip_bytes

TEXTS = ["the price is too expensive", "way too much money", "my card was declined", "the bank declined it"]
LABELS = ["price", "price", "credit", "credit"]


@pytest.fixture(scope="module")
def tiny_classifier(tiny_bert_dir):
    """An untrained tiny classifier saved the app's way: enough to build zips from."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2)
    return model, AutoTokenizer.from_pretrained(tiny_bert_dir), ["credit", "price"]


@pytest.fixture(scope="module")
def zipped(tiny_classifier) -> bytes:
    return model_zip_bytes(*tiny_classifier)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def build(files: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def replaced(data: bytes, new: dict[str, bytes]) -> bytes:
    files = members(data)
    files.update(new)
    return build(files)


def with_config(data: bytes, **changes) -> bytes:
    config = json.loads(members(data)["config.json"])
    config.update(changes)
    return replaced(data, {"config.json": json.dumps(config).encode()})


def patch_headers(data: bytes, name: str, local_offset: int, central_offset: int, fmt: str, value) -> bytes:
    """Overwrite one field of `name`'s local and central headers (both, as zipfile checks both)."""
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    struct.pack_into(fmt, raw, local + local_offset, value)
    central = raw.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46:central + 46 + name_len] == name.encode():
            struct.pack_into(fmt, raw, central + central_offset, value)
            return bytes(raw)
        central = raw.find(b"PK\x01\x02", central + 4)
    raise AssertionError(f"{name} not found in the central directory")


def refused(data, match, **kwargs) -> str:
    with pytest.raises(ModelZipError, match=match) as error:
        load_model_zip(data, **kwargs)
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    return message


def test_the_untouched_zip_loads(zipped):
    model, _, labels = load_model_zip(zipped)
    assert labels == ["credit", "price"] and model.config.hidden_size == 32


def test_a_config_bigger_than_its_weights_is_refused_not_filled_with_random_numbers(zipped):
    # 207 KB upload -> 1.67 GB in memory: the layers the weights lack were randomly initialised.
    refused(with_config(zipped, hidden_size=256, intermediate_size=1024, num_attention_heads=4,
                        num_hidden_layers=4), "weights don't belong")


def test_weights_with_the_right_size_but_the_wrong_names_are_refused(zipped, tiny_classifier):
    from safetensors.torch import save

    import torch

    model = tiny_classifier[0]
    total = sum(p.numel() for p in model.parameters())
    junk = save({"junk": torch.zeros(total)})
    refused(replaced(zipped, {"model.safetensors": junk}), "lack")


def test_a_config_over_the_parameter_budget_is_refused_before_allocating(zipped):
    # The tiny model has ~60k parameters; a 10,000 budget refuses it from config.json alone.
    message = refused(zipped, "parameters", max_params=10_000)
    assert "0.0M" in message or "0.1M" in message


def test_the_parameter_budget_comes_from_the_environment(zipped, monkeypatch):
    monkeypatch.setenv(model_io.MAX_PARAMETERS_ENV, "10000")
    refused(zipped, "at most")


def test_a_ten_billion_parameter_config_is_refused_at_once(zipped):
    started = time.monotonic()
    refused(with_config(zipped, hidden_size=8192, intermediate_size=32768, num_attention_heads=64,
                        num_hidden_layers=48, vocab_size=250_000), "parameters")
    assert time.monotonic() - started < 10


def test_a_config_with_a_million_layers_is_refused_without_building_them(zipped):
    started = time.monotonic()
    refused(with_config(zipped, hidden_size=2, intermediate_size=2, num_attention_heads=1,
                        num_hidden_layers=1_000_000), "layers")
    assert time.monotonic() - started < 10


def test_a_huge_json_member_is_refused_by_its_inflated_size(zipped):
    # 309 KB zip holding 100 MB of JSON used 2.5 GB; 3 MB of padding is enough to show the bound.
    config = json.loads(members(zipped)["config.json"])
    padded = json.dumps(config).encode()[:-1] + b"," + b" " * 3_000_000 + b'"pad": 1}'
    refused(replaced(zipped, {"config.json": padded}), "unpacks to more than")


def test_a_member_whose_header_understates_its_size_is_stopped_while_inflating(zipped):
    # The central directory claims 100 bytes; the data inflates to 3 MB.
    data = replaced(zipped, {"special_tokens_map.json": b" " * 3_000_000 + b"{}"})
    data = patch_headers(data, "special_tokens_map.json", 22, 24, "<I", 100)
    refused(data, "damaged|unpacks to more than")


@pytest.mark.parametrize("where", ["labels.json", "config.json", "tokenizer_config.json"])
def test_deeply_nested_json_is_refused_with_a_sentence(zipped, where):
    deep = b"[" * 100_000 + b"]" * 100_000
    if where == "config.json":
        config = json.loads(members(zipped)["config.json"])
        deep = json.dumps(config).encode()[:-1] + b', "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    refused(replaced(zipped, {where: deep}), "nests deeper")


def test_a_bad_crc_is_a_sentence(zipped):
    refused(patch_headers(zipped, "config.json", 14, 16, "<I", 0x12345678), "damaged")


def test_corrupt_compressed_data_is_a_sentence(zipped):
    raw = bytearray(zipped)
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        info = archive.getinfo("labels.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start, start + info.compress_size):
        raw[i] ^= 0xFF
    refused(bytes(raw), "damaged")


def test_an_encrypted_member_is_a_sentence(zipped):
    refused(patch_headers(zipped, "labels.json", 6, 8, "<H", 0x1), "password")


def test_an_unsupported_compression_method_is_a_sentence(zipped):
    refused(patch_headers(zipped, "labels.json", 8, 10, "<H", 99), "compression")


def test_a_truncated_zip_is_a_sentence(zipped):
    refused(zipped[: len(zipped) // 2], "not a zip|damaged")


def test_too_many_directory_entries_are_refused(zipped):
    files = members(zipped)
    files.update({f"d{i}/": b"" for i in range(500)})
    refused(build(files), "entries")


def test_a_crash_mid_load_leaves_no_temp_folder(zipped, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def crash(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(model_io, "load_model_folder", crash)
    with pytest.raises(MemoryError):
        load_model_zip(zipped)
    assert list(tmp_path.iterdir()) == []


def test_temp_folders_of_a_killed_process_are_swept_on_the_next_load(zipped, tmp_path, monkeypatch):
    # A process killed mid-load (out of memory) can't run its `finally`.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale, fresh = tmp_path / "ft-upload-dead", tmp_path / "ft-upload-busy"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"x")
    hour_ago = time.time() - 2 * model_io.STALE_TEMP_SECONDS
    os.utime(stale, (hour_ago, hour_ago))
    load_model_zip(zipped)
    assert not stale.exists() and fresh.exists()  # a concurrent load's folder is left alone


def test_the_download_zip_is_built_once_per_model(tiny_classifier):
    first = model_io.download_zip_bytes(*tiny_classifier)
    assert model_io.download_zip_bytes(*tiny_classifier) is first
    assert members(first).keys() >= {"config.json", "model.safetensors", "labels.json"}


def test_a_download_is_forgotten_with_its_model(tiny_classifier):
    import copy

    model = copy.deepcopy(tiny_classifier[0])
    model_io.download_zip_bytes(model, tiny_classifier[1], ["a", "b"])
    key = (id(model), ("a", "b"))
    assert key in model_io._downloads
    del model
    gc.collect()
    assert key not in model_io._downloads


def test_a_zip_bigger_than_any_saved_model_is_refused_before_reading(zipped, monkeypatch):
    monkeypatch.setattr(model_io, "MAX_UPLOAD_BYTES", len(zipped) - 1)
    refused(zipped, "zips to at most")


def test_streamlits_upload_limit_is_what_the_app_accepts(root):
    import tomllib

    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == model_io.MAX_UPLOAD_BYTES
