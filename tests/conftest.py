"""Shared fixtures: the assignment under test and helpers to grade a folder of notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.course import REPO_ROOT, Assignment, get_assignment
from autograder.grading import GradingReport, grade
from autograder.release import solved_notebook

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
    return grade(
        assignment.name,
        submissions,
        csv_path=workdir / "grades.csv",
        workdir=workdir,
        progress=False,
        **options,
    )
