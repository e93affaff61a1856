"""The verdict on one check: the comparison with the reference and, when it fails, the likely
mistake. Shared by the student's notebook (visible checks) and the grader (every check)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnncourse.compare import Verdict, compare, same_failure
from rnncourse.store import MistakeValues, ReferenceSet, cell_of


def graded_name(grade_id: str, names: list[str]) -> str:
    """The graded function a test cell belongs to: the longest name with ``test_<name>``
    as a prefix of ``grade_id`` (so test_rnn_step_concat belongs to rnn_step_concat)."""
    matches = [n for n in names if grade_id == f"test_{n}" or grade_id.startswith(f"test_{n}_")]
    if not matches:
        raise ValueError(f"grade cell {grade_id!r} tests none of {names}")
    return max(matches, key=len)


@dataclass(frozen=True)
class CheckResult:
    key: str
    verdict: Verdict
    mistakes: list[MistakeValues] = field(default_factory=list)  # whose values this one matches

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def message(self, reveal: bool) -> str:
        """One line for the student: the reason (with expected values only if ``reveal``)
        and the likely mistake with its advice."""
        text = self.verdict.full if reveal else self.verdict.reason
        if self.mistakes:
            first, others = self.mistakes[0], self.mistakes[1:]
            text += f"; likely mistake: {first.what}. {first.advice}"
            if others:
                text += " (or: " + "; ".join(m.what for m in others) + ")"
        return text


def judge(reference: ReferenceSet, key: str, actual: np.ndarray) -> CheckResult:
    """Compare ``actual`` with the reference value of ``key`` and name the mistakes it matches."""
    expected = reference.checks[key]
    function = _function_of(key, list(reference.signatures))
    parameters = reference.signatures.get(function, []) if function else []
    try:
        verdict = compare(expected.kind, expected.value, actual, parameters)
    except Exception as error:  # a value no rule foresaw: it fails, the caller goes on
        return CheckResult(key, Verdict(False, f"the value could not be compared ({error})"))
    if verdict.ok:
        return CheckResult(key, verdict)
    matches = [
        mistake
        for mistake in reference.mistakes
        if key in mistake.values
        and same_failure(expected.kind, mistake.values[key].value, actual, parameters)
    ]
    matches.sort(key=lambda mistake: mistake.function != function)  # its own function's first
    return CheckResult(key, verdict, matches)


def _function_of(key: str, names: list[str]) -> str | None:
    try:
        return graded_name(cell_of(key), names)
    except ValueError:
        return None
