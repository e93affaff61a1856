"""The class's gradebook: nbgrader's database, written by one writer per grading run.

Workers grade each student against a private SQLite gradebook of their own (nbgrader writes to
its gradebook all through ``autograde``) and hand back a ``GradebookEntry``: the scores and
comments of that one submission. The grading process alone writes entries into the class's
gradebook, which may be the embedded SQLite file or any database SQLAlchemy and nbgrader accept
(``--db-url``, e.g. PostgreSQL shared by several machines that grade one class together).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from autograder import speedups  # noqa: F401  (nbgrader's per-student fixed costs, paid once)
from autograder.course import InstructorError

T = TypeVar("T")


ATTEMPTS = 6  # a database shared by several graders may refuse a write that races another's


@dataclass
class GradebookEntry:
    """One student's graded submission of one notebook, as nbgrader's autograde stored it."""

    student: str
    notebook: str
    grades: dict[str, tuple[float | None, bool]] = field(default_factory=dict)  # auto, manual?
    comments: dict[str, str | None] = field(default_factory=dict)  # auto comment per cell

    @property
    def scores(self) -> dict[str, float]:
        return {name: float(auto or 0.0) for name, (auto, _) in self.grades.items()}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def describe(db_url: str) -> str:
    """The URL without its password, for messages."""
    head, at, tail = db_url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return db_url
    scheme, _, credentials = head.partition("//")
    return f"{scheme}//{credentials.split(':', 1)[0]}:***@{tail}"


def with_retries(action: Callable[[], T], what: str, db_url: str) -> T:
    """Run ``action`` (a short transaction), again after a random pause when the database
    refused it: two graders creating the same table or student at once. Raises an
    InstructorError naming the database when it keeps failing."""
    for attempt in range(ATTEMPTS):
        try:
            return action()
        except (DBAPIError, SQLAlchemyError) as error:
            if attempt == ATTEMPTS - 1:
                first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                raise InstructorError(f"the gradebook {describe(db_url)} refused to {what}: "
                                      f"{first}") from error  # fmt: skip
            time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
    raise AssertionError("unreachable")


def read_entry(db_url: str, assignment: str, notebook: str, student: str) -> GradebookEntry:
    """The student's submission of ``notebook`` (empty when never graded)."""
    entry = GradebookEntry(student, notebook)
    with Gradebook(db_url) as gradebook:
        try:
            submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return entry
        entry.grades = {g.name: (g.auto_score, bool(g.needs_manual_grade)) for g in
                        submitted.grades}  # fmt: skip
        entry.comments = {c.name: c.auto_comment for c in submitted.comments}
    return entry


class GradebookWriter:
    """The one writer to the class's gradebook during a grading run."""

    def __init__(self, db_url: str, assignment: str):
        self.db_url, self.assignment = db_url, assignment
        self.gradebook: Gradebook | None = None  # opened at the first write: after the fork

    def write(self, entry: GradebookEntry) -> None:
        """Store the entry as nbgrader's autograde would have: the submission replaced."""
        if self.gradebook is None:
            self.gradebook = with_retries(lambda: Gradebook(self.db_url), "open", self.db_url)
        with_retries(lambda: self._write(entry), f"store {entry.student}'s grades", self.db_url)

    def _write(self, entry: GradebookEntry) -> None:
        gradebook = self.gradebook
        try:
            gradebook.update_or_create_student(entry.student)
            gradebook.update_or_create_submission(self.assignment, entry.student)
            submitted = gradebook.find_submission_notebook(
                entry.notebook, self.assignment, entry.student
            )
            for grade in submitted.grades:
                grade.auto_score, grade.needs_manual_grade = entry.grades.get(
                    grade.name, (0.0, False))  # fmt: skip
            for comment in submitted.comments:
                comment.auto_comment = entry.comments.get(comment.name)
            gradebook.db.commit()
        except Exception:
            gradebook.db.rollback()
            raise

    def close(self) -> None:
        if self.gradebook is not None:
            self.gradebook.close()


def stored_scores(db_url: str, assignment: str, notebook: str) -> dict[str, dict[str, float]]:
    """Every student's score per test cell in the gradebook: student -> grade id -> score."""
    scores: dict[str, dict[str, float]] = {}
    with Gradebook(db_url) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry as error:
            raise InstructorError(
                f"the gradebook {describe(db_url)} has no assignment {assignment!r}"
            ) from error
        for submission in found.submissions:
            for submitted in submission.notebooks:
                if submitted.name == notebook:
                    scores[submission.student_id] = {
                        grade.name: float(grade.score) for grade in submitted.grades
                    }
    return scores
