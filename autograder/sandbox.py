"""The sandbox every submission runs in: bubblewrap, resource limits, and what is staged inside.

A student's notebook runs (with the notebook executor, so no kernel port crosses the boundary)
in a bubblewrap sandbox that sees:

* the system (``/usr``), the Python installation and the course's virtual environment, read-only;
* ``/course``: a staged copy of the course packages the notebook imports (``rnncourse``,
  ``mytorch``) and the runner, read-only; never ``solutions/``, the reference store, the
  gradebook or another student's files, which live elsewhere on the grader's disk;
* ``/input``: the one notebook to run, read-only;
* size-limited RAM disks (tmpfs) for the working copy (``/submission``), a fresh HOME and /tmp,
  which vanish with the sandbox, so nothing a notebook writes survives it or fills the disk;
* no network at all (``--unshare-net``: not even the host's loopback), its own process, IPC and
  hostname namespaces, a fresh environment (``--clearenv``), a session of its own (no terminal
  injection), and ``--die-with-parent``: a grader that dies takes the sandbox with it.

By default (``Zygote``) a worker's runs share one such sandbox, holding a fork server
(``autograder.zygote``) that has imported the libraries; each run is forked from it into
namespaces and RAM disks of its own, which ``autograder/zygote.py`` describes. ``Sandbox.launch``
falls back to a sandbox per run (``launch_alone``) where a zygote cannot start.

Resource limits apply to every process inside: address space, file size, core dumps and (where
the grader may create a control group) memory and process count of the submission as a whole;
``RLIMIT_NPROC`` backs up the process count where no control group can be made.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import resource
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import ClassVar

from autograder.course import REPO_ROOT, InstructorError
from autograder.runner import CHILD_ENV, Launch, RunLimits, kill_group

MiB = 2**20
GiB = 2**30
SANDBOX_UID = 1000  # the student's user id inside the sandbox (a user namespace of its own)
COURSE_PACKAGES = ("rnncourse", "mytorch")
SANDBOX_MODULES = ("runner.py", "zygote.py")  # the grader's code that runs inside a sandbox
ZYGOTE_START_SECONDS = 120  # importing torch on a loaded machine takes a few seconds
SANDBOX_PATHS = {"course": "/course", "input": "/input", "work": "/submission",
                 "home": "/home/student", "records": "/records"}  # fmt: skip
NO_BUBBLEWRAP = (
    "bubblewrap (bwrap) is not installed or cannot create a sandbox here, so student code would "
    "run with your permissions: it could read the solutions and the gradebook, and change any "
    "file you can. Install it (Debian/Ubuntu: apt-get install bubblewrap) or, only for code you "
    "trust, pass --unsafe-no-sandbox."
)


@dataclass(frozen=True)
class Limits(RunLimits):
    """What one submission may use: the runner's own limits (time, silence, output, results)
    and what the sandbox enforces. The defaults suit a class; tests scale the times down."""

    memory_bytes: int = 4 * GiB  # address space of each process (torch needs ~1.5 GiB)
    memory_total_bytes: int = 6 * GiB  # all processes together (control group, where possible)
    processes: int = 256  # processes and threads of the submission (torch starts a few per core)
    file_bytes: int = 256 * MiB  # the largest file a process may write
    disk_bytes: int = 512 * MiB  # each RAM disk: working copy, HOME, /tmp


@cache
def bubblewrap_works() -> bool:
    """True when ``bwrap`` exists and can create the namespaces the sandbox needs."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    probe = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    return False


def require_sandbox(unsafe_no_sandbox: bool) -> bool:
    """Whether to sandbox; refuses (InstructorError) when bubblewrap is missing and the
    instructor did not ask explicitly for unsandboxed grading."""
    if bubblewrap_works():
        return True
    if unsafe_no_sandbox:
        return False
    raise InstructorError(NO_BUBBLEWRAP)


