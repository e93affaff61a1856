"""Faults around grading: a grader killed mid-batch, a re-grade after the submission changed,
and a machine without bubblewrap. The grader must leave no process behind, re-run to the same
gradebook, keep nothing stale, and refuse to grade unsandboxed unless told."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import sandbox
from autograder.course import REPO_ROOT, InstructorError, get_assignment
from autograder.grading import grade
from autograder.release import solved_notebook
from tests import redteam
from tests.conftest import write_submission

pytestmark = pytest.mark.slow
ASSIGNMENT = get_assignment("02_hidden_state")
LIMITS = ["--cell-timeout", "8", "--total-timeout", "45"]


def gradebook_content(workdir: Path) -> list[tuple]:
    """Every score and comment in the gradebook, without ids or timestamps."""
    rows = []
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade_ in notebook.grades:
                        rows.append((submission.student_id, notebook.name, grade_.name,
                                     grade_.auto_score, grade_.manual_score,
                                     grade_.extra_credit))  # fmt: skip
                    for comment in notebook.comments:
                        rows.append((submission.student_id, notebook.name, comment.name,
                                     comment.auto_comment, comment.manual_comment))  # fmt: skip
    return sorted(rows, key=repr)


def grade_command(folder: Path, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", ASSIGNMENT.name, str(folder),
            "--workdir", str(workdir), "--csv", str(workdir / "grades.csv"), *LIMITS]  # fmt: skip


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> tuple[Path, str]:
    """Honest work, a partial one and one that leaves daemons behind (with a marker)."""
    if not redteam.SANDBOXED:
        pytest.skip("bubblewrap is missing (apt-get install bubblewrap; .ci/run installs it)")
    folder = tmp_path_factory.mktemp("fault-submissions")
    marker = f"fault{uuid.uuid4().hex[:10]}"
    shutil.copytree(ASSIGNMENT.sample_dir / "perfect", folder / "a_perfect")
    shutil.copytree(ASSIGNMENT.sample_dir / "partial", folder / "b_partial")
    daemons = redteam.DAEMONS.format(marker=marker) + "\nimport time\ntime.sleep(3)\n"
    write_submission(folder, "c_daemons", solved_notebook(ASSIGNMENT, softmax=daemons),
                     ASSIGNMENT)  # fmt: skip
    shutil.copytree(ASSIGNMENT.sample_dir / "perfect", folder / "d_perfect_again")
    return folder, marker


@pytest.fixture(scope="module")
def undisturbed(submissions, tmp_path_factory) -> tuple[str, list[tuple]]:
    """The CSV and gradebook of one uninterrupted run."""
    folder, _ = submissions
    workdir = tmp_path_factory.mktemp("undisturbed")
    subprocess.run(grade_command(folder, workdir), check=True, capture_output=True, timeout=600)
    return (workdir / "grades.csv").read_text(), gradebook_content(workdir)


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_grader_killed_mid_batch_leaves_nothing_and_reruns_to_the_same_gradebook(
    submissions, undisturbed, kill, tmp_path
):
    folder, marker = submissions
    workdir = tmp_path / "work"
    grader = subprocess.Popen(grade_command(folder, workdir), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (workdir / "runs" / "c_daemons").exists():  # the daemon student is running
        assert grader.poll() is None and time.monotonic() < deadline, "never reached c_daemons"
        time.sleep(0.2)
    time.sleep(2)
    grader.send_signal(kill)
    grader.wait(timeout=60)
    time.sleep(1)
    assert redteam.leftovers(str(workdir)) == [], "a sandbox outlived its grader"
    assert redteam.leftovers(marker) == [], "a student's daemon outlived its grader"
    subprocess.run(grade_command(folder, workdir), check=True, capture_output=True, timeout=600)
    csv_text, content = undisturbed
    assert (workdir / "grades.csv").read_text() == csv_text
    assert gradebook_content(workdir) == content


def test_a_regrade_keeps_nothing_stale(submissions, undisturbed, tmp_path):
    """A student re-submits with a solution cell deleted: the re-grade must equal a first grade
    of the new notebook, not keep the old points."""
    folder, _ = submissions
    changed, workdir, fresh = tmp_path / "changed", tmp_path / "work", tmp_path / "fresh"
    shutil.copytree(folder, changed, ignore=shutil.ignore_patterns("c_daemons"))
    subprocess.run(grade_command(changed, workdir), check=True, capture_output=True, timeout=600)
    notebook = solved_notebook(ASSIGNMENT)
    notebook.cells = [
        c
        for c in notebook.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "softmax"
    ]
    shutil.rmtree(changed / "a_perfect")
    write_submission(changed, "a_perfect", notebook, ASSIGNMENT)
    subprocess.run(grade_command(changed, workdir), check=True, capture_output=True, timeout=600)
    subprocess.run(grade_command(changed, fresh), check=True, capture_output=True, timeout=600)
    assert (workdir / "grades.csv").read_text() == (fresh / "grades.csv").read_text()
    assert gradebook_content(workdir) == gradebook_content(fresh)
    softmax = [r for r in gradebook_content(workdir) if r[0] == "a_perfect" and
               str(r[2]).startswith("test_softmax") and len(r) == 6]  # fmt: skip
    assert softmax and all(row[3] == 0 for row in softmax)


def test_without_bubblewrap_the_grader_refuses_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)
    with pytest.raises(InstructorError, match="--unsafe-no-sandbox"):
        grade(ASSIGNMENT.name, ASSIGNMENT.sample_dir, workdir=tmp_path, progress=False)


def test_the_cli_refuses_without_bubblewrap_and_grades_when_told(tmp_path):
    """PATH without bwrap: one clear line and status 2; with --unsafe-no-sandbox it grades and
    warns on stderr."""
    tools = tmp_path / "bin"
    tools.mkdir()
    os.symlink(Path(sys.executable).parent / "alembic", tools / "alembic")
    env = {**os.environ, "PATH": str(tools)}
    samples, work = str(ASSIGNMENT.sample_dir), str(tmp_path / "work")
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT.name, samples,
               "--workdir", work, *LIMITS]  # fmt: skip
    refused = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                             timeout=300)  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: bubblewrap (bwrap) is not installed")
    assert "--unsafe-no-sandbox" in refused.stderr
    told = subprocess.run([*command, "--unsafe-no-sandbox"], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=600)  # fmt: skip
    assert told.returncode == 0, told.stderr[-2000:]
    assert "warning: --unsafe-no-sandbox" in told.stderr
    assert "perfect" in told.stdout
