"""The check API that every test cell of every exercise notebook uses.

A test cell never compares by hand. It computes the student's result on some input and hands it
to a keyed check::

    check.close("test_rnn_step/example", rnn_step(X, H, W_xh, W_hh, b_h))
    with check.raises("test_rnn_step_errors/activation", argument="activation"):
        rnn_step(X, H, W_xh, W_hh, b_h, activation="sigmoid")

The expected values live in a reference store generated from the reference solution. What a
check does depends on where the notebook runs:

* In a student's JupyterLab it compares at once with the reference values shipped beside the
  exercise (visible checks only), prints a verdict and raises ``AssertionError`` on a mismatch,
  showing expected against received values and, when the wrong value is one a catalogued
  mistake produces, naming that likely mistake.
* Under the autograder (``RNNCOURSE_RECORD_DIR`` is set) it only records the value. The grader
  compares the records with the reference store in its own process, outside the student's reach.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from rnncourse.compare import raise_record
from rnncourse.store import RecordWriter, ReferenceSet, as_array, read_reference, validate_key
from rnncourse.verdicts import judge

RECORD_ENV = "RNNCOURSE_RECORD_DIR"
VISIBLE_CHECKS_DIR = "visible_checks"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _running_cell() -> int | None:
    """The execution count of the notebook cell running now (None outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not isinstance(getattr(shell, "execution_count", None), int):
        return None
    # IPython counts the cell before running it: the running cell is In[execution_count - 1].
    return shell.execution_count - 1


class Checker:
    """Keyed checks for one assignment (see the module docstring)."""

    def __init__(self, assignment: str, visible_dir: Path | str | None = None):
        self.assignment = assignment
        record_dir = os.environ.get(RECORD_ENV)
        self._writer = RecordWriter(record_dir) if record_dir else None
        self._reference = ReferenceSet({}, {}, [])
        if self._writer is None:
            folder = Path(visible_dir) if visible_dir else self._find_visible_dir()
            if folder is not None:
                self._reference = read_reference(folder)
            else:
                print(
                    f"warning: no reference values found ({VISIBLE_CHECKS_DIR}/ beside this "
                    "notebook), so the checks below cannot tell right from wrong here. Open the "
                    f"notebook from the course's exercises/{assignment}/ folder."
                )

    @property
    def recording(self) -> bool:
        """True under the autograder: checks record values and never raise."""
        return self._writer is not None

    def _find_visible_dir(self) -> Path | None:
        candidates = [
            Path.cwd() / VISIBLE_CHECKS_DIR,
            REPO_ROOT / "exercises" / self.assignment / VISIBLE_CHECKS_DIR,
        ]
        return next((path for path in candidates if path.is_dir()), None)

    def close(self, key: str, value: object) -> None:
        """``value`` must match the reference within the contract's tolerance."""
        self._check(key, "close", value)

    def equal(self, key: str, value: object) -> None:
        """``value`` must equal the reference exactly (integers, strings, shapes)."""
        self._check(key, "equal", value)

    def raises(self, key: str, argument: str | tuple[str, ...]) -> _RaisesCheck:
        """A context manager: the block must raise ``ValueError`` whose message names
        ``argument`` before any other argument of the function (a tuple: any one of these
        names, for a fault that lies between them). The exception is swallowed and how the
        call ended is checked like a value."""
        validate_key(key)
        names = (argument,) if isinstance(argument, str) else tuple(argument)
        if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise ValueError(f"argument must name the function's parameters, got {argument!r}")
        return _RaisesCheck(self, key, "|".join(names))

    def _check(self, key: str, kind: str, value: object) -> None:
        validate_key(key)
        if self._writer is not None:
            self._writer.write(key, kind, value, _running_cell())
            return
        if key not in self._reference.checks:
            if os.environ.get("NBGRADER_EXECUTION") == "autograde":
                # Stock nbgrader is grading without the recorder: a hidden check must not pass.
                raise AssertionError(
                    f"{key}: hidden checks are graded by `python -m autograder grade` only"
                )
            print(f"-  {key}: hidden check, compared when your notebook is graded")
            return
        result = judge(self._reference, key, as_array(value))
        if not result.ok:
            raise AssertionError(f"{key}: {result.message(reveal=True)}")
        print(f"ok {key}: {result.verdict.reason}")


class _RaisesCheck:
    def __init__(self, checker: Checker, key: str, argument: str):
        self.checker, self.key, self.argument = checker, key, argument

    def __enter__(self) -> _RaisesCheck:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if error is not None and not isinstance(error, Exception):
            return False  # KeyboardInterrupt, SystemExit: let them through
        self.checker._check(self.key, "raises", raise_record(self.argument, error))
        return True