def stage_support(dest: Path) -> Path:
    """Copy what a notebook may import from the course into ``dest`` (mounted at /course):
    the course packages' Python files and the runner; nothing else of the repository."""
    if dest.exists():
        shutil.rmtree(dest)
    for package in COURSE_PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, dest / package,
            ignore=lambda folder, names: [n for n in names if not (
                n.endswith(".py") or (Path(folder) / n).is_dir()) or n == "__pycache__"],
        )  # fmt: skip
    (dest / "autograder").mkdir()
    (dest / "autograder" / "__init__.py").write_text('"""The runner, staged into a sandbox."""\n')
    for module in SANDBOX_MODULES:
        shutil.copy2(REPO_ROOT / "autograder" / module, dest / "autograder" / module)
    return dest


def _system_mounts() -> list[str]:
    """/usr read-only, and the merged-/usr links (or read-only copies) of /bin, /lib, ..."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "localtime", "nsswitch.conf"):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_mounts() -> list[str]:
    """The Python installation and the virtual environment, read-only at their own paths."""
    args = []
    for root in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}):
        if not str(root).startswith("/usr/"):
            args += ["--ro-bind", str(root), str(root)]
    if Path(sys.prefix) != Path(sys.prefix).resolve():  # a venv reached through a link
        args += ["--symlink", str(Path(sys.prefix).resolve()), str(Path(sys.prefix))]
    return args


def sandbox_environment() -> dict[str, str]:
    """The whole environment inside: nothing of the grader's own (tokens, paths, proxies)."""
    bin_dir = str(Path(sys.executable).parent)
    home = SANDBOX_PATHS["home"]
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "TMPDIR": "/tmp",
        **CHILD_ENV,
        "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
        "PYTHONPATH": SANDBOX_PATHS["course"],
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",  # one submission, one core: parallel graders share the rest
    }


# Kernel keyrings outlive a sandbox and are reachable by number from any process with the key's
# uid (which the sandbox's user maps to): a channel between students, and into the grader's own
# keyrings. No notebook needs them, so a seccomp filter makes add_key, request_key and keyctl
# fail with EPERM, as Docker's default profile does; any other architecture's system calls
# (x86_64's x32 and i386 entry points) fail too.
SECCOMP_DENIED = {"x86_64": (0xC000003E, (248, 249, 250)), "aarch64": (0xC00000B7, (217, 218, 219))}
X32_SYSCALL_BIT = 0x40000000
EPERM = 1


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The classic BPF program bubblewrap's ``--seccomp`` loads (None: unknown architecture)."""
    machine = machine or os.uname().machine
    if machine not in SECCOMP_DENIED:
        return None
    arch, denied = SECCOMP_DENIED[machine]
    load, jump_eq, jump_ge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JGE, RET|K
    allow, deny = 0x7FFF0000, 0x00050000 | EPERM  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO
    checks = [(jump_ge, X32_SYSCALL_BIT)] if machine == "x86_64" else []
    checks += [(jump_eq, number) for number in denied]
    program = [(load, 0, 0, 4), (jump_eq, 1, 0, arch), (ret, 0, 0, deny), (load, 0, 0, 0)]
    for index, (kind, value) in enumerate(checks):  # to "deny" (the last line) when it holds
        program.append((kind, len(checks) - index, 0, value))
    program += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    return b"".join(struct.pack("=HBBI", *line) for line in program)


def seccomp_fd() -> int | None:
    """A pipe holding the seccomp program, for bubblewrap to read (the caller closes it)."""
    program = seccomp_program()
    if program is None:
        return None
    read_end, write_end = os.pipe()
    os.write(write_end, program)
    os.close(write_end)
    return read_end


