"""The autograder end to end on 02_hidden_state: samples, independent and wrong implementations,
broken and hostile submissions, all graded in one batch (as an instructor would)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.notebooks import read_notebook, reference_solutions
from autograder.release import partial_solutions
from tests.conftest import grade_folder, solved_notebook, write_submission

pytestmark = pytest.mark.slow

# An independent, correct implementation in another style (einsum, stacking, loops).
ALTERNATIVE = {
    "rnn_step": """
ACTIVATIONS = {"tanh": np.tanh, "relu": lambda z: np.where(z > 0, z, 0.0)}


def check_step_inputs(X, H, W_xh, W_hh, b_h, activation):
    if len(np.shape(X)) != 2:
        raise ValueError("bad X: expected a (batch, features) matrix")
    B, D = np.shape(X)
    if len(np.shape(H)) != 2 or np.shape(H)[0] != B:
        raise ValueError("bad H: expected one hidden row per batch row")
    n = np.shape(H)[1]
    for name, array, shapes in [("W_xh", W_xh, [(D, n)]), ("W_hh", W_hh, [(n, n)]),
                                ("b_h", b_h, [(n,), (1, n)])]:
        if np.shape(array) not in shapes:
            raise ValueError(f"bad {name}: shape {np.shape(array)} is not one of {shapes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}")


def rnn_step(X, H, W_xh, W_hh, b_h, activation="tanh"):
    check_step_inputs(X, H, W_xh, W_hh, b_h, activation)
    z = np.einsum("bd,dh->bh", X, W_xh) + np.einsum("bk,kh->bh", H, W_hh) + np.ravel(b_h)
    return ACTIVATIONS[activation](z)
""",
    "rnn_step_concat": """
def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation="tanh"):
    check_step_inputs(X, H, W_xh, W_hh, b_h, activation)
    stacked = np.hstack([X, H]) @ np.vstack([W_xh, W_hh])
    return ACTIVATIONS[activation](stacked + np.ravel(b_h))
""",
    "softmax": """
def softmax(O, axis=-1):
    moved = np.moveaxis(np.asarray(O, dtype=float), axis, -1)
    top = moved.max(axis=-1, keepdims=True)
    log_norm = top + np.log(np.exp(moved - top).sum(axis=-1, keepdims=True))
    return np.moveaxis(np.exp(moved - log_norm), -1, axis)
""",
    "rnn_output": """
def rnn_output(H, W_hq, b_q):
    if np.ndim(H) != 2:
        raise ValueError("H must be a matrix")
    if np.ndim(W_hq) != 2 or np.shape(W_hq)[0] != np.shape(H)[1]:
        raise ValueError("W_hq does not fit H")
    if np.shape(b_q) not in [(np.shape(W_hq)[1],), (1, np.shape(W_hq)[1])]:
        raise ValueError("b_q has the wrong length")
    return np.array([softmax(row @ W_hq + np.ravel(b_q)) for row in H])
