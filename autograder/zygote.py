"""A fork server inside the sandbox: one Python start and one round of imports per worker,
still a sandbox of its own for every student.

Starting a notebook costs two Python processes and their imports (the runner: nbclient,
jupyter_client; the kernel: IPython, ipykernel, debugpy; then numpy or torch), over a second of
CPU for a notebook whose cells take a fifth of that. The zygote pays them once: the grader starts
it in a bubblewrap sandbox (``sandbox.Zygote``), it imports the runner's and the kernel's modules
and the assignment's libraries, and then, for each student, forks. It holds nothing of any
student (each request carries only the run's options and file descriptors: the notebook is read
after the fork) and no reference data (that never enters a sandbox).

Each student's run is isolated from the zygote and from the students before it, inside the
worker's sandbox, with Linux namespaces of its own (as bubblewrap makes them):

* a user namespace, and in it new mount, process, IPC, hostname and network namespaces: no
  network device but a loopback that is down (the kernel talks to the runner over Unix
  sockets), and its processes all die with the run (the runner is the namespace's init);
* the /proc entries of the processes outside the run (bubblewrap's init, the zygote, the run's
  parent) covered by empty read-only RAM disks: nothing of theirs to read or to set;
* fresh size-limited RAM disks over every writable place (``--private``): nothing a student
  writes is seen by the next one;
* then a second user namespace, which locks those mounts (they cannot be unmounted to reveal
  what lies below), no capabilities at all, and no way to gain privileges (``no_new_privs``);
* the zygote and the runner are undumpable: no process of the run may read their memory;
* what the worker's sandbox imposes holds for every run: read-only system and /proc/sys, the
  seccomp filter against kernel keyrings, resource limits and the control group.

In the run, the runner (``runner.main``) forks the kernel from itself instead of starting a
new Python (``ForkedKernel``), so the kernel starts with IPython and ipykernel imported.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # see runner.py: an IRI grammar that notebook validation never uses
    sys.modules.setdefault("rfc3987_syntax", None)

import contextlib
import ctypes
import importlib
import json
import os
import re
import signal
import socket
import threading

from autograder.runner import PR_SET_DUMPABLE, PR_SET_PDEATHSIG

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS = 38
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SETUP_FAILED = 71  # the exit status of a run whose namespaces could not be made
RUNNER_MODULES = ("autograder.runner", "nbformat", "nbclient", "jupyter_client.manager",
                  "jupyter_client.asynchronous")  # fmt: skip
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                  "ipykernel.debugger", "IPython")  # fmt: skip
MAX_REQUEST = 1 << 16
FDS_PER_RUN = 4  # the notebook (to read), the result pipe, the heartbeat pipe, the log pipe

_libc = ctypes.CDLL(None, use_errno=True)


def _checked(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _prctl(option: int, value: int) -> None:
    _checked(_libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


def _unshare(flags: int) -> None:
    _checked(_libc.unshare(flags), "unshare")


def _mount(source: str | None, target: str, kind: str | None, flags: int, data: str | None):
    encode = lambda text: None if text is None else text.encode()  # noqa: E731
    _checked(_libc.mount(encode(source), encode(target), encode(kind), flags, encode(data)),
             f"mount {target}")  # fmt: skip


def _map_to_self(uid: int, gid: int) -> None:
    """The new user namespace's only user and group are the caller's own."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]  # fmt: skip


def _drop_capabilities() -> None:
    """No capabilities left, in any set (a new user namespace grants them all without exec)."""
    header, data = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _checked(_libc.capset(ctypes.byref(header), data), "capset")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def isolate(private: list[str], disk_bytes: int) -> None:
    """Called by the run's init (pid 1 of the new namespaces, still holding capabilities there):
    fresh RAM disks over ``private``, then lock the mounts and give up every capability.

    What the sandbox binds below a private place (a checkout under /tmp: the virtual
    environment) is bound again, read-only as before, on the fresh RAM disk."""
    uid, gid = os.getuid(), os.getgid()
    below = _mounts_below(private)
    kept = {point: os.open(point, os.O_PATH | os.O_CLOEXEC) for point in below}
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    for place in private:
        _mount("tmpfs", place, "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={disk_bytes},mode=0700,uid={uid},gid={gid}")  # fmt: skip
    for point, fd in kept.items():
        os.makedirs(point, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND | MS_REC, None)  # keeps read-only
        os.close(fd)
    _hide_other_processes()
    _unshare(CLONE_NEWUSER | CLONE_NEWNS)  # mounts made above are locked in the new namespace
    _map_to_self(uid, gid)
    _drop_capabilities()