def bwrap_command(
    inner: list[str],
    support: Path,
    input_dir: Path | None,
    limits: Limits,
    seccomp: int | None = None,
) -> list[str]:
    """The bubblewrap command line that runs ``inner`` (the runner, or the zygote: then there
    is no ``input_dir``) inside the sandbox; ``seccomp``: the fd of ``seccomp_fd``."""
    uid = str(SANDBOX_UID)
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--uid", uid, "--gid", uid, "--hostname", "sandbox"]  # fmt: skip
    # The RAM disks first: a checkout or a grading folder under /tmp is then bound on top of
    # the sandbox's own /tmp instead of being hidden by it.
    for place in ("/tmp", SANDBOX_PATHS["work"], SANDBOX_PATHS["home"], SANDBOX_PATHS["records"]):
        args += ["--size", str(limits.disk_bytes), "--perms", "0700", "--tmpfs", place]
    args += _system_mounts() + _python_mounts()
    args += ["--ro-bind", str(support), SANDBOX_PATHS["course"], "--proc", "/proc", "--dev", "/dev"]
    # bubblewrap 0.8 leaves /proc/sys writable when it runs as root, and the sandbox's user is
    # then root to the kernel's sysctl checks (core_pattern would run a program as root).
    args += ["--ro-bind", "/proc/sys", "/proc/sys"]
    if seccomp is not None:
        args += ["--seccomp", str(seccomp)]
    # Shared memory (multiprocessing's locks, torch's workers) on a RAM disk of its own; the
    # rest of /dev read-only: nothing a notebook writes outlives it there either.
    args += ["--size", str(limits.disk_bytes), "--perms", "0700", "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev"]  # fmt: skip
    if input_dir is not None:
        args += ["--ro-bind", str(input_dir), SANDBOX_PATHS["input"]]
    args += ["--remount-ro", "/"]  # the sandbox's own root: no new top-level files
    for name, value in sandbox_environment().items():
        args += ["--setenv", name, value]
    return [*args, "--chdir", SANDBOX_PATHS["work"], "--", *inner]


class ControlGroup:
    """A control group for one submission (memory and process count of all its processes), made
    where this grader may (root, or a delegated cgroup v2 subtree); otherwise a no-op."""

    def __init__(self, limits: Limits):
        self.folders: list[Path] = []
        name = f"rnncourse-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        settings = {
            "pids": {"pids.max": str(limits.processes)},
            "memory": {"memory.limit_in_bytes": str(limits.memory_total_bytes)},
        }
        self.counts_processes = False  # a pids group exists: RLIMIT_NPROC is not needed
        for controller, files in settings.items():
            parent = _v1_parent(controller)
            if parent is None:
                continue
            with contextlib.suppress(OSError):
                folder = parent / name
                folder.mkdir()
                self.folders.append(folder)
                for file, value in files.items():
                    (folder / file).write_text(value)
                self.counts_processes |= controller == "pids"

    def enter(self, limits: Limits):
        """What a sandbox's bubblewrap runs before exec: the limits, then into the group."""

        def before_exec() -> None:
            set_rlimits(limits, count_processes=not self.counts_processes)
            self.join()

        return before_exec

    def join(self) -> None:
        """Move the calling process into the group (run in the child, before exec)."""
        for folder in self.folders:
            with contextlib.suppress(OSError):
                (folder / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self, wait_seconds: float = 0.0) -> None:
        """Remove the group, waiting up to ``wait_seconds`` for its last processes to be gone
        (the kernel reaps a sandbox's processes a moment after its bubblewrap ends)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            for folder in self.folders:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            self.folders = [folder for folder in self.folders if folder.exists()]
            if not self.folders or time.monotonic() >= deadline:
                return
            time.sleep(0.05)


GROUP_NAME = re.compile(r"rnncourse-(\d+)-[0-9a-f]{8}")


def remove_stale_groups() -> int:
    """Remove the empty control groups of graders that are gone (killed before they could
    remove their own); returns how many."""
    removed = 0
    for controller in ("pids", "memory"):
        parent = _v1_parent(controller)
        for folder in parent.iterdir() if parent is not None else []:
            match = GROUP_NAME.fullmatch(folder.name)
            if match and not Path(f"/proc/{match[1]}").exists():
                with contextlib.suppress(OSError):  # still in use: not stale after all
                    folder.rmdir()
                    removed += 1
    return removed


def _v1_parent(controller: str) -> Path | None:
    """This process's own cgroup v1 folder for ``controller``, if it is writable."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                folder = Path("/sys/fs/cgroup") / controller / path.lstrip("/")
                if os.access(folder, os.W_OK):
                    return folder
    return None


