"""``python -m autograder bench ASSIGNMENT --copies 40``: our grader against stock nbgrader.

Both grade the same ``copies`` of a correct submission (the assignment's "perfect" sample), one
after the other on this machine:

* **stock**: serial ``nbgrader autograde`` in a course folder of its own, configured as nbgrader
  ships (its own Execute step, one kernel per notebook in nbgrader's process, asserts in the
  kernel). So that stock nbgrader runs the very same checks, its copy of the assignment carries
  the full reference store as ``visible_checks/``: every check compares in the kernel.
* **ours**: ``python -m autograder grade`` with ``--workers``: each notebook in a sandbox of its
  own (forked from its worker's zygote), verdicts outside the student's process, feedback and
  the report written too.

Each is timed from the start of its command to its end, the start-up of the Python process
included (for ours also registering the assignment, which stock has done beforehand). Both must
give full marks to every copy, or the comparison is void. Prints notebooks per minute, the ratio,
and where our time went per notebook (median of each phase).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Assignment, InstructorError, get_assignment
from autograder.grading import put_own_tools_on_path
from autograder.notebooks import grade_cells, read_notebook

STOCK_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db!r}
"""


@dataclass
class Timing:
    name: str
    seconds: float
    notebooks: int

    @property
    def per_minute(self) -> float:
        return 60 * self.notebooks / self.seconds


def make_copies(assignment: Assignment, folder: Path, copies: int) -> list[str]:
    """``copies`` student folders holding the assignment's correct sample."""
    sample = assignment.sample_dir / "perfect"
    if not sample.is_dir():
        raise InstructorError(f"no sample {sample} (run `python -m autograder build`)")
    students = [f"student{i:03d}" for i in range(copies)]
    for student in students:
        shutil.copytree(sample, folder / student)
    return students


def stock_course(assignment: Assignment, root: Path, submissions: Path, students: list[str]):
    """A plain nbgrader course: the source with the full reference store as its checks, the
    release generated (not timed), the copies as submitted notebooks."""
    source = root / "source" / assignment.name
    shutil.copytree(assignment.source_dir, source)
    shutil.rmtree(source / "visible_checks", ignore_errors=True)
    shutil.copytree(assignment.reference_dir, source / "visible_checks")
    db = f"sqlite:///{root / 'gradebook.db'}"
    (root / "nbgrader_config.py").write_text(STOCK_CONFIG.format(root=str(root), db=db))
    _run([_tool("nbgrader"), "generate_assignment", assignment.name, "--force"], root)
    for student in students:
        target = root / "submitted" / student / assignment.name
        target.mkdir(parents=True)
        shutil.copy(submissions / student / assignment.notebook_name, target)


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _run(command: list[str], cwd: Path) -> float:
    """Run a command to its end; its wall-clock seconds. Fails loudly with its output."""
    put_own_tools_on_path()  # nbgrader runs alembic from PATH
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise InstructorError(f"{' '.join(command[:3])} ... failed ({done.returncode}):\n"
                              f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")  # fmt: skip
    return seconds


def stock_scores(root: Path) -> float:
    with sqlite3.connect(root / "gradebook.db") as db:
        return db.execute("SELECT COALESCE(SUM(auto_score), 0) FROM grade").fetchone()[0]


def our_scores(csv_path: Path) -> float:
    lines = csv_path.read_text().splitlines()[1:]
    return sum(float(line.split(",")[4]) for line in lines)


def phase_medians(timings_file: Path) -> dict[str, float]:
    """Median seconds per notebook of each phase of our grading."""
    students = json.loads(timings_file.read_text())["students"].values()
    names = ("start", "kernel", "cells", "finish", "run", "grading")
    medians = {n: statistics.median(s.get(n, 0.0) for s in students) for n in names}
    medians["nbgrader + feedback"] = medians.pop("grading") - medians["run"]
    return medians


def bench(name: str, copies: int, workers: int | None, keep: Path | None = None) -> dict:
    """Run both graders on ``copies`` copies; returns and prints the figures."""
    assignment = get_assignment(name)
    top = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="rnncourse-bench-"))
    top.mkdir(parents=True, exist_ok=True)
    try:
        submissions = top / "submissions"
        students = make_copies(assignment, submissions, copies)
        full = copies * sum(
            c.points for c in grade_cells(read_notebook(assignment.source_notebook))
        )
        stock_root = top / "stock"
        stock_course(assignment, stock_root, submissions, students)
        print(f"stock: nbgrader autograde {name}, {copies} notebooks, serial ...", flush=True)
        seconds = _run([_tool("nbgrader"), "autograde", name], stock_root)
        stock = Timing("stock nbgrader autograde (serial)", seconds, copies)
        ours_dir = top / "ours"
        command = [sys.executable, "-m", "autograder", "grade", name, str(submissions),
                   "--workdir", str(ours_dir), "--csv", str(ours_dir / "grades.csv")]  # fmt: skip
        if workers:
            command += ["--workers", str(workers)]
        print(f"ours:  python -m autograder grade {name} ({workers or 'default'} workers) ...",
              flush=True)  # fmt: skip
        ours = Timing("python -m autograder grade", _run(command, Path.cwd()), copies)
        scores = {"stock": stock_scores(stock_root), "ours": our_scores(ours_dir / "grades.csv")}
        if any(score != full for score in scores.values()):
            raise InstructorError(f"the comparison is void: full marks are {full:g} in all, "
                                  f"but the graders gave {scores}")  # fmt: skip
        timings = json.loads((ours_dir / "timings.json").read_text())
        figures = {
            "assignment": name, "copies": copies, "workers": timings["workers"],
            "cores": os.cpu_count(), "stock_seconds": stock.seconds,
            "ours_seconds": ours.seconds, "stock_per_minute": stock.per_minute,
            "ours_per_minute": ours.per_minute, "ratio": ours.per_minute / stock.per_minute,
            "phases": phase_medians(ours_dir / "timings.json"),
        }  # fmt: skip
        print_figures(figures, stock, ours)
        return figures
    finally:
        if keep is None:
            shutil.rmtree(top, ignore_errors=True)


def print_figures(figures: dict, stock: Timing, ours: Timing) -> None:
    print()
    print(f"{figures['assignment']}: {figures['copies']} copies of a correct submission, "
          f"{figures['cores']} cores, {figures['workers']} workers")  # fmt: skip
    for timing in (stock, ours):
        print(
            f"  {timing.name:<36} {timing.seconds:7.1f} s  {timing.per_minute:6.1f} notebooks/min"
        )
    print(f"  ratio (ours / stock): {figures['ratio']:.2f}x")
    print("  our time per notebook (median), inside each worker:")
    for phase, seconds in figures["phases"].items():
        print(f"    {phase:<22} {seconds:6.2f} s")
