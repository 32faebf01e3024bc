"""Save a fine-tuned model and load it back: the talk's "serialize the params out".

A saved model is a folder (or the same files zipped for download):

    config.json             architecture + id2label: which output is which label
    model.safetensors       the weights: plain numbers, no code
    tokenizer.json, vocab.txt, tokenizer_config.json, ...   the same tokenizer
    labels.json             ["unknown", "unresponsive", ...] in output order

Loading an uploaded zip never unpickles anything: weights come only from
safetensors, everything else is JSON or text, and a zip carrying a pickle-based
file (.bin, .pt, .pkl, ...), a path that climbs out of its folder, an oversized
member or missing pieces is refused with `ModelZipError`, whose message is one
sentence a user can act on.

One server serves every visitor, so an upload must not be able to cost more
than a model this app saves: the parameter count its config.json declares is
computed before anything is allocated (and refused over a budget, or when the
weights don't cover it: transformers would fill the gap with random numbers),
every member is inflated in chunks and stopped past its limit (a header can
lie), JSON nesting is bounded, and a broken archive (bad CRC, truncated,
encrypted, odd compression) is a sentence, not a traceback.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path, PurePosixPath
from typing import IO, Sequence

MAX_ZIP_BYTES = 400 * 1024 * 1024        # uncompressed; the bundled model is ~95 MB
MAX_MEMBERS = 50
# The biggest zip upload accepted (compressed): the bundled model zips to ~85 MB. Streamlit's
# server.maxUploadSize (.streamlit/config.toml) is set to this; CSV uploaders take less.
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_ENTRIES = 2 * MAX_MEMBERS            # directory entries included: each costs memory when listed
# Python parses these itself (json.loads): a few KB in a real model, 100 MB of JSON took 2.5 GB.
SMALL_JSON_FILES = {"config.json", "labels.json", "tokenizer_config.json", "special_tokens_map.json",
                    "generation_config.json", "added_tokens.json"}
MAX_SMALL_JSON_BYTES = 1024 * 1024
MAX_TEXT_MEMBER_BYTES = 32 * 1024 * 1024  # tokenizer.json / vocab files: bert's is 0.7 MB, xlm-r's 17 MB
MAX_JSON_DEPTH = 64                       # a real tokenizer.json nests fewer than 10 levels
MAX_LAYERS = 64                           # bert-large has 24; building a million layers even on `meta` takes minutes
MAX_PARAMETERS_ENV = "FB2B_MAX_MODEL_PARAMETERS"
DEFAULT_MAX_PARAMETERS = 150_000_000      # roberta-base is 125M; the bundled model 22.7M
ALLOWED_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
CHUNK_BYTES = 1024 * 1024
STALE_TEMP_SECONDS = 3600                 # a load takes seconds: older folders belong to a crashed process
TEMP_PREFIXES = ("ft-upload-", "ft-save-")
# Only data formats: JSON, text, safetensors and a sentencepiece model (protobuf).
ALLOWED_SUFFIXES = {".json", ".txt", ".safetensors", ".model", ".md"}
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".msgpack", ".joblib", ".npy", ".npz"}
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")


class ModelZipError(ValueError):
    """An uploaded model that can't be used; str(error) is one sentence for the page."""


def _parts(result_or_model, tokenizer=None, labels=None):
    """Accept a FinetuneResult or (model, tokenizer, labels)."""
    if tokenizer is None and hasattr(result_or_model, "model"):
        return result_or_model.model, result_or_model.tokenizer, list(result_or_model.labels)
    if isinstance(result_or_model, tuple) and tokenizer is None:
        model, tokenizer, labels = result_or_model
        return model, tokenizer, list(labels)
    return result_or_model, tokenizer, list(labels)


def save_model_folder(result_or_model, folder, tokenizer=None, labels: Sequence[str] | None = None) -> Path:
    """Write the loadable folder (see module docstring); returns its path.
    `save_model_folder(result, "out")` or `save_model_folder(model, "out", tokenizer, labels)`."""
    model, tokenizer, labels = _parts(result_or_model, tokenizer, labels)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # id2label in config.json lets any transformers user read the outputs by name.
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {name: i for i, name in enumerate(labels)}
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    (folder / "labels.json").write_text(json.dumps(list(labels), ensure_ascii=False, indent=1))
    for stray in folder.iterdir():   # a tokenizer may add files we'd refuse on upload
        if stray.is_file() and stray.suffix not in ALLOWED_SUFFIXES:
            stray.unlink()
    return folder


