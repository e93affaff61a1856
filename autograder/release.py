"""Student notebooks and sample submissions, both generated from the nbgrader source notebook.

- ``generate_exercise``: ``nbgrader generate_assignment`` from solutions/ into any folder
  (exercises/ for the release; a temporary folder when a test checks exercises/ is current).
- ``write_samples``: the bundled sample submissions the demo and the tests grade: a perfect one
  (the reference code in the student notebook), a blank one (the student notebook as released)
  and a partly right one (only the first half of the graded functions solved).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config

from autograder.course import NBGRADER_IGNORE, Assignment
from autograder.notebooks import read_notebook, reference_solutions, with_solutions

SAMPLE_STUDENTS = ("perfect", "blank", "partial")


def generate_exercise(assignment: Assignment, release_root: Path) -> Path:
    """Run nbgrader generate_assignment for ``assignment`` into ``release_root/<name>/``."""
    config = Config()
    config.CourseDirectory.root = str(assignment.source_dir.parents[1])
    config.CourseDirectory.source_directory = str(assignment.source_dir.parent)
    config.CourseDirectory.release_directory = str(release_root)
    config.GenerateAssignment.no_database = True  # nbgrader's --no-db flag sets both
    config.SaveCells.enabled = False
    config.CourseDirectory.ignore = NBGRADER_IGNORE
    result = NbGraderAPI(config=config).generate_assignment(assignment.name, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.get('error')}")
    return release_root / assignment.name


def partial_solutions(assignment: Assignment) -> dict[str, str]:
    """The reference code of the first half of the graded names (in notebook order)."""
    solutions = reference_solutions(read_notebook(assignment.source_notebook))
    names = list(solutions)
    return {name: solutions[name] for name in names[: len(names) // 2]}


def solved_notebook(assignment: Assignment, **replacements: str) -> nbformat.NotebookNode:
    """The student notebook with the reference code in every solution cell, except the cells
    named in ``replacements``, which get that code instead."""
    sources = reference_solutions(read_notebook(assignment.source_notebook))
    sources.update(replacements)
    return with_solutions(read_notebook(assignment.release_notebook), sources)


def sample_notebooks(assignment: Assignment) -> dict[str, nbformat.NotebookNode]:
    exercise = read_notebook(assignment.release_notebook)
    return {
        "perfect": solved_notebook(assignment),
        "blank": exercise,
        "partial": with_solutions(exercise, partial_solutions(assignment)),
    }


def write_samples(assignment: Assignment, root: Path | None = None) -> Path:
    """Write SAMPLES/<student>/<notebook>.ipynb for every sample student."""
    root = root or assignment.sample_dir
    if root.exists():
        shutil.rmtree(root)
    for student, notebook in sample_notebooks(assignment).items():
        (root / student).mkdir(parents=True)
        nbformat.write(notebook, str(root / student / assignment.notebook_name))
    return root
