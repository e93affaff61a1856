"""`make lab`: JupyterLab with nbgrader's Validate button, and `nbgrader validate` in a terminal.

- The nbgrader lab extension (the toolbar's Validate button) and its server extensions are
  installed and enabled in .venv, as `jupyter labextension list` and `jupyter server extension
  list` report them.
- A JupyterLab started as `make lab` starts it (`jupyter lab <folder>` from the repository root)
  loads the extension into its page and answers the button's request: a filled exercise
  validates, one with a catalogued mistake fails on exactly its test cell, with the check's key,
  the expected value and the likely mistake in the error.
- `nbgrader validate` in the notebook's folder (book/getting_started.md) passes a filled
  exercise and fails a blank one, naming every visible test cell that failed.

Every notebook is a copy of exercises/02_hidden_state/ under a temporary folder. Run time:
about 40 s (five Jupyter processes and four notebook runs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import nbgrader
import pytest

from autograder.course import REPO_ROOT, get_assignment
from autograder.mistakes import Mistake, load_catalogue
from autograder.notebooks import grade_cells, read_notebook, reference_solutions, with_solutions

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
ASSIGNMENT = get_assignment("02_hidden_state")
MISTAKE = "rnn_step_transposed_w_hh"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LAB_EXTENSION = "@jupyter/nbgrader"
SERVER_EXTENSION = "nbgrader.server_extensions.validate_assignment"
SUCCESS = "Success! Your notebook passes all the tests."


def run_together(*commands: list[str], cwds: list[Path] | None = None) -> list[str]:
    """Run ``commands`` at the same time (each in its folder of ``cwds``); return the output
    (stdout and stderr, without colours) of each."""
    processes = [
        subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
        for command, cwd in zip(commands, cwds or [None] * len(commands), strict=True)
    ]  # fmt: skip
    return [ANSI.sub("", process.communicate(timeout=300)[0]) for process in processes]


def reference_mistake() -> Mistake:
    (mistake,) = [m for m in load_catalogue(ASSIGNMENT.source_dir) if m.id == MISTAKE]
    return mistake


def exercise_copy(folder: Path, solutions: dict[str, str]) -> Path:
    """A copy of the exercise's folder under ``folder`` with ``solutions`` filled in."""
    target = folder / ASSIGNMENT.name
    shutil.copytree(ASSIGNMENT.release_dir, target)
    notebook = with_solutions(read_notebook(ASSIGNMENT.release_notebook), solutions)
    nbformat.write(notebook, target / ASSIGNMENT.notebook_name)
    return target / ASSIGNMENT.notebook_name


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> dict[str, Path]:
    """The exercise blank, filled with the reference solution, and with one likely mistake."""
    root = tmp_path_factory.mktemp("lab")
    reference = reference_solutions(read_notebook(ASSIGNMENT.source_notebook))
    mistake = reference_mistake()
    with_mistake = {**reference, mistake.function: mistake.apply(reference[mistake.function])}
    return {
        "blank": exercise_copy(root / "blank", {}),
        "filled": exercise_copy(root / "filled", reference),
        "mistake": exercise_copy(root / "mistake", with_mistake),
    }


def visible_test_cells() -> list[str]:
    return [
        c.grade_id for c in grade_cells(read_notebook(ASSIGNMENT.source_notebook)) if not c.hidden
    ]


# -- installed and enabled ------------------------------------------------------------------


@pytest.fixture(scope="module")
def listings() -> dict[str, str]:
    """What `jupyter labextension list` and `jupyter server extension list` print."""
    jupyter = str(BIN / "jupyter")
    lab, server = run_together([jupyter, "labextension", "list"],
                               [jupyter, "server", "extension", "list"])  # fmt: skip
    return {"lab": lab, "server": server}


def test_the_nbgrader_lab_extension_is_installed_and_enabled(listings):
    listing = listings["lab"]
    line = next((x for x in listing.splitlines() if f"{LAB_EXTENSION} v" in x), None)
    assert line, f"{LAB_EXTENSION} is not installed:\n{listing}"
    assert f"v{nbgrader.__version__}" in line, f"lab extension and nbgrader differ: {line}"
    assert " enabled " in f"{line} " and line.rstrip().endswith("OK"), line
    disabled = listing.split("Disabled extensions:")[1] if "Disabled" in listing else ""
    assert LAB_EXTENSION not in disabled, f"some nbgrader plugins are disabled:\n{disabled}"


