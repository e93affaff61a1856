"""Compare a check value with its reference: the single rule the student API and the grader share.

Tolerances (from the exercise contract): float64 results within 1e-8 relative of the reference,
float32 within 1e-5. "Relative" is measured against the size of the reference array, so entries
that are exactly zero in the reference (a ReLU, a tiny probability) need no special case:

    max |actual - expected|  <=  rtol * max(1, max |expected|)  ... elementwise as rtol*|e| + atol

with ``atol = rtol * max|expected|`` (or ``rtol`` when the reference is all zeros).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RTOL = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-5}
DEFAULT_RTOL = 1e-8


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # one friendly sentence; never shows the expected values


def tolerance_for(expected: np.ndarray) -> float:
    """The relative tolerance for a reference value, from its dtype."""
    return RTOL.get(expected.dtype, DEFAULT_RTOL)


def compare(kind: str, expected: np.ndarray, actual: np.ndarray) -> Verdict:
    """Compare ``actual`` with ``expected`` according to ``kind`` ('close' or 'equal')."""
    if actual.dtype.kind == "U" and expected.dtype.kind != "U":
        return Verdict(False, f"expected numbers, got {_describe(actual)}")
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
    if actual.dtype.kind not in "biuf":
        return Verdict(False, f"expected real numbers, got dtype {actual.dtype}")
    if expected.dtype.kind == "f" and actual.dtype.kind in "biu":
        return Verdict(False, f"expected floating-point numbers, got dtype {actual.dtype}")
    actual = actual.astype(np.float64)
    reference = expected.astype(np.float64)
    if not np.all(np.isfinite(actual)):
        bad = int(np.sum(~np.isfinite(actual)))
        return Verdict(False, f"{bad} entr{'y is' if bad == 1 else 'ies are'} nan or inf")
    if actual.size == 0:
        return Verdict(True, "equal to the reference (empty)")
    rtol = tolerance_for(expected)
    scale = float(np.max(np.abs(reference)))
    atol = rtol * scale if scale > 0 else rtol
    error = np.abs(actual - reference)
    if np.all(error <= atol + rtol * np.abs(reference)):
        return Verdict(True, f"matches the reference (relative tolerance {rtol:g})")
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    where = f" at index {tuple(int(i) for i in worst)}" if error.ndim else ""
    return Verdict(
        False,
        f"values differ from the reference: largest error {float(error[worst]):.3g}{where}",
    )
