"""Shared fixtures: the assignment under test and helpers to grade a folder of notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.course import REPO_ROOT, Assignment, get_assignment
from autograder.grading import GradingReport, grade
from autograder.notebooks import read_notebook, reference_solutions, with_solutions

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


def solved_notebook(assignment: Assignment, **replacements: str) -> nbformat.NotebookNode:
    """The student notebook with the reference code in every solution cell, except the cells
    named in ``replacements``, which get that code instead."""
    sources = reference_solutions(read_notebook(assignment.source_notebook))
    sources.update(replacements)
    return with_solutions(read_notebook(assignment.release_notebook), sources)


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
