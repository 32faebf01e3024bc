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
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Sequence

MAX_ZIP_BYTES = 400 * 1024 * 1024        # uncompressed; the bundled model is ~95 MB
MAX_MEMBERS = 50
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
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise ModelZipError("That file is not a zip archive (or it is damaged).") from None
    except Exception as error:  # noqa: BLE001 - unreadable upload objects
        raise ModelZipError(f"That file could not be read as a zip archive: {error}.") from None


def check_zip(archive: zipfile.ZipFile, max_bytes: int = MAX_ZIP_BYTES) -> dict[str, zipfile.ZipInfo]:
    """Validate every member before extracting anything; returns {file name: member}.
    Files may sit at the top level or inside one folder (a zipped folder)."""
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
    try:
        labels = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelZipError("labels.json in the zip is not valid JSON.") from None
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


def load_model_zip(source: bytes | str | Path | IO[bytes], max_bytes: int = MAX_ZIP_BYTES):
    """(model, tokenizer, labels) from a zip made by `model_zip_bytes` (or a zipped
    `save_model_folder`). Model in eval mode on the CPU. Raises ModelZipError."""
    archive = _open_zip(source)
    with archive:
        files = check_zip(archive, max_bytes)
        try:
            config = json.loads(archive.read(files["config.json"]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelZipError("config.json in the zip is not valid JSON.") from None
        if not isinstance(config, dict) or "model_type" not in config:
            raise ModelZipError("config.json in the zip does not describe a transformers model.")
        if "auto_map" in config:
            raise ModelZipError("This model needs its own Python code to load; only standard models are accepted.")
        labels = _read_labels(archive.read(files["labels.json"]), config)
        folder = Path(tempfile.mkdtemp(prefix="ft-upload-"))
        try:
            for name, member in files.items():
                with archive.open(member) as src, open(folder / name, "wb") as dst:
                    # Copy at most the declared size: a lying header can't inflate past it.
                    dst.write(src.read(member.file_size + 1)[: member.file_size])
            return load_model_folder(folder, labels)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


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
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, use_safetensors=True, trust_remote_code=False,
        )
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except Exception as error:  # noqa: BLE001 - any loader failure becomes one sentence
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelZipError(f"The saved model could not be loaded: {first_line}") from None
    from core.finetune.pooling import apply_pooling

    apply_pooling(model)   # a model fine-tuned with mean pooling says so in its config.json
    if model.config.num_labels != len(labels):
        raise ModelZipError(
            f"The model has {model.config.num_labels} outputs but {len(labels)} label names."
        )
    return model.eval(), tokenizer, list(labels)
