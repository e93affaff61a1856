"""Check values on disk: the reference store and the records of one notebook run.

Both use one plain format, written with ``np.save(..., allow_pickle=False)`` and JSON, never
pickle, so a grader can read what a student's process wrote without running any of its code:

    <dir>/records.jsonl        one JSON object a line: {"key", "kind", "file", "cell"}
    <dir>/values/000000.npy    the value of that line

A reference store (read with ``read_reference``) adds, beside those:

    <dir>/signatures.json      {graded name: [its parameter names]}, for raises checks
    <dir>/mistakes/catalogue.json          [{"id", "function", "what", "advice"}, ...]
    <dir>/mistakes/<id>/records.jsonl ...  what that mistake produces, on the checks where it
                                           differs from the reference (same format)

A check key reads ``<grade_id>/<name>``: the grade cell that made it, then a name for the case.
``cell`` is the execution count of the notebook cell that was running when the value was
recorded (None outside IPython), so the grader counts only values recorded by the test cell
itself, not by a student's own copy of it.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECORDS_FILE = "records.jsonl"
VALUES_DIR = "values"
KINDS = ("close", "equal", "raises")
KEY_PATTERN = re.compile(r"^test_[A-Za-z0-9_]+/[A-Za-z0-9_.\-]+$")
_FILE_PATTERN = re.compile(r"^\d{6}\.npy$")

# Limits on what a (possibly hostile) run may make the grader read.
MAX_RECORDS = 10_000
MAX_RECORDS_FILE_BYTES = 4 * 2**20
MAX_VALUE_BYTES = 16 * 2**20


class StoreError(ValueError):
    """A store or records folder that cannot be read as written by this module."""


@dataclass(frozen=True)
class Record:
    """One recorded check value."""

    key: str
    kind: str
    value: np.ndarray
    cell_count: int | None = None  # execution count of the cell that recorded it

    @property
    def cell(self) -> str:
        """The grade_id of the test cell that recorded this value."""
        return cell_of(self.key)


def cell_of(key: str) -> str:
    """The grade cell a check key belongs to: the part before the first '/'."""
    return key.split("/", 1)[0]


def validate_key(key: str) -> str:
    """Return ``key`` if it reads ``test_<name>/<case>``, else raise ValueError naming it."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(
            f"check key {key!r} must look like 'test_<name>/<case>' "
            "(the test cell's grade_id, a slash, then letters, digits, '_', '.' or '-')"
        )
    return key


def as_array(value: object) -> np.ndarray:
    """Turn a result (numpy array, number, string, torch tensor, nested list) into a plain array.

    Anything that does not become a numeric, boolean or string array becomes a string that
    describes it, so the comparison fails with a readable reason instead of crashing.
    """
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and other odd objects
        return np.asarray(f"<not an array: {type(value).__name__} ({error})>")
    if array.dtype.kind not in "biufcU":
        return np.asarray(f"<not an array of numbers: {type(value).__name__}>")
    return array


