"""Run one notebook in a process of its own: the single boundary around untrusted code.

``run_notebook`` is the only place where a student's code runs. Its inputs are the notebook and
the folder it runs in; its outputs are the executed notebook, the recorded check values and a
log. Everything the child process writes is read back defensively (sizes bounded, no pickle), so
wrapping the child in a sandbox (bubblewrap) is a change to ``_child_command`` alone.

Run as ``python -m autograder.runner IN OUT`` it is the child: it executes IN with nbclient, with
the check API in recording mode, and writes the executed notebook to OUT.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from rnncourse.checks import RECORD_ENV
from rnncourse.store import Record, StoreError, read_records

KERNEL_DIED = 3  # the child's exit status when the notebook's kernel died
MAX_NOTEBOOK_BYTES = 64 * 2**20
MAX_LOG_CHARS = 20_000
CELL_TIMEOUT_ERROR = {
    "ename": "CellTimeoutError",
    "evalue": "the cell ran longer than the time limit",
    "traceback": ["CellTimeoutError: the cell ran longer than the time limit"],
}


@dataclass
class RunResult:
    """What came back from one run. ``notebook`` is None when the run produced none."""

    notebook: NotebookNode | None
    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the run is not to be trusted fully
    log: str = ""


def run_notebook(
    notebook: NotebookNode,
    workdir: Path,
    scratch: Path,
    cell_timeout: int = 60,
    total_timeout: int = 600,
) -> RunResult:
    """Execute ``notebook`` with ``workdir`` as its working folder, recording check values.

    ``scratch`` is a fresh folder owned by the grader for the run's input, output, records and
    home directory. Never raises for anything the notebook does.
    """
    if scratch.exists():
        shutil.rmtree(scratch)
    for sub in ("records", "home", "tmp"):
        (scratch / sub).mkdir(parents=True)
    source, executed = scratch / "input.ipynb", scratch / "executed.ipynb"
    nbformat.write(notebook, str(source))
    command = _child_command(source, executed, cell_timeout)
    problems: list[str] = []
    log = _run_child(command, workdir, _child_env(scratch), total_timeout, problems)
    result = RunResult(notebook=_read_executed(executed, problems), problems=problems, log=log)
    try:
        result.records = read_records(scratch / "records")
    except StoreError as error:
        problems.append(f"the recorded check values could not be read: {error}")
    return result


def _child_command(source: Path, executed: Path, cell_timeout: int) -> list[str]:
    """The command that executes the notebook (the place a sandbox wraps)."""
    return [
        sys.executable, "-m", "autograder.runner", str(source), str(executed),
        "--cell-timeout", str(cell_timeout),
    ]  # fmt: skip


def _child_env(scratch: Path) -> dict[str, str]:
    """A small, fresh environment: own HOME and TMPDIR, this Python's tools first on PATH."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(scratch / "home"),
        "TMPDIR": str(scratch / "tmp"),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        RECORD_ENV: str(scratch / "records"),
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _run_child(
    command: list[str], workdir: Path, env: dict[str, str], timeout: int, problems: list[str]
) -> str:
    log_path = Path(env["TMPDIR"]).parent / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            code = process.wait(timeout=timeout)
            if code == KERNEL_DIED:
                problems.append("the kernel died (the notebook's process exited or crashed)")
            elif code != 0:
                problems.append(f"the notebook runner exited with status {code}")
        except subprocess.TimeoutExpired:
            problems.append(f"the notebook did not finish within {timeout} seconds")
        finally:
            _kill_group(process.pid)  # also whatever the notebook left running
            process.wait()
    text = log_path.read_bytes()[-MAX_LOG_CHARS:].decode("utf-8", errors="replace")
    return text


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _read_executed(path: Path, problems: list[str]) -> NotebookNode | None:
    if path.is_symlink() or not path.is_file():
        problems.append("the run produced no executed notebook")
        return None
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        problems.append("the executed notebook is too large")
        return None
    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as error:
        problems.append(f"the executed notebook could not be read: {error}")
        return None


# ---------------------------------------------------------------- the child process


def _execute(source: Path, executed: Path, cell_timeout: int) -> int:
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    notebook = nbformat.read(str(source), as_version=4)
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout=CELL_TIMEOUT_ERROR,
        record_timing=False,
        resources={"metadata": {"path": os.getcwd()}},
    )

    def save_progress(**_: object) -> None:
        # After every cell, so a run killed for taking too long keeps what it did before.
        _write_atomically(notebook, executed)

    client.on_cell_executed = save_progress
    status = 0
    try:
        client.execute()
    except DeadKernelError as error:
        print(f"the kernel died: {error}", file=sys.stderr)
        status = KERNEL_DIED
    _write_atomically(notebook, executed)
    print(json.dumps({"executed": str(executed), "status": status}))
    return status


def _write_atomically(notebook: NotebookNode, path: Path) -> None:
    partial = path.with_suffix(".partial")
    nbformat.write(notebook, str(partial))
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute one notebook (grader child process).")
    parser.add_argument("source", type=Path)
    parser.add_argument("executed", type=Path)
    parser.add_argument("--cell-timeout", type=int, default=60)
    args = parser.parse_args(argv)
    return _execute(args.source, args.executed, args.cell_timeout)


if __name__ == "__main__":
    sys.exit(main())
