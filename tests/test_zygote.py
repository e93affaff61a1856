"""The zygote (``autograder.zygote``): runs forked from one sandboxed process are still isolated
from it and from each other, it holds nothing of any student, and a run that has to be killed
or a zygote that cannot start costs nothing but time."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox as sandbox_module
from autograder.runner import RunResult, run_notebook
from autograder.sandbox import PRIVATE_PLACES, Limits, Sandbox, Zygote, stage_support
from tests import redteam

pytestmark = pytest.mark.skipif(
    not redteam.SANDBOXED, reason="bubblewrap is missing (apt-get install bubblewrap)"
)
LIMITS = Limits(cell_seconds=20, notebook_seconds=60, silent_seconds=10)
PRELOAD = ("numpy",)


def notebook(*cells: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def printed(result: RunResult) -> list[str]:
    """The stdout of each code cell, in order; a cell's error as 'ERROR name: value'."""
    texts = []
    for cell in result.notebook.cells:
        out = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                out.append(output["text"])
            elif output.get("output_type") == "error":
                out.append(f"ERROR {output['ename']}: {output['evalue']}")
        texts.append("".join(out).strip())
    return texts


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    support = stage_support(tmp_path / "support")
    yield Sandbox(support, LIMITS, PRELOAD)
    Zygote.close_all()


def run(sandbox: Sandbox, nb: nbformat.NotebookNode, scratch: Path) -> RunResult:
    result = run_notebook(nb, scratch, LIMITS, sandbox=sandbox)
    assert result.notebook is not None, (result.problems, result.log)
    return result


def zygote_of(sandbox: Sandbox) -> Zygote:
    zygotes = [z for key, z in Zygote._running.items() if key[1] == sandbox.support]
    assert len(zygotes) == 1, "one zygote for the sandbox's runs"
    return zygotes[0]


def zygote_pid(zygote: Zygote) -> int:
    """The zygote's Python process (a descendant of its bubblewrap process)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            python = not cmdline[0].endswith(b"bwrap")  # bwrap's own arguments name it too
            if (
                python
                and b"autograder.zygote" in cmdline
                and _descends(int(entry.name), zygote.process.pid)
            ):
                return int(entry.name)
    raise AssertionError("no zygote process found")


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def test_a_run_sees_nothing_the_run_before_it_left(sandbox, tmp_path):
    """Files in every writable place (and in places that are not writable) stay with their run."""
    marker = f"left{uuid.uuid4().hex[:8]}"
    places = [*PRIVATE_PLACES, "/dev", "/", "/course"]
    write = notebook(f"""
import os
for place in {places!r}:
    try:
        open(os.path.join(place, {marker!r}), "w").write("x")
        print("wrote", place)
    except OSError as error:
        print("refused", place, type(error).__name__)
""")
    first = printed(run(sandbox, write, tmp_path / "a"))[0]
    for place in PRIVATE_PLACES:
        assert f"wrote {place}" in first, first  # a student may write in their own places
    for place in ("/dev", "/", "/course"):
        assert f"refused {place}" in first, first
    look = notebook(f"""
import os
found = [p for p in {places!r} if os.path.exists(os.path.join(p, {marker!r}))]
print("found", found)
""")
    assert printed(run(sandbox, look, tmp_path / "b"))[0] == "found []"
    assert len(Zygote._running) == 1, "both runs came from the same zygote"


def test_a_run_has_its_own_namespaces_no_capabilities_and_locked_mounts(sandbox, tmp_path):
    nb = notebook(
        "import os; print(os.getppid(), os.getuid(), os.getgid())",
        "print([l.split()[1] for l in open('/proc/self/status') "
        "if l.startswith(('CapEff', 'CapPrm', 'NoNewPrivs'))])",
        "print(open('/proc/self/net/dev').read().count(':'))",  # one line per device
        "import socket; socket.create_connection(('127.0.0.1', 9), timeout=2)",
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
        "print([libc.umount2(p.encode(), 2) for p in ('/tmp', '/submission', '/home/student')],"
        " ctypes.get_errno() != 0)",
    )
    ppid, caps, interfaces, loopback, umount = printed(run(sandbox, nb, tmp_path / "a"))
    assert ppid == "1 1000 1000", "the kernel's parent is the runner, init of the run's pid ns"
    assert caps == "['0000000000000000', '0000000000000000', '1']"
    assert interfaces == "1", "one network device, lo (down): the run has its own network ns"
    assert loopback.startswith("ERROR ") and "Error" in loopback, loopback
    assert umount == "[-1, -1, -1] True", "the run's RAM disks cannot be unmounted"


def test_a_run_cannot_reach_the_zygote(sandbox, tmp_path):
    run(sandbox, notebook("pass"), tmp_path / "warm")
    pid = zygote_pid(zygote_of(sandbox))
    nb = notebook(f"""
