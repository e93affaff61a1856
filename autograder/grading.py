"""Grade a folder of submissions: nbgrader autograde per student, then CSV, feedback, summary.

Every student is graded on their own: their own copy of the notebook, their own run (see
``runner.run_notebook``), their own autograde call. A submission that is missing, unreadable,
crashes its kernel or attacks the grader gets 0 on the affected cells and a reason; the batch
goes on. Only the instructor's own input (unknown assignment, missing folder, stale reference
outputs) stops the command.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
)
from tqdm import tqdm
from traitlets.config import Config

from autograder.course import NBGRADER_IGNORE, WORK_DIR, Assignment, InstructorError, get_assignment
from autograder.notebooks import (
    GradeCell,
    grade_cells,
    graded_name,
    read_notebook,
    repair_test_cells,
    solution_cells,
)
from autograder.plugins import (
    RUN_REPORTS,
    CheckedExecute,
    CheckedSaveAutoGrades,
    HideHiddenTests,
    load_reference,
)
from autograder.references import ensure_references_current
from autograder.sandbox import require_sandbox

# nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every new submission.
warnings.filterwarnings("ignore", message=".*not in session.*")

CSV_FIELDS = ["student_id", "assignment", "notebook", "grade_id", "score", "max_score"]
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
MAX_SUBMISSION_BYTES = 32 * 2**20


@dataclass
class StudentResult:
    student: str
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)  # likely mistakes named by the checks
    flags: list[str] = field(default_factory=list)  # reasons to look at it by hand
    seconds: float = 0.0  # how long the notebook ran

    def total(self) -> float:
        return sum(self.scores.values())


@dataclass
class GradingReport:
    assignment: str
    cells: list[GradeCell]
    students: list[StudentResult]
    skipped: list[str]  # student folders that could not be graded at all (instructor input)
    workdir: Path
    sandboxed: bool = True

    @property
    def max_total(self) -> float:
        return sum(cell.points for cell in self.cells)

    def rows(self) -> list[dict[str, str]]:
        """One CSV row per student and test cell, in a stable order."""
        notebook = self.notebook_id
        return [
            {
                "student_id": result.student,
                "assignment": self.assignment,
                "notebook": notebook,
                "grade_id": cell.grade_id,
                "score": f"{result.scores.get(cell.grade_id, 0.0):g}",
                "max_score": f"{cell.points:g}",
            }
            for result in self.students
            for cell in self.cells
        ]

    def scores_by_name(self, student: str) -> dict[str, tuple[float, float]]:
        """(score, max) per graded function for one student: its test cells added up."""
        source = read_notebook(get_assignment(self.assignment).source_notebook)
        names = list(solution_cells(source))
        result = next(r for r in self.students if r.student == student)
        totals = dict.fromkeys(names, (0.0, 0.0))
        for cell in self.cells:
            name = graded_name(cell.grade_id, names)
            score, points = totals[name]
            totals[name] = (score + result.scores.get(cell.grade_id, 0.0), points + cell.points)
        return totals

    @property
    def notebook_id(self) -> str:
        return get_assignment(self.assignment).source_notebook.stem

    def summary(self) -> str:
        width = max([len("student")] + [len(r.student) for r in self.students])
        lines = [f"{'student':<{width}}  {'score':>12}  notes", "-" * (width + 30)]
        for result in self.students:
            score = f"{result.total():g} / {self.max_total:g}"
            notes = "; ".join(result.notes) or "graded"
            lines.append(f"{result.student:<{width}}  {score:>12}  {_shorten(notes, 90)}")
            lines.extend(f"{'':<{width}}  {'':>12}  likely mistake: {_shorten(what, 74)}"
                         for what in result.diagnoses)  # fmt: skip
            lines.extend(f"{'':<{width}}  {'':>12}  flagged for review: {_shorten(why, 70)}"
                         for why in result.flags)  # fmt: skip
        lines.extend(f"{name:<{width}}  {'-':>12}  skipped: not a valid student id" for name in
                     self.skipped)  # fmt: skip
        return "\n".join(lines)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def use_checked_grading(
    config: Config,
    reference_root: Path,
    scratch_root: Path,
    cell_timeout: int = 60,
    sandboxed: bool = True,
) -> None:
    """Make nbgrader grade through the check API: the course's execute and scoring steps, and
    feedback that hides hidden tests. Used by every grading run and by nbgrader_config.py."""
    config.Autograde.autograde_preprocessors = [
        CheckedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        CheckedSaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
    ]  # fmt: skip
    config.CheckedExecute.reference_root = str(reference_root)
    config.CheckedExecute.scratch_root = str(scratch_root)
    config.CheckedExecute.cell_timeout = cell_timeout
    config.CheckedExecute.sandbox = "bubblewrap" if sandboxed else "none"
    config.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
    # LimitOutput keeps a runaway print loop from bloating the gradebook and the feedback.
    config.LimitOutput.max_lines = 200
    config.LimitOutput.max_length = 20_000
    config.CourseDirectory.ignore = NBGRADER_IGNORE


def nbgrader_config(
    assignment: Assignment, workdir: Path, cell_timeout: int, sandboxed: bool = True
) -> Config:
    """The nbgrader configuration of one grading run: a course folder under ``workdir`` whose
    source is the course's solutions/."""
    config = Config()
    config.CourseDirectory.root = str(workdir)
    config.CourseDirectory.source_directory = str(assignment.source_dir.parent)
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    use_checked_grading(
        config, assignment.reference_dir.parent, workdir / "runs", cell_timeout, sandboxed
    )
    return config


