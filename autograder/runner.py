"""Run one notebook in a process of its own: the single boundary around untrusted code.

``run_notebook`` (the grader's side) is the only place where a student's code runs. It starts
this module as a child, inside the bubblewrap sandbox (``autograder.sandbox``) when given the
staged support folder, and reads back one thing: a tar stream on a pipe of its own holding the
executed notebook, the recorded check values and the run's outcome. Everything that comes back
is bounded in size and read defensively (no pickle, regular files only).

Run as ``python -m autograder.runner NOTEBOOK --result-fd FD`` it is the child: it executes the
notebook with nbclient, the check API in recording mode, and guards the run:

* a time limit per cell and one for the whole notebook, enforced here so the outputs of the
  cells that did run are kept;
* a wedged kernel is found quickly: when a cell has sent nothing for ``silent`` seconds, the
  kernel must answer a probe on its control channel, and after a cell ran past its limit (and
  was interrupted) on its shell channel; a kernel that does not answer is dead and the
  remaining cells do not run (so never count as passed);
* outputs are cut after a budget of bytes, so a print loop cannot exhaust memory;
* in the sandbox, before anything is sent back, every other process in it (the kernel, and
  whatever the notebook started: forks, daemons) is killed, and the runner makes itself
  undumpable so that the notebook's processes cannot read or write its memory or its pipe.

In a zygote's run (``autograder.zygote``) the runner is the init of the run's process
namespace (the notebook cannot signal it) and forks the kernel from itself (``--fork-kernel``).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # jsonschema, imported by nbformat, compiles an IRI grammar at import (0.9 s of CPU) for a
    # format check that notebook validation never uses. The runner starts once per notebook,
    # so it goes without: jsonschema skips that check when the module cannot be imported.
    sys.modules.setdefault("rfc3987_syntax", None)

import argparse
import asyncio
import contextlib
import ctypes
import io
import itertools
import json
import os
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from nbformat import NotebookNode

if TYPE_CHECKING:
    from rnncourse.store import Record

# The check API's variable (rnncourse.checks.RECORD_ENV, which tests compare with this): not
# imported from there, because the runner starts once per notebook and rnncourse imports numpy.
RECORD_ENV = "RNNCOURSE_RECORD_DIR"

KERNEL_DIED = 3  # the child's exit status when the notebook's kernel died or stopped answering
MAX_LOG_CHARS = 20_000
PROBE_SECONDS = 5  # a live kernel answers kernel_info within this time, even while computing
HEARTBEAT_SECONDS = 15  # a runner silent this long was stopped or frozen by the notebook
BACKSTOP_SECONDS = 60  # beyond the notebook's limit, for the runner's own start and finish
RESULT_FILES = ("outcome.json", "executed.ipynb")
# Set in every child's environment, sandboxed or not: the same locale, plots without a screen,
# reproducible hashing, and no debugger warnings in the notebook's output.
CHILD_ENV = {"LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
             "PYDEVD_DISABLE_FILE_VALIDATION": "1"}  # fmt: skip
WEDGED = "the kernel stopped answering (no output and no answer to a probe)"
DIED = "the kernel died (the notebook's process exited or crashed)"
OUTPUT_CUT = "[grader] output cut here: the notebook printed more than the grader keeps\n"


@dataclass(frozen=True)
class RunLimits:
    """The runner's own limits (``sandbox.Limits`` adds memory, processes and disk)."""

    cell_seconds: int = 60  # one cell; a slow honest cell of the reference takes < 10 s
    notebook_seconds: int = 600  # the whole notebook (catches many cells each under the limit)
    silent_seconds: int = 10  # no output and no answer to a probe for this long: a dead kernel
    output_bytes: int = 4 * 2**20  # notebook outputs kept (text and images); the rest is cut
    result_bytes: int = 256 * 2**20  # what a run may send back (executed notebook, records)


@dataclass
class RunResult:
    """What came back from one run. ``notebook`` is None when the run produced none."""

    notebook: NotebookNode | None
    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the run is not to be trusted fully
    log: str = ""
    seconds: float = 0.0
    # Where the time went, for benchmarks (as the runner reported it; never used for grades):
    # "start" (sandbox, Python and imports; in a zygote's run: the fork and the namespaces),
    # "kernel" (kernel start), "cells", "finish".
    phases: dict[str, float] = field(default_factory=dict)