def _hide_other_processes() -> None:
    """Cover /proc/PID of every process outside the run (bubblewrap's init, the zygote, the
    run's parent) with an empty read-only RAM disk. The run cannot mount a /proc of its own
    (the sandbox's /proc has covered parts), and through the sandbox's it could read their
    command lines and write their settings (oom_score_adj, autogroup), which later runs
    inherit. Every process started from now on is the run's own."""
    own = os.readlink("/proc/self")
    for entry in os.listdir("/proc"):
        if entry.isdigit() and entry != own:
            try:
                _mount("tmpfs", f"/proc/{entry}", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV
                       | MS_NOEXEC, "size=4k,mode=0555")  # fmt: skip
            except FileNotFoundError:  # it has just exited
                continue


def _mounts_below(places: list[str]) -> list[str]:
    """The outermost mount points strictly inside any of ``places``."""
    points = []
    with open("/proc/self/mountinfo") as table:
        for line in table:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4])
            if any(point.startswith(place.rstrip("/") + "/") for place in places):
                points.append(point)
    points.sort(key=len)
    outermost: list[str] = []
    for point in points:
        if not any(point == o or point.startswith(o.rstrip("/") + "/") for o in outermost):
            outermost.append(point)
    return outermost


def _in_new_namespaces(init_main, fds: list[int] = ()) -> int:
    """In a forked child (outside the new process namespace): make the namespaces, fork
    ``init_main`` as their init (pid 1) and pass on its exit status. ``fds`` are the init's."""
    uid, gid = os.getuid(), os.getgid()
    _unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
             | CLONE_NEWNET)  # fmt: skip
    _map_to_self(uid, gid)
    init = os.fork()
    if init == 0:
        _exit_after(init_main)
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(init, 0)
    return _exit_code(status)


