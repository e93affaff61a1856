"""What a student sees: the exercise notebook run in JupyterLab (no grader), and nbgrader's
Validate, which students press before handing in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.mistakes import load_catalogue
from autograder.notebooks import read_notebook, reference_solutions
from rnncourse.checks import RECORD_ENV
from tests.conftest import solved_notebook

pytestmark = pytest.mark.slow


@pytest.fixture
def exercise_folder(assignment, tmp_path) -> Path:
    """A student's copy of exercises/<assignment>/ (notebook and visible reference values)."""
    folder = tmp_path / assignment.name
    shutil.copytree(assignment.release_dir, folder)
    return folder


def run_as_student(notebook, folder: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.delenv(RECORD_ENV, raising=False)
    client = NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})  # fmt: skip
    return client.execute()


def outputs_of(notebook, grade_id: str) -> str:
    cell = next(c for c in notebook.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)  # fmt: skip
    return "".join(o.get("text", "") + o.get("ename", "") + o.get("evalue", "")
                   for o in cell.outputs)  # fmt: skip


def test_visible_tests_print_a_verdict_per_check(assignment, exercise_folder, monkeypatch):
    done = run_as_student(solved_notebook(assignment), exercise_folder, monkeypatch)
    errors = [o for c in done.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    text = outputs_of(done, "test_rnn_step")
    assert "ok test_rnn_step/example_relu" in text and "ok test_rnn_step/bias_1d" in text
    assert "ok test_softmax_stable/magnitude_1e4" in outputs_of(done, "test_softmax_stable")


def test_a_wrong_answer_gets_a_friendly_assertion(assignment, exercise_folder, monkeypatch):
    unstable = (
        "def softmax(O, axis=-1):\n    e = np.exp(O)\n"
        "    return e / e.sum(axis=axis, keepdims=True)"
    )
    done = run_as_student(solved_notebook(assignment, softmax=unstable), exercise_folder,
                          monkeypatch)  # fmt: skip
    text = outputs_of(done, "test_softmax_stable")
    assert "AssertionError" in text and "test_softmax_stable/magnitude_1e4" in text
    assert "nan or inf" in text
    assert "ok test_softmax/rows" in outputs_of(done, "test_softmax")


def test_a_catalogued_mistake_is_named_with_expected_against_received(
    assignment, exercise_folder, monkeypatch
):
    mistake = next(m for m in load_catalogue(assignment.source_dir) if m.id.endswith("w_hh"))
    code = mistake.apply(reference_solutions(read_notebook(assignment.source_notebook))["rnn_step"])
    done = run_as_student(solved_notebook(assignment, rnn_step=code), exercise_folder, monkeypatch)
    text = outputs_of(done, "test_rnn_step")
    assert f"likely mistake: {mistake.what}. {mistake.advice}" in text
    assert "received [[" in text and "expected [[" in text  # a (2, 4) array, shown whole
    silent = mistake_by_id(assignment, "rnn_step_no_validation")
    code = silent.apply(reference_solutions(read_notebook(assignment.source_notebook))["rnn_step"])
    done = run_as_student(solved_notebook(assignment, rnn_step=code), exercise_folder, monkeypatch)
    assert f"likely mistake: {silent.what}" in outputs_of(done, "test_rnn_step_errors")


def mistake_by_id(assignment, mistake_id):
    return next(m for m in load_catalogue(assignment.source_dir) if m.id == mistake_id)


def test_the_blank_exercise_says_what_to_do(assignment, exercise_folder, monkeypatch):
    blank = nbformat.read(str(exercise_folder / assignment.notebook_name), as_version=4)
    done = run_as_student(blank, exercise_folder, monkeypatch)
    assert "NotImplementedError" in outputs_of(done, "test_rnn_step")


def nbgrader_validate(path: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop(RECORD_ENV, None)
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    result = subprocess.run([nbgrader, "validate", str(path)], capture_output=True, text=True,
                            cwd=path.parent, env=env, timeout=300)  # fmt: skip
    return result.stdout + result.stderr


def test_nbgrader_validate_passes_a_solved_notebook_and_fails_a_blank_one(
    assignment, exercise_folder
):
    solved = exercise_folder / "solved.ipynb"
    nbformat.write(solved_notebook(assignment), str(solved))
    assert "Success! Your notebook passes all the tests." in nbgrader_validate(solved)
    assert "VALIDATION FAILED" in nbgrader_validate(exercise_folder / assignment.notebook_name)