def model_zip_bytes(result_or_model, tokenizer=None, labels: Sequence[str] | None = None) -> bytes:
    """The saved folder as a zip, in memory: what the page's download button serves."""
    with tempfile.TemporaryDirectory(prefix="ft-save-") as tmp:
        folder = save_model_folder(result_or_model, tmp, tokenizer, labels)
        buffer = io.BytesIO()
        # Weights barely compress; ZIP_DEFLATED still shrinks the JSON/text files.
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for path in sorted(folder.iterdir()):
                if path.is_file():
                    archive.write(path, path.name)
        return buffer.getvalue()


def _open_zip(source) -> zipfile.ZipFile:
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, Path)):
        if not Path(source).is_file():
            raise ModelZipError(f"There is no file at {source}.")
    try:
        _check_upload_size(source)
        _check_entry_count(source)
        return zipfile.ZipFile(source)
    except ModelZipError:
        raise
    except zipfile.BadZipFile:
        raise ModelZipError("That file is not a zip archive (or it is damaged).") from None
    except Exception as error:  # noqa: BLE001 - unreadable upload objects
        raise ModelZipError(f"That file could not be read as a zip archive: {_first_line(error)}.") from None


def _check_upload_size(source) -> None:
    """Refuse a zip bigger than any model this app saves, before reading it."""
    if isinstance(source, (str, Path)):
        size = Path(source).stat().st_size
    elif hasattr(source, "seek") and hasattr(source, "tell"):
        start = source.tell()
        size = source.seek(0, os.SEEK_END)
        source.seek(start)
    else:
        return
    if size > MAX_UPLOAD_BYTES:
        raise ModelZipError(f"The zip is {_megabytes(size)}; a model this app saves zips to at most "
                            f"{_megabytes(MAX_UPLOAD_BYTES)}.")


