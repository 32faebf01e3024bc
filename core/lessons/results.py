"""The results file: every experiment's result in one versioned JSON file that
says when, on what machine and with which library versions it was written.
`load_results` refuses a file from another version or a damaged one with a
sentence a person can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.lessons.base import now
from core.lessons.registry import EXPERIMENTS

RESULTS_FORMAT = "fizzbuzz-to-bert/lessons"
# 2: every arm runs over several seeds (mean, `_sd`, `_runs`), lesson 1 judged on
# eval + challenge, the machine's load recorded throughout (machine.load_during).
RESULTS_VERSION = 2
PRECOMPUTED = Path(__file__).resolve().parents[1] / "data" / "lessons" / "precomputed.json"
RECOMPUTE = "Recompute it with `python -m core.lessons run --all --output FILE` (about 10 minutes on an idle 2-core machine)."


class ResultsFileError(ValueError):
    """A results file that can't be used; str(error) says why and what to do."""


@dataclass
class ResultsFile:
    """What a results file holds: when and where it was written, and one result per experiment."""

    created: str
    machine: dict
    results: dict[str, dict]
    note: str = ""
    versions: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format": RESULTS_FORMAT, "version": RESULTS_VERSION, "created": self.created,
                "machine": self.machine, "versions": self.versions, "note": self.note,
                "results": self.results}


def new_results(results: dict[str, dict] | None = None, note: str = "") -> ResultsFile:
    from core import hardware

    return ResultsFile(created=now(), machine=hardware.machine_description(),
                       results=dict(results or {}), note=note, versions=_library_versions())


def _library_versions() -> dict:
    """Versions of the libraries that computed the numbers (read without importing them)."""
    from importlib import metadata

    found = {}
    for name in ("torch", "transformers", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            pass
    return found


def save_results(results: ResultsFile, path) -> Path:
    """Write atomically (a temporary file, then rename): a crash can't leave half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(results.to_json(), indent=1, allow_nan=False) + "\n")
    temporary.replace(path)
    return path


# A results file for all seven lessons is about 60 KB; a bigger one is not ours.
MAX_RESULTS_MB = 5


def load_results(source) -> ResultsFile:
    """Read and check a results file (a path, or the bytes/str of an upload).

    Raises ResultsFileError with what is wrong and what to do: not JSON, not a
    lessons file, written by another version, or missing parts.
    """
    name = "The results file"
    try:
        if isinstance(source, (str, Path)) and not str(source).lstrip().startswith("{"):
            path = Path(source)
            name = f"'{path.name}'"
            if not path.exists():
                raise ResultsFileError(f"{name} does not exist.")
            text = path.read_text(encoding="utf-8")
        elif isinstance(source, bytes):
            if len(source) > MAX_RESULTS_MB * 1024 * 1024:
                raise ResultsFileError(f"{name} is {len(source) / 1e6:.0f} MB; a lessons results file "
                                       f"is at most {MAX_RESULTS_MB} MB.")
            text = source.decode("utf-8")
        else:
            text = str(source)
        document = json.loads(text)
    except ResultsFileError:
        raise
    except UnicodeDecodeError:
        raise ResultsFileError(f"{name} is not a text file; a results file is JSON.") from None
    except json.JSONDecodeError as error:
        raise ResultsFileError(
            f"{name} is damaged: it is not valid JSON (line {error.lineno}, column {error.colno}). " + RECOMPUTE
        ) from None
    except OSError as error:
        raise ResultsFileError(f"{name} could not be read: {error.strerror or error}.") from None
    return _validated(document, name)


def _validated(document, name: str) -> ResultsFile:
    if not isinstance(document, dict) or document.get("format") != RESULTS_FORMAT:
        raise ResultsFileError(f"{name} is not a lessons results file (it has no '{RESULTS_FORMAT}' marker).")
    version = document.get("version")
    if version != RESULTS_VERSION:
        raise ResultsFileError(
            f"{name} was written in format version {version}; this app reads version {RESULTS_VERSION}. "
            + RECOMPUTE)
    results = document.get("results")
    if not isinstance(results, dict):
        raise ResultsFileError(f"{name} is damaged: it has no 'results' section. " + RECOMPUTE)
    for key, result in results.items():
        if key not in EXPERIMENTS:
            raise ResultsFileError(f"{name} has results for an unknown experiment '{key}'. " + RECOMPUTE)
        problem = _result_problem(key, result)
        if problem:
            raise ResultsFileError(f"{name} is damaged: the '{key}' result {problem}. " + RECOMPUTE)
    return ResultsFile(created=str(document.get("created", "?")), machine=dict(document.get("machine") or {}),
                       results=results, note=str(document.get("note", "")),
                       versions=dict(document.get("versions") or {}))


def _result_problem(key: str, result) -> str | None:
    """What is missing from one experiment's result, or None if it has the right shape."""
    if not isinstance(result, dict):
        return "is not a table of values"
    for part in ("experiment", "settings", "data", "seconds"):
        if part not in result:
            return f"has no '{part}'"
    if result["experiment"] != key:
        return f"is filed under the wrong name ('{result['experiment']}')"
    if not isinstance(result["data"], dict):
        return "has no data table"
    for part in EXPERIMENTS[key].required:
        if not isinstance(result["data"].get(part), list):
            return f"has no '{part}' list"
    return None


def merged(existing: ResultsFile | None, new: dict[str, dict]) -> ResultsFile:
    """Add newly computed results to a file's, replacing those experiments only.
    The file keeps its own when/where; every result also carries its own."""
    if existing is None:
        return new_results(new)
    combined = dict(existing.results)
    combined.update(new)
    return ResultsFile(created=existing.created, machine=existing.machine, results=combined,
                       note=existing.note, versions=existing.versions)


def load_precomputed() -> ResultsFile:
    """The results shipped with the app (core/data/lessons/precomputed.json)."""
    return load_results(PRECOMPUTED)