class RecordWriter:
    """Appends check values to a records folder (used inside the notebook's process)."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        (self.folder / VALUES_DIR).mkdir(parents=True, exist_ok=True)
        self._count = sum(1 for _ in (self.folder / VALUES_DIR).glob("*.npy"))

    def write(self, key: str, kind: str, value: object, cell_count: int | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        name = f"{self._count:06d}.npy"
        self._count += 1
        np.save(self.folder / VALUES_DIR / name, as_array(value), allow_pickle=False)
        line = json.dumps({"key": key, "kind": kind, "file": name, "cell": cell_count})
        with open(self.folder / RECORDS_FILE, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def read_records(folder: Path | str) -> list[Record]:
    """Read a records folder defensively: bounded sizes, no pickle, malformed lines rejected.

    A missing folder or file means nothing was recorded (an empty list).
    """
    folder = Path(folder)
    path = folder / RECORDS_FILE
    for part in (folder, path, folder / VALUES_DIR):
        if part.is_symlink():
            raise StoreError(f"{part} is a symbolic link")
    if not path.is_file():
        return []
    if path.stat().st_size > MAX_RECORDS_FILE_BYTES:
        raise StoreError(f"{path} is larger than {MAX_RECORDS_FILE_BYTES} bytes")
    records = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if number > MAX_RECORDS:
                raise StoreError(f"{path}: more than {MAX_RECORDS} records")
            records.append(_read_record(folder, path, number, line))
    return records


def _read_record(folder: Path, path: Path, number: int, line: str) -> Record:
    try:
        entry = json.loads(line)
        key, kind, name, cell = entry["key"], entry["kind"], entry["file"], entry.get("cell")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StoreError(f"{path}:{number}: not a record line ({error})") from None
    if not isinstance(key, str) or kind not in KINDS or not isinstance(name, str):
        raise StoreError(f"{path}:{number}: malformed record")
    if cell is not None and (type(cell) is not int):
        raise StoreError(f"{path}:{number}: malformed cell number")
    if not _FILE_PATTERN.match(name):
        raise StoreError(f"{path}:{number}: bad value file name {name!r}")
    value_path = folder / VALUES_DIR / name
    if value_path.is_symlink() or not value_path.is_file():
        raise StoreError(f"{path}:{number}: value file {name} is missing")
    if value_path.stat().st_size > MAX_VALUE_BYTES:
        raise StoreError(f"{path}:{number}: value file {name} is larger than {MAX_VALUE_BYTES}")
    try:
        value = np.load(value_path, allow_pickle=False)
    except Exception as error:
        raise StoreError(f"{path}:{number}: cannot read {name} ({error})") from None
    return Record(key=key, kind=kind, value=value, cell_count=cell)


def write_store(folder: Path | str, records: list[Record]) -> None:
    """Write ``records`` as a clean reference store (replacing what was there), sorted by key.
    A store does not keep the cell numbers of the run that made it."""
    folder = Path(folder)
    if (folder / VALUES_DIR).exists():
        for old in (folder / VALUES_DIR).glob("*.npy"):
            old.unlink()
    if (folder / RECORDS_FILE).exists():
        (folder / RECORDS_FILE).unlink()
    writer = RecordWriter(folder)
    for record in sorted(records, key=lambda r: r.key):
        writer.write(record.key, record.kind, record.value)


def read_store(folder: Path | str) -> dict[str, Record]:
    """Read a reference store: one record per key."""
    store: dict[str, Record] = {}
    for record in read_records(folder):
        if record.key in store:
            raise StoreError(f"{folder}: check {record.key} appears twice")
        store[record.key] = record
    return store


# ---------------------------------------------------------------- reference sets

SIGNATURES_FILE = "signatures.json"
MISTAKES_DIR = "mistakes"
CATALOGUE_FILE = "catalogue.json"
_MISTAKE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class MistakeValues:
    """A catalogued mistake and the values it produces where it differs from the reference."""

    id: str
    function: str
    what: str
    advice: str
    values: dict[str, Record]


@dataclass(frozen=True)
class ReferenceSet:
    """Everything a check is judged against: reference values, the graded functions'
    parameters (for raises checks) and the catalogued mistakes' values."""

    checks: dict[str, Record]
    signatures: dict[str, list[str]]
    mistakes: list[MistakeValues]


def _read_json(path: Path, default: object) -> object:
    if path.is_symlink():
        raise StoreError(f"{path} is a symbolic link")
    if not path.is_file():
        return default
    if path.stat().st_size > MAX_RECORDS_FILE_BYTES:
        raise StoreError(f"{path} is larger than {MAX_RECORDS_FILE_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise StoreError(f"{path}: not JSON ({error})") from None


def read_reference(folder: Path | str) -> ReferenceSet:
    """Read a reference store with its signatures and mistakes (both optional)."""
    folder = Path(folder)
    signatures = _read_json(folder / SIGNATURES_FILE, {})
    if not isinstance(signatures, dict) or not all(
        isinstance(v, list) and all(isinstance(p, str) for p in v) for v in signatures.values()
    ):
        raise StoreError(f"{folder / SIGNATURES_FILE}: malformed")
    catalogue = _read_json(folder / MISTAKES_DIR / CATALOGUE_FILE, [])
    mistakes = []
    for entry in catalogue if isinstance(catalogue, list) else [None]:
        try:
            info = {name: str(entry[name]) for name in ("id", "function", "what", "advice")}
        except (TypeError, KeyError):
            raise StoreError(f"{folder / MISTAKES_DIR / CATALOGUE_FILE}: malformed") from None
        if not _MISTAKE_ID.match(info["id"]):
            raise StoreError(f"bad mistake id {info['id']!r}")
        values = read_store(folder / MISTAKES_DIR / info["id"])
        mistakes.append(MistakeValues(**info, values=values))
    return ReferenceSet(read_store(folder), signatures, mistakes)


def write_reference(
    folder: Path | str,
    records: list[Record],
    signatures: dict[str, list[str]],
    mistakes: list[MistakeValues],
) -> None:
    """Write a complete reference store (replacing what was there)."""
    folder = Path(folder)
    write_store(folder, records)
    (folder / SIGNATURES_FILE).write_text(json.dumps(signatures, indent=1) + "\n")
    root = folder / MISTAKES_DIR
    if root.exists():
        shutil.rmtree(root)
    if not mistakes:
        return
    root.mkdir(parents=True, exist_ok=True)
    catalogue = [
        {"id": m.id, "function": m.function, "what": m.what, "advice": m.advice} for m in mistakes
    ]
    (root / CATALOGUE_FILE).write_text(json.dumps(catalogue, indent=1) + "\n")
    for mistake in mistakes:
        write_store(root / mistake.id, list(mistake.values.values()))
