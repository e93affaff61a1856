"""Grade a folder of submissions: nbgrader autograde per student, then CSV, feedback, summary.

Every student is graded on their own: their own copy of the notebook, their own run (see
``runner.run_notebook``), their own autograde call. A submission that is missing, unreadable,
crashes its kernel or attacks the grader gets 0 on the affected cells and a reason; the batch
goes on. Only the instructor's own input (unknown assignment, missing folder, stale reference
outputs) stops the command.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
)
from sqlalchemy.exc import OperationalError
from tqdm import tqdm
from traitlets.config import Config

from autograder.course import NBGRADER_IGNORE, WORK_DIR, Assignment, InstructorError, get_assignment
from autograder.gradebook import (
    GradebookEntry,
    GradebookWriter,
    describe,
    read_entry,
    sqlite_url,
    stored_scores,
    with_retries,
)
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
    FeedbackExporter,
    HideHiddenTests,
    load_reference,
    prepare_support,
)
from autograder.references import ensure_references_current
from autograder.report import write_report
from autograder.runner import PR_SET_PDEATHSIG, prctl
from autograder.sandbox import Zygote, remove_stale_groups, require_sandbox

# nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every new submission.
warnings.filterwarnings("ignore", message=".*not in session.*")

DATABASE_ERRORS = ("OperationalError", "IntegrityError", "psycopg2.errors", "database is locked")
COURSE_ID = "rnn-course"  # as in nbgrader_config.py
CSV_FIELDS = ["student_id", "assignment", "notebook", "grade_id", "score", "max_score"]
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
MAX_SUBMISSION_BYTES = 32 * 2**20


@dataclass
class StudentResult:
    student: str
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)  # likely mistakes named by the checks
    mistakes: list[tuple[str, str]] = field(default_factory=list)  # the same: (function, what)
    flags: list[str] = field(default_factory=list)  # reasons to look at it by hand
    seconds: float = 0.0  # how long the notebook ran
    phases: dict[str, float] = field(default_factory=dict)  # where that time went (RunResult)
    grading_seconds: float = 0.0  # the whole of grading it: nbgrader's steps, run, feedback

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
    report_path: Path | None = None  # report.html, once written

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
    config.GenerateFeedback.exporter_class = FeedbackExporter
    # LimitOutput keeps a runaway print loop from bloating the gradebook and the feedback.
    config.LimitOutput.max_lines = 200
    config.LimitOutput.max_length = 20_000
    config.CourseDirectory.ignore = NBGRADER_IGNORE


def nbgrader_config(
    assignment: Assignment, workdir: Path, settings: RunSettings, db_url: str
) -> Config:
    """The nbgrader configuration of one grading run: a course folder under ``workdir`` whose
    source is the course's solutions/, with its gradebook at ``db_url``."""
    config = Config()
    config.CourseDirectory.root = str(workdir)
    config.CourseDirectory.source_directory = str(assignment.source_dir.parent)
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = db_url
    # nbgrader files every assignment under a course: PostgreSQL, unlike SQLite, enforces that
    # the course exists, and nbgrader creates it only when it has a name.
    config.CourseDirectory.course_id = COURSE_ID
    use_checked_grading(config, assignment.reference_dir.parent, workdir / "runs",
                        settings.cell_timeout, settings.sandboxed)  # fmt: skip
    config.CheckedExecute.total_timeout = settings.total_timeout
    config.CheckedExecute.silent_timeout = settings.silent_timeout
    config.CheckedExecute.zygote = settings.zygote
    return config


@dataclass(frozen=True)
class RunSettings:
    """How every notebook of one grading run is run."""

    cell_timeout: int = 60
    total_timeout: int = 600
    silent_timeout: int = 10
    sandboxed: bool = True
    zygote: bool = True  # fork each run from a sandboxed process that imported the libraries