def isolation_fails(private: list[str], disk_bytes: int) -> str | None:
    """Why a run could not be isolated here (e.g. no nested user namespaces), or None: tried
    once, in a throwaway child, before the zygote takes any run."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        os.dup2(write_end, 2)  # what goes wrong, for the grader's message

        def init() -> int:
            isolate(private, disk_bytes)
            return 0

        _exit_after(lambda: _in_new_namespaces(init))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as errors:
        said = errors.read(2000).decode(errors="replace").strip()
    _, status = os.waitpid(child, 0)
    return None if status == 0 else said or f"exit status {_exit_code(status)}"


def _init(request: dict, fds: list[int], private: list[str], disk_bytes: int) -> int:
    """Pid 1 of the run: isolate, read the notebook, become the runner."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the run ends when the zygote's child is killed
    notebook_fd, result_fd, beat_fd, log_fd = fds
    for target in (1, 2):
        os.dup2(log_fd, target)
    os.close(log_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.setsid()  # a session, so an autogroup, of its own: its scheduling is its own business
    isolate(private, disk_bytes)
    notebook = request["workdir"] + "/notebook.ipynb"
    with os.fdopen(notebook_fd, "rb") as source, open(notebook, "wb") as copy:
        copy.write(source.read())
    os.chdir(request["workdir"])
    from autograder import runner

    # The grader's options name its own ends of the pipes: these (later, so they win) are ours.
    argv = [notebook, *request["options"], "--result-fd", str(result_fd),
            "--heartbeat-fd", str(beat_fd), "--in-sandbox", "--fork-kernel"]  # fmt: skip
    return runner.main(argv)


def _exit_after(function) -> None:
    """Run ``function`` in a forked child and leave with its status, whatever happens."""
    code = SETUP_FAILED
    try:
        code = function()
    except BaseException as error:  # a forked child must never return into the zygote
        with contextlib.suppress(Exception):
            print(f"sandboxed run failed to start: {type(error).__name__}: {error}",
                  file=sys.stderr, flush=True)  # fmt: skip
    finally:
        os._exit(code if isinstance(code, int) else SETUP_FAILED)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says


def serve(control_fd: int, preload: list[str], private: list[str], disk_bytes: int) -> int:
    """The zygote's life: import, say "ready" (or why not), then one run per request, each in
    a forked child; the status of each run goes back on the control socket."""
    control = socket.socket(fileno=control_fd)
    missing = []
    for name in (*RUNNER_MODULES, *KERNEL_MODULES, *preload):
        try:
            importlib.import_module(name)
        except Exception as error:  # a library missing here is imported (or not) by the run
            missing.append(f"{name}: {type(error).__name__}")
    threads = threading.active_count(), len(os.listdir("/proc/self/task"))
    # A fork would leave a thread's locks held forever in the child.
    why = f"threads after imports: {threads}" if threads != (1, 1) else None
    why = why or isolation_fails(private, disk_bytes)
    if why:
        control.send(json.dumps({"ready": False, "why": why}).encode())
        return 2
    _prctl(PR_SET_DUMPABLE, 0)
    control.send(json.dumps({"ready": True, "missing": missing}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, FDS_PER_RUN)
        except OSError:
            return 0
        if not message:  # the grader closed its end
            return 0
        status = _serve_one(json.loads(message), fds, control, private, disk_bytes)
        control.send(json.dumps({"status": status}).encode())


def _serve_one(request: dict, fds: list[int], control: socket.socket, private: list[str],
               disk_bytes: int) -> int:  # fmt: skip
    if len(fds) != FDS_PER_RUN:
        for fd in fds:
            os.close(fd)
        return SETUP_FAILED
    child = os.fork()
    if child == 0:
        control.close()
        _exit_after(lambda: _in_new_namespaces(
            lambda: _init(request, fds, private, disk_bytes), fds))  # fmt: skip
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(child, 0)
    return _exit_code(status)


# ---------------------------------------------------------------- the kernel, forked


class ForkedKernel:
    """A kernel forked from the runner, waiting for its connection file; behaves as the
    ``subprocess.Popen`` that jupyter_client's provisioner expects."""

    stdin = stdout = stderr = None

    def __init__(self, close_in_kernel: list[int]):
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(write_end)
            _exit_after(lambda: _kernel_main(read_end, close_in_kernel))
        os.close(read_end)
        with contextlib.suppress(OSError):  # its own process group, for interrupts and kills
            os.setpgid(self.pid, self.pid)
        self._go, self.returncode = write_end, None

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        """Let the kernel go with ``argv`` (ipykernel's arguments) and ``env``."""
        with os.fdopen(self._go, "wb") as go:
            go.write(json.dumps({"argv": argv, "env": env}).encode())

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _kernel_main(go_fd: int, close_in_kernel: list[int]) -> int:
    """The forked kernel: wait for the connection file, then run ipykernel in this process."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    for fd in close_in_kernel:
        with contextlib.suppress(OSError):
            os.close(fd)
    with os.fdopen(go_fd, "rb") as go:
        message = go.read()
    if not message:  # the runner gave up before starting it
        return 0
    start = json.loads(message)
    os.environ.clear()
    os.environ.update(start["env"])
    _prctl(PR_SET_DUMPABLE, 1)  # as a kernel started by exec: its own /proc entries are its own
    if "numpy" in sys.modules:  # a fresh seed per run, as a new process would draw
        sys.modules["numpy"].random.seed()
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = [sys.executable, "-m", "ipykernel_launcher", *start["argv"]]
    app = IPKernelApp.instance()
    app.initialize(start["argv"])
    app.start()
    return 0


def forking_kernel_manager(kernel: ForkedKernel):
    """An AsyncKernelManager that starts ``kernel`` (already forked) instead of a new process;
    the transport is Unix sockets, since the run has no network device."""
    from jupyter_client.manager import AsyncKernelManager

    class ForkingKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw) -> None:
            # The command would be `python -m ipykernel_launcher ARGS`: the kernel gets ARGS.
            launcher = kernel_cmd.index("ipykernel_launcher")
            kernel.start(kernel_cmd[launcher + 1 :], dict(kw.get("env") or os.environ))
            provisioner = self.provisioner
            provisioner.process, provisioner.pid, provisioner.pgid = kernel, kernel.pid, kernel.pid
            self._reconcile_connection_info(provisioner.connection_info)

    runtime = os.environ.get("JUPYTER_RUNTIME_DIR", "/tmp/jupyter-runtime")
    os.makedirs(runtime, exist_ok=True)
    return ForkingKernelManager(kernel_name="python3", transport="ipc",
                                ip=os.path.join(runtime, "kernel"))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="The grader's fork server (in a sandbox).")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--preload", default="")
    parser.add_argument("--private", action="append", default=[])
    parser.add_argument("--disk-bytes", type=int, required=True)
    args = parser.parse_args(argv)
    preload = [name for name in args.preload.split(",") if name]
    return serve(args.control_fd, preload, args.private, args.disk_bytes)


if __name__ == "__main__":
    sys.exit(main())