def run_notebook(
    notebook: NotebookNode,
    scratch: Path,
    limits: RunLimits = RunLimits(),
    sandbox: object | None = None,
    workdir: Path | None = None,
) -> RunResult:
    """Execute ``notebook``, recording check values; never raises for what the notebook does.

    ``scratch`` is a fresh folder owned by the grader. ``sandbox`` is an
    ``autograder.sandbox.Sandbox`` (None: an ordinary child process, for trusted notebooks and
    ``--unsafe-no-sandbox``), in which case ``workdir`` (default: a folder in ``scratch``) is
    the notebook's working folder.
    """
    started = time.monotonic()
    if scratch.exists():
        shutil.rmtree(scratch)
    (scratch / "input").mkdir(parents=True)
    nbformat.write(notebook, str(scratch / "input" / "notebook.ipynb"))
    read_end, write_end = os.pipe()
    beat_read, beat_write = os.pipe()
    options = ["--result-fd", str(write_end), "--heartbeat-fd", str(beat_write),
               "--cell-seconds", str(limits.cell_seconds),
               "--notebook-seconds", str(limits.notebook_seconds),
               "--silent-seconds", str(limits.silent_seconds),
               "--output-bytes", str(limits.output_bytes)]  # fmt: skip
    if sandbox is not None:
        launch = sandbox.launch(options, scratch / "input")
    else:
        launch = _unsandboxed_launch(options, scratch, workdir)
    problems: list[str] = []
    try:
        result, log = _collect(launch, (read_end, write_end), (beat_read, beat_write), limits,
                               problems)  # fmt: skip
    finally:
        if sandbox is not None:
            sandbox.finish(launch)
    run = _unpack(result, scratch, problems)
    run.log, run.seconds = log, time.monotonic() - started
    run.phases = _phases(run.phases, started, started + run.seconds)
    return run


@dataclass
class Launch:
    """A child to start: its command, working folder, environment and set-up before exec."""

    command: list[str]
    cwd: Path
    env: dict[str, str] | None = None
    before_exec: object | None = None
    state: dict = field(default_factory=dict)
    # Instead of a command: start(result and heartbeat write ends) -> a process to watch, with
    # .stdout (its log), .wait(timeout) and .kill() (a zygote's run, ``sandbox.ZygoteRun``).
    start: object | None = None
    pass_fds: tuple[int, ...] = ()  # more fds the command reads (closed here once it started)


def _unsandboxed_launch(options: list[str], scratch: Path, workdir: Path | None) -> Launch:
    """A plain child process with a fresh HOME and TMPDIR (trusted notebooks only)."""
    for sub in ("home", "tmp", "records"):
        (scratch / sub).mkdir(parents=True, exist_ok=True)
    cwd = workdir if workdir is not None else scratch / "work"
    cwd.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(scratch / "home"),
        "TMPDIR": str(scratch / "tmp"),
        **CHILD_ENV,
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "PYTHONPATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    command = [sys.executable, "-m", "autograder.runner", str(scratch / "input" / "notebook.ipynb"),
               "--records", str(scratch / "records"), *options]  # fmt: skip
    return Launch(command, cwd, env)


def _collect(
    launch: Launch,
    result_pipe: tuple[int, int],
    beat_pipe: tuple[int, int],
    limits: RunLimits,
    problems: list[str],
) -> tuple[bytes | None, str]:
    """Start the child, read its result pipe and its log (both bounded) and watch its
    heartbeat, wait, then kill whatever is left."""
    result = _BoundedReader(result_pipe[0], limits.result_bytes)
    beats = _BoundedReader(beat_pipe[0], 1, keep="tail", own=True)
    try:
        if launch.start is not None:
            process = launch.start((result_pipe[1], beat_pipe[1]))
        else:
            process = subprocess.Popen(
                launch.command, cwd=launch.cwd, env=launch.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=(result_pipe[1], beat_pipe[1], *launch.pass_fds),
                preexec_fn=launch.before_exec,
            )  # fmt: skip
    except Exception as error:  # OSError, or a zygote that stopped taking runs
        problems.append(f"the notebook runner could not start: {error}")
        return None, ""
    finally:
        for fd in (result_pipe[1], beat_pipe[1], *launch.pass_fds):
            os.close(fd)  # only the child holds the writing ends now
    log = _BoundedReader(process.stdout.fileno(), MAX_LOG_CHARS, keep="tail")
    try:
        _wait(process, beats, limits, problems)
    finally:
        if launch.start is not None:
            process.kill()
        else:
            kill_group(process.pid)  # in a sandbox, its end takes every process inside with it
        process.wait()
    for reader in (result, beats, log):
        reader.join()
    process.stdout.close()
    if result.overflow:
        problems.append(f"the run sent back more than {limits.result_bytes // 2**20} MiB")
        return None, log.text()
    return bytes(result.data), log.text()


