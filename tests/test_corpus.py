"""rnncourse.corpus: the offline corpus, the position split, and the checked download.

Downloads are tested against a local HTTP server on 127.0.0.1 started here, never the internet.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from functools import partial

import pytest

from rnncourse.corpus import (
    TIME_MACHINE_SHA1,
    TIME_MACHINE_URL,
    ChecksumError,
    DownloadError,
    download,
    file_digest,
    python_reference_prose,
    split_by_position,
    time_machine,
)

PAYLOAD = b"The Time Traveller (for so it will be convenient to speak of him)\n" * 50


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A local HTTP server serving PAYLOAD as /timemachine.txt; yields its base URL."""
    root = tmp_path_factory.mktemp("www")
    (root / "timemachine.txt").write_bytes(PAYLOAD)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is


def test_python_reference_prose_is_large_english_prose():
    text = python_reference_prose()
    assert len(text) > 150_000
    assert text == python_reference_prose()  # deterministic
    words = text.lower().split()
    assert words.count("the") > 1000
    paragraphs = text.split("\n\n")
    assert all(p and not p.startswith((" ", "+", "|")) for p in paragraphs)
    assert not any(set(p) <= set("*=-^~# ") for p in paragraphs)  # no heading underlines


def test_split_by_position_keeps_order_and_sizes():
    data = list(range(100))
    train, valid = split_by_position(data, 0.1)
    assert train == list(range(90)) and valid == list(range(90, 100))
    train, valid = split_by_position("abcdefghij", 0.25)
    assert (train, valid) == ("abcdefgh", "ij")


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_by_position_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="valid_fraction"):
        split_by_position(list(range(10)), fraction)


def test_split_by_position_rejects_too_short_sequences():
    with pytest.raises(ValueError, match="too short"):
        split_by_position([1, 2], 0.1)


def test_download_verifies_sha1_and_sha256_and_caches(server, tmp_path):
    url = f"{server}/timemachine.txt"
    sha1 = hashlib.sha1(PAYLOAD).hexdigest()
    path = download(url, tmp_path, sha1=sha1)
    assert path == tmp_path / "timemachine.txt"
    assert path.read_bytes() == PAYLOAD
    assert file_digest(path, "sha1") == sha1
    # Cached: a second call does not need the server (an unreachable URL with the same name).
    dead = f"http://127.0.0.1:{closed_port()}/timemachine.txt"
    assert download(dead, tmp_path, sha1=sha1) == path
    other = tmp_path / "other"
    sha256 = hashlib.sha256(PAYLOAD).hexdigest()
    assert download(url, other, sha256=sha256.upper()).read_bytes() == PAYLOAD
    assert list(other.iterdir()) == [other / "timemachine.txt"]  # no temporary file left


def test_download_with_a_wrong_checksum_fails_clearly_and_saves_nothing(server, tmp_path):
    url = f"{server}/timemachine.txt"
    with pytest.raises(ChecksumError, match="sha1 checksum mismatch") as info:
        download(url, tmp_path, sha1=TIME_MACHINE_SHA1)
    assert TIME_MACHINE_SHA1 in str(info.value)
    assert hashlib.sha1(PAYLOAD).hexdigest() in str(info.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ChecksumError, match="sha256"):
        download(url, tmp_path, sha256="0" * 64)
    assert isinstance(info.value, ValueError)


def test_a_corrupt_cached_file_is_downloaded_again(server, tmp_path):
    (tmp_path / "timemachine.txt").write_bytes(b"truncated")
    sha1 = hashlib.sha1(PAYLOAD).hexdigest()
    path = download(f"{server}/timemachine.txt", tmp_path, sha1=sha1)
    assert path.read_bytes() == PAYLOAD


def test_download_from_an_unreachable_server_raises_download_error(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/timemachine.txt"
    with pytest.raises(DownloadError, match="could not download") as info:
        download(url, tmp_path, sha1=TIME_MACHINE_SHA1, timeout=5)
    assert "offline" in str(info.value)
    assert str(tmp_path / "timemachine.txt") in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_download_of_a_missing_file_raises_download_error(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(f"{server}/missing.txt", tmp_path)


def test_download_from_a_file_url(tmp_path):
    source = tmp_path / "src" / "corpus.txt"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    path = download(source.as_uri(), tmp_path / "cache", sha1=hashlib.sha1(PAYLOAD).hexdigest())
    assert path.read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sha1": "xyz"}, "sha1"),
        ({"sha256": "ab"}, "sha256"),
        ({"sha1": "0" * 40, "sha256": "0" * 64}, "sha1"),
    ],
)
def test_download_rejects_malformed_checksums(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        download("http://127.0.0.1:1/x.txt", tmp_path, **kwargs)


def test_time_machine_uses_the_cache_and_the_given_checksum(server, tmp_path, monkeypatch):
    url = f"{server}/timemachine.txt"
    assert TIME_MACHINE_URL.endswith("/timemachine.txt")
    text = time_machine(tmp_path, url=url, sha1=hashlib.sha1(PAYLOAD).hexdigest())
    assert text == PAYLOAD.decode()
    text = time_machine(tmp_path, url=url, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert text == PAYLOAD.decode()
    # The default checksum is d2l's, which this payload does not have.
    with pytest.raises(ChecksumError):
        time_machine(tmp_path / "fresh", url=url)
    # The cache folder defaults to $RNNCOURSE_DATA.
    monkeypatch.setenv("RNNCOURSE_DATA", str(tmp_path / "env"))
    time_machine(url=url, sha1=None)
    assert (tmp_path / "env" / "timemachine.txt").read_bytes() == PAYLOAD
