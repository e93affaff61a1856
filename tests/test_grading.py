"""The autograder end to end: for every assignment, one shared batch of submissions graded as an
instructor would grade them. Each batch holds the samples (perfect, blank, partial), an
independent correct implementation, every catalogued mistake (solutions/<a>/mistakes.py) and
an outsider's buggy implementations (tests/submissions.py); 02_hidden_state adds broken and
hostile submissions and the ways students edit notebooks."""

from __future__ import annotations

import csv
import html
import importlib
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.course import Assignment, assignment_names, get_assignment
from autograder.grading import GradingReport, StudentResult
from autograder.mistakes import Mistake, load_catalogue
from autograder.notebooks import graded_name, read_notebook, reference_solutions
from autograder.release import partial_solutions
from rnncourse.compare import same_failure
from rnncourse.store import cell_of, read_records, read_reference
from tests import redteam
from tests.conftest import grade_folder, solved_notebook, write_submission

# Written by outsiders from ../shared/EXERCISES.md alone: tests/submissions.py and, one per
# later batch of assignments, tests/outsider_*.py (each a dict OUTSIDER by assignment).
TESTS = Path(__file__).parent
OUTSIDER = {
    name: entry
    for path in [*sorted(TESTS.glob("outsider_*.py")), TESTS / "submissions.py"]
    for name, entry in importlib.import_module(f"tests.{path.stem}").OUTSIDER.items()
}

pytestmark = pytest.mark.slow
ASSIGNMENTS = assignment_names()
HIDDEN_STATE = "02_hidden_state"
CELL_TIMEOUT = 8
TOTAL_TIMEOUT = 45
SILENT_TIMEOUT = 4
REDTEAM = (redteam.NUMPY, redteam.TORCH)  # a numpy and a torch assignment

