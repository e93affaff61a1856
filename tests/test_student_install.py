"""A student outside the repository: install the course, open a downloaded exercise, get verdicts.

This follows book/getting_started.md ("Working outside the repository") and book/exercises.md:
a fresh virtual environment gets the course packages from a wheel of the repository, and an
exercise unpacked from its download (the zip the book offers, made by
book/_ext/exercise_downloads.py) runs in that environment's kernel, far from the repository.

Offline stand-ins for the two install commands of the guide: ``pip install -r
requirements.txt`` becomes a ``.pth`` file that lends the new environment the third-party
packages of ``.venv`` (through a folder of links that leaves out the course's own editable
install), and ``pip install path/to/rnn-course`` becomes ``pip install --no-index`` of a wheel
built from a copy of the repository's packages. Run time: about 15 s.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from autograder.course import REPO_ROOT, get_assignment
from autograder.mistakes import Mistake, load_catalogue
from autograder.notebooks import read_notebook, reference_solutions, with_solutions

pytestmark = pytest.mark.slow
ASSIGNMENT = "02_hidden_state"
RIGHT = "softmax"  # filled with the reference solution: its visible checks must pass
WRONG = "rnn_step_transposed_w_hh"  # a catalogued mistake: its visible check must fail
KERNEL = "rnn-course-student"
COURSE_PACKAGES = ("rnncourse", "mytorch")
# What the course's own install left in .venv's site-packages: never lent to the new venv.
OWN_ENTRIES = re.compile(r"^(__editable__|rnn_course|rnncourse|mytorch|autograder)")
# The variables that would let the kernel see the repository or switch the checks to grading.
HIDDEN_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "RNNCOURSE_RECORD_DIR", "NBGRADER_EXECUTION")


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def student_env() -> dict[str, str]:
    """This process's environment without what would point the student's Python elsewhere."""
    return {k: v for k, v in os.environ.items() if k not in HIDDEN_VARIABLES}


def build_wheel(out: Path) -> Path:
    """A wheel of the course, built from a copy of pyproject.toml and its packages."""
    source = out / "rnn-course"
    source.mkdir()
    shutil.copy2(REPO_ROOT / "pyproject.toml", source)
    packages = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for top in sorted({name.split(".")[0] for name in packages["packages"]}):
        shutil.copytree(REPO_ROOT / top, source / top, ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation",
        "--wheel-dir", out / "wheels", source)  # fmt: skip
    (wheel,) = (out / "wheels").glob("rnn_course-*.whl")
    return wheel


def lend_third_party_packages(venv_python: Path, links: Path) -> None:
    """Make .venv's packages importable in the new venv, except the course's own install."""
    links.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in sorted(ours.iterdir()):
        if not OWN_ENTRIES.match(entry.name) and entry.suffix != ".pth":
            (links / entry.name).symlink_to(entry)
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    theirs = Path(run(venv_python, "-c", code).stdout.strip())
    (theirs / "course_dependencies.pth").write_text(f"{links}\n")


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with the course installed from its wheel, and a Jupyter kernel."""
    root = tmp_path_factory.mktemp("student")
    wheel = build_wheel(root)
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    lend_third_party_packages(python, root / "third_party")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--quiet", wheel, env=student_env())  # fmt: skip
    run(python, "-m", "ipykernel", "install", "--prefix", venv, "--name", KERNEL,
        env=student_env())  # fmt: skip
    return venv


def where_the_course_lives(python: Path, cwd: Path) -> dict[str, str]:
    code = (
        "import json, sys, numpy, torch, " + ", ".join(COURSE_PACKAGES) + "\n"
        "print(json.dumps({'python': sys.executable, 'path': sys.path, "
        + ", ".join(f"'{name}': {name}.__file__" for name in COURSE_PACKAGES)
        + "}))"
    )
    return json.loads(run(python, "-c", code, cwd=cwd, env=student_env()).stdout)