def find_students(submissions: Path) -> tuple[list[str], list[str]]:
    """Student folders in ``submissions``: (valid ids, folder names that are not valid ids)."""
    if not submissions.is_dir():
        raise InstructorError(f"submissions folder {str(submissions)!r} does not exist")
    names = sorted(p.name for p in submissions.iterdir() if p.is_dir() and p.name[0] != ".")
    if not names:
        raise InstructorError(
            f"submissions folder {str(submissions)!r} holds no student folders "
            "(expected SUBMISSIONS/<student_id>/<notebook>.ipynb)"
        )
    valid = [name for name in names if STUDENT_ID.match(name)]
    return valid, [name for name in names if name not in valid]


def locate_notebook(folder: Path, assignment: Assignment) -> tuple[Path | None, list[str]]:
    """The student's notebook, <student>/<nb> or <student>/<assignment>/<nb>; failing those,
    the only notebook in either folder (a renamed download, "hidden_state (1).ipynb")."""
    places = [folder, folder / assignment.name]
    for place in places:
        candidate = place / assignment.notebook_name
        if _inside(candidate, folder):
            return candidate, []
    for place in places:
        found = [p for p in place.glob("*.ipynb") if _inside(p, folder)]
        if len(found) == 1:
            return found[0], [f"graded {found[0].name} as {assignment.notebook_name}"]
    return None, []


def _inside(path: Path, folder: Path) -> bool:
    """A regular file that really lies in the student's folder: no link on the way (a linked
    folder could lead the grader, which runs outside the sandbox, to the solutions)."""
    if folder.is_symlink() or not path.is_file():
        return False
    parts = path.relative_to(folder).parts
    if any((folder.joinpath(*parts[: i + 1])).is_symlink() for i in range(len(parts))):
        return False
    return path.resolve().is_relative_to(folder.resolve())


