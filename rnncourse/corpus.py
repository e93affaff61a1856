"""Text corpora for the language-model chapter (chapter 8), offline and online.

- ``python_reference_prose``: the course's default corpus, about 240,000 characters of English
  prose that every Python installation carries: the topics of the *Python Language Reference*
  that ``help("if")``, ``help("assignment")``, ... print, stored in the standard-library module
  ``pydoc_data.topics``. Only the prose paragraphs are kept (grammar rules, code examples and
  tables are indented or framed, and dropped). The text depends on the Python version, never on
  the network; nothing is copied into the repository.
- ``download``: fetch a file once into a local cache folder and verify its SHA-1 or SHA-256.
- ``time_machine``: *The Time Machine* by H. G. Wells (public domain), the corpus of the d2l
  book, downloaded from d2l's server with ``download`` for readers who are online.
- ``split_by_position``: a train/validation split that keeps the order of the text.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "TIME_MACHINE_SHA1",
    "TIME_MACHINE_URL",
    "ChecksumError",
    "DownloadError",
    "default_cache_dir",
    "download",
    "file_digest",
    "python_reference_prose",
    "split_by_position",
    "time_machine",
]

#: Where the d2l book serves *The Time Machine* (plain text).
TIME_MACHINE_URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
#: Its SHA-1, as published in the d2l book's ``DATA_HUB['time_machine']``.
TIME_MACHINE_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"

_UNDERLINE = re.compile(r"[*=\-^~#]+")


class ChecksumError(ValueError):
    """A downloaded or cached file does not have the expected checksum."""


class DownloadError(OSError):
    """A file could not be downloaded (no network, server down, wrong URL)."""


def python_reference_prose() -> str:
    """English prose from the Python Language Reference shipped with Python (no network).

    ``pydoc_data.topics.topics`` maps each help topic (``"if"``, ``"assignment"``, ...) to its
    text. Topics are taken in sorted order and split into paragraphs at blank lines; a paragraph
    is kept when none of its lines is indented (indented blocks are grammar rules and code) and
    none starts with ``+`` or ``|`` (tables), and it does not end in a line of ``*``, ``=``,
    ``-``, ... (a heading's underline, or a separator). The lines of a paragraph are joined with
    single spaces and paragraphs are separated by a blank line.
    """

    from pydoc_data.topics import topics

    paragraphs = []
    for name in sorted(topics):
        for block in re.split(r"\n[ \t]*\n", topics[name]):
            lines = [line.rstrip() for line in block.strip("\n").split("\n")]
            if not any(lines) or any(line[:1] in (" ", "\t", "+", "|") for line in lines):
                continue
            if _UNDERLINE.fullmatch(lines[-1]):
                continue  # a heading (text underlined) or a separator line
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def split_by_position(sequence: Sequence, valid_fraction: float = 0.1) -> tuple:
    """Split ``sequence`` into its first part (training) and its last part (validation).

    The validation part holds the last ``round(valid_fraction * len(sequence))`` items. Splitting
    by position (not at random) keeps both parts contiguous text, so that no training window
    overlaps a validation window.
    """
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must lie strictly between 0 and 1, got {valid_fraction}")
    n_valid = round(valid_fraction * len(sequence))
    if n_valid < 1 or n_valid >= len(sequence):
        raise ValueError(
            f"sequence of length {len(sequence)} is too short to split with "
            f"valid_fraction={valid_fraction}"
        )
    cut = len(sequence) - n_valid
    return sequence[:cut], sequence[cut:]


def default_cache_dir() -> Path:
    """The download cache: ``$RNNCOURSE_DATA`` if set, else ``~/.cache/rnncourse``."""
    folder = os.environ.get("RNNCOURSE_DATA")
    return Path(folder) if folder else Path.home() / ".cache" / "rnncourse"


def file_digest(path: Path | str, algorithm: str) -> str:
    """The hex digest of a file's bytes with ``algorithm`` (``"sha1"`` or ``"sha256"``)."""
    if algorithm not in ("sha1", "sha256"):
        raise ValueError(f"algorithm must be 'sha1' or 'sha256', got {algorithm!r}")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_digest(sha1: str | None, sha256: str | None) -> tuple[str, str] | None:
    if sha1 is not None and sha256 is not None:
        raise ValueError("sha1 and sha256: give at most one expected checksum")
    for algorithm, value, length in (("sha1", sha1, 40), ("sha256", sha256, 64)):
        if value is not None:
            value = value.strip().lower()
            if not re.fullmatch(rf"[0-9a-f]{{{length}}}", value):
                raise ValueError(f"{algorithm} must be {length} hex digits, got {value!r}")
            return algorithm, value
    return None


def download(
    url: str,
    cache_dir: Path | str | None = None,
    *,
    sha1: str | None = None,
    sha256: str | None = None,
    filename: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` into ``cache_dir`` once and return the local path.

    If the file is already in the cache and matches the expected checksum (``sha1`` or
    ``sha256``, hex digits; with neither, any cached copy is accepted), nothing is downloaded.
    Otherwise the file is fetched into a temporary file, verified, and only then moved into the
    cache, so a failed or corrupt download never leaves a file behind.

    Raises :class:`DownloadError` when the URL cannot be fetched (no network, server down) and
    :class:`ChecksumError` when the downloaded bytes do not have the expected checksum.
    """
    expected = _expected_digest(sha1, sha256)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = filename or Path(urllib.request.url2pathname(url.split("?")[0])).name
    if not name:
        raise ValueError(f"url {url!r} does not end in a file name: pass filename=")
    target = folder / name
    if target.is_file() and (expected is None or file_digest(target, expected[0]) == expected[1]):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    os.close(handle)
    try:
        try:
            with (
                urllib.request.urlopen(url, timeout=timeout) as response,
                open(temporary, "wb") as file,
            ):
                shutil.copyfileobj(response, file)
        except (urllib.error.URLError, OSError) as error:
            raise DownloadError(
                f"could not download {url} ({error}). Are you offline? You can also fetch the "
                f"file by other means and put it at {target}."
            ) from error
        if expected is not None:
            algorithm, value = expected
            actual = file_digest(temporary, algorithm)
            if actual != value:
                raise ChecksumError(
                    f"{url}: {algorithm} checksum mismatch: expected {value}, got {actual}. "
                    "The download is corrupt or the file on the server has changed; "
                    "nothing was saved."
                )
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return target


def time_machine(
    cache_dir: Path | str | None = None,
    *,
    url: str = TIME_MACHINE_URL,
    sha1: str | None = TIME_MACHINE_SHA1,
    sha256: str | None = None,
) -> str:
    """The text of *The Time Machine* (H. G. Wells), downloaded once from d2l's server.

    The file is checked against ``sha1`` (d2l's published SHA-1 by default) or, if you pass
    ``sha256``, against that instead. It needs the network the first time only; the
    book itself never calls this (it builds offline with :func:`python_reference_prose`).
    """
    if sha256 is not None:
        sha1 = None
    path = download(url, cache_dir, sha1=sha1, sha256=sha256, filename="timemachine.txt")
    return path.read_text(encoding="utf-8")
