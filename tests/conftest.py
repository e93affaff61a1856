"""Shared fixtures: the assignment under test and helpers to grade a folder of notebooks."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import REPO_ROOT, Assignment, get_assignment
from autograder.grading import GradingReport, grade
from autograder.notebooks import read_notebook, reference_solutions
from autograder.release import solved_notebook
from autograder.sandbox import bubblewrap_works

__all__ = ["solved_notebook"]  # tests import it from here with the other helpers

ASSIGNMENT = "02_hidden_state"


@pytest.fixture(scope="session")
def assignment() -> Assignment:
    return get_assignment(ASSIGNMENT)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def write_submission(
    root: Path, student: str, notebook: nbformat.NotebookNode, assignment: Assignment
) -> None:
    (root / student).mkdir(parents=True)
    nbformat.write(notebook, str(root / student / assignment.notebook_name))


def grade_folder(
    assignment: Assignment, submissions: Path, workdir: Path, **options
) -> GradingReport:
    options.setdefault("unsafe_no_sandbox", not bubblewrap_works())  # CI installs it
    options.setdefault("workers", 2)  # pytest itself runs two test workers: 4 sandboxes at once
    return grade(
        assignment.name,
        submissions,
        csv_path=workdir / "grades.csv",
        workdir=workdir,
        progress=False,
        **options,
    )


def reference_code(assignment_name: str, **names: object) -> dict:
    """The namespace of an assignment's reference solution: every solution cell executed (in
    notebook order) after ``names`` (the modules its setup cell imports, e.g. np=numpy)."""
    namespace = dict(names)
    source = read_notebook(get_assignment(assignment_name).source_notebook)
    for name, code in reference_solutions(source).items():
        exec(compile(code, f"<reference {name}>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="session")
def html(tmp_path_factory) -> Path:
    """Build the book as `make book` does (chapters run in parallel into jupyter-cache, then
    Sphinx), into a temporary folder. One build at a time across pytest's workers: the second
    finds every chapter in the cache."""
    if not (REPO_ROOT / "_vendor" / "mathjax" / "tex-chtml.js").is_file():
        pytest.fail(
            "MathJax is missing: run `make test` (it fetches it) or scripts/fetch_mathjax.sh"
        )
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    lock_path = REPO_ROOT / "_build" / "book.lock"
    lock_path.parent.mkdir(exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for command in (
            [sys.executable, "scripts/execute_book.py"],
            [str(jupyter_book), "build", ".", "--warningiserror", "--keep-going",
             "--path-output", str(out)],
        ):  # fmt: skip
            result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                                    timeout=1200)  # fmt: skip
            assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return out / "_build" / "html"