def test_nbgraders_validate_server_extension_is_enabled(listings):
    listing = listings["server"]
    assert re.search(rf"^\s*{re.escape(SERVER_EXTENSION)} enabled\s*$", listing, re.M), listing
    assert re.search(rf"^\s*{re.escape(SERVER_EXTENSION)}\s+OK\s*$", listing, re.M), listing


# -- the Validate button in a running JupyterLab ---------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A JupyterLab server on localhost, started the way `make lab` starts it."""

    def __init__(self, root: Path, runtime: Path):
        self.token = "test-lab-token"
        self.url = f"http://127.0.0.1:{free_port()}"
        command = [
            str(BIN / "jupyter"), "lab", str(root), "--no-browser", "--ip=127.0.0.1",
            f"--port={self.url.rsplit(':', 1)[1]}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
        ]  # fmt: skip
        if os.getuid() == 0:
            command.append("--allow-root")  # as the Makefile does
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
        # cwd: the repository root, as under `make lab` (nbgrader reads nbgrader_config.py there)
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def request(self, path: str, data: dict | None = None) -> str:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Authorization": f"token {self.token}"}
        request = urllib.request.Request(self.url + path, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read().decode()

    def wait_until_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyter lab stopped: {self.process.stderr.read()[-3000:]}")
            try:
                self.request("/api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        raise AssertionError(f"jupyter lab did not answer within {seconds} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def lab(notebooks, tmp_path_factory):
    root = notebooks["filled"].parents[2]  # holds blank/, filled/ and mistake/
    server = Lab(root, tmp_path_factory.mktemp("runtime"))
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def validate_button(lab: Lab, notebook: Path) -> dict:
    """What the Validate button receives for ``notebook`` (a path under the lab's root)."""
    path = notebook.relative_to(notebook.parents[2]).as_posix()
    answer = json.loads(lab.request("/assignments/validate", {"path": path}))
    assert answer["success"], answer["value"]
    return answer["value"]


def test_the_lab_page_loads_the_nbgrader_extension(lab):
    page = lab.request("/lab")
    match = re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)
    assert match, "no page configuration in /lab"
    config = json.loads(match.group(1))
    loaded = [extension["name"] for extension in config["federated_extensions"]]
    assert LAB_EXTENSION in loaded
    disabled = config.get("disabledExtensions", [])
    assert not [x for x in disabled if x.startswith(LAB_EXTENSION)], disabled
    version = json.loads(lab.request(f"/nbgrader_version?version={nbgrader.__version__}"))
    assert version["success"], version


def test_the_validate_button_passes_a_filled_exercise(lab, notebooks):
    assert validate_button(lab, notebooks["filled"]) == {}  # no failed and no changed cells


def test_the_validate_button_names_the_failing_test_and_the_likely_mistake(lab, notebooks):
    result = validate_button(lab, notebooks["mistake"])
    assert set(result) == {"failed"}, result
    (failed,) = result["failed"]
    mistake = reference_mistake()
    key = re.findall(r'check\.\w+\("([^"]+)"', failed["source"])[0]
    assert key.startswith(f"test_{mistake.function}/")
    error = ANSI.sub("", failed["raw_error"])
    assert f"AssertionError: {key}: " in error, error
    assert "expected [[" in error and f"likely mistake: {mistake.what}" in error, error


# -- nbgrader validate in a terminal ---------------------------------------------------------


@pytest.fixture(scope="module")
def validated(notebooks) -> dict[str, str]:
    """What `nbgrader validate NOTEBOOK`, run in the notebook's folder, prints for the filled
    and the blank exercise. (nbgrader 0.9.6 exits with 0 whatever the verdict: the message is
    the verdict.)"""
    names = ("filled", "blank")
    outputs = run_together(
        *[[str(BIN / "nbgrader"), "validate", notebooks[name].name] for name in names],
        cwds=[notebooks[name].parent for name in names],
    )
    return dict(zip(names, outputs, strict=True))


def test_nbgrader_validate_passes_a_filled_exercise(validated):
    assert SUCCESS in validated["filled"], validated["filled"]


def test_nbgrader_validate_fails_a_blank_exercise_naming_each_test(validated):
    output, tests = validated["blank"], visible_test_cells()
    assert SUCCESS not in output
    assert re.search(rf"VALIDATION FAILED ON {len(tests)} CELL\(S\)", output), output
    assert output.count("The following cell failed:") == len(tests)
    assert "NotImplementedError" in output
    for grade_id in tests:
        assert f'"{grade_id}/' in output, f"the failing cell {grade_id} is not shown"
