"""Compare a check value with its reference: the single rule the student API and the grader share.

Tolerances (from the exercise contract): float64 results within 1e-8 relative of the reference,
float32 results within 1e-5. "Relative" is measured against the size of the reference array:

    max |actual - expected|  <=  rtol * max |expected|        (rtol * 1 if the reference is 0)

so entries that are exactly zero in the reference (a ReLU, a tiny probability) need no special
case. ``rtol`` is the looser of the tolerances of the reference's and the result's dtypes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RTOL = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-5}
DEFAULT_RTOL = 1e-8
COMPARABLE_KINDS = "biufU"  # booleans, integers, floats, strings


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # one friendly sentence; never shows the expected values of a numeric check


def tolerance_for(*arrays: np.ndarray) -> float:
    """The relative tolerance for comparing these arrays: the loosest of their dtypes'."""
    return max(RTOL.get(array.dtype, DEFAULT_RTOL) for array in arrays)


def compare(kind: str, expected: np.ndarray, actual: np.ndarray) -> Verdict:
    """Compare ``actual`` with ``expected`` according to ``kind`` ('close' or 'equal')."""
    if actual.dtype.kind not in COMPARABLE_KINDS:
        return Verdict(False, f"expected numbers or text, got an array of dtype {actual.dtype}")
    if (actual.dtype.kind == "U") != (expected.dtype.kind == "U"):
        wanted = "text" if expected.dtype.kind == "U" else "numbers"
        return Verdict(False, f"expected {wanted}, got {_describe(actual)}")
    if actual.shape != expected.shape:
        return Verdict(False, f"shape {actual.shape}, expected shape {expected.shape}")
    if kind == "equal":
        if np.array_equal(actual, expected):
            return Verdict(True, "equal to the reference")
        if expected.dtype.kind == "U" and expected.ndim == 0:
            return Verdict(False, f"got {_describe(actual)}; expected {expected.item()}")
        return Verdict(False, "values differ from the reference")
    return _compare_close(expected, actual)


def _describe(value: np.ndarray, width: int = 120) -> str:
    """A short description of a (possibly hostile) value for a verdict."""
    text = str(value.item()) if value.ndim == 0 else f"an array of {value.dtype} {value.shape}"
    return text if len(text) <= width else text[: width - 3] + "..."


def _compare_close(expected: np.ndarray, actual: np.ndarray) -> Verdict:
    if expected.dtype.kind == "f" and actual.dtype.kind in "biu":
        return Verdict(False, f"expected floating-point numbers, got dtype {actual.dtype}")
    rtol = tolerance_for(expected, actual)
    actual64, reference = actual.astype(np.float64), expected.astype(np.float64)
    if not np.all(np.isfinite(actual64)):
        bad = int(np.sum(~np.isfinite(actual64)))
        return Verdict(False, f"{bad} entr{'y is' if bad == 1 else 'ies are'} nan or inf")
    if actual64.size == 0:
        return Verdict(True, "equal to the reference (empty)")
    scale = float(np.max(np.abs(reference))) or 1.0
    error = np.abs(actual64 - reference)
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    if error[worst] <= rtol * scale:
        return Verdict(True, f"matches the reference (relative tolerance {rtol:g})")
    where = f" at index {tuple(int(i) for i in worst)}" if error.ndim else ""
    return Verdict(
        False,
        f"values differ from the reference: largest error {float(error[worst]):.3g}{where}",
    )
