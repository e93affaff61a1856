"""Reading nbgrader's cell metadata, and building notebooks from other notebooks."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from rnncourse.verdicts import graded_name

__all__ = ["graded_name"]  # re-exported: the autograder and the tests use it from here

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class GradeCell:
    """A test cell that carries points."""

    grade_id: str
    points: float
    hidden: bool  # holds hidden tests: the student sees an empty cell


def read_notebook(path: Path | str) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_metadata(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_cells(notebook: NotebookNode) -> list[GradeCell]:
    """The notebook's test cells with points, in notebook order."""
    cells = []
    for cell in notebook.cells:
        meta = nbgrader_metadata(cell)
        if meta.get("grade") and cell.cell_type == "code":
            cells.append(
                GradeCell(
                    grade_id=meta["grade_id"],
                    points=float(meta.get("points", 0)),
                    hidden=HIDDEN_BEGIN in cell.source,
                )
            )
    return cells


def solution_cells(notebook: NotebookNode) -> dict[str, NotebookNode]:
    """The cells the student writes, by grade_id (the graded function's name)."""
    return {
        nbgrader_metadata(cell)["grade_id"]: cell
        for cell in notebook.cells
        if nbgrader_metadata(cell).get("solution") and cell.cell_type == "code"
    }


def without_solution_markers(source: str) -> str:
    """The reference code of a solution cell, with nbgrader's markers removed."""
    lines = source.splitlines()
    return "\n".join(line for line in lines if line.strip() not in SOLUTION_MARKERS)


def with_solutions(exercise: NotebookNode, sources: dict[str, str]) -> NotebookNode:
    """A copy of the student notebook whose solution cells ``sources`` names are filled in."""
    notebook = copy.deepcopy(exercise)
    cells = solution_cells(notebook)
    unknown = set(sources) - set(cells)
    if unknown:
        raise ValueError(f"no solution cell named {sorted(unknown)}")
    for name, source in sources.items():
        cells[name].source = source
    return notebook


def reference_solutions(source: NotebookNode) -> dict[str, str]:
    """The reference code of every solution cell of an nbgrader source notebook."""
    return {
        name: without_solution_markers(cell.source) for name, cell in solution_cells(source).items()
    }


def repair_test_cells(submitted: NotebookNode, release: NotebookNode) -> list[str]:
    """Undo what ordinary editing does to nbgrader's bookkeeping, in place; return notes.

    A copied cell keeps its nbgrader metadata, and nbgrader refuses a notebook in which a
    grade_id appears twice or that it does not know: such cells become the student's own
    cells. A deleted test cell would score 0: it is put back (nbgrader then restores its code
    from the source).
    """
    notes = []
    known = {nbgrader_metadata(cell).get("grade_id") for cell in release.cells} - {None}
    seen: set[str] = set()
    for cell in submitted.cells:
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        grade_id = nbgrader_metadata(cell).get("grade_id")
        if grade_id in seen:
            notes.append(f"a copy of cell {grade_id} ran as your own code")
        elif grade_id not in known:
            notes.append(f"a cell marked {grade_id!r}, which this assignment does not have, "
                         "ran as your own code")  # fmt: skip
        else:
            seen.add(grade_id)
            continue
        del cell.metadata["nbgrader"]
    for index, cell in enumerate(release.cells):
        grade_id = nbgrader_metadata(cell).get("grade_id")
        if not nbgrader_metadata(cell).get("grade") or grade_id in seen:
            continue
        restored = copy.deepcopy(cell)
        restored["id"] = f"restored-{grade_id}"[:64]
        submitted.cells.insert(_insert_position(submitted, release, index), restored)
        seen.add(grade_id)
        notes.append(f"test cell {grade_id} was missing and was put back")
    return notes


def _insert_position(submitted: NotebookNode, release: NotebookNode, index: int) -> int:
    """Just after the submitted copy of the nearest earlier release cell that it still has."""
    positions = {
        nbgrader_metadata(cell).get("grade_id"): i for i, cell in enumerate(submitted.cells)
    }
    for earlier in reversed(release.cells[:index]):
        grade_id = nbgrader_metadata(earlier).get("grade_id")
        if grade_id in positions:
            return positions[grade_id] + 1
    return 0