@dataclass(frozen=True)
class Shard:
    """The K-th of N deterministic slices of a class (``--shard K/N``): a student belongs to
    the slice given by a hash of their id, whatever other folders the machine sees."""

    index: int  # K, from 1
    count: int  # N

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise InstructorError(f"--shard must be K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
        return cls(int(match[1]), int(match[2]))

    def holds(self, student: str) -> bool:
        digest = hashlib.sha256(student.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


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


def put_own_tools_on_path() -> None:
    """nbgrader runs `alembic` from PATH to create a gradebook: use this environment's copy even
    when the venv is not activated (e.g. `.venv/bin/python -m autograder ...`)."""
    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + os.environ.get("PATH", "")


def default_workers() -> int:
    """Two students per core: a run waits on its kernel and its sandbox about half the time
    (measured by ``python -m autograder bench``), so one per core leaves the cores idle."""
    return 2 * (os.cpu_count() or 1)


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
    workers: int | None = None,
    db_url: str | None = None,
    shard: Shard | None = None,
    report: bool = True,
    zygote: bool = True,
) -> GradingReport:
    """Grade every student folder in ``submissions`` (the ``shard``'s slice of them), ``workers``
    at a time; see the module docstring. Refuses (InstructorError) when bubblewrap is missing,
    unless ``unsafe_no_sandbox``. Writes report.html and report.csv into ``workdir``."""
    started = time.monotonic()
    assignment = get_assignment(assignment_name)
    settings = RunSettings(cell_timeout, total_timeout, silent_timeout,
                           require_sandbox(unsafe_no_sandbox), zygote)  # fmt: skip
    if workers is not None and workers < 1:
        raise InstructorError(f"--workers must be at least 1, got {workers}")
    ensure_references_current(assignment)
    load_reference(assignment.reference_dir, fresh=True)  # before any student code runs
    put_own_tools_on_path()
    students, skipped = find_students(submissions)
    if shard is not None:
        students = [student for student in students if shard.holds(student)]
    workdir = (workdir or WORK_DIR / assignment.name).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or sqlite_url(workdir / "gradebook.db")
    context = _prepare(assignment, submissions, workdir, settings, db_url)
    workers = min(workers or default_workers(), max(1, len(students)))
    if progress:
        where = "sandboxed" if settings.sandboxed else "NOT sandboxed"
        print(f"grading {len(students)} submissions of {assignment.name}, {workers} at a time "
              f"({where}); gradebook {describe(db_url)}", flush=True)  # fmt: skip
    writer = GradebookWriter(db_url, assignment.name)
    try:
        results = _grade_all(context, students, workers, writer, progress)
    finally:
        writer.close()
        shutil.rmtree(workdir / "workers", ignore_errors=True)
    cells = grade_cells(read_notebook(assignment.source_notebook))
    graded = GradingReport(assignment.name, cells, results, skipped, workdir, settings.sandboxed)
    if csv_path is not None:
        write_csv(graded, csv_path)
    if report:
        graded.report_path = write_report(graded, workdir)
    write_timings(graded, workdir / "timings.json", time.monotonic() - started, workers)
    return graded


def write_timings(report: GradingReport, path: Path, seconds: float, workers: int) -> None:
    """Where the run's time went, per student (``python -m autograder bench`` reads it)."""
    students = {r.student: {"grading": round(r.grading_seconds, 3), "run": round(r.seconds, 3),
                            **{k: round(v, 3) for k, v in r.phases.items()}}
                for r in report.students}  # fmt: skip
    path.write_text(json.dumps({"seconds": round(seconds, 3), "workers": workers,
                                "students": students}, indent=1) + "\n")  # fmt: skip


@dataclass(frozen=True)
class GradingContext:
    """What every worker needs to grade one student; set up once per run."""

    assignment: Assignment
    submissions: Path
    workdir: Path
    settings: RunSettings
    template_db: Path  # a gradebook that knows only the assignment: copied for each worker


def _prepare(
    assignment: Assignment, submissions: Path, workdir: Path, settings: RunSettings, db_url: str
) -> GradingContext:
    """Register the assignment in the class's gradebook and in a template for the workers'
    private gradebooks, and stage the course packages for the sandboxes, before any worker
    starts."""
    folder = workdir / "workers"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    template = folder / "template.db"
    fresh_file = _fresh_sqlite_file(db_url)
    urls = [db_url] if fresh_file else [db_url, sqlite_url(template)]
    for url in urls:
        api = NbGraderAPI(config=nbgrader_config(assignment, workdir, settings, url))
        prepared = with_retries(lambda api=api: _generate(api, assignment), "register the "
                                f"assignment {assignment.name}", url)  # fmt: skip
        if not prepared["success"]:
            raise InstructorError(f"nbgrader could not prepare {assignment.name} in the "
                                  f"gradebook {describe(url)}:\n"
                                  f"{prepared.get('error', prepared.get('log', ''))}")  # fmt: skip
    if fresh_file:  # a gradebook made just now knows the assignment and nothing else
        shutil.copyfile(fresh_file, template)
    if settings.sandboxed:
        prepare_support(workdir / "runs")
        remove_stale_groups()  # of graders killed before they could (their sandboxes are gone)
    return GradingContext(assignment, submissions, workdir, settings, template)


def _fresh_sqlite_file(db_url: str) -> Path | None:
    """The file of an SQLite gradebook that does not exist yet (None for any other): once the
    assignment is registered in it, it can serve as the workers' template as it is."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        return None
    path = Path(db_url.removeprefix(prefix))
    return None if path.exists() else path


def _generate(api: NbGraderAPI, assignment: Assignment) -> dict:
    """nbgrader's generate_assignment; a database error (another grader registering the same
    assignment at this moment) is raised, for ``with_retries`` to try again."""
    result = api.generate_assignment(assignment.name, force=True, create=True)
    log = (result.get("error") or "") + (result.get("log") or "")
    if not result["success"] and any(kind in log for kind in DATABASE_ERRORS):
        raise OperationalError("generate_assignment", None, Exception(log[-500:]))
    return result


def _grade_all(
    context: GradingContext,
    students: list[str],
    workers: int,
    writer: GradebookWriter,
    progress: bool,
) -> list[StudentResult]:
    """Grade ``students`` in ``workers`` processes (here, for one), storing each one's grades
    as they come; results in the order of ``students``."""
    done: dict[str, StudentResult] = {}
    bars: list[tqdm] = []  # made once the workers are forked (tqdm starts a thread)

    def store(student: str, outcome: tuple[StudentResult, GradebookEntry] | BaseException):
        if isinstance(outcome, BaseException):  # a grader bug must not cost the rest
            notebook = context.assignment.source_notebook.stem
            result = StudentResult(student, notes=[f"internal grader error: {outcome!r}"])
            outcome = (result, GradebookEntry(student, notebook))
        result, entry = outcome
        writer.write(entry)
        done[student] = result
        if result.notes or result.flags:
            bars[0].write(f"  {student}: {_shorten('; '.join(result.notes + result.flags), 110)}")
        bars[0].update()

    def progress_bar() -> tqdm:
        return tqdm(total=len(students), desc=f"grading {context.assignment.name}",
                    unit="notebook", disable=not progress, dynamic_ncols=True)  # fmt: skip

    if workers == 1:
        _start_worker(context, own_process=False)
        bars.append(progress_bar())
        try:
            for student in students:
                store(student, _guarded(grade_in_worker, student))
        finally:
            Zygote.close_all()  # a worker process takes its zygote with it; this one lives on
    else:
        fork = multiprocessing.get_context("fork")  # workers start with everything imported
        with ProcessPoolExecutor(workers, fork, _start_worker, (context,)) as pool:
            futures = {pool.submit(grade_in_worker, student): student for student in students}
            bars.append(progress_bar())
            for future in as_completed(futures):
                error = future.exception()
                store(futures[future], error if error is not None else future.result())
    bars[0].close()
    return [done[student] for student in students]


def _guarded(function, *args):
    try:
        return function(*args)
    except Exception as error:
        return error


_WORKER: dict = {}  # this worker process's context, nbgrader API and private gradebook


def _start_worker(context: GradingContext, own_process: bool = True) -> None:
    """Set up a worker: a private gradebook (a copy of the template) and an nbgrader API on it.
    A worker process dies with the grader, and its sandboxes die with it (--die-with-parent)."""
    if own_process:
        _die_with_parent()
    database = context.workdir / "workers" / f"worker-{os.getpid()}.db"
    shutil.copyfile(context.template_db, database)
    config = nbgrader_config(context.assignment, context.workdir, context.settings,
                             sqlite_url(database))  # fmt: skip
    _WORKER.update(context=context, api=NbGraderAPI(config=config), db_url=sqlite_url(database))


def _die_with_parent() -> None:
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the grader died before the line above ran
        os._exit(1)


def grade_in_worker(student: str) -> tuple[StudentResult, GradebookEntry]:
    """Grade one student in this worker; returns the result and the gradebook entry to store."""
    context: GradingContext = _WORKER["context"]
    assignment = context.assignment
    started = time.monotonic()
    result = grade_student(_WORKER["api"], assignment, context.submissions / student,
                           context.workdir)  # fmt: skip
    result.grading_seconds = time.monotonic() - started
    entry = read_entry(_WORKER["db_url"], assignment.name, assignment.source_notebook.stem,
                       student)  # fmt: skip
    result.scores = entry.scores
    return result, entry


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
    result.mistakes = [tuple(pair) for pair in run["diagnoses"]]
    result.diagnoses = [what for _, what in result.mistakes]
    result.flags = run.get("flags", [])
    result.seconds = run.get("seconds", 0.0)
    result.phases = run.get("phases", {})
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


def export_csv(assignment_name: str, db_url: str, path: Path) -> int:
    """The CSV of every student graded in the gradebook at ``db_url`` (e.g. by several shards),
    as one unsharded run writes it; returns the number of students."""
    assignment = get_assignment(assignment_name)
    cells = grade_cells(read_notebook(assignment.source_notebook))
    scores = stored_scores(db_url, assignment.name, assignment.source_notebook.stem)
    results = [StudentResult(student, scores[student]) for student in sorted(scores)]
    write_csv(GradingReport(assignment.name, cells, results, [], WORK_DIR), path)
    return len(results)
