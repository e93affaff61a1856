"""A throwaway PostgreSQL server for tests that need a real database (e.g. nbgrader's gradebook).

Usage in a test module (pytest finds a fixture that a test module imports)::

    from tests.postgres import postgres_url_factory  # noqa: F401  (a fixture, used by name)

    def test_something(postgres_url_factory):  # noqa: F811
        url = postgres_url_factory()  # a fresh, empty database; the server is shared
        with Gradebook(url) as gradebook:
            ...

``postgres_url_factory`` is session-scoped: the first test that asks for it starts one server (about
a second) and every call returns the SQLAlchemy URL of a new, empty database on it, so tests stay
independent without paying for a server each. Tests that use it are skipped when PostgreSQL is not
installed, and fail instead when the environment variable ``CI`` is set (CI installs it).

Without pytest, or for a server of your own::

    with postgres_server(tmp_path) as url:  # postgresql+psycopg2://postgres@127.0.0.1:PORT/gradebook
        other_url = create_database(url, "second")

The server listens on 127.0.0.1 only, on a free port, trusts every local connection (no
password), runs with fsync off, and keeps its data and Unix socket in its own temporary directory.
Leaving the ``with`` block, even by an exception, stops it and deletes that directory; an ``atexit``
hook does the same for servers still running when Python exits (e.g. after Ctrl-C), and a small
watchdog process does it when Python is killed (SIGTERM, SIGKILL) and cannot clean up itself.
Each pytest-xdist worker starts its own server, in its own directory and on its own port.

PostgreSQL refuses to run as root, so when we are root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy.engine import URL, make_url

NOT_INSTALLED = "PostgreSQL is not installed (apt-get install postgresql)"
HOST = "127.0.0.1"
SUPERUSER = "postgres"  # the role initdb creates, whatever the operating-system user is
DEFAULT_DATABASE = "gradebook"
TOOLS = ("initdb", "pg_ctl", "postgres")
START_TIMEOUT_S = 60
START_ATTEMPTS = 3  # another process may grab the free port between our probe and the bind
# Immediate mode: the data is thrown away, so skip the clean shutdown and its checkpoint.
STOP_ARGUMENTS = ("--mode", "immediate", "--wait", "--timeout", "30", "stop")
# A Unix socket path holds at most 107 bytes: BASE/postgres-XXXXXXXX/.s.PGSQL.NNNNN must fit.
MAX_BASE_LENGTH = 70
DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
SERVER_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",  # a throwaway cluster need not survive a power cut
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
}


def find_postgres_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when they are not installed."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:  # libpq-dev's pg_config also answers when only the client is installed
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(result.stdout.strip())
    newest_first = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: [int(number) for number in re.findall(r"\d+", path)],
        reverse=True,
    )
    candidates += newest_first
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(str(Path(initdb_on_path).parent))
    for candidate in candidates:
        if candidate and all((Path(candidate) / tool).is_file() for tool in TOOLS):
            return Path(candidate)
    return None


def require_postgres() -> Path:
    """The PostgreSQL bindir; skips the calling test without one (fails it when CI is set)."""
    bindir = find_postgres_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have PostgreSQL: {NOT_INSTALLED}")
        pytest.skip(NOT_INSTALLED)
    return bindir


@dataclass
class _Server:
    """Where one server keeps its files, the user (None: ourselves) that runs it, and the
    watchdog that cleans up should we die without doing it ourselves."""

    bindir: Path
    root: Path  # everything below is deleted on stop; also the Unix socket directory
    user: pwd.struct_passwd | None
    watchdog: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"


def _server_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: then run it as `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, but there is no `postgres` user to run PostgreSQL as")


def _reachable_by_others(path: Path) -> bool:
    """Whether another user may enter `path` (pytest's own temp dirs are private, mode 0700)."""
    return all(part.stat().st_mode & 0o001 for part in (path, *path.parents))


def _make_root(tmp: Path, user: pwd.struct_passwd | None) -> Path:
    """A fresh private directory for one server: inside `tmp` when the server user can reach it
    and the socket path stays short enough, otherwise in the system's temporary directory."""
    base = tmp.resolve()
    unreachable = user is not None and not _reachable_by_others(base)
    if unreachable or len(str(base)) > MAX_BASE_LENGTH:
        base = Path(tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="postgres-", dir=base))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    return root


