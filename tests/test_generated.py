"""Everything generated from solutions/ is current, and every assignment keeps the contract."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.course import InstructorError, assignment_names, get_assignment
from autograder.mistakes import CATALOGUE_FILE
from autograder.notebooks import (
    grade_cells,
    graded_name,
    nbgrader_metadata,
    read_notebook,
    solution_cells,
)
from autograder.references import _validate, ensure_references_current, reference_records
from autograder.release import generate_exercise, sample_notebooks
from rnncourse.compare import raise_record
from rnncourse.store import Record, cell_of, read_reference, read_store

# The graded names of each assignment in ../shared/EXERCISES.md, in notebook order.
CONTRACT_NAMES = {
    "01_sequence_models": ["make_autoregressive_dataset", "multistep_predict", "ngram_table_size"],
    "02_hidden_state": ["rnn_step", "rnn_step_concat", "softmax", "rnn_output"],
    "03_bptt": ["rnn_forward", "rnn_backward", "clip_gradients"],
    "04_numpy_two_step": ["two_step_rnn", "two_step_grad"],
    "05_mytorch": ["cat", "dropout", "mse_loss", "RNN", "Adam"],
    "06_torch_rnn": [
        "rnn_forward",
        "bidirectional_rnn_forward",
        "stacked_rnn_forward",
        "RNNClassifier",
    ],
    "07_lstm_gru": ["lstm_cell", "gru_cell", "lstm_forward", "gru_forward"],
    "08_language_model": [
        "Vocab",
        "one_hot",
        "seq_data_iter_sequential",
        "perplexity",
        "grad_clipping",
        "predict",
    ],
}


@pytest.fixture(scope="module", params=assignment_names())
def each(request):
    return get_assignment(request.param)


def comparable(notebook):
    """What must match between two generated notebooks: cell types, sources, nbgrader data."""
    return [(c.cell_type, c.source, nbgrader_metadata(c)) for c in notebook.cells]


def test_exercises_equal_a_fresh_nbgrader_generate_assignment(each, tmp_path):
    fresh = generate_exercise(each, tmp_path / "release")
    committed = each.release_dir
    assert comparable(read_notebook(fresh / each.notebook_name)) == comparable(
        read_notebook(committed / each.notebook_name)
    ), "exercises/ is stale: run `make exercises`"
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files
    for name in fresh_files:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), name
    assert not (committed / CATALOGUE_FILE).exists(), "the catalogue stays with the instructor"


def test_reference_outputs_equal_a_fresh_regeneration(each):
    ensure_references_current(each)
    fresh = {r.key: r for r in reference_records(each)}
    stored = read_store(each.reference_dir)
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


def test_visible_store_holds_exactly_the_visible_checks_and_their_mistakes(each):
    hidden = {c.grade_id for c in grade_cells(read_notebook(each.source_notebook)) if c.hidden}
    full = read_reference(each.reference_dir)
    visible = read_reference(each.visible_dir)
    assert sorted(visible.checks) == sorted(k for k in full.checks if cell_of(k) not in hidden)
    assert visible.checks, "students would get no instant feedback"
    for key, record in visible.checks.items():
        assert np.array_equal(record.value, full.checks[key].value)
    assert visible.signatures == full.signatures
    full_mistakes = {m.id: m for m in full.mistakes}
    for mistake in visible.mistakes:
        assert mistake.values and set(mistake.values) <= set(full_mistakes[mistake.id].values)
        assert not [k for k in mistake.values if cell_of(k) in hidden], "hidden values shipped"
    shipped = {m.id for m in visible.mistakes}
    assert shipped == {m.id for m in full.mistakes
                       if any(cell_of(k) not in hidden for k in m.values)}  # fmt: skip


def test_a_solution_that_fails_its_own_error_checks_is_refused():
    good = Record("test_f_errors/x", "raises", raise_record("x", ValueError("x is bad")))
    _validate([good], ["test_f_errors"], {"f": ["x", "y"]})
    for error in [None, TypeError("x"), ValueError("bad"), ValueError("y and x disagree")]:
        wrong = Record("test_f_errors/x", "raises", raise_record("x", error))
        with pytest.raises(RuntimeError, match="fails its own error checks"):
            _validate([wrong], ["test_f_errors"], {"f": ["x", "y"]})
    with pytest.raises(RuntimeError, match="record no check"):
        _validate([good], ["test_f_errors", "test_g"], {"f": ["x"], "g": []})
    opaque = Record("test_f/big", "equal", np.asarray("<not an array of numbers: int>"))
    with pytest.raises(RuntimeError, match="not an array of numbers"):
        _validate([opaque], ["test_f"], {"f": ["x"]})


@pytest.mark.parametrize("changed", ["notebook", "catalogue"])
def test_stale_references_are_refused(each, monkeypatch, changed):
    real = __import__("autograder.references", fromlist=["x"]).notebook_digest
    target = each.source_notebook.name if changed == "notebook" else CATALOGUE_FILE
    monkeypatch.setattr("autograder.references.notebook_digest",
                        lambda path: "0" * 64 if path.name == target else real(path))  # fmt: skip
    with pytest.raises(InstructorError, match="older than"):
        ensure_references_current(each)


def test_samples_equal_a_fresh_generation(each):
    for student, notebook in sample_notebooks(each).items():
        path = each.sample_dir / student / each.notebook_name
        assert comparable(read_notebook(path)) == comparable(notebook), f"{path} is stale"


def test_assignment_keeps_the_exercise_contract(each):
    source = read_notebook(each.source_notebook)
    names = list(solution_cells(source))
    assert names == CONTRACT_NAMES[each.name]
    cells = grade_cells(source)
    for name in names:
        mine = [c for c in cells if graded_name(c.grade_id, names) == name]
        assert any(not c.hidden for c in mine), f"{name} has no visible test"
        assert any(c.hidden for c in mine), f"{name} has no hidden test"
        assert all(c.points > 0 for c in mine)
    assert len({c.grade_id for c in cells}) == len(cells)
    raises = [k for k, r in read_store(each.reference_dir).items() if r.kind == "raises"]
    tested = {graded_name(cell_of(k), names) for k in raises}
    assert tested, "no test that wrong input raises a ValueError naming the argument"


def split_solution(source: str) -> tuple[list[str], list[str]]:
    """The stripped lines of a cell inside nbgrader's solution markers, and those outside."""
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
            within = line.strip() == "### BEGIN SOLUTION"
        else:
            (inside if within else outside).append(line.strip())
    return inside, outside


def test_student_notebook_hides_solutions_and_hidden_tests(each):
    exercise = read_notebook(each.release_notebook)
    text = "\n".join(cell.source for cell in exercise.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    for name, cell in solution_cells(exercise).items():
        assert "raise NotImplementedError" in cell.source, name
    source = read_notebook(each.source_notebook)
    secret, shown = set(), set()
    for cell in source.cells:
        inside, outside = split_solution(cell.source)
        if "BEGIN HIDDEN TESTS" in cell.source:
            secret.update(outside)
        else:
            shown.update(outside)
        secret.update(line for line in inside if "=" in line or line.startswith("return "))
    shown_text = "\n".join(shown)  # e.g. instructions that quote the contract's formula
    secret = {line for line in secret if len(line) > 25 and not line.startswith("#")
              and line not in shown_text}  # fmt: skip
    assert secret, "nothing to look for"
    assert not [line for line in secret if line in text]


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_committed_notebooks_carry_no_outputs(repo_root, folder):
    for path in (repo_root / folder).rglob("*.ipynb"):
        for cell in read_notebook(path).cells:
            assert not cell.get("outputs"), f"{path} has outputs"
