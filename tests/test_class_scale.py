"""Grading at class scale: parallel workers with one writer, shards of a class sharing one
PostgreSQL gradebook, the export of that gradebook, the report, and the benchmark."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import InstructorError, get_assignment
from autograder.gradebook import stored_scores
from autograder.grading import Shard, export_csv
from autograder.release import solved_notebook
from autograder.speedups import _alembic_head, nbgraders_alembic_version
from tests.conftest import grade_folder, write_submission
from tests.postgres import postgres_url_factory  # noqa: F401  (a fixture, used by name)
from tests.test_grading_faults import gradebook_content

pytestmark = pytest.mark.slow
ASSIGNMENT = get_assignment("02_hidden_state")
LIMITS = {"cell_timeout": 8, "total_timeout": 45, "silent_timeout": 4}
STUDENTS = 6


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory) -> Path:
    """The three samples, a mistake, a crash and a renamed download: six students."""
    folder = tmp_path_factory.mktemp("class")
    for sample in ("perfect", "partial", "blank"):
        shutil.copytree(ASSIGNMENT.sample_dir / sample, folder / sample)
    crash = "def softmax(O, axis=-1):\n    import os\n    os._exit(3)\n"
    wrong = (
        "import numpy as np\n\ndef softmax(O, axis=-1):\n    return np.exp(O) / np.exp(O).sum()\n"
    )
    write_submission(folder, "crash", solved_notebook(ASSIGNMENT, softmax=crash), ASSIGNMENT)
    write_submission(folder, "wrong", solved_notebook(ASSIGNMENT, softmax=wrong), ASSIGNMENT)
    (folder / "renamed").mkdir()
    shutil.copy(ASSIGNMENT.sample_dir / "perfect" / ASSIGNMENT.notebook_name,
                folder / "renamed" / "hidden_state (1).ipynb")  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def serial(class_folder, tmp_path_factory):
    """One worker: the way the grader always graded."""
    workdir = tmp_path_factory.mktemp("serial")
    return grade_folder(ASSIGNMENT, class_folder, workdir, workers=1, **LIMITS), workdir


def grades(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_nbgraders_schema_version_comes_from_alembic_itself(monkeypatch):
    tools = str(Path(sys.executable).parent)  # nbgrader's own way runs `alembic` from PATH
    monkeypatch.setenv("PATH", tools + os.pathsep + os.environ["PATH"])
    assert _alembic_head() == nbgraders_alembic_version()


def test_shards_split_a_class_into_disjoint_deterministic_slices():
    students = [f"s{i:03d}" for i in range(200)]
    slices = [[s for s in students if Shard(k, 3).holds(s)] for k in (1, 2, 3)]
    assert sorted(student for part in slices for student in part) == students
    assert all(40 < len(part) < 90 for part in slices), [len(part) for part in slices]
    assert Shard.parse(" 2/3 ") == Shard(2, 3)
    for bad in ("0/3", "4/3", "3", "a/b", ""):
        with pytest.raises(InstructorError, match="--shard must be K/N"):
            Shard.parse(bad)


def test_parallel_workers_give_the_serial_grades_and_gradebook(class_folder, serial, tmp_path):
    serial_report, serial_dir = serial
    folders = sorted(path.name for path in class_folder.iterdir())
    assert [result.student for result in serial_report.students] == folders
    parallel = grade_folder(ASSIGNMENT, class_folder, tmp_path, workers=3, **LIMITS)
    assert (tmp_path / "grades.csv").read_text() == (serial_dir / "grades.csv").read_text()
    assert gradebook_content(tmp_path) == gradebook_content(serial_dir)
    assert [(r.student, r.notes, r.diagnoses) for r in parallel.students] == [
        (r.student, r.notes, r.diagnoses) for r in serial_report.students
    ]
    totals = {r.student: r.total() for r in parallel.students}
    assert totals["perfect"] == totals["renamed"] == parallel.max_total
    assert totals["blank"] == 0 and 0 < totals["crash"] < parallel.max_total
    assert not (tmp_path / "workers").exists(), "the workers' private gradebooks are left"
    for student in totals:
        assert (tmp_path / "feedback" / student / ASSIGNMENT.name / "hidden_state.html").is_file()


def test_the_report_agrees_with_the_csv(serial):
    report, workdir = serial
    assert report.report_path == workdir / "report.html" and report.report_path.is_file()
    totals: dict[str, float] = {}
    for row in grades(workdir / "grades.csv"):
        totals[row["student_id"]] = totals.get(row["student_id"], 0.0) + float(row["score"])
    rows = list(csv.DictReader(io.StringIO((workdir / "report.csv").read_text())))
    reported = {row["key"]: float(row["value"]) for row in rows if row["section"] == "student"}
    assert reported == totals
    page = report.report_path.read_text()
    assert "data:image/png;base64," in page and "http://" not in page
    mistakes = {row["key"] for row in rows if row["section"] == "mistake"}
    named = {what for result in report.students for what in result.diagnoses}
    assert named and named <= mistakes
    problems = {row["key"] for row in rows if row["section"] == "problem"}
    assert "crash" in problems


def run_shard(folder: Path, workdir: Path, db_url: str, shard: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT.name, str(folder),
               "--workdir", str(workdir), "--db-url", db_url, "--shard", shard, "--workers", "2",
               "--cell-timeout", "8", "--total-timeout", "45"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_shards_at_once_into_postgresql_export_what_one_run_grades(
    class_folder,
    serial,
    tmp_path,
    postgres_url_factory,  # noqa: F811
):
    serial_report, serial_dir = serial
    url = postgres_url_factory()
    shards = [run_shard(class_folder, tmp_path / f"shard{k}", url, f"{k}/2") for k in (1, 2)]
    outputs = [shard.communicate(timeout=600)[0] for shard in shards]
    assert [shard.returncode for shard in shards] == [0, 0], outputs
    graded = [set(stored_scores(url, ASSIGNMENT.name, "hidden_state"))]
    assert graded[0] == {r.student for r in serial_report.students}
    assert export_csv(ASSIGNMENT.name, url, tmp_path / "export.csv") == STUDENTS
    assert (tmp_path / "export.csv").read_text() == (serial_dir / "grades.csv").read_text()
    exported = subprocess.run(
        [sys.executable, "-m", "autograder", "export", ASSIGNMENT.name, "--db-url", url,
         "--csv", str(tmp_path / "cli.csv")], capture_output=True, text=True,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "cli.csv").read_text() == (serial_dir / "grades.csv").read_text()
    for k, output in enumerate(outputs, start=1):
        assert "report:" in output and (tmp_path / f"shard{k}" / "report.html").is_file()


def test_a_missing_gradebook_or_assignment_is_one_clear_line(tmp_path):
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "export", ASSIGNMENT.name, "--db-url", missing,
         "--csv", str(tmp_path / "x.csv")], capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: the gradebook") and "no assignment" in done.stderr


def test_the_benchmark_compares_both_graders_on_correct_copies(tmp_path):
    from autograder.bench import bench

    figures = bench("01_sequence_models", copies=2, workers=2, keep=tmp_path)
    assert figures["copies"] == 2 and figures["workers"] == 2
    assert figures["stock_seconds"] > 0 and figures["ours_seconds"] > 0
    assert figures["ratio"] == pytest.approx(figures["stock_seconds"] / figures["ours_seconds"])
    assert set(figures["phases"]) == {"start", "kernel", "cells", "finish", "run",
                                      "nbgrader + feedback"}  # fmt: skip
    assert (tmp_path / "stock" / "gradebook.db").is_file()