def _wait(
    process: subprocess.Popen, beats: _BoundedReader, limits: RunLimits, problems: list[str]
) -> None:
    """Wait for the child; give up when it outlives the notebook's limit or stops beating."""
    deadline = time.monotonic() + limits.notebook_seconds + BACKSTOP_SECONDS
    while True:
        try:
            code = process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            if time.monotonic() - beats.last_heard > HEARTBEAT_SECONDS:
                problems.append("the notebook runner stopped responding (no heartbeat): the "
                                "notebook stopped or froze it")  # fmt: skip
                return
            if time.monotonic() > deadline:
                problems.append(f"the notebook did not finish within "
                                f"{limits.notebook_seconds} seconds")  # fmt: skip
                return
            continue
        if code not in (0, KERNEL_DIED):
            problems.append(f"the notebook runner exited with status {code}")
        return


class _BoundedReader(threading.Thread):
    """Drain a pipe in the background, keeping at most ``most`` bytes (the head, or the tail)."""

    def __init__(self, fd: int, most: int, keep: str = "head", own: bool | None = None):
        super().__init__(daemon=True)
        self.fd, self.most, self.keep = fd, most, keep
        self.data, self.overflow = bytearray(), False
        self.last_heard = time.monotonic()
        self._own = keep == "head" if own is None else own  # stdout's pipe is Popen's to close
        self.start()

    def run(self) -> None:
        while chunk := os.read(self.fd, 1 << 16):
            self.last_heard = time.monotonic()
            self.data += chunk
            if len(self.data) > self.most:
                self.overflow = True
                if self.keep == "head":
                    del self.data[self.most :]
                else:
                    del self.data[: len(self.data) - self.most]
        if self._own:
            os.close(self.fd)

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", errors="replace")


