"""Compare a check value with its reference: the single rule the student API and the grader share.

Tolerances (from the exercise contract): float64 results within 1e-8 relative of the reference,
float32 results within 1e-5. "Relative" is measured against the size of the reference array:

    max |actual - expected|  <=  rtol * max |expected|        (rtol * 1 if the reference is 0)

so entries that are exactly zero in the reference (a ReLU, a tiny probability) need no special
case. ``rtol`` is the looser of the tolerances of the reference's and the result's dtypes.

A ``raises`` check records how a call that should raise ``ValueError`` ended, as four strings
``[argument, outcome, exception type, message]`` (see :func:`raise_record`). It passes when the
call raised a ``ValueError`` whose message names the expected argument before any other
parameter of the function.

Every verdict has a ``reason`` that never shows expected values (safe for hidden checks) and a
``detail`` that may (expected against received, for visible checks whose values ship anyway).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RTOL = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-5}
DEFAULT_RTOL = 1e-8
COMPARABLE_KINDS = "biufU"  # booleans, integers, floats, strings
SMALL_ARRAY = 16  # arrays up to this many entries are shown whole in a detailed verdict
MAX_MESSAGE = 300  # characters of a student's exception message kept in a record

# The outcomes of a raises check, as recorded in the student's process.
NOT_RAISED, VALUE_ERROR, OTHER_ERROR = "none", "ValueError", "other"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # one friendly sentence; never shows the expected values of a numeric check
    detail: str = ""  # more for visible checks: expected against received values

    @property
    def full(self) -> str:
        """The reason with its detail, for checks whose expected values may be shown."""
        return f"{self.reason}; {self.detail}" if self.detail else self.reason


def tolerance_for(*arrays: np.ndarray) -> float:
    """The relative tolerance for comparing these arrays: the loosest of their dtypes'."""
    return max(RTOL.get(array.dtype, DEFAULT_RTOL) for array in arrays)


def compare(
    kind: str, expected: np.ndarray, actual: np.ndarray, parameters: Sequence[str] = ()
) -> Verdict:
    """Compare ``actual`` with ``expected`` according to ``kind`` ('close', 'equal' or 'raises').
    ``parameters`` are the parameter names of the function a raises check calls."""
    if kind == "raises":
        return compare_raise(expected, actual, parameters)
    if actual.dtype.kind not in COMPARABLE_KINDS:
        return Verdict(False, f"expected numbers or text, got an array of dtype {actual.dtype}")
    if (actual.dtype.kind == "U") != (expected.dtype.kind == "U"):
        wanted = "text" if expected.dtype.kind == "U" else "numbers"
        return Verdict(False, f"expected {wanted}, got {_describe(actual)}")
    if actual.shape != expected.shape:
        return Verdict(
            False,
            f"shape {actual.shape}, expected shape {expected.shape}",
            _received_expected(actual, expected),
        )
    if kind == "equal":
        if np.array_equal(actual, expected):
            return Verdict(True, "equal to the reference")
        if expected.dtype.kind == "U" and expected.ndim == 0:
            return Verdict(False, f"got {_describe(actual)}", f"expected {expected.item()}")
        return Verdict(False, "values differ from the reference",
                       _received_expected(actual, expected))  # fmt: skip
    return _compare_close(expected, actual)


def _describe(value: np.ndarray, width: int = 120) -> str:
    """A short description of a (possibly hostile) value for a verdict."""
    text = str(value.item()) if value.ndim == 0 else f"an array of {value.dtype} {value.shape}"
    return _shorten(text, width)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _show(array: np.ndarray) -> str:
    """A small array on one line, with enough digits to see a difference: [[1, -2], [0, 3.5]]."""

    def text(part: object) -> str:
        if isinstance(part, list):
            return "[" + ", ".join(text(item) for item in part) + "]"
        return f"{part:.10g}" if isinstance(part, float) else repr(part)

    return _shorten(text(array.tolist()), 400)


def _received_expected(actual: np.ndarray, expected: np.ndarray) -> str:
    """Received against expected: whole for small arrays, their shape and dtype otherwise."""
    if actual.size <= SMALL_ARRAY and expected.size <= SMALL_ARRAY:
        return f"received {_show(actual)}, expected {_show(expected)}"
    return f"received {actual.dtype} {actual.shape}, expected {expected.dtype} {expected.shape}"


def _compare_close(expected: np.ndarray, actual: np.ndarray) -> Verdict:
    if expected.dtype.kind == "f" and actual.dtype.kind in "biu":
        return Verdict(False, f"expected floating-point numbers, got dtype {actual.dtype}")
    rtol = tolerance_for(expected, actual)
    actual64, reference = actual.astype(np.float64), expected.astype(np.float64)
    if not np.all(np.isfinite(actual64)):
        bad = int(np.sum(~np.isfinite(actual64)))
        return Verdict(False, f"{bad} entr{'y is' if bad == 1 else 'ies are'} nan or inf",
                       _received_expected(actual, expected))  # fmt: skip
    if actual64.size == 0:
        return Verdict(True, "equal to the reference (empty)")
    scale = float(np.max(np.abs(reference))) or 1.0
    error = np.abs(actual64 - reference)
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    if error[worst] <= rtol * scale:
        return Verdict(True, f"matches the reference (relative tolerance {rtol:g})")
    where = f" at index {tuple(int(i) for i in worst)}" if error.ndim else ""
    if actual.size <= SMALL_ARRAY:
        detail = _received_expected(actual, expected)
    else:
        detail = (
            f"{actual.dtype} {actual.shape}; at index {tuple(int(i) for i in worst)} received "
            f"{actual64[worst]:.10g}, expected {reference[worst]:.10g}"
        )
    return Verdict(
        False,
        f"values differ from the reference: largest error {float(error[worst]):.3g}{where}",
        detail,
    )