import os, signal
outcomes = []
for name in ("mem", "environ", "maps"):
    try:
        open("/proc/{pid}/" + name, "rb").read(16)
        outcomes.append(name + " read")
    except OSError as error:
        outcomes.append(name + " " + type(error).__name__)
try:
    os.kill({pid}, signal.SIGKILL)
    outcomes.append("kill sent")
except OSError as error:
    outcomes.append("kill " + type(error).__name__)
print(outcomes)
""")
    outcome = printed(run(sandbox, nb, tmp_path / "a"))[0]
    assert " read" not in outcome and "kill sent" not in outcome, outcome
    assert zygote_pid(zygote_of(sandbox)) == pid, "the zygote lives on, untouched"


def test_the_zygote_holds_nothing_of_the_students_it_served(sandbox, tmp_path):
    """A student's notebook is read after the fork: no trace of it in the zygote's memory, so
    no later run (a fork of that memory) can find it."""
    marker = f"solution{uuid.uuid4().hex}"
    result = run(sandbox, notebook(f"secret = {marker!r}\nprint(len(secret))"), tmp_path / "a")
    assert printed(result)[0] == str(len(marker))
    pid = zygote_pid(zygote_of(sandbox))
    try:
        memory = open(f"/proc/{pid}/mem", "rb")  # noqa: SIM115 - closed below
    except OSError:
        pytest.skip("this grader may not read its zygote's memory (not root)")
    found = dict.fromkeys([marker.encode(), b"--disk-bytes"], 0)
    with memory:
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            bounds, perms = line.split()[:2]
            if not perms.startswith("rw"):
                continue
            start, end = (int(x, 16) for x in bounds.split("-"))
            try:
                memory.seek(start)
                content = memory.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            for text in found:
                found[text] += content.count(text)
    assert found[b"--disk-bytes"] > 0, "the search finds what is there (the zygote's argv)"
    assert found[marker.encode()] == 0


def test_a_killed_run_takes_its_zygote_and_the_next_run_gets_a_new_one(sandbox, tmp_path):
    """The grader kills a run that outlives its limits (its runner is init of the run's pid
    namespace, so a notebook cannot stop it: the kill is the grader's backstop)."""
    first = Zygote.get(sandbox.support, LIMITS, PRELOAD)
    pid = zygote_pid(first)
    source = tmp_path / "stuck.ipynb"
    nbformat.write(notebook("import time\nwhile True: time.sleep(1)"), str(source))
    result_read, result_write = os.pipe()
    beat_read, beat_write = os.pipe()
    process = first.launch([], source).start((result_write, beat_write))
    for fd in (result_write, beat_write):
        os.close(fd)
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=3)
    process.kill()
    assert process.wait() != 0 and first.control is None and first.process.poll() is not None
    deadline = time.monotonic() + 10  # the sandbox's init dies with bwrap, a moment later
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), "the zygote and its runs are gone"
    for fd in (result_read, beat_read):
        os.close(fd)
    process.stdout.close()
    assert first.group.folders == [], "its control group is removed with it"
    after = run(sandbox, notebook("print(6 * 7)"), tmp_path / "b")
    assert printed(after) == ["42"] and not after.problems
    assert zygote_of(sandbox) is not first


def test_control_groups_of_graders_that_are_gone_are_removed(tmp_path):
    parent = sandbox_module._v1_parent("pids")
    if parent is None:
        pytest.skip("this grader may not make control groups (not root)")
    live = sandbox_module.ControlGroup(LIMITS)
    dead_pid = os.fork()
    if dead_pid == 0:
        os._exit(0)
    os.waitpid(dead_pid, 0)
    stale = parent / f"rnncourse-{dead_pid}-{uuid.uuid4().hex[:8]}"
    stale.mkdir()
    try:
        assert sandbox_module.remove_stale_groups() >= 1
        assert not stale.exists(), "the group of a grader that is gone"
        assert all(folder.exists() for folder in live.folders), "this grader's own group stays"
    finally:
        live.remove()
        if stale.exists():
            stale.rmdir()