def _check_entry_count(source) -> None:
    """Refuse a zip listing too many entries *before* zipfile reads its directory:
    ZipFile() builds one object per entry, so 100,000 empty entries cost memory
    before any check of ours could run. The count sits in the end-of-directory
    record at the end of the file."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            return _check_entry_count(handle)
    if not (hasattr(source, "seek") and hasattr(source, "read")):
        return
    start = source.tell()
    try:
        size = source.seek(0, os.SEEK_END)
        source.seek(max(0, size - (65535 + 22)))
        tail = source.read()
    finally:
        source.seek(start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return  # not a zip: ZipFile says so in its own words
    entries = int.from_bytes(tail[at + 10:at + 12], "little")
    if entries == 0xFFFF:  # zip64: only needed past 65,535 entries or 4 GB, far beyond a saved model
        raise ModelZipError("The zip is in the zip64 format, which only archives far larger than a model use.")
    if entries > MAX_ENTRIES:
        raise ModelZipError(f"The zip holds {entries} entries; a saved model has fewer than {MAX_MEMBERS}.")


def _check_readable(member: zipfile.ZipInfo, name: str) -> None:
    """Refuse what zipfile would only fail on while reading (with its own exceptions)."""
    if member.flag_bits & 0x1:
        raise ModelZipError(f"'{name}' in the zip is password-protected; zip the model without a password.")
    if member.compress_type not in ALLOWED_COMPRESSION:
        raise ModelZipError(f"'{name}' in the zip uses a compression method this app can't read; "
                            "use ordinary (deflate) compression.")


def member_limit(name: str, max_bytes: int = MAX_ZIP_BYTES) -> int:
    """The most bytes one member may inflate to: small for the JSON Python parses,
    bigger for tokenizer files, the whole budget only for the weights."""
    if name in SMALL_JSON_FILES:
        return min(max_bytes, MAX_SMALL_JSON_BYTES)
    if name.endswith(".safetensors"):
        return max_bytes
    return min(max_bytes, MAX_TEXT_MEMBER_BYTES)


def _too_large(name: str, limit: int) -> ModelZipError:
    return ModelZipError(f"'{name}' in the zip unpacks to more than {_megabytes(limit)}, "
                         "more than a model this app saves.")


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__


# What zipfile, zlib, bz2 and lzma raise on a damaged member: bad CRC, truncated or
# corrupt data, a method they can't decode. RuntimeError: an encrypted member.
BROKEN_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError,
                     ValueError)


def _broken(name: str, error: BaseException) -> ModelZipError:
    return ModelZipError(f"'{name}' in the zip is damaged and can't be unpacked ({_first_line(error)}); "
                         "download or zip the model again.")


def read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int, into: IO[bytes] | None = None) -> bytes:
    """A member's bytes (or, with `into`, written there), inflated in chunks and
    stopped as soon as they pass `limit`: the size in the header is only a claim."""
    name = PurePosixPath(member.filename).name
    out = into if into is not None else io.BytesIO()
    written = 0
    try:
        with archive.open(member) as src:
            while chunk := src.read(CHUNK_BYTES):
                written += len(chunk)
                if written > limit:
                    raise _too_large(name, limit)
                out.write(chunk)
    except ModelZipError:
        raise
    except BROKEN_ZIP_ERRORS as error:
        raise _broken(name, error) from None
    return b"" if into is not None else out.getvalue()


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest, counted without parsing (json.loads of
    100,000 nested brackets raises RecursionError deep inside the parser)."""
    import numpy as np

    brackets = np.frombuffer(_JSON_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = np.isin(brackets, (ord("["), ord("{"))).astype(np.int64) - np.isin(brackets, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max()) if steps.size else 0


def parse_json(raw: bytes, name: str):
    """JSON from the zip, or a sentence: bounded depth, UTF-8, valid."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ModelZipError(f"{name} in the zip nests deeper than {MAX_JSON_DEPTH} levels, which no saved model does.")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelZipError(f"{name} in the zip is not valid JSON.") from None


def check_zip(archive: zipfile.ZipFile, max_bytes: int = MAX_ZIP_BYTES) -> dict[str, zipfile.ZipInfo]:
    """Validate every member before extracting anything; returns {file name: member}.
    Files may sit at the top level or inside one folder (a zipped folder)."""
    if len(archive.infolist()) > MAX_ENTRIES:
        raise ModelZipError(f"The zip holds {len(archive.infolist())} entries; a saved model has fewer than {MAX_MEMBERS}.")
    members = [m for m in archive.infolist() if not m.is_dir()]
    if not members:
        raise ModelZipError("The zip is empty.")
    if len(members) > MAX_MEMBERS:
        raise ModelZipError(f"The zip holds {len(members)} files; a saved model has fewer than {MAX_MEMBERS}.")
    total = 0
    files: dict[str, zipfile.ZipInfo] = {}
    folders = set()
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in member.filename or len(path.parts) > 2:
            raise ModelZipError(f"The zip contains a path that is not allowed: '{member.filename}'.")
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            raise ModelZipError(f"The zip contains a symbolic link ('{member.filename}'), which is not allowed.")
        if path.name.startswith("__MACOSX") or path.parts[0] == "__MACOSX" or path.name == ".DS_Store":
            continue
        suffix = path.suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            raise ModelZipError(
                f"The zip contains '{path.name}', a pickle-style weights file that can run code when "
                "loaded; only safetensors weights are accepted."
            )
        if suffix not in ALLOWED_SUFFIXES:
            raise ModelZipError(f"The zip contains '{path.name}', which is not part of a saved model.")
        _check_readable(member, path.name)
        if member.file_size > member_limit(path.name, max_bytes):
            raise _too_large(path.name, member_limit(path.name, max_bytes))
        total += member.file_size
        if member.file_size > max_bytes or total > max_bytes:
            raise ModelZipError(
                f"The zip unpacks to more than {max_bytes // 2**20} MB, more than a model this app saves."
            )
        if path.name in files:
            raise ModelZipError(f"The zip contains '{path.name}' twice.")
        folders.add(path.parts[0] if len(path.parts) == 2 else "")
        files[path.name] = member
    if len(folders) > 1:
        raise ModelZipError("The zip mixes several folders; zip one saved model folder (or its files).")
    missing = [name for name in ("config.json", "model.safetensors", "labels.json") if name not in files]
    if not any(name in files for name in TOKENIZER_FILES):
        missing.append("tokenizer.json (or vocab.txt)")
    if missing:
        raise ModelZipError(
            f"This zip is not a model saved by this app: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing."
        )
    return files


def _read_labels(raw: bytes, config: dict) -> list[str]:
    labels = parse_json(raw, "labels.json")
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
        raise ModelZipError("labels.json must be a list of label names.")
    if len(set(labels)) != len(labels):
        raise ModelZipError("labels.json lists a label twice.")
    id2label = config.get("id2label") or {}
    if id2label and len(id2label) != len(labels):
        raise ModelZipError(
            f"labels.json names {len(labels)} labels but the model has {len(id2label)} outputs."
        )
    return labels


def max_parameters(environ=os.environ) -> int:
    """The biggest model an upload may declare: $FB2B_MAX_MODEL_PARAMETERS, default 150M."""
    try:
        return max(1, int(environ.get(MAX_PARAMETERS_ENV, DEFAULT_MAX_PARAMETERS)))
    except ValueError:
        return DEFAULT_MAX_PARAMETERS


def _config_number(config: dict, *keys: str, default=None):
    for key in keys:
        value = config.get(key)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ModelZipError(f"config.json in the zip gives '{key}' as {value!r}, not a whole number.")
            return value
    return default


def rough_parameters(config: dict) -> int:
    """A transformer's size from its config alone: token and position tables plus,
    per layer, attention (4 h x h) and the feed-forward block (2 h x intermediate).
    Only a guard, so that an absurd config is refused before even `meta` builds it."""
    hidden = _config_number(config, "hidden_size", "d_model", "dim", "n_embd", default=0)
    layers = _config_number(config, "num_hidden_layers", "n_layers", "num_layers", "n_layer", default=0)
    vocab = _config_number(config, "vocab_size", default=0)
    positions = _config_number(config, "max_position_embeddings", "n_positions", default=0)
    inner = _config_number(config, "intermediate_size", "hidden_dim", "ffn_dim", "n_inner", default=4 * hidden)
    if layers > MAX_LAYERS:
        raise ModelZipError(f"config.json in the zip declares {layers} layers; this app loads models of at most {MAX_LAYERS}.")
    return (vocab + positions) * hidden + layers * (4 * hidden * hidden + 2 * hidden * inner)


def declared_parameters(config: dict) -> int:
    """The exact parameter count of the classifier config.json describes, with no
    memory spent on weights: the model is built on torch's `meta` device."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    settings = {k: v for k, v in config.items() if k != "model_type"}
    try:
        model_config = AutoConfig.for_model(config["model_type"], **settings)
        with torch.device("meta"):
            model = AutoModelForSequenceClassification.from_config(model_config)
    except Exception as error:  # noqa: BLE001 - an unknown or inconsistent config
        raise ModelZipError(f"config.json in the zip does not describe a model this app can load: "
                            f"{_first_line(error)}.") from None
    return sum(p.numel() for p in model.parameters())


def check_model_size(config: dict, budget: int | None = None) -> int:
    """The declared parameter count, or a sentence when it is over the budget."""
    budget = max_parameters() if budget is None else budget
    for count in (rough_parameters(config), declared_parameters(config)):
        if count > budget:
            raise ModelZipError(f"The uploaded model declares {count / 1e6:,.1f}M parameters; this server loads "
                                f"models of at most {budget / 1e6:,.1f}M.")
    return count


def safetensors_parameters(path: Path) -> int:
    """How many numbers the weights file holds, from its header alone (shapes and
    offsets), checking that the data the header promises is really there."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 0 < length <= min(size - 8, MAX_SMALL_JSON_BYTES * 16):
            raise ModelZipError("model.safetensors in the zip is not a safetensors file.")
        header = parse_json(handle.read(length), "The header of model.safetensors")
    if not isinstance(header, dict):
        raise ModelZipError("model.safetensors in the zip is not a safetensors file.")
    total, end = 0, 0
    try:
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            total += math.prod(int(d) for d in entry["shape"])
            end = max(end, int(entry["data_offsets"][1]))
    except (TypeError, KeyError, IndexError, ValueError):
        raise ModelZipError("model.safetensors in the zip has a damaged header.") from None
    if 8 + length + end > size:
        raise ModelZipError("model.safetensors in the zip is cut short: its header promises more data than it holds.")
    return total


def check_weights_cover(path: Path, declared: int) -> None:
    """Refuse weights smaller than the model: transformers would fill the missing
    ones with random numbers (a 207 KB upload became 1.67 GB that way)."""
    stored = safetensors_parameters(path)
    if stored < declared:
        raise ModelZipError(f"model.safetensors holds {stored:,} numbers but config.json describes a model with "
                            f"{declared:,} parameters; the weights don't belong to this config.")


def sweep_stale_temp_folders(max_age: float = STALE_TEMP_SECONDS) -> int:
    """Remove this module's temp folders left by a process that died mid-load (a
    `finally` can't run in a killed process); returns how many went."""
    removed, cutoff = 0, time.time() - max_age
    for prefix in TEMP_PREFIXES:
        for folder in Path(tempfile.gettempdir()).glob(prefix + "*"):
            try:
                if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            except OSError:
                continue
    return removed


def _read_config(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> dict:
    config = parse_json(read_member(archive, member, member_limit("config.json")), "config.json")
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise ModelZipError("config.json in the zip does not describe a transformers model.")
    if "auto_map" in config:
        raise ModelZipError("This model needs its own Python code to load; only standard models are accepted.")
    return config


def _unpack(archive: zipfile.ZipFile, files: dict[str, zipfile.ZipInfo], folder: Path, max_bytes: int) -> None:
    """Write every member into `folder`, each bounded on its own and all together."""
    total = 0
    for name, member in files.items():
        with open(folder / name, "wb") as dst:
            read_member(archive, member, min(member_limit(name, max_bytes), max_bytes - total), into=dst)
            total += dst.tell()
        if name.endswith(".json") and name not in ("config.json", "labels.json"):
            parse_json((folder / name).read_bytes(), name)  # depth and validity before transformers parses it


def load_model_zip(source: bytes | str | Path | IO[bytes], max_bytes: int = MAX_ZIP_BYTES,
                   max_params: int | None = None):
    """(model, tokenizer, labels) from a zip made by `model_zip_bytes` (or a zipped
    `save_model_folder`). Model in eval mode on the CPU. Raises ModelZipError.
    `max_params`: the parameter budget (default $FB2B_MAX_MODEL_PARAMETERS or 150M)."""
    sweep_stale_temp_folders()
    archive = _open_zip(source)
    with archive:
        files = check_zip(archive, max_bytes)
        config = _read_config(archive, files["config.json"])
        labels = _read_labels(read_member(archive, files["labels.json"], member_limit("labels.json")), config)
        declared = check_model_size(config, max_params)   # before a single weight is allocated
        folder = Path(tempfile.mkdtemp(prefix="ft-upload-"))
        try:
            _unpack(archive, files, folder, max_bytes)
            check_weights_cover(folder / "model.safetensors", declared)
            return load_model_folder(folder, labels)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


# One download zip per live model: every Download click (and every rerun that draws
# the button) would otherwise build another ~84 MB buffer. Keyed by the model
# object and its labels; an entry goes when its model is garbage-collected, and
# at most MAX_CACHED_DOWNLOADS are kept.
MAX_CACHED_DOWNLOADS = 4
_downloads: OrderedDict[tuple[int, tuple[str, ...]], tuple[weakref.ref, bytes]] = OrderedDict()
_downloads_lock = threading.Lock()


def download_zip_bytes(result_or_model, tokenizer=None, labels: Sequence[str] | None = None) -> bytes:
    """`model_zip_bytes`, built once per model: repeated calls for the same model
    (and labels) return the same bytes object."""
    model, tokenizer, labels = _parts(result_or_model, tokenizer, labels)
    key = (id(model), tuple(labels))
    with _downloads_lock:
        cached = _downloads.get(key)
        if cached is not None and cached[0]() is model:
            _downloads.move_to_end(key)
            return cached[1]
    data = model_zip_bytes(model, tokenizer, labels)
    with _downloads_lock:
        _downloads[key] = (weakref.ref(model, lambda ref, key=key: _forget_download(key, ref)), data)
        while len(_downloads) > MAX_CACHED_DOWNLOADS:
            _downloads.popitem(last=False)
    return data


def _forget_download(key, ref) -> None:
    with _downloads_lock:
        if key in _downloads and _downloads[key][0] is ref:  # not a newer model that got the same id
            del _downloads[key]


def load_model_folder(folder, labels: Sequence[str] | None = None):
    """(model, tokenizer, labels) from a folder written by `save_model_folder`
    (the CLI's --output). Weights only from safetensors; no remote code."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    if labels is None:
        try:
            labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ModelZipError(f"{folder} has no readable labels.json; it isn't a model saved by this app.") from None
    if not (folder / "model.safetensors").is_file():
        raise ModelZipError(f"{folder} has no model.safetensors; only safetensors weights are loaded.")
    try:
        model, loading = AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, use_safetensors=True, trust_remote_code=False, output_loading_info=True,
        )
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except Exception as error:  # noqa: BLE001 - any loader failure becomes one sentence
        raise ModelZipError(f"The saved model could not be loaded: {_first_line(error)}.") from None
    missing = list(loading.get("missing_keys") or [])
    if missing:  # transformers filled these with random numbers: not the saved model
        raise ModelZipError(f"The saved model's weights lack {len(missing)} of its parameters "
                            f"(e.g. '{missing[0]}'); it can't be the model that was saved.")
    from core.finetune.pooling import apply_pooling

    apply_pooling(model)   # a model fine-tuned with mean pooling says so in its config.json
    if model.config.num_labels != len(labels):
        raise ModelZipError(
            f"The model has {model.config.num_labels} outputs but {len(labels)} label names."
        )
    return model.eval(), tokenizer, list(labels)
