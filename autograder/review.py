"""Submissions to look at by hand: code that reaches for the grader, and runs that misbehaved.

The sandbox and the out-of-process comparison are what keep unearned points out. Flags tell the
instructor where to look (they appear in the summary, the feedback and the report), and one rule
follows from them: code flagged for reaching into the checks earns a test cell's points only
when the cell's function passes its hidden value checks (see ``withhold_unconfirmed``).
"""

from __future__ import annotations

import re

from nbformat import NotebookNode

from autograder.notebooks import HIDDEN_BEGIN, nbgrader_metadata
from rnncourse.store import Record, ReferenceSet, cell_of
from rnncourse.verdicts import graded_name

# (pattern, what it does). TAMPERING: aimed at the checks themselves; the rest: at the sandbox.
TAMPERING = [
    (r"\bbuiltins\b|__builtins__", "changes or reaches into Python's builtins"),
    (r"\bsys\s*\.\s*modules\b", "edits sys.modules"),
    (r"\bget_ipython\b|set_custom_exc|showtraceback|ast_transformers|input_transformers",
     "reaches into IPython's machinery"),
    (r"RNNCOURSE_|records\.jsonl|RecordWriter|\b_writer\b|\bRECORD_ENV\b",
     "reaches into the grader's check records"),
    (r"\b(check|Checker|checks)\s*\.\s*\w+\s*=(?!=)|setattr\s*\(\s*(check|Checker)\b",
     "replaces part of the check API"),
    (r"\b(np|numpy|torch)\s*(\.\s*\w+)+\s*=(?!=)|setattr\s*\(\s*(np|numpy|torch)\b",
     "patches numpy or torch"),
    (r"__array_function__|__array_ufunc__|__torch_function__|\b__array__\b|\bdef __eq__",
     "defines how its results compare (they could lie about equality)"),
    (r"\binspect\b|_getframe|\bf_back\b|\bf_locals\b|\bf_globals\b|\bco_consts\b"
     r"|extract_stack|\bgc\s*\.\s*get_(referrers|objects)",
     "inspects its callers (the test cells) or the interpreter's objects"),
]  # fmt: skip
ESCAPES = [
    (r"\bsubprocess\b|\bos\s*\.\s*(system|popen|fork|forkpty|exec\w*|spawn\w*|posix_spawn\w*)\b"
     r"|\bsetsid\b|\bmultiprocessing\b|\bpty\b", "starts processes"),
    (r"\bos\s*\.\s*(kill|killpg|_exit|abort)\b|\bsignal\s*\.\s*signal\b|\bsys\s*\.\s*exit\b",
     "signals or ends processes"),
    (r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\s*\.\s*client\b", "uses the network"),
    (r"\bctypes\b|\bcffi\b", "calls C directly"),
    (r"/proc\b|/work/|/root\b|/home/|\bsolutions/|references/|gradebook|\.\./",
     "reads or writes paths outside its folder"),
    (r"usercustomize|sitecustomize|\.pth\b|ipython_config|profile_default|/startup",
     "writes start-up files"),
    (r"\bsetrecursionlimit\b|\bresource\s*\.\s*setrlimit\b", "changes interpreter limits"),
]  # fmt: skip


def code_flags(notebook: NotebookNode) -> tuple[list[str], bool]:
    """Flags for the student's own code (every code cell but the test cells, which the grader
    replaces): (reasons, whether any aims at the checks)."""
    source = "\n".join(
        cell.source for cell in notebook.cells
        if cell.cell_type == "code" and not nbgrader_metadata(cell).get("grade")
    )  # fmt: skip
    source = re.sub(r"#[^\n]*", "", source)  # comments say nothing about what the code does
    reasons, tampering = [], False
    for patterns, aims_at_checks in ((TAMPERING, True), (ESCAPES, False)):
        for pattern, what in patterns:
            found = re.search(pattern, source)
            if found:
                reasons.append(f"its code {what} ({found.group(0).strip()!r})")
                tampering = tampering or aims_at_checks
    return reasons, tampering


def record_flags(notebook: NotebookNode, records: list[Record]) -> list[str]:
    """Check values that did not come from their own test cell (forged, or a test copied into
    a cell of the student's own), and keys no test cell records."""
    own = {}
    for cell in notebook.cells:
        meta = nbgrader_metadata(cell)
        if meta.get("grade") and cell.cell_type == "code" and cell.get("execution_count"):
            own[cell.execution_count] = meta["grade_id"]
    stray = [r for r in records if own.get(r.cell_count) != cell_of(r.key)]
    if not stray:
        return []
    return [f"{len(stray)} check values were recorded outside their own test cell "
            f"(first: {stray[0].key!r})"]  # fmt: skip


def withhold_unconfirmed(
    notebook: NotebookNode, verdicts: dict[str, tuple[bool, list[str]]], reference: ReferenceSet
) -> None:
    """For a submission flagged for tampering with the checks: a test cell keeps its points only
    when its function is confirmed, i.e. every test cell of that function holding hidden value
    checks (close or equal: values it cannot know without computing them) passed. Visible
    values ship with the exercise and raise checks name their argument in the test cell, so
    neither can confirm code that reaches into the checks."""
    names = list(reference.signatures)
    value_cells = {cell_of(key) for key, record in reference.checks.items()
                   if record.kind != "raises"}  # fmt: skip
    confirmed: dict[str, bool] = {}
    cells = []
    for cell in notebook.cells:
        meta = nbgrader_metadata(cell)
        grade_id = meta.get("grade_id")
        if meta.get("grade") and grade_id in verdicts:
            name = graded_name(grade_id, names)
            cells.append((grade_id, name))
            if HIDDEN_BEGIN in cell.source and grade_id in value_cells:
                confirmed[name] = confirmed.get(name, True) and verdicts[grade_id][0]
    for grade_id, name in cells:
        if verdicts[grade_id][0] and not confirmed.get(name, False):
            verdicts[grade_id] = (False, [
                f"not counted: the code is flagged for reaching into the checks, and {name} "
                "does not pass its hidden value checks, so this cell's result is unconfirmed"
            ])  # fmt: skip