@pytest.mark.parametrize("obstacle", ["a preloaded module starts a thread",
                                      "a run's namespaces cannot be made"])  # fmt: skip
def test_without_a_zygote_each_run_starts_alone_and_still_passes(
    obstacle, tmp_path, capfd, monkeypatch
):
    """A zygote that cannot start (forking a threaded process is unsafe; a kernel without
    nested user namespaces cannot isolate a run) sends every run to a sandbox of its own."""
    support = stage_support(tmp_path / "support")
    (support / "starts_a_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True)"
        ".start()\n"
    )
    preload = ("starts_a_thread",) if "thread" in obstacle else PRELOAD
    if "namespaces" in obstacle:  # the zygote's trial run fails to mount a RAM disk
        monkeypatch.setattr(sandbox_module, "PRIVATE_PLACES", ("/tmp", "/no/such/place"))
    sandbox = Sandbox(support, LIMITS, preload)
    try:
        result = run(sandbox, notebook("print(sum(range(5)))"), tmp_path / "a")
        assert printed(result) == ["10"] and not result.problems
        said = capfd.readouterr().err
        assert "no zygote" in said, said
        assert ("threads after imports" if "thread" in obstacle else "/no/such/place") in said
        assert not [z for key, z in Zygote._running.items() if key[1] == support]
    finally:
        Zygote.close_all()


def test_forked_kernels_draw_fresh_random_numbers_and_start_with_the_libraries(sandbox, tmp_path):
    nb = notebook("import sys; print('numpy' in sys.modules)",
                  "import numpy as np; print(np.random.rand())")  # fmt: skip
    first, second = (printed(run(sandbox, nb, tmp_path / name)) for name in "ab")
    assert first[0] == second[0] == "True", "numpy was imported by the zygote"
    assert first[1] != second[1], "an unseeded generator differs between runs"


def test_a_run_forked_by_the_zygote_records_checks_as_a_fresh_one(tmp_path):
    """The same notebook gives the same records and outputs with and without the zygote."""
    support = stage_support(tmp_path / "support")
    nb = notebook(
        "import numpy as np\nfrom rnncourse.store import RecordWriter\nprint(np.arange(3).sum())",
        "import os; print(os.environ.get('RNNCOURSE_RECORD_DIR'), os.getcwd())",
    )
    try:
        forked = run(Sandbox(support, LIMITS, PRELOAD), nb, tmp_path / "a")
        alone = run(Sandbox(support, LIMITS), nb, tmp_path / "b")
    finally:
        Zygote.close_all()
    assert printed(forked) == printed(alone) == ["3", "/records /submission"]
    assert forked.problems == alone.problems == []
    assert set(forked.phases) == set(alone.phases) == {"start", "kernel", "cells", "finish"}


@pytest.mark.parametrize("preload", [PRELOAD, None], ids=["zygote", "alone"])
def test_both_kinds_of_run_refuse_kernel_keyrings_and_global_settings(preload, tmp_path):
    """The sandbox's user is root to the kernel when the grader is: /proc/sys must be read-only
    (a core_pattern would run a program as root) and keyrings out of reach (they outlive runs)."""
    nb = notebook(
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "key = libc.syscall(248, b'user', b'rnncourse-probe', b'x', 1, -3)  # add_key, session\n"
        "print(key, os.strerror(ctypes.get_errno()))",
        "try:\n    open('/proc/sys/fs/lease-break-time', 'w').write('45')\n    print('written')\n"
        "except OSError as error:\n    print(type(error).__name__, error.errno)",
        "print(len(open('/proc/sys/fs/lease-break-time').read()) > 0)",
    )
    sandbox = Sandbox(stage_support(tmp_path / "support"), LIMITS, preload)
    try:
        keyring, sysctl, readable = printed(run(sandbox, nb, tmp_path / "a"))
    finally:
        Zygote.close_all()
    assert keyring == f"-1 {os.strerror(1)}", "add_key fails with EPERM (seccomp)"
    assert sysctl == "OSError 30", "EROFS: /proc/sys is read-only"
    assert readable == "True", "reading a setting still works"


def test_a_zygote_preloads_what_the_courses_own_notebook_imports():
    from autograder.plugins import preload_modules

    assert "torch" in preload_modules("06_torch_rnn")
    assert "torch" not in preload_modules("02_hidden_state"), "numpy notebooks stay small"
    assert {"numpy", "rnncourse"} <= set(preload_modules("02_hidden_state"))
    assert preload_modules("not_an_assignment") == ("numpy",)