# ---------------------------------------------------------------- raises checks


def raise_record(argument: str, error: BaseException | None) -> np.ndarray:
    """What a raises check records about how the call ended (in the student's process)."""
    if error is None:
        return np.asarray([argument, NOT_RAISED, "", ""])
    outcome = VALUE_ERROR if isinstance(error, ValueError) else OTHER_ERROR
    message = _shorten(" ".join(str(error).split()), MAX_MESSAGE)
    return np.asarray([argument, outcome, type(error).__name__, message])


def _mentions(name: str, message: str) -> int | None:
    """Where ``message`` first names ``name`` as a whole word (None if it never does)."""
    match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message)
    return match.start() if match else None


def raise_outcome(argument: str, record: np.ndarray, parameters: Sequence[str]) -> str:
    """A category for how the call ended: 'ok', or what went wrong (without the message).
    Two calls that went wrong the same way get the same category (used to name mistakes).

    ``argument`` may list several acceptable names separated by '|' (a fault that lies between
    two arguments, such as a history shorter than the window): the message must name one of
    them before any other parameter."""
    outcome, type_name, message = (str(part) for part in record[1:])
    if outcome == NOT_RAISED:
        return "returned without raising"
    if outcome != VALUE_ERROR:
        return f"raised {type_name} instead of ValueError"
    accepted = argument.split("|")
    named = [at for at in (_mentions(name, message) for name in accepted) if at is not None]
    if not named:
        return f"raised a ValueError whose message does not name {_either(accepted)}"
    positions = {p: _mentions(p, message) for p in parameters if p not in accepted}
    earlier = [p for p, at in positions.items() if at is not None and at < min(named)]
    if earlier:
        return f"raised a ValueError whose message names {earlier[0]!r} before {_either(accepted)}"
    return "ok"


def _either(names: Sequence[str]) -> str:
    return " or ".join(repr(name) for name in names)


def is_raise_record(value: np.ndarray) -> bool:
    return value.dtype.kind == "U" and value.shape == (4,)


def compare_raise(expected: np.ndarray, actual: np.ndarray, parameters: Sequence[str]) -> Verdict:
    """Judge a raises check: ``expected`` is the reference's record (its argument counts)."""
    if not is_raise_record(expected):
        return Verdict(False, "the reference of this raises check is malformed")
    if not is_raise_record(actual):
        return Verdict(False, f"not the record of a raises check: {_describe(actual)}")
    argument = str(expected[0])
    outcome = raise_outcome(argument, actual, parameters)
    if outcome == "ok":
        return Verdict(True, f"ValueError naming {_either(argument.split('|'))}")
    wanted = f"expected a ValueError whose message names {_either(argument.split('|'))}"
    if len(parameters) > 1:
        wanted += " before any other argument"
    if actual[1] == NOT_RAISED:
        return Verdict(False, f"the call returned without raising: {wanted}")
    return Verdict(False, f"the call {outcome}: {wanted}", f"it said {actual[2]}: {actual[3]}")


def same_failure(kind: str, mistake: np.ndarray, actual: np.ndarray,
                 parameters: Sequence[str]) -> bool:  # fmt: skip
    """Whether ``actual`` fails a check the same way a catalogued mistake's value does."""
    if kind == "raises":
        if not (is_raise_record(mistake) and is_raise_record(actual)):
            return False
        argument = str(mistake[0])
        return raise_outcome(argument, mistake, parameters) == raise_outcome(
            argument, actual, parameters
        )
    try:
        if kind == "close" and _has_nonfinite(mistake):
            return _same_nonfinite(mistake, actual)
        return compare(kind, mistake, actual).ok
    except Exception:  # a value no rule foresaw matches nothing
        return False


def _has_nonfinite(value: np.ndarray) -> bool:
    return value.dtype.kind == "f" and not np.all(np.isfinite(value))


def _same_nonfinite(mistake: np.ndarray, actual: np.ndarray) -> bool:
    """A mistake that overflows: the same nan and inf entries, the finite ones close."""
    if actual.dtype.kind != "f" or actual.shape != mistake.shape:
        return False
    finite = np.isfinite(mistake)
    if not np.array_equal(finite, np.isfinite(actual)):
        return False
    if not np.array_equal(mistake[~finite], actual[~finite], equal_nan=True):
        return False
    return compare("close", mistake[finite], actual[finite]).ok
