"""nbgrader preprocessors that make grading go through the course's check API.

``CheckedExecute`` takes the place of nbgrader's ``Execute``: it runs the notebook through
``runner.run_notebook`` (the sandbox boundary), copies the outputs back onto the trusted cells,
compares the recorded check values with the reference store in this (the grader's) process and
writes a verdict per test cell. ``CheckedSaveAutoGrades`` scores a test cell from that verdict
alone, so nothing the student's code prints can earn points. ``HideHiddenTests`` keeps the code
of hidden tests out of the feedback a student receives.
"""

from __future__ import annotations

import ast
import functools
import re
import textwrap
from pathlib import Path

import jinja2
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades
from traitlets import Bool, Enum, Integer, Unicode

from autograder.course import get_assignment
from autograder.notebooks import HIDDEN_BEGIN, nbgrader_metadata, read_notebook
from autograder.review import code_flags, record_flags, withhold_unconfirmed
from autograder.runner import run_notebook
from autograder.sandbox import Limits, Sandbox, require_sandbox, stage_support
from rnncourse.compare import Verdict
from rnncourse.store import MistakeValues, Record, ReferenceSet, cell_of, read_reference
from rnncourse.verdicts import CheckResult, judge

VERDICTS = "rnncourse_verdicts"  # resources key: grade_id -> (passed, reasons)

# What each run found, for the grader's summary: (student, assignment, notebook) -> report.
# Kept in this process's memory, where no student code can write.
RUN_REPORTS: dict[tuple[str, str, str], dict] = {}
_REFERENCES: dict[Path, ReferenceSet] = {}
_SUPPORT: dict[Path, Path] = {}  # scratch root -> the course packages staged for sandboxes


def load_reference(folder: Path, fresh: bool = False) -> ReferenceSet:
    """The reference store in ``folder``, kept in memory: each grading run reads it afresh
    (``fresh=True``) before any student code runs, so nothing a submission does to the files
    can change what its own or a later submission is compared with."""
    folder = Path(folder).resolve()
    if fresh or folder not in _REFERENCES:
        _REFERENCES[folder] = read_reference(folder)
    return _REFERENCES[folder]


def prepare_support(scratch_root: Path) -> Path:
    """The course packages staged for this grader's sandboxes: afresh by each grading process,
    before its first run (parallel workers inherit the staged copy)."""
    root = Path(scratch_root).resolve()
    if root not in _SUPPORT:
        _SUPPORT[root] = stage_support(root / "support")
    return _SUPPORT[root]


def cell_verdicts(
    notebook: NotebookNode,
    records: list[Record],
    reference: ReferenceSet,
    problems: list[str] = (),
    diagnoses: list[tuple[str, str]] | None = None,
) -> dict[str, tuple[bool, list[str]]]:
    """Decide every test cell: passed when it raised no error and each of its reference checks
    was recorded by the cell itself, every time with a value that matches. ``problems`` of the
    run explain checks that never ran. The likely mistakes named go into ``diagnoses`` as
    (graded function, what the mistake is)."""
    by_cell: dict[int, list[Record]] = {}
    for record in records:
        by_cell.setdefault(record.cell_count, []).append(record)
    graded = []
    for cell in notebook.cells:
        meta = nbgrader_metadata(cell)
        if not (meta.get("grade") and cell.cell_type == "code"):
            continue
        grade_id = meta["grade_id"]
        recorded = _own_records(cell, grade_id, by_cell)
        expected = sorted(key for key in reference.checks if cell_of(key) == grade_id)
        checked = (_failed_check(reference, key, recorded[key]) for key in expected
                   if key in recorded)  # fmt: skip
        graded.append((cell, grade_id, recorded, expected, [r for r in checked if r]))
    coverage = _coverage([result for *_, failed in graded for result in failed])
    verdicts = {}
    for cell, grade_id, recorded, expected, failed in graded:
        reasons = [
            f"the cell raised {out.get('ename', 'an error')}: {out.get('evalue', '')}".rstrip(": ")
            for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
        ]
        if not expected:
            reasons.append("no reference values for this cell (references need regenerating)")
        missing = [key for key in expected if key not in recorded]
        reveal = HIDDEN_BEGIN not in cell.source  # expected values of visible checks ship anyway
        likely = _likely_mistakes(failed, coverage)
        if diagnoses is not None:
            diagnoses.extend((m.function, m.what) for m in likely
                             if (m.function, m.what) not in diagnoses)  # fmt: skip
        reasons = [f"likely mistake: {m.what}. {m.advice}" for m in likely] + reasons
        reasons += [f"{r.key}: {r.verdict.full if reveal else r.verdict.reason}" for r in failed]
        if missing and problems:
            reasons.append(f"the run stopped before this cell finished: {problems[0]}")
        elif missing and reasons:
            reasons.append(f"{len(missing)} of its {len(expected)} checks did not run")
        elif missing:
            reasons.append(f"checks that did not run: {', '.join(missing)}")
        verdicts[grade_id] = (not reasons, reasons)
    return verdicts