def stage_submission(source: Path | None, dest_dir: Path, assignment: Assignment) -> list[str]:
    """Copy the student's notebook into nbgrader's submitted/ folder; return problems found."""
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    dest_dir.mkdir(parents=True)
    if source is None:
        return [f"no {assignment.notebook_name} in the submission"]
    if source.stat().st_size > MAX_SUBMISSION_BYTES:
        return [f"{source.name} is larger than {MAX_SUBMISSION_BYTES // 2**20} MiB"]
    try:
        notebook = nbformat.reads(source.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(notebook)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        return [f"{source.name} is not a valid notebook ({_shorten(first_line, 120)})"]
    notes = repair_test_cells(notebook, read_notebook(assignment.release_notebook))
    nbformat.write(notebook, str(dest_dir / assignment.notebook_name))
    return notes


def _put_own_tools_on_path() -> None:
    """nbgrader runs `alembic` from PATH to create a gradebook: use this environment's copy even
    when the venv is not activated (e.g. `.venv/bin/python -m autograder ...`)."""
    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + os.environ.get("PATH", "")


def grade(
    assignment_name: str,
    submissions: Path,
    csv_path: Path | None = None,
    workdir: Path | None = None,
    cell_timeout: int = 60,
    total_timeout: int = 600,
    progress: bool = True,
    unsafe_no_sandbox: bool = False,
    silent_timeout: int = 10,
) -> GradingReport:
    """Grade every student folder in ``submissions``; see the module docstring. Refuses
    (InstructorError) when bubblewrap is missing, unless ``unsafe_no_sandbox``."""
    assignment = get_assignment(assignment_name)
    sandboxed = require_sandbox(unsafe_no_sandbox)
    ensure_references_current(assignment)
    load_reference(assignment.reference_dir, fresh=True)  # before any student code runs
    _put_own_tools_on_path()
    students, skipped = find_students(submissions)
    workdir = (workdir or WORK_DIR / assignment.name).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    config = nbgrader_config(assignment, workdir, cell_timeout, sandboxed)
    config.CheckedExecute.total_timeout = total_timeout
    config.CheckedExecute.silent_timeout = silent_timeout
    api = NbGraderAPI(config=config)
    prepared = api.generate_assignment(assignment.name, force=True, create=True)
    if not prepared["success"]:
        raise InstructorError(f"nbgrader could not read {assignment.source_notebook}:\n"
                              f"{prepared.get('error', prepared.get('log', ''))}")  # fmt: skip
    cells = grade_cells(read_notebook(assignment.source_notebook))
    results = []
    for student in tqdm(students, desc=f"grading {assignment.name}", disable=not progress):
        try:
            results.append(grade_student(api, assignment, submissions / student, workdir))
        except Exception as error:  # a grader bug must not cost the rest of the batch
            results.append(StudentResult(student, read_scores(workdir, assignment, student),
                                         [f"internal grader error: {error!r}"]))  # fmt: skip
    report = GradingReport(assignment.name, cells, results, skipped, workdir, sandboxed)
    if csv_path is not None:
        write_csv(report, csv_path)
    return report


def grade_student(
    api: NbGraderAPI, assignment: Assignment, folder: Path, workdir: Path
) -> StudentResult:
    """Autograde one student and write their feedback. Never raises for the student's doing."""
    student = folder.name
    result = StudentResult(student)
    dest = workdir / "submitted" / student / assignment.name
    run_key = (student, assignment.name, assignment.source_notebook.stem)
    RUN_REPORTS.pop(run_key, None)
    source, notes = locate_notebook(folder, assignment)
    result.notes.extend(notes + stage_submission(source, dest, assignment))
    graded = api.autograde(assignment.name, student, force=True, create=True)
    if not graded["success"]:
        result.notes.append("nbgrader could not grade the notebook: " + _nbgrader_error(graded))
    run = RUN_REPORTS.pop(run_key, {"problems": [], "verdicts": {}, "diagnoses": []})
    result.notes.extend(run["problems"])
    result.diagnoses = run["diagnoses"]
    result.flags = run.get("flags", [])
    result.seconds = run.get("seconds", 0.0)
    result.scores = read_scores(workdir, assignment, student)
    failed = [f"{grade_id}: {reasons[0]}" for grade_id, (passed, reasons) in
              run["verdicts"].items() if not passed and reasons]  # fmt: skip
    if failed and not run["problems"] and not result.diagnoses:
        result.notes.append(f"first failure: {failed[0]}")
    feedback = api.generate_feedback(assignment.name, student, force=True)
    feedback_file = workdir / "feedback" / student / assignment.name / (
        assignment.source_notebook.stem + ".html")  # fmt: skip
    if not feedback["success"] or not feedback_file.is_file():
        write_plain_feedback(feedback_file, result)
    elif result.flags or result.notes:
        add_review_banner(feedback_file, result.flags, result.notes)
    return result


def _nbgrader_error(result: dict) -> str:
    """The line of nbgrader's log that says what went wrong (not "see the above traceback")."""
    log = (result.get("log") or "") + "\n" + (result.get("error") or "")
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    generic = ("Please see the", "There was an error processing", "Removing failed")
    errors = [
        line for line in lines
        if (line.startswith("[ERROR]") or "Error:" in line or "Exception:" in line)
        and not any(phrase in line for phrase in generic)
    ]  # fmt: skip
    return _shorten((errors or lines or ["unknown error"])[-1], 200)


def read_scores(workdir: Path, assignment: Assignment, student: str) -> dict[str, float]:
    """The student's score per test cell from the gradebook (empty if never graded)."""
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(
                assignment.source_notebook.stem, assignment.name, student
            )
        except MissingEntry:
            return {}
        return {grade.name: float(grade.score) for grade in notebook.grades}


def write_plain_feedback(path: Path, result: StudentResult) -> None:
    """Feedback for a submission nbgrader could not turn into a graded notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = result.notes + [f"flagged for review: {flag}" for flag in result.flags]
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes) or "<li>-</li>"
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {result.student}"
        f"</title></head><body><h1>Feedback for {html.escape(result.student)}</h1>"
        f"<p>Your notebook could not be graded, so every test scored 0:</p><ul>{items}</ul>"
        "</body></html>",
        encoding="utf-8",
    )


def add_review_banner(path: Path, flags: list[str], notes: list[str]) -> None:
    """Say at the top of the feedback what the grader noticed about the whole submission, and
    why it will be looked at by hand."""
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    items += "".join(f"<li>flagged for review: {html.escape(flag)}</li>" for flag in flags)
    banner = ("<div class='grader-notes' style='border:2px solid #b00;padding:0.5em 1em;"
              "margin:1em'><p><strong>Notes from the grader:</strong></p>"
              f"<ul>{items}</ul></div>")  # fmt: skip
    text = path.read_text(encoding="utf-8")
    body = re.search(r"<body[^>]*>", text)
    at = body.end() if body else 0
    path.write_text(text[:at] + banner + text[at:], encoding="utf-8")


def write_csv(report: GradingReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(report.rows())