def set_rlimits(limits: Limits, count_processes: bool) -> None:
    """Per-process limits, inherited by everything the sandbox starts (run before exec).
    ``count_processes``: also RLIMIT_NPROC, the fallback where no control group counts them
    (it counts every process of this user, and none at all for root)."""
    settings = [
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_CORE, 0),
    ]
    if count_processes:
        settings.append((resource.RLIMIT_NPROC, limits.processes))
    for kind, value in settings:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (value, value))


class Sandbox:
    """Starts each run of the notebook runner inside bubblewrap, with the limits applied: in
    this process's zygote for ``preload`` (see ``autograder.zygote``) where one can start, else
    in a bubblewrap sandbox of its own."""

    def __init__(self, support: Path, limits: Limits, preload: tuple[str, ...] | None = None):
        self.support, self.limits, self.preload = support, limits, preload
        self.bwrap = shutil.which("bwrap") or "bwrap"

    def launch(self, options: list[str], input_dir: Path) -> Launch:
        if self.preload is not None:
            zygote = Zygote.get(self.support, self.limits, self.preload)
            if zygote is not None:
                return zygote.launch(options, input_dir / "notebook.ipynb")
        return self.launch_alone(options, input_dir)

    def launch_alone(self, options: list[str], input_dir: Path) -> Launch:
        """A bubblewrap sandbox for this run only, its runner and kernel started afresh."""
        group = ControlGroup(self.limits)
        notebook = f"{SANDBOX_PATHS['input']}/notebook.ipynb"
        inner = [sys.executable, "-m", "autograder.runner", notebook,
                 "--in-sandbox", "--records", SANDBOX_PATHS["records"], *options]  # fmt: skip
        seccomp = seccomp_fd()
        command = bwrap_command(inner, self.support, input_dir, self.limits, seccomp)
        command[0] = self.bwrap

        return Launch(command, input_dir, {"PATH": "/usr/bin:/bin"}, group.enter(self.limits),
                      {"group": group}, pass_fds=() if seccomp is None else (seccomp,))  # fmt: skip

    def finish(self, launch: Launch) -> None:
        group: ControlGroup | None = launch.state.get("group")
        if group is not None:  # (a zygote's run is in the zygote's group)
            group.remove(wait_seconds=2.5)


PRIVATE_PLACES = ("/tmp", SANDBOX_PATHS["work"], SANDBOX_PATHS["home"], SANDBOX_PATHS["records"],
                  "/dev/shm")  # fmt: skip