def _own_records(
    cell: NotebookNode, grade_id: str, by_cell: dict[int, list[Record]]
) -> dict[str, list[Record]]:
    """The values this very cell recorded, by key: not those of a student's copy of the cell."""
    count = cell.get("execution_count")
    recorded: dict[str, list[Record]] = {}
    for record in by_cell.get(count, []) if count is not None else []:
        if cell_of(record.key) == grade_id:
            recorded.setdefault(record.key, []).append(record)
    return recorded


def _failed_check(reference: ReferenceSet, key: str, records: list[Record]) -> CheckResult | None:
    """The verdict on the first of the values recorded for a check that fails (None if all
    match). A value must be of the check's kind: a raises check is not passed by check.equal."""
    expected_kind = reference.checks[key].kind
    for record in records:
        if record.kind != expected_kind:
            reason = f"recorded as a {record.kind} check, expected a {expected_kind} check"
            return CheckResult(key, Verdict(False, reason))
        result = judge(reference, key, record.value)
        if not result.ok:
            return result
    return None


def _coverage(failed: list[CheckResult]) -> dict[str, float]:
    """For each catalogued mistake, the share of the checks where it differs from the reference
    that this run reproduces: a mistake that explains its whole pattern is the likelier one."""
    matched: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for result in failed:
        for mistake in result.mistakes:
            matched[mistake.id] = matched.get(mistake.id, 0) + 1
            sizes[mistake.id] = len(mistake.values)
    return {key: matched[key] / sizes[key] for key in matched}


def _likely_mistakes(failed: list[CheckResult], coverage: dict[str, float]) -> list[MistakeValues]:
    """For each failing check, the matching mistake that best explains the whole run (ties: the
    check's own function first, then catalogue order); each named once, in order."""
    named: dict[str, MistakeValues] = {}
    for result in failed:
        if result.mistakes:
            best = max(result.mistakes, key=lambda mistake: coverage.get(mistake.id, 0.0))
            named.setdefault(best.id, best)
    return list(named.values())


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class CheckedExecute(NbGraderPreprocessor):
    """Run the notebook out of process and judge its test cells by their recorded checks."""

    reference_root = Unicode(help="folder holding <assignment>/ reference stores").tag(config=True)
    scratch_root = Unicode(help="folder for the runs' scratch space").tag(config=True)
    cell_timeout = Integer(60, help="seconds one cell may run").tag(config=True)
    total_timeout = Integer(600, help="seconds the whole notebook may run").tag(config=True)
    silent_timeout = Integer(
        10, help="seconds without output after which the kernel must answer a probe"
    ).tag(config=True)
    sandbox = Enum(
        ["bubblewrap", "none"], "bubblewrap",
        help="'bubblewrap' (refuses to grade where it is missing) or 'none': student code runs "
        "with the grader's permissions (--unsafe-no-sandbox; only for code you trust)",
    ).tag(config=True)  # fmt: skip

    zygote = Bool(
        True, help="start each sandboxed run from a fork server that has imported the "
        "assignment's libraries (still a sandbox of its own per student); False: a new Python "
        "and a new kernel process for every notebook",
    ).tag(config=True)  # fmt: skip

    def _sandbox(self, limits: Limits, assignment: str) -> Sandbox | None:
        if not require_sandbox(unsafe_no_sandbox=self.sandbox == "none"):
            return None
        preload = preload_modules(assignment) if self.zygote else None
        return Sandbox(prepare_support(Path(self.scratch_root)), limits, preload)

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        assignment, student, notebook = info["assignment"], info["student"], info["notebook"]
        reference = load_reference(Path(self.reference_root) / assignment)
        scratch = Path(self.scratch_root) / student / assignment / notebook
        limits = Limits(cell_seconds=self.cell_timeout, notebook_seconds=self.total_timeout,
                        silent_seconds=self.silent_timeout)  # fmt: skip
        sandbox = self._sandbox(limits, assignment)
        result = run_notebook(nb, scratch, limits, sandbox=sandbox)
        for problem in result.problems:
            self.log.warning("%s/%s: %s", student, notebook, problem)
        flags, tampering = code_flags(nb)  # before outputs: only the student's own cells
        _copy_outputs(nb, result.notebook, result.problems)
        flags += record_flags(nb, result.records) + [p for p in result.problems if _alarming(p)]
        diagnoses: list[tuple[str, str]] = []
        verdicts = cell_verdicts(nb, result.records, reference, result.problems, diagnoses)
        if tampering:
            withhold_unconfirmed(nb, verdicts, reference)
        for cell in nb.cells:
            grade_id = nbgrader_metadata(cell).get("grade_id")
            if grade_id in verdicts:
                _annotate(cell, *verdicts[grade_id])
        resources[VERDICTS] = verdicts
        RUN_REPORTS[(student, assignment, notebook)] = {
            "problems": result.problems,
            "verdicts": verdicts,
            "diagnoses": diagnoses,
            "flags": flags,
            "seconds": result.seconds,
            "phases": result.phases,
        }
        return nb, resources