""",
}


@dataclass(frozen=True)
class Mistake:
    """A mistake students make, as an edit of the reference code of one graded function."""

    student: str
    name: str  # the graded function whose cell is edited
    old: str
    new: str
    affects: tuple[str, ...] = ()  # other functions that use the edited code and may lose points


MISTAKES = [
    Mistake("rnn_step_transposed_W_hh", "rnn_step", "H @ W_hh +", "H @ W_hh.T +"),
    Mistake("rnn_step_always_tanh", "rnn_step",
            'if activation == "tanh":\n        return np.tanh(pre_activation)\n'
            "    return np.maximum(pre_activation, 0.0)", "return np.tanh(pre_activation)"),
    Mistake("rnn_step_no_validation", "rnn_step",
            "    check_step_inputs(X, H, W_xh, W_hh, b_h, activation)\n    pre_activation",
            "    pre_activation"),
    Mistake("rnn_step_bias_row_only", "rnn_step", "H @ W_hh + np.reshape(b_h, (1, -1))",
            "H @ W_hh + b_h[0]"),
    Mistake("rnn_step_no_activation", "rnn_step", "    if activation == \"tanh\":\n"
            "        return np.tanh(pre_activation)", "    if activation == \"tanh\":\n"
            "        return pre_activation"),
    Mistake("rnn_step_messages_without_names", "rnn_step", 'raise ValueError(f"W_hh must',
            'raise ValueError(f"the recurrent weights must', affects=("rnn_step_concat",)),
    Mistake("concat_swapped_order", "rnn_step_concat", "np.concatenate([X, H], axis=1)",
            "np.concatenate([H, X], axis=1)"),
    Mistake("concat_always_relu", "rnn_step_concat",
            'np.tanh(pre_activation) if activation == "tanh" else ', ""),
    # rnn_output is softmax(...): its large-logit test also needs a stable softmax.
    Mistake("softmax_unstable", "softmax", "O - np.max(O, axis=axis, keepdims=True)", "O",
            affects=("rnn_output",)),
    Mistake("softmax_global_max", "softmax", "np.max(O, axis=axis, keepdims=True)", "np.max(O)",
            affects=("rnn_output",)),
    Mistake("softmax_shift_by_min", "softmax", "np.max(O, axis=axis, keepdims=True)",
            "np.min(O, axis=axis, keepdims=True)", affects=("rnn_output",)),
    Mistake("softmax_shift_by_mean", "softmax", "np.max(O, axis=axis, keepdims=True)",
            "np.mean(O, axis=axis, keepdims=True)", affects=("rnn_output",)),
    Mistake("softmax_ignores_axis", "softmax", "axis=axis", "axis=-1"),
    Mistake("output_returns_logits", "rnn_output",
            "return softmax(H @ W_hq + np.reshape(b_q, (1, -1)), axis=-1)",
            "return H @ W_hq + np.reshape(b_q, (1, -1))"),
    Mistake("output_softmax_over_batch", "rnn_output", "(1, -1)), axis=-1)", "(1, -1)), axis=0)"),
    Mistake("output_no_bias", "rnn_output", "H @ W_hq + np.reshape(b_q, (1, -1))", "H @ W_hq"),
    Mistake("output_naive_softmax", "rnn_output",
            "return softmax(H @ W_hq + np.reshape(b_q, (1, -1)), axis=-1)",
            "e = np.exp(H @ W_hq + np.reshape(b_q, (1, -1)))\n"
            "    return e / e.sum(axis=1, keepdims=True)"),
    Mistake("rnn_step_no_H_check", "rnn_step",
            "    if np.ndim(H) != 2 or np.shape(H)[0] != batch:\n"
            '        raise ValueError(f"H must have shape ({batch}, hidden), got {np.shape(H)}")\n',
            "", affects=("rnn_step_concat",)),
]  # fmt: skip

# Broken or hostile submissions: (student, graded function whose cell is replaced, code).
# Functions before the replaced one in the notebook keep the reference code.
HOSTILE = {
    "syntax_error": ("rnn_step", "def rnn_step(X, H:\n    return X\n"),
    "kills_its_kernel": ("softmax", "import os\nos._exit(1)\n"),
    "endless_loop": ("rnn_output", "def rnn_output(H, W_hq, b_q):\n    while True:\n        pass"),
    "ignores_interrupts": (  # the cell timeout cannot stop it: only the notebook's time limit
        "rnn_output",
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n"
        "    time.sleep(0.1)",
    ),
    "patches_the_checker": (
        "softmax",
        "def softmax(O, axis=-1):\n    return np.zeros_like(O)\n\n"
        "check.close = lambda key, value: 2.0\n"
        "check.raises = lambda key, argument: __import__('contextlib').suppress(Exception)\n",
    ),
    "prints_to_stderr": (
        "softmax",
        "def softmax(O, axis=-1):\n    import sys\n\n    print('debug', file=sys.stderr)\n"
        "    shifted = np.exp(O - np.max(O, axis=axis, keepdims=True))\n"
        "    return shifted / shifted.sum(axis=axis, keepdims=True)\n",
    ),
}  # fmt: skip
CELL_TIMEOUT = 8
TOTAL_TIMEOUT = 45


def mistake_source(assignment, mistake: Mistake) -> str:
    source = reference_solutions(read_notebook(assignment.source_notebook))[mistake.name]
    assert source.count(mistake.old) >= 1, f"{mistake.student}: edit does not apply"
    return source.replace(mistake.old, mistake.new)


def cell_index(notebook, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)  # fmt: skip


def ordinary_editing(assignment) -> dict[str, nbformat.NotebookNode]:
    """Correct work whose cells were edited the way students do: none of it may cost points."""
    deleted = solved_notebook(assignment)
    deleted.cells = [c for c in deleted.cells if c.source.strip() or c.cell_type != "code"]
    copied = solved_notebook(assignment)
    index = cell_index(copied, "test_softmax")
    copy = nbformat.from_dict(copied.cells[index])
    copy.id = "students-own-experiment"
    copy.source = 'check.close("test_softmax/rows", softmax(np.array([[5.0, 1.0]])))'
    copied.cells.insert(index + 1, copy)
    rewritten = solved_notebook(assignment)
    index = cell_index(rewritten, "rnn_output")
    code = reference_solutions(read_notebook(assignment.source_notebook))["rnn_output"]
    rewritten.cells[index] = nbformat.v4.new_code_cell(code)  # no nbgrader metadata any more
    return {
        "deletes_hidden_test_cells": deleted,
        "copies_a_test_cell": copied,
        "rewrites_a_solution_cell": rewritten,
    }


@pytest.fixture(scope="module")
def submissions(assignment, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("submissions")
    shutil.copytree(assignment.sample_dir, root, dirs_exist_ok=True)
    write_submission(root, "alternative", solved_notebook(assignment, **ALTERNATIVE), assignment)
    for mistake in MISTAKES:
        wrong = {mistake.name: mistake_source(assignment, mistake)}
        write_submission(root, mistake.student, solved_notebook(assignment, **wrong), assignment)
    for student, (name, code) in HOSTILE.items():
        write_submission(root, student, solved_notebook(assignment, **{name: code}), assignment)
    tampered = solved_notebook(assignment, softmax=mistake_source(assignment, MISTAKES[8]))
    for cell in tampered.cells:  # the student "fixes" the stability test and the hidden tests
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_softmax"):
            cell.source = "pass"
    write_submission(root, "edits_the_tests", tampered, assignment)
    for student, notebook in ordinary_editing(assignment).items():
        write_submission(root, student, notebook, assignment)
    (root / "invalid_json").mkdir()
    (root / "invalid_json" / assignment.notebook_name).write_text("{this is not json")
    (root / "no_notebook").mkdir()
    (root / "no_notebook" / "notes.txt").write_text("I forgot to upload it")
    nested = root / "nested_layout" / assignment.name
    nested.mkdir(parents=True)
    nbformat.write(solved_notebook(assignment), str(nested / assignment.notebook_name))
    return root


@pytest.fixture(scope="module")
def report(assignment, submissions, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("grading")
    return grade_folder(assignment, submissions, workdir, cell_timeout=CELL_TIMEOUT,
                        total_timeout=TOTAL_TIMEOUT)  # fmt: skip


def totals(report, student):
    return report.scores_by_name(student)


def full(scores):
    return {name: points for name, (_, points) in scores.items()}


def test_every_student_is_graded(report, submissions):
    graded = sorted(r.student for r in report.students)
    assert graded == sorted(p.name for p in submissions.iterdir())
    assert report.skipped == []


def test_perfect_gets_full_marks_and_blank_gets_zero_on_every_cell(report):
    perfect = next(r for r in report.students if r.student == "perfect")
    blank = next(r for r in report.students if r.student == "blank")
    assert perfect.scores == {c.grade_id: c.points for c in report.cells}
    assert blank.scores == {c.grade_id: 0.0 for c in report.cells}


def test_partial_gets_exactly_the_points_of_the_functions_it_solved(report, assignment):
    solved = set(partial_solutions(assignment))
    assert solved and solved != set(totals(report, "partial"))
    for name, (score, points) in totals(report, "partial").items():
        assert score == (points if name in solved else 0.0), name


@pytest.mark.parametrize(
    "student",
    ["alternative", "nested_layout", "prints_to_stderr", "deletes_hidden_test_cells",
     "copies_a_test_cell", "rewrites_a_solution_cell"],
)  # fmt: skip
def test_independent_correct_work_gets_full_marks(report, student):
    scores = totals(report, student)
    assert {name: score for name, (score, _) in scores.items()} == full(scores)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.student)
def test_a_mistake_loses_points_on_its_own_tests_and_only_there(report, mistake):
    scores = totals(report, mistake.student)
    assert scores[mistake.name][0] < scores[mistake.name][1], "the tests missed this mistake"
    for name, (score, points) in scores.items():
        if name != mistake.name and name not in mistake.affects:
            assert score == points, f"{mistake.student} lost points on {name}"


def test_broken_submissions_lose_only_what_they_broke(report):
    syntax = totals(report, "syntax_error")
    assert syntax["rnn_step"][0] == 0 and syntax["softmax"][0] == syntax["softmax"][1]
    killed = totals(report, "kills_its_kernel")
    assert killed["rnn_step"][0] == killed["rnn_step"][1]
    assert killed["softmax"][0] == 0 and killed["rnn_output"][0] == 0
    for student in ("endless_loop", "ignores_interrupts"):
        looping = totals(report, student)
        assert looping["rnn_output"][0] == 0, student
        assert looping["softmax"][0] == looping["softmax"][1], student
    for student in ("invalid_json", "no_notebook"):
        result = next(r for r in report.students if r.student == student)
        assert sum(result.scores.values()) == 0 and result.notes, student


def test_a_patched_checker_or_edited_tests_earn_nothing(report):
    patched = totals(report, "patches_the_checker")
    assert patched["softmax"][0] == 0 and patched["rnn_output"][0] == 0
    assert patched["rnn_step"][0] == patched["rnn_step"][1]
    edited = totals(report, "edits_the_tests")
    assert edited["softmax"][0] < edited["softmax"][1]  # nbgrader restored the test cells


def test_reasons_reach_the_summary_and_the_feedback(report):
    notes = {r.student: " ".join(r.notes) for r in report.students}
    assert "not a valid notebook" in notes["invalid_json"]
    assert "no hidden_state.ipynb" in notes["no_notebook"]
    assert "kernel died" in notes["kills_its_kernel"]
    assert "was missing and was put back" in notes["deletes_hidden_test_cells"]
    assert "a copy of cell test_softmax ran as your own code" in notes["copies_a_test_cell"]
    feedback = report.workdir / "feedback"

    def page(student):
        return (feedback / student / report.assignment / "hidden_state.html").read_text()

    assert "not a valid notebook" in page("invalid_json")
    assert "kernel died" in page("kills_its_kernel")
    unstable = page("softmax_unstable")
    assert "test_softmax_stable/magnitude_1e4" in unstable and "nan or inf" in unstable


def test_feedback_never_shows_hidden_test_code(report, assignment):
    hidden_lines = [
        line.strip()
        for cell in read_notebook(assignment.source_notebook).cells
        if "BEGIN HIDDEN TESTS" in cell.source
        for line in cell.source.splitlines()
        if "default_rng" in line or "check." in line
    ]
    assert hidden_lines
    for page in (report.workdir / "feedback").rglob("*.html"):
        text = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in text, page
        assert not [line for line in hidden_lines if line in text], page


def test_csv_has_one_row_per_student_and_test_cell(report):
    rows = list(csv.DictReader((report.workdir / "grades.csv").open()))
    assert list(rows[0]) == ["student_id", "assignment", "notebook", "grade_id", "score",
                             "max_score"]  # fmt: skip
    assert len(rows) == len(report.students) * len(report.cells)
    assert {(r["student_id"], r["grade_id"]) for r in rows} == {
        (s.student, c.grade_id) for s in report.students for c in report.cells
    }


def test_grading_twice_gives_the_same_csv_and_gradebook(assignment, tmp_path):
    folder, workdir = tmp_path / "submissions", tmp_path / "work"
    shutil.copytree(assignment.sample_dir, folder)
    meddler = (  # leaves files where the grader keeps its own, then kills its kernel
        "import os\nfor name in ('grader.json', 'gradebook.db', 'verdicts'):\n"
        "    os.makedirs(os.path.join(os.environ['RNNCOURSE_RECORD_DIR'], '..', '..', name),"
        " exist_ok=True)\nos._exit(1)"
    )
    write_submission(folder, "meddler", solved_notebook(assignment, softmax=meddler), assignment)
    first = grade_folder(assignment, folder, workdir)
    csv_first = (workdir / "grades.csv").read_text()
    second = grade_folder(assignment, folder, workdir)
    assert (workdir / "grades.csv").read_text() == csv_first
    assert [r.scores for r in first.students] == [r.scores for r in second.students]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "99_nope", "autograder/samples/02_hidden_state"], "unknown assignment"),
        (["grade", "02_hidden_state", "no/such/folder"], "does not exist"),
        (["grade", "02_hidden_state", "EMPTY"], "holds no student folders"),
    ],
)
def test_bad_instructor_input_is_one_clear_line_and_nonzero(args, message, tmp_path):
    args = [str(tmp_path) if a == "EMPTY" else a for a in args]
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith("error: ") and message in result.stderr


def test_cli_grades_the_samples_and_writes_the_csv(tmp_path):
    out = tmp_path / "g.csv"
    result = run_cli("grade", "02_hidden_state", "autograder/samples/02_hidden_state",
                     "--csv", str(out), "--workdir", str(tmp_path / "work"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    by_student: dict[str, float] = {}
    for row in rows:
        by_student[row["student_id"]] = by_student.get(row["student_id"], 0) + float(row["score"])
    max_total = sum(float(r["max_score"]) for r in rows if r["student_id"] == "perfect")
    assert by_student["perfect"] == max_total and by_student["blank"] == 0
    assert 0 < by_student["partial"] < max_total
    assert "perfect" in result.stdout and f"{max_total:g} / {max_total:g}" in result.stdout
