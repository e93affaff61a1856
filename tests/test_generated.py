"""Everything generated from solutions/ is current, and the assignment keeps the contract."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.course import InstructorError
from autograder.notebooks import (
    grade_cells,
    graded_name,
    nbgrader_metadata,
    read_notebook,
    solution_cells,
)
from autograder.references import ensure_references_current, reference_records
from autograder.release import generate_exercise, sample_notebooks
from rnncourse.store import cell_of, read_store

# The graded names of 02_hidden_state in ../shared/EXERCISES.md.
CONTRACT_NAMES = ["rnn_step", "rnn_step_concat", "softmax", "rnn_output"]


def comparable(notebook):
    """What must match between two generated notebooks: cell types, sources, nbgrader data."""
    return [(c.cell_type, c.source, nbgrader_metadata(c)) for c in notebook.cells]


def test_exercises_equal_a_fresh_nbgrader_generate_assignment(assignment, tmp_path):
    fresh = generate_exercise(assignment, tmp_path / "release")
    committed = assignment.release_dir
    assert comparable(read_notebook(fresh / assignment.notebook_name)) == comparable(
        read_notebook(committed / assignment.notebook_name)
    ), "exercises/ is stale: run `make exercises`"
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files
    for name in fresh_files:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), name


def test_reference_outputs_equal_a_fresh_regeneration(assignment):
    ensure_references_current(assignment)
    fresh = {r.key: r for r in reference_records(assignment)}
    stored = read_store(assignment.reference_dir)
    assert sorted(fresh) == sorted(stored)
    for key, record in fresh.items():
        old = stored[key]
        assert (old.kind, old.value.dtype, old.value.shape) == (
            record.kind, record.value.dtype, record.value.shape), key  # fmt: skip
        if record.value.dtype.kind == "f":
            # Bit-for-bit equality would depend on the BLAS kernel of the machine.
            np.testing.assert_allclose(record.value, old.value, rtol=1e-12, atol=1e-300)
        else:
            assert np.array_equal(record.value, old.value), key


def test_visible_store_holds_exactly_the_visible_checks(assignment):
    cells = grade_cells(read_notebook(assignment.source_notebook))
    hidden = {c.grade_id for c in cells if c.hidden}
    full = read_store(assignment.reference_dir)
    visible = read_store(assignment.visible_dir)
    assert sorted(visible) == sorted(k for k in full if cell_of(k) not in hidden)
    assert visible, "students would get no instant feedback"
    for key, record in visible.items():
        assert np.array_equal(record.value, full[key].value)


def test_a_solution_that_fails_its_own_error_checks_is_refused():
    from autograder.references import _validate
    from rnncourse.store import Record

    good = Record("test_f_errors/x", "equal", np.asarray("ValueError naming 'x'"))
    _validate([good], ["test_f_errors"])
    for outcome in ["returned without raising", "raised TypeError instead of ValueError",
                    "ValueError whose message does not name 'x'"]:  # fmt: skip
        with pytest.raises(RuntimeError, match="fails its own error checks"):
            _validate([Record("test_f_errors/x", "equal", np.asarray(outcome))], ["test_f_errors"])
    with pytest.raises(RuntimeError, match="record no check"):
        _validate([good], ["test_f_errors", "test_g"])


def test_stale_references_are_refused(assignment, monkeypatch):
    monkeypatch.setattr("autograder.references.notebook_digest", lambda path: "0" * 64)
    with pytest.raises(InstructorError, match="older than"):
        ensure_references_current(assignment)


def test_samples_equal_a_fresh_generation(assignment):
    for student, notebook in sample_notebooks(assignment).items():
        path = assignment.sample_dir / student / assignment.notebook_name
        assert comparable(read_notebook(path)) == comparable(notebook), f"{path} is stale"


def test_assignment_keeps_the_exercise_contract(assignment):
    source = read_notebook(assignment.source_notebook)
    names = list(solution_cells(source))
    assert names == CONTRACT_NAMES
    cells = grade_cells(source)
    for name in names:
        mine = [c for c in cells if graded_name(c.grade_id, names) == name]
        assert any(not c.hidden for c in mine), f"{name} has no visible test"
        assert any(c.hidden for c in mine), f"{name} has no hidden test"
        assert all(c.points > 0 for c in mine)
    assert len({c.grade_id for c in cells}) == len(cells)


def test_student_notebook_hides_solutions_and_hidden_tests(assignment):
    exercise = read_notebook(assignment.release_notebook)
    text = "\n".join(cell.source for cell in exercise.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "default_rng(2024)" not in text  # an input of a hidden test
    for name, cell in solution_cells(exercise).items():
        assert "raise NotImplementedError" in cell.source, name
    source = read_notebook(assignment.source_notebook)
    solution_text = "\n".join(cell.source for cell in source.cells)
    assert "pre_activation = XH @ W" in solution_text
    assert "pre_activation = XH @ W" not in text


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_committed_notebooks_carry_no_outputs(repo_root, folder):
    for path in (repo_root / folder).rglob("*.ipynb"):
        for cell in read_notebook(path).cells:
            assert not cell.get("outputs"), f"{path} has outputs"
