"""The throwaway PostgreSQL server of tests/postgres.py: nbgrader's gradebook works on it, its
databases are independent, and it leaves neither a process nor files behind."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

import psycopg2
import pytest
from nbgrader.api import Gradebook
from sqlalchemy.engine import make_url

from tests import postgres
from tests.postgres import create_database, postgres_server, postgres_url_factory  # noqa: F401

STUDENTS = {"ada": ("Ada", "Lovelace"), "alan": ("Alan", "Turing")}


@pytest.fixture(autouse=True)
def alembic_on_path(monkeypatch):
    """nbgrader runs `alembic` from PATH to create a gradebook: use this environment's copy."""
    tools = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", tools + os.pathsep + os.environ.get("PATH", ""))


def fill_gradebook(url: str) -> None:
    with Gradebook(url) as gradebook:
        for student, (first, last) in STUDENTS.items():
            gradebook.add_student(student, first_name=first, last_name=last)
        gradebook.add_assignment("a1")
        gradebook.add_notebook("rnn", "a1")


def connect(url: str) -> psycopg2.extensions.connection:
    parts = make_url(url)
    return psycopg2.connect(
        host=parts.host, port=parts.port, user=parts.username, dbname=parts.database
    )


def student_ids_in_table(url: str) -> set[str]:
    """The ids in the `student` table, read with plain psycopg2 rather than through nbgrader."""
    with contextlib.closing(connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM student")
        return {row[0] for row in cursor.fetchall()}


def test_gradebooks_on_one_server_write_read_back_and_stay_apart(postgres_url_factory):  # noqa: F811
    filled, other = postgres_url_factory(), postgres_url_factory("second_gradebook")
    assert make_url(filled).drivername == "postgresql+psycopg2"
    assert make_url(filled).port == make_url(other).port
    assert make_url(other).database == "second_gradebook"
    fill_gradebook(filled)
    with Gradebook(filled) as gradebook:  # a second connection sees what the first committed
        names = {s.id: (s.first_name, s.last_name) for s in gradebook.students}
        assert names == STUDENTS
        assert [a.name for a in gradebook.assignments] == ["a1"]
        assert [n.name for n in gradebook.find_assignment("a1").notebooks] == ["rnn"]
    assert student_ids_in_table(filled) == set(STUDENTS)
    with Gradebook(other) as gradebook:
        assert gradebook.students == [] and gradebook.assignments == []
        gradebook.add_student("grace")
    assert student_ids_in_table(other) == {"grace"}
    assert student_ids_in_table(filled) == set(STUDENTS)


def server_state(url: str) -> tuple[int, Path]:
    """The server's port and its data directory, as the server itself reports it."""
    with contextlib.closing(connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        return make_url(url).port, Path(cursor.fetchone()[0])


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection((postgres.HOST, port), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("body_raises", [False, True])
def test_server_is_stopped_and_deleted_on_exit(tmp_path, body_raises):
    postgres.require_postgres()

    class BodyFailed(Exception):
        pass

    expectation = pytest.raises(BodyFailed) if body_raises else contextlib.nullcontext()
    with expectation, postgres_server(tmp_path) as url:
        port, data = server_state(url)
        other = create_database(url, "another")
        assert server_state(other) == (port, data)
        assert accepts_connections(port) and data.is_dir()
        if body_raises:
            raise BodyFailed
    assert not accepts_connections(port)
    assert not data.exists() and not data.parent.exists()
    assert data.parent not in postgres._running  # nothing left for the atexit hook


@pytest.mark.parametrize("ci", [None, "true"])
def test_missing_postgres_skips_or_fails_in_ci(monkeypatch, ci):
    monkeypatch.setattr(postgres, "find_postgres_bindir", lambda: None)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match="apt-get install postgresql"):
        postgres.require_postgres()