def _command(server: _Server, tool: str, *args: str) -> tuple[list[str], dict[str, Any]]:
    """The arguments and subprocess options that run a PostgreSQL program as the server user,
    without our PG* variables leaking in (both JSON-serialisable, for the watchdog)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    options: dict[str, Any] = {"cwd": str(server.root), "env": environment}
    if server.user is not None:
        environment |= {"HOME": str(server.root), "USER": server.user.pw_name}
        options |= {"user": server.user.pw_uid, "group": server.user.pw_gid, "extra_groups": []}
    return [str(server.bindir / tool), *args], options


def _run(server: _Server, tool: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    arguments, options = _command(server, tool, *args)
    return subprocess.run(
        arguments, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
        **options,
    )  # fmt: skip


# The watchdog runs in a session of its own, so that Ctrl-C does not reach it. It reads its job,
# then waits for the end of its stdin, which comes when we close the pipe after stopping the
# server or when we die in any way; it then stops the server if it still runs and deletes its files.
WATCHDOG = """
import json, os, shutil, subprocess, sys
arguments, options, pid_file, root = json.loads(sys.stdin.readline())
sys.stdin.read()
if os.path.exists(pid_file):
    subprocess.run(arguments, **options, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
shutil.rmtree(root, ignore_errors=True)
"""


def _start_watchdog(server: _Server) -> subprocess.Popen:
    arguments, options = _command(server, "pg_ctl", "--pgdata", str(server.data), *STOP_ARGUMENTS)
    watchdog = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", WATCHDOG],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, text=True,
    )  # fmt: skip
    # Through the pipe rather than argv, so that our environment does not show in `ps`.
    job = [arguments, options, str(server.data / "postmaster.pid"), str(server.root)]
    watchdog.stdin.write(json.dumps(job) + "\n")
    watchdog.stdin.flush()
    return watchdog


def _initdb(server: _Server) -> None:
    result = _run(
        server, "initdb", "--pgdata", str(server.data), "--username", SUPERUSER,
        "--auth", "trust", "--encoding", "UTF8", "--no-locale", "--no-sync", "--no-instructions",
        timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
    # Trust is safe only because nothing but this machine's loopback and our socket may connect.
    hba = f"local all all trust\nhost all all {HOST}/32 trust\n"
    (server.data / "pg_hba.conf").write_text(hba)
    settings = SERVER_SETTINGS | {"unix_socket_directories": f"'{server.root}'"}
    with (server.data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _start(server: _Server) -> int:
    """Start the server on a free port and return the port once it accepts connections."""
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        result = _run(
            server, "pg_ctl", "--pgdata", str(server.data), "--log", str(server.log),
            "--options", f"-p {port}", "--wait", "--timeout", str(START_TIMEOUT_S), "start",
            timeout=START_TIMEOUT_S + 30,
        )  # fmt: skip
        if result.returncode == 0:
            return port
        log = server.log.read_text() if server.log.exists() else ""
        if "Address already in use" not in log:
            break
    raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}\n{result.stderr}\n{log}")


def _kill_postmaster(data: Path) -> None:
    """Last resort when pg_ctl cannot stop the server: kill the postmaster named in its pid file
    (only if that process really is a postgres running on this data directory)."""
    with contextlib.suppress(OSError, ValueError):
        pid = int((data / "postmaster.pid").read_text().split()[0])
        if str(data).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)


def _stop(server: _Server) -> None:
    """Stop the server at once, delete its directory, then dismiss its watchdog."""
    if (server.data / "postmaster.pid").exists():
        try:
            stop = ("pg_ctl", "--pgdata", str(server.data), *STOP_ARGUMENTS)
            stopped = _run(server, *stop, timeout=60).returncode == 0
        except subprocess.TimeoutExpired:
            stopped = False
        if not stopped:
            _kill_postmaster(server.data)
    shutil.rmtree(server.root, ignore_errors=True)
    if server.watchdog is not None:
        server.watchdog.stdin.close()  # the watchdog finds nothing left to do and exits
        # ...unless a forked child of ours still holds the pipe: then it exits after that child.
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.watchdog.wait(timeout=5)


_running: dict[Path, _Server] = {}  # servers that the atexit hook must still stop


@atexit.register
def _stop_leftover_servers() -> None:
    for server in list(_running.values()):
        _stop(server)
    _running.clear()


def _url(port: int, database: str) -> str:
    url = URL.create("postgresql+psycopg2", username=SUPERUSER, host=HOST, port=port,
                     database=database)  # fmt: skip
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_server(tmp: Path, database: str = DEFAULT_DATABASE) -> Iterator[str]:
    """Start a throwaway PostgreSQL server and yield the SQLAlchemy URL of its (empty) database
    `database`; stop the server and delete its files on exit. `tmp` is where its files go when
    the server's user can reach it (else the system's temporary directory is used).

    Raises RuntimeError when PostgreSQL is not installed or does not start.
    """
    bindir = find_postgres_bindir()
    if bindir is None:
        raise RuntimeError(NOT_INSTALLED)
    user = _server_user()
    server = _Server(bindir=bindir, root=_make_root(tmp, user), user=user)
    # Registered before anything runs, so that even an interrupted start is cleaned up.
    _running[server.root] = server
    try:
        server.watchdog = _start_watchdog(server)
        _initdb(server)
        port = _start(server)
        yield create_database(_url(port, "postgres"), database)
    finally:
        _stop(server)
        _running.pop(server.root, None)


def create_database(url_or_server: str | URL, name: str) -> str:
    """Create the empty database `name` on the server of `url_or_server` (the URL of any database
    on it) and return the new database's SQLAlchemy URL."""
    if not DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} is not a plain SQL identifier")
    url = make_url(url_or_server)
    connection = psycopg2.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname="postgres"
    )
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """A function returning the URL of a new, empty database on this session's server each call
    (optionally named: ``postgres_url_factory("grades")``)."""
    require_postgres()
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        numbers = itertools.count(1)

        def new_database(name: str | None = None) -> str:
            return create_database(url, name or f"{DEFAULT_DATABASE}_{next(numbers)}")

        yield new_database