@functools.cache
def preload_modules(assignment: str) -> tuple[str, ...]:
    """What the assignment's own notebook imports (the course's source, never a student's),
    and numpy: a zygote imports these once for all the runs it forks."""
    try:
        source = read_notebook(get_assignment(assignment).source_notebook)
    except Exception:  # an assignment outside this course (tests): numpy alone
        return ("numpy",)
    names = {"numpy"}
    for cell in source.cells:
        try:
            tree = ast.parse(cell.source) if cell.cell_type == "code" else ast.Module([])
        except SyntaxError:  # IPython syntax (magics): nothing to preload from it
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return tuple(sorted(names))


def _alarming(problem: str) -> bool:
    """Run problems that an honest notebook does not cause: worth a look by hand."""
    return any(word in problem for word in ("stopped answering", "runner", "sent back",
                                            "could not be read", "does not match"))  # fmt: skip


def _copy_outputs(nb: NotebookNode, executed: NotebookNode | None, problems: list[str]) -> None:
    """Take only outputs from the executed copy; sources and metadata stay the trusted ones."""
    if executed is not None and len(executed.cells) != len(nb.cells):
        problems.append("the executed notebook does not match the submitted one")
        executed = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if executed is None:
            reason = problems[0] if problems else "the notebook did not run"
            cell.outputs = [_error_output("NotebookNotRun", reason)]
            cell.execution_count = None
        else:
            ran = executed.cells[index]
            cell.outputs = ran.get("outputs", [])
            cell.execution_count = ran.get("execution_count")


def _annotate(cell: NotebookNode, passed: bool, reasons: list[str]) -> None:
    """Say in the cell's output what the grader decided, for the feedback."""
    if passed:
        cell.outputs.append(
            NotebookNode(output_type="stream", name="stdout", text="[grader] all checks passed\n")
        )
    else:
        cell.outputs.append(_error_output("CheckFailed", _readable(reasons)))


def _readable(reasons: list[str], most: int = 8, width: int = 96) -> str:
    """The reasons one per line, wrapped to fit the feedback page, at most ``most`` of them."""
    shown = reasons[:most]
    if len(reasons) > most:
        shown.append(f"... and {len(reasons) - most} more reasons")
    return "\n".join(textwrap.fill(reason, width, subsequent_indent="    ") for reason in shown)


class CheckedSaveAutoGrades(SaveAutoGrades):
    """Score each test cell from CheckedExecute's verdict, not from what the cell printed."""

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        meta = cell.metadata["nbgrader"]
        grade = self.gradebook.find_grade(
            meta["grade_id"], self.notebook_id, self.assignment_id, self.student_id
        )
        passed, _ = resources.get(VERDICTS, {}).get(meta["grade_id"], (False, []))
        grade.auto_score = float(meta["points"]) if passed else 0.0
        grade.needs_manual_grade = False
        self.gradebook.db.commit()


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled Jinja templates, kept for every exporter of this process."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter made cheaper for a class of feedback pages: the templates are
    compiled once per process (nbgrader makes a new exporter for every student, which compiled
    them all again: about 1 s of CPU each time), and the page is not parsed again with
    BeautifulSoup (another second) just to add ``alt`` texts (added here with a pattern) and
    keyboard-focus attributes."""

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED_TEMPLATES
        return environment

    def from_notebook_node(
        self, nb: NotebookNode, resources: dict | None = None, **kw
    ) -> tuple[str, dict]:
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        highlight = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer,
                                                                      parent=self))  # fmt: skip
        resources = self._init_resources(resources)
        data_types = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                           resources=resources)  # fmt: skip
        self.register_filter("highlight_code", highlight)
        self.register_filter("filter_data_type", data_types)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMAGE_WITHOUT_ALT.sub('<img alt="a figure the notebook drew"', page), resources


_IMAGE_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")


class HideHiddenTests(NbGraderPreprocessor):
    """In feedback, replace the code of hidden tests and trim their tracebacks to one line."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            cell.source = "# Hidden tests ran here; their code is not shown."
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"{output.get('ename')}: {output.get('evalue')}"]
        return cell, resources