class Zygote:
    """This process's fork server (``autograder.zygote``) in a bubblewrap sandbox of its own:
    started at its first run, one run at a time, started anew after a run that had to be
    killed. It dies with this process (``--die-with-parent``)."""

    _running: ClassVar[dict[tuple, Zygote]] = {}
    _failed: ClassVar[set[tuple]] = set()  # zygotes that could not start here: runs go alone

    @classmethod
    def get(cls, support: Path, limits: Limits, preload: tuple[str, ...]) -> Zygote | None:
        key = (os.getpid(), support, limits, preload)
        zygote = cls._running.get(key)
        if zygote is not None and zygote.alive():
            return zygote
        if key in cls._failed:
            return None
        try:
            zygote = cls._running[key] = Zygote(support, limits, preload)
        except ZygoteError as error:
            print(f"grader: no zygote ({error}); each run starts its own Python", file=sys.stderr)
            cls._failed.add(key)
            return None
        return zygote

    @classmethod
    def close_all(cls) -> None:
        """Stop this process's zygotes (each holds a Python with its libraries imported)."""
        for zygote in cls._running.values():
            zygote.close()
        cls._running.clear()

    def __init__(self, support: Path, limits: Limits, preload: tuple[str, ...]):
        self.group = ControlGroup(limits)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        inner = [sys.executable, "-m", "autograder.zygote", "--control-fd", str(theirs.fileno()),
                 "--preload", ",".join(preload), "--disk-bytes", str(limits.disk_bytes),
                 *(f"--private={place}" for place in PRIVATE_PLACES)]  # fmt: skip
        seccomp = seccomp_fd()
        command = bwrap_command(inner, support, None, limits, seccomp)
        command[0] = shutil.which("bwrap") or "bwrap"
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - a file: an unread pipe blocks
        try:
            self.process = subprocess.Popen(
                command, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self.errors, start_new_session=True,
                pass_fds=(theirs.fileno(), *([] if seccomp is None else [seccomp])),
                preexec_fn=self.group.enter(limits),
            )  # fmt: skip
        except OSError as error:
            self.close()
            raise ZygoteError(f"bubblewrap could not start: {error}") from error
        finally:
            theirs.close()
            if seccomp is not None:
                os.close(seccomp)
        atexit.register(self.close)
        self.busy = False
        self._expect_ready()

    def _expect_ready(self) -> None:
        reply = self._reply(ZYGOTE_START_SECONDS)
        if not reply.get("ready"):
            why = reply.get("why") or self._stderr() or "it exited"
            self.close()
            raise ZygoteError(f"the zygote did not start: {why}")

    def _reply(self, timeout: float | None) -> dict:
        """The zygote's next message; {} when it ended or sent nothing in ``timeout`` s."""
        if not select.select([self.control], [], [], timeout)[0]:
            return {}
        with contextlib.suppress(OSError, ValueError):
            message = self.control.recv(1 << 16)
            return json.loads(message) if message else {}
        return {}

    def _stderr(self) -> str:
        with contextlib.suppress(Exception):
            self.close()
            self.errors.seek(0)
            return self.errors.read()[-4000:].decode(errors="replace").strip()
        return ""

    def alive(self) -> bool:
        return self.control is not None and not self.busy and self.process.poll() is None

    def launch(self, options: list[str], notebook: Path) -> Launch:
        def start(pass_fds: tuple[int, int]) -> ZygoteRun:
            return self._start(options, notebook, pass_fds)

        return Launch([], notebook.parent, start=start)

    def _start(self, options: list[str], notebook: Path, pass_fds: tuple[int, int]) -> ZygoteRun:
        log_read, log_write = os.pipe()
        notebook_fd = os.open(notebook, os.O_RDONLY)
        request = {"workdir": SANDBOX_PATHS["work"],
                   "options": ["--records", SANDBOX_PATHS["records"], *options]}  # fmt: skip
        try:
            socket.send_fds(self.control, [json.dumps(request).encode()],
                            [notebook_fd, *pass_fds, log_write])  # fmt: skip
        except OSError as error:
            os.close(log_read)
            self.close()
            raise ZygoteError(f"the zygote stopped taking runs: {error}") from error
        finally:
            os.close(notebook_fd)
            os.close(log_write)
        self.busy = True
        return ZygoteRun(self, os.fdopen(log_read, "rb"))

    def close(self) -> None:
        """Stop the zygote and everything in its sandbox."""
        if self.control is not None:
            self.control.close()
            self.control = None
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            kill_group(process.pid)  # bubblewrap: its sandbox's init dies with it
            process.wait()
        self.group.remove(wait_seconds=5)


class ZygoteError(Exception):
    """A zygote could not start or stopped answering."""


class ZygoteRun:
    """One run in a zygote, as ``runner._collect`` watches a process: its log, its exit status,
    and a way to end it (by ending the zygote: the next run starts a new one)."""

    def __init__(self, zygote: Zygote, log):
        self.zygote, self.stdout, self.returncode = zygote, log, None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if self.zygote.control is None:
                self.returncode = -9
                return self.returncode
            if not select.select([self.zygote.control], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("zygote run", timeout)
            status = self.zygote._reply(0).get("status")
            if not isinstance(status, int):  # the zygote ended (or said nonsense): not again
                self.zygote.close()
                status = -9
            self.returncode, self.zygote.busy = status, False
        return self.returncode

    def kill(self) -> None:
        """End the run now; a run still going takes its zygote with it."""
        if self.returncode is None:
            self.zygote.close()
            self.zygote.busy = False
            self.returncode = -9