def test_the_venv_imports_the_installed_course_and_not_the_repository(venv, tmp_path):
    found = where_the_course_lives(venv / "bin" / "python", cwd=tmp_path)
    for name in COURSE_PACKAGES:
        assert Path(found[name]).is_relative_to(venv), f"{name} came from {found[name]}"
    assert not any(Path(p).resolve() == REPO_ROOT for p in found["path"] if p)


def unpack_download(assignment: str, into: Path) -> Path:
    """The assignment's folder, unpacked from the zip the book offers for it."""
    extension = REPO_ROOT / "book" / "_ext" / "exercise_downloads.py"
    spec = importlib.util.spec_from_file_location("exercise_downloads", extension)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    archive = module.exercise_zip(assignment, into / f"{assignment}.zip")
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(into)
    return into / assignment


def student_notebook(assignment: str) -> tuple[nbformat.NotebookNode, Mistake]:
    """The exercise with RIGHT solved and the mistake WRONG made; and that mistake."""
    info = get_assignment(assignment)
    reference = reference_solutions(read_notebook(info.source_notebook))
    (mistake,) = [m for m in load_catalogue(info.source_dir) if m.id == WRONG]
    sources = {
        RIGHT: reference[RIGHT],
        mistake.function: mistake.apply(reference[mistake.function]),
    }
    notebook = with_solutions(read_notebook(info.release_notebook), sources)
    # A cell of the student's own, first: which Python and which course packages the kernel uses.
    probe = "\n".join(
        ["import sys", "import torch", "print(sys.executable)"]
        + [f"import {name}\nprint({name}.__file__)" for name in COURSE_PACKAGES]
    )
    notebook.cells.insert(0, nbformat.v4.new_code_cell(probe))
    return notebook, mistake


def execute(notebook: nbformat.NotebookNode, venv: Path, folder: Path) -> None:
    kernels = KernelSpecManager(kernel_dirs=[str(venv / "share" / "jupyter" / "kernels")])
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernels)
    client = NotebookClient(
        notebook, km=manager, timeout=120, allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    client.execute(env=student_env())


def text_of(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def cell_named(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    (cell,) = [
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    ]
    return cell


def test_a_downloaded_exercise_gives_the_visible_verdicts(venv, tmp_path):
    folder = unpack_download(ASSIGNMENT, tmp_path)
    assert not folder.resolve().is_relative_to(REPO_ROOT)
    notebook, mistake = student_notebook(ASSIGNMENT)
    execute(notebook, venv, folder)

    probe = text_of(notebook.cells[0]).split()
    assert Path(probe[0]).parent == venv / "bin", f"the kernel ran {probe[0]}"
    for path in probe[1:]:
        assert Path(path).is_relative_to(venv), f"imported from {path}"
    setup = text_of(cell_named(notebook, "setup"))
    assert "warning" not in setup, f"visible_checks/ was not found: {setup}"

    # The solved function: every check of its visible test cell prints "ok <key>".
    passed = cell_named(notebook, f"test_{RIGHT}")
    keys = re.findall(r'check\.\w+\("([^"]+)"', passed.source)
    assert keys
    for key in keys:
        assert f"ok {key}:" in text_of(passed), text_of(passed)
    assert not [o for o in passed.outputs if o.output_type == "error"]

    # The mistaken one: its first check stops the cell, naming the check, the expected value
    # and the likely mistake.
    failed = cell_named(notebook, f"test_{mistake.function}")
    (error,) = [o for o in failed.outputs if o.output_type == "error"]
    key = re.findall(r'check\.\w+\("([^"]+)"', failed.source)[0]
    assert error.ename == "AssertionError"
    assert error.evalue.startswith(f"{key}: "), error.evalue
    assert re.search(r"expected \[\[-?\d", error.evalue), error.evalue
    assert f"likely mistake: {mistake.what}" in error.evalue, error.evalue