# An independent, correct implementation in another style (einsum, stacking, loops).
ALTERNATIVE_02 = {
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


# Broken or hostile submissions: (student, graded function whose cell is replaced, code).
# Functions before the replaced one in the notebook keep the reference code.
HOSTILE_02 = {
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


def alternative(name: str) -> dict[str, str]:
    """An independent correct implementation of every graded name, in another style."""
    return ALTERNATIVE_02 if name == HIDDEN_STATE else OUTSIDER[name]["alternative"]


def outsider_bugs(name: str) -> dict[str, dict[str, str]]:
    """The outsider's buggy submissions: student -> {function: code}. The buggy function comes
    first; every other cell holds the outsider's own correct code, so that the student's cells
    fit together (a helper defined in one cell and used in another, a cache format)."""
    bugs = {}
    for student, (function, code, *_what) in OUTSIDER.get(name, {}).get("buggy", {}).items():
        bugs[student] = {function: code} | {
            other: correct for other, correct in alternative(name).items() if other != function
        }
    return bugs


def mistake_student(mistake: Mistake) -> str:
    return f"mistake_{mistake.id}"


def mistake_source(assignment: Assignment, mistake: Mistake) -> str:
    source = reference_solutions(read_notebook(assignment.source_notebook))[mistake.function]
    return mistake.apply(source)


@dataclass
class Batch:
    assignment: Assignment
    report: GradingReport
    submissions: Path
    mistakes: list[Mistake]
    bugs: dict[str, dict[str, str]]
    context: redteam.Context | None = None
    cell_timeout: int = CELL_TIMEOUT

    def result(self, student: str) -> StudentResult:
        return next(r for r in self.report.students if r.student == student)

    def totals(self, student: str) -> dict[str, tuple[float, float]]:
        return self.report.scores_by_name(student)

    def feedback(self, student: str) -> str:
        page = (self.report.workdir / "feedback" / student / self.assignment.name /
                f"{self.assignment.source_notebook.stem}.html")  # fmt: skip
        return " ".join(html.unescape(page.read_text()).split())  # reasons are wrapped

    def records(self, student: str):
        folders = list((self.report.workdir / "runs" / student).rglob("records"))
        assert len(folders) == 1, folders
        return read_records(folders[0])


def write_hidden_state_extras(assignment: Assignment, root: Path) -> None:
    """02_hidden_state only: broken and hostile submissions, and ordinary editing."""
    for student, (name, code) in HOSTILE_02.items():
        write_submission(root, student, solved_notebook(assignment, **{name: code}), assignment)
    unstable = next(m for m in load_catalogue(assignment.source_dir) if m.id == "softmax_unstable")
    tampered = solved_notebook(assignment, softmax=mistake_source(assignment, unstable))
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


_BATCHES: dict[str, Batch] = {}


def graded_batch(name: str, tmp_path_factory) -> Batch:
    """Grade the assignment's whole test batch once per test session."""
    if name in _BATCHES:
        return _BATCHES[name]
    assignment = get_assignment(name)
    root = tmp_path_factory.mktemp(f"submissions-{name}")
    shutil.copytree(assignment.sample_dir, root, dirs_exist_ok=True)
    write_submission(root, "alternative", solved_notebook(assignment, **alternative(name)),
                     assignment)  # fmt: skip
    mistakes = load_catalogue(assignment.source_dir)
    for mistake in mistakes:
        wrong = {mistake.function: mistake_source(assignment, mistake)}
        write_submission(root, mistake_student(mistake), solved_notebook(assignment, **wrong),
                         assignment)  # fmt: skip
    bugs = outsider_bugs(name)
    for student, cells in bugs.items():
        write_submission(root, student, solved_notebook(assignment, **cells), assignment)
    if name == HIDDEN_STATE:
        write_hidden_state_extras(assignment, root)
    workdir = tmp_path_factory.mktemp(f"grading-{name}")
    context = redteam.Context(root, workdir, marker=f"redteam{uuid.uuid4().hex[:12]}")
    if name in REDTEAM and redteam.SANDBOXED:  # never run hostile code unsandboxed
        redteam.write_redteam(assignment, root, context)
    report = grade_folder(assignment, root, workdir, cell_timeout=CELL_TIMEOUT,
                          total_timeout=TOTAL_TIMEOUT, silent_timeout=SILENT_TIMEOUT)  # fmt: skip
    _BATCHES[name] = Batch(assignment, report, root, mistakes, bugs, context)
    return _BATCHES[name]


def full(scores):
    return {name: points for name, (_, points) in scores.items()}


class BatchTests:
    """The tests of one assignment's batch. One subclass per assignment (at the end of this
    file), so that `pytest -n N --dist loadscope` (make test) grades each batch once, on one
    worker, while the workers share the batches out."""

    assignment_name = ""

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory) -> Batch:
        return graded_batch(cls.assignment_name, tmp_path_factory)

    def test_every_student_is_graded(self, batch):
        graded = sorted(r.student for r in batch.report.students)
        assert graded == sorted(p.name for p in batch.submissions.iterdir())
        assert batch.report.skipped == []

    def test_perfect_gets_full_marks_and_blank_gets_zero_on_every_cell(self, batch):
        cells = batch.report.cells
        assert batch.result("perfect").scores == {c.grade_id: c.points for c in cells}
        assert batch.result("blank").scores == {c.grade_id: 0.0 for c in cells}
        assert batch.result("perfect").diagnoses == []

    def test_partial_gets_exactly_the_points_of_the_functions_it_solved(self, batch):
        solved = set(partial_solutions(batch.assignment))
        assert solved and solved != set(batch.totals("partial"))
        for name, (score, points) in batch.totals("partial").items():
            assert score == (points if name in solved else 0.0), name

    def test_an_independent_correct_implementation_gets_full_marks_and_no_diagnosis(self, batch):
        scores = batch.totals("alternative")
        assert {name: score for name, (score, _) in scores.items()} == full(scores)
        assert batch.result("alternative").diagnoses == []

    def test_every_assignment_has_a_catalogue_of_mistakes(self, batch):
        names = set(batch.totals("perfect"))
        assert len(batch.mistakes) >= len(names), "fewer catalogued mistakes than graded names"
        assert {m.function for m in batch.mistakes} == names, "a graded name without mistakes"

    def test_a_catalogued_mistake_loses_points_on_its_own_tests_only_and_is_named(self, batch):
        for mistake in batch.mistakes:
            student = mistake_student(mistake)
            scores = batch.totals(student)
            assert scores[mistake.function][0] < scores[mistake.function][1], f"{student}: missed"
            for name, (score, points) in scores.items():
                if name != mistake.function and name not in mistake.affects:
                    assert score == points, f"{student} lost points on {name}"
            assert mistake.what in batch.result(student).diagnoses, f"{student} was not named"

    def test_an_outsiders_bug_loses_points_on_its_own_tests_only(self, batch):
        if not batch.bugs:
            pytest.skip(f"no outsider submissions for {batch.assignment.name}")
        for student, cells in batch.bugs.items():
            function = next(iter(cells))
            allowed = {function} | {a for m in batch.mistakes if m.function == function
                                    for a in m.affects}  # fmt: skip
            scores = batch.totals(student)
            assert scores[function][0] < scores[function][1], f"{student}: the tests missed it"
            for name, (score, points) in scores.items():
                if name not in allowed:
                    assert score == points, f"{student} lost points on {name}"

    def test_likely_mistakes_reach_the_feedback_and_the_summary(self, batch):
        summary = batch.report.summary()
        for mistake in batch.mistakes:
            page = batch.feedback(mistake_student(mistake))
            expected = " ".join(f"likely mistake: {mistake.what}. {mistake.advice}".split())
            assert expected in page, mistake.id
            assert f"likely mistake: {mistake.what[:60]}" in summary, mistake.id

    def test_the_catalogue_is_in_sync_with_the_reference_store(self, batch):
        reference = read_reference(batch.assignment.reference_dir)
        assert [m.id for m in reference.mistakes] == [m.id for m in batch.mistakes]
        for mistake, stored in zip(batch.mistakes, reference.mistakes, strict=True):
            assert (stored.function, stored.what, stored.advice) == (
                mistake.function, mistake.what, mistake.advice)  # fmt: skip
            recorded = {}
            for record in batch.records(mistake_student(mistake)):
                recorded.setdefault(record.key, record)
            assert stored.values, mistake.id
            for key, value in stored.values.items():
                assert key in recorded, f"{mistake.id}: {key} was not recorded when graded"
                parameters = reference.signatures[
                    graded_name(cell_of(key), list(reference.signatures))
                ]
                assert same_failure(value.kind, value.value, recorded[key].value, parameters), (
                    f"{mistake.id}: {key} differs from the stored value: regenerate the references"
                )

    def test_csv_has_one_row_per_student_and_test_cell(self, batch):
        rows = list(csv.DictReader((batch.report.workdir / "grades.csv").open()))
        assert list(rows[0]) == ["student_id", "assignment", "notebook", "grade_id", "score",
                                 "max_score"]  # fmt: skip
        assert len(rows) == len(batch.report.students) * len(batch.report.cells)
        assert {(r["student_id"], r["grade_id"]) for r in rows} == {
            (s.student, c.grade_id) for s in batch.report.students for c in batch.report.cells
        }

    def test_feedback_never_shows_hidden_test_code(self, batch):
        hidden_lines = [
            line.strip()
            for cell in read_notebook(batch.assignment.source_notebook).cells
            if "BEGIN HIDDEN TESTS" in cell.source
            for line in cell.source.splitlines()
            if "default_rng" in line or "check." in line
        ]
        assert hidden_lines
        for page in (batch.report.workdir / "feedback").rglob("*.html"):
            text = page.read_text()
            assert "BEGIN HIDDEN TESTS" not in text, page
            assert not [line for line in hidden_lines if line in text], page


class HiddenStateTests(BatchTests):
    """02_hidden_state only: broken and hostile submissions, and ordinary editing."""

    @pytest.mark.parametrize(
        "student",
        ["nested_layout", "prints_to_stderr", "deletes_hidden_test_cells", "copies_a_test_cell",
         "rewrites_a_solution_cell"],
    )  # fmt: skip
    def test_ordinary_editing_costs_nothing(self, batch, student):
        scores = batch.totals(student)
        assert {name: score for name, (score, _) in scores.items()} == full(scores)

    def test_broken_submissions_lose_only_what_they_broke(self, batch):
        syntax = batch.totals("syntax_error")
        assert syntax["rnn_step"][0] == 0 and syntax["softmax"][0] == syntax["softmax"][1]
        killed = batch.totals("kills_its_kernel")
        assert killed["rnn_step"][0] == killed["rnn_step"][1]
        assert killed["softmax"][0] == 0 and killed["rnn_output"][0] == 0
        for student in ("endless_loop", "ignores_interrupts"):
            looping = batch.totals(student)
            assert looping["rnn_output"][0] == 0, student
            assert looping["softmax"][0] == looping["softmax"][1], student
        for student in ("invalid_json", "no_notebook"):
            result = next(r for r in batch.report.students if r.student == student)
            assert sum(result.scores.values()) == 0 and result.notes, student

    def test_a_patched_checker_or_edited_tests_earn_nothing(self, batch):
        patched = batch.totals("patches_the_checker")
        assert patched["softmax"][0] == 0 and patched["rnn_output"][0] == 0
        assert patched["rnn_step"][0] == patched["rnn_step"][1]
        edited = batch.totals("edits_the_tests")
        assert edited["softmax"][0] < edited["softmax"][1]  # nbgrader restored the test cells

    def test_reasons_reach_the_summary_and_the_feedback(self, batch):
        notes = {r.student: " ".join(r.notes) for r in batch.report.students}
        assert "not a valid notebook" in notes["invalid_json"]
        assert "no hidden_state.ipynb" in notes["no_notebook"]
        assert "kernel died" in notes["kills_its_kernel"]
        assert "was missing and was put back" in notes["deletes_hidden_test_cells"]
        assert "a copy of cell test_softmax ran as your own code" in notes["copies_a_test_cell"]
        assert "not a valid notebook" in batch.feedback("invalid_json")
        assert "kernel died" in batch.feedback("kills_its_kernel")
        unstable = batch.feedback("mistake_softmax_unstable")
        assert "test_softmax_stable/magnitude_1e4" in unstable and "nan or inf" in unstable


for _name in ASSIGNMENTS:
    _bases = (HiddenStateTests if _name == HIDDEN_STATE else BatchTests,)
    _bases += (redteam.RedTeamTests,) if _name in REDTEAM else ()
    globals()[f"TestBatch_{_name}"] = type(f"TestBatch_{_name}", _bases, {"assignment_name": _name})


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