def kill_group(pid: int) -> None:
    """SIGKILL to the process group ``pid`` leads, if it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _unpack(data: bytes | None, scratch: Path, problems: list[str]) -> RunResult:
    """Read the tar stream the child sent: regular files only, names checked, records into
    ``scratch/records`` for ``read_records``."""
    if not data:
        if not problems:
            problems.append("the run produced no executed notebook")
        return RunResult(notebook=None, problems=problems)
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for member in archive:
                if member.isfile() and _allowed_name(member.name):
                    files[member.name] = archive.extractfile(member).read()
    except (tarfile.TarError, OSError) as error:
        problems.append(f"what the run sent back could not be read: {error}")
        return RunResult(notebook=None, problems=problems)
    notes, marks = _outcome(files.get("outcome.json"))
    problems.extend(notes)
    records_dir = scratch / "records"
    if records_dir.exists():
        shutil.rmtree(records_dir)
    (records_dir / "values").mkdir(parents=True)
    for name, content in files.items():
        if name.startswith("records/"):
            (records_dir / name.removeprefix("records/")).write_bytes(content)
    from rnncourse.store import StoreError, read_records  # the grader's side only

    result = RunResult(notebook=_read_executed(files.get("executed.ipynb"), problems),
                       problems=problems, phases=marks)  # fmt: skip
    try:
        result.records = read_records(records_dir)
    except StoreError as error:
        problems.append(f"the recorded check values could not be read: {error}")
    return result


def _phases(marks: dict[str, float], started: float, ended: float) -> dict[str, float]:
    """Durations from the runner's time marks (CLOCK_MONOTONIC is shared with the sandbox);
    marks that are missing or out of order give no durations."""
    names = ("main", "kernel", "cells")
    points = [started] + [marks.get(name) for name in names] + [ended]
    if not all(isinstance(p, float) for p in points) or points != sorted(points):
        return {}
    durations = [later - earlier for earlier, later in itertools.pairwise(points)]
    return dict(zip(("start", "kernel", "cells", "finish"), durations, strict=True))


def _allowed_name(name: str) -> bool:
    if name in RESULT_FILES or name == "records/records.jsonl":
        return True
    stem = name.removeprefix("records/values/")
    return stem != name and stem.endswith(".npy") and stem[:-4].isdigit() and len(stem) <= 16


def _outcome(content: bytes | None) -> tuple[list[str], dict[str, float]]:
    """The runner's own notes on the run (timeouts, a dead kernel), a list of short strings,
    and its time marks (floats only; used for benchmarks, never for grades)."""
    if content is None:
        return ["the run produced no outcome"], {}
    try:
        outcome = json.loads(content)
        notes, marks = outcome["notes"], outcome.get("marks", {})
    except (ValueError, KeyError, TypeError, AttributeError):
        return ["the run's outcome could not be read"], {}
    if not isinstance(notes, list):
        return ["the run's outcome could not be read"], {}
    marks = {str(k): v for k, v in marks.items() if isinstance(v, float)} if isinstance(
        marks, dict) else {}  # fmt: skip
    return [str(note)[:300] for note in notes[:10]], marks


def _read_executed(content: bytes | None, problems: list[str]) -> NotebookNode | None:
    if content is None:
        problems.append("the run produced no executed notebook")
        return None
    try:
        return nbformat.reads(content.decode("utf-8"), as_version=4)
    except Exception as error:
        problems.append(f"the executed notebook could not be read: {error}")
        return None


# ---------------------------------------------------------------- the child process


def _guarded_client_class():
    """NotebookClient with an output budget, a silence watchdog and timeout bookkeeping
    (built lazily: the grader process never needs nbclient's kernel machinery)."""
    from nbclient import NotebookClient

    class GuardedClient(NotebookClient):
        def __init__(self, *args, output_bytes: int, silent_seconds: int, **kwargs):
            super().__init__(*args, **kwargs)
            self.output_left = output_bytes
            self.silent_seconds = silent_seconds
            self.timed_out = False
            self.stopped_answering = False
            self.last_heard = time.monotonic()

        def process_message(self, msg, cell, cell_index):
            self.last_heard = time.monotonic()
            return super().process_message(msg, cell, cell_index)

        def output(self, outs, msg, display_id, cell_index):
            out = super().output(outs, msg, display_id, cell_index)
            if out is None or out not in outs:
                return out
            self.output_left -= len(json.dumps(out))
            if self.output_left < 0:
                outs.remove(out)
                if self.output_left + len(json.dumps(out)) >= 0:  # the first output cut
                    outs.append(nbformat.v4.new_output("stream", name="stderr", text=OUTPUT_CUT))
            return out

        async def _async_handle_timeout(self, timeout, cell=None):
            self.timed_out = True
            return await super()._async_handle_timeout(timeout, cell)

        async def _async_poll_kernel_alive(self) -> None:
            # nbclient's liveness poll, plus: silence is answered by a probe on the control
            # channel (served by its own thread in ipykernel, so a busy kernel still answers).
            while True:
                await asyncio.sleep(1)
                try:
                    await self._async_check_alive()
                    if time.monotonic() - self.last_heard > self.silent_seconds:
                        if not await self.answers(self.kc.control_channel):
                            self.stopped_answering = True
                            raise _Wedged
                        self.last_heard = time.monotonic()
                except Exception:  # DeadKernelError or _Wedged: end the cell now
                    self.task_poll_for_reply.cancel()
                    return

        async def answers(self, channel) -> bool:
            """Whether the kernel answers a kernel_info request on ``channel`` in time."""
            request = self.kc.session.msg("kernel_info_request")
            channel.send(request)
            deadline = time.monotonic() + PROBE_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                try:
                    reply = await channel.get_msg(timeout=left)
                except Exception:
                    return False
                if reply.get("parent_header", {}).get("msg_id") == request["header"]["msg_id"]:
                    return True
            return False

    return GuardedClient


class _Wedged(Exception):
    """The kernel stopped answering."""


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])  # fmt: skip


async def _execute_cells(
    notebook: NotebookNode, args: argparse.Namespace, marks: dict[str, float], kernel=None
) -> list[str]:
    """Run every code cell within the limits; returns the notes on what went wrong. Notes the
    time the kernel was ready and the cells were done in ``marks``. ``kernel``: a
    ``zygote.ForkedKernel`` to use instead of starting a new kernel process."""
    from nbclient.exceptions import DeadKernelError

    manager = {}
    if kernel is not None:
        from autograder.zygote import forking_kernel_manager

        manager["km"] = forking_kernel_manager(kernel)
    client = _guarded_client_class()(
        notebook, **manager, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "timed out", "traceback": []},
        record_timing=False, shutdown_kernel="immediate", startup_timeout=60,
        resources={"metadata": {"path": os.getcwd()}},
        output_bytes=args.output_bytes, silent_seconds=args.silent_seconds,
    )  # fmt: skip
    deadline = time.monotonic() + args.notebook_seconds

    def cell_timeout(cell: NotebookNode) -> int:
        return max(1, min(args.cell_seconds, int(deadline - time.monotonic())))

    client.timeout_func = cell_timeout
    notes: list[str] = []
    async with client.async_setup_kernel():
        await client.async_wait_for_reply(client.kc.kernel_info())
        marks["kernel"] = time.monotonic()
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            if time.monotonic() >= deadline:
                notes.append(f"the notebook ran out of its {args.notebook_seconds} s time limit")
                break
            client.timed_out, client.last_heard = False, time.monotonic()
            try:
                await client.async_execute_cell(cell, index, client.code_cells_executed + 1)
            except DeadKernelError:
                cell.outputs.append(_error_output("DeadKernelError", "the kernel died"))
                notes.append(WEDGED if client.stopped_answering else DIED)
                break
            if client.timed_out:
                limit = f"the cell ran longer than {args.cell_seconds} s"
                cell.outputs.append(_error_output("CellTimeoutError", limit))
                if not await client.answers(client.kc.shell_channel):
                    notes.append("the kernel stopped answering after a cell ran past its "
                                 "time limit")  # fmt: skip
                    break
                notes.append(f"a cell ran longer than the {args.cell_seconds} s limit")
        marks["cells"] = time.monotonic()
    return notes


def _beat(fd: int) -> None:
    """Tell the grader every second that this runner is alive (not stopped or frozen)."""
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b".")
            time.sleep(1)


PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def prctl(option: int, value: int) -> None:
    """Linux's prctl(2) for this process; nothing where it is missing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _make_undumpable() -> None:
    """No other process of this user may read this one's memory or open its pipe (/proc)."""
    prctl(PR_SET_DUMPABLE, 0)


def _kill_everything_else() -> None:
    """In the sandbox's own process namespace: every process but its init and this runner
    (which is the init of a run forked by the zygote: then it reaps them all itself)."""
    with contextlib.suppress(OSError):
        if os.getpid() == 1:
            os.kill(-1, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                while True:  # dead and reaped: nothing writes to the records any more
                    os.waitpid(-1, 0)
        elif Path("/proc/1/comm").read_text().strip() == "bwrap":
            os.kill(-1, signal.SIGKILL)
            time.sleep(0.2)  # let the kernel reap them before the records are read


def _result_tar(
    notebook: NotebookNode, notes: list[str], marks: dict[str, float], records: Path
) -> bytes:
    buffer = io.BytesIO()
    outcome = json.dumps({"notes": notes, "marks": marks}).encode()
    with tarfile.open(fileobj=buffer, mode="w:") as archive:
        for name, content in [("outcome.json", outcome),
                              ("executed.ipynb", nbformat.writes(notebook).encode())]:  # fmt: skip
            entry = tarfile.TarInfo(name)
            entry.size = len(content)
            archive.addfile(entry, io.BytesIO(content))
        for path in sorted(records.rglob("*")) if records.is_dir() else []:
            if path.is_file() and not path.is_symlink():
                archive.add(str(path), arcname=f"records/{path.relative_to(records)}")
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute one notebook (grader child process).")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--heartbeat-fd", type=int)
    parser.add_argument("--records", type=Path, default=Path("/records"))
    parser.add_argument("--in-sandbox", action="store_true")
    parser.add_argument("--cell-seconds", type=int, default=60)
    parser.add_argument("--notebook-seconds", type=int, default=600)
    parser.add_argument("--silent-seconds", type=int, default=10)
    parser.add_argument("--output-bytes", type=int, default=4 * 2**20)
    parser.add_argument(
        "--fork-kernel",
        action="store_true",
        help="fork the kernel from this process (in the zygote's runs)",
    )
    args = parser.parse_args(argv)
    marks = {"main": time.monotonic()}
    _make_undumpable()
    os.set_inheritable(args.result_fd, False)  # the kernel must not inherit the result pipe
    os.environ[RECORD_ENV] = str(args.records)
    kernel = None
    if args.fork_kernel:  # before any thread or event loop exists in this process
        from autograder.zygote import ForkedKernel

        private_fds = [fd for fd in (args.result_fd, args.heartbeat_fd) if fd is not None]
        kernel = ForkedKernel(close_in_kernel=private_fds)
    if args.heartbeat_fd is not None:
        os.set_inheritable(args.heartbeat_fd, False)
        threading.Thread(target=_beat, args=(args.heartbeat_fd,), daemon=True).start()
    notebook = nbformat.read(str(args.notebook), as_version=4)
    with contextlib.suppress(OSError):  # the student's working copy holds their notebook
        shutil.copy(args.notebook, Path.cwd() / args.notebook.name)
    try:
        notes = asyncio.run(_execute_cells(notebook, args, marks, kernel))
    except Exception as error:  # still send back what ran, with the reason it stopped
        notes = [f"the notebook runner stopped: {type(error).__name__}: {error}"[:300]]
    if args.in_sandbox:
        _kill_everything_else()
    with os.fdopen(args.result_fd, "wb") as result:
        result.write(_result_tar(notebook, notes, marks, args.records))
    return KERNEL_DIED if any("kernel" in note for note in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
