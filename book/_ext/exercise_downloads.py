"""Sphinx extension: the book's page of exercises, and one zip per assignment to download.

- ``exercise_zip(assignment, path)`` packs what a student needs besides the installed packages:
  ``<assignment>/<notebook>.ipynb`` and ``<assignment>/visible_checks/``, byte for byte the same
  on every build (sorted entries, fixed dates and permissions).
- After an HTML build the zips are written to ``_downloads/exercises/<assignment>.zip`` in the
  output folder.
- The role ``{exercise-download}`assignment``` links such a zip from a page.
- The directive ``exercise-overview`` writes, for every assignment, what is graded (the graded
  names and their visible and hidden points, read from the nbgrader metadata of the source
  notebook in ``solutions/``), a link to the exercise page and a link to the zip.

It is loaded through ``sphinx: local_extensions:`` in ``_config.yml``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

from autograder.course import REPO_ROOT, VISIBLE_CHECKS_DIR, assignment_names, get_assignment
from autograder.notebooks import grade_cells, graded_name, read_notebook, solution_cells

LOGGER = logging.getLogger(__name__)
DOWNLOAD_DIR = "_downloads/exercises"  # inside the HTML output folder
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: the same bytes every build
SKIPPED = {"__pycache__", ".ipynb_checkpoints"}


def exercise_files(assignment: str) -> list[Path]:
    """The student's notebook and every file of its ``visible_checks/`` folder, sorted."""
    release = get_assignment(assignment).release_notebook
    checks = release.parent / VISIBLE_CHECKS_DIR
    files = [p for p in checks.rglob("*") if p.is_file() and not SKIPPED & set(p.parts)]
    return [release, *sorted(files)]


def exercise_zip(assignment: str, path: Path) -> Path:
    """Write the zip of ``assignment`` to ``path``: one folder named after the assignment."""
    folder = get_assignment(assignment).release_dir
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in exercise_files(assignment):
            info = zipfile.ZipInfo(f"{assignment}/{file.relative_to(folder).as_posix()}", ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # rw-r--r--, whatever the checkout's umask
            archive.writestr(info, file.read_bytes())
    return path


def points_by_name(assignment: str) -> dict[str, tuple[float, float]]:
    """``{graded name: (visible points, hidden points)}`` in the notebook's order."""
    notebook = read_notebook(get_assignment(assignment).source_notebook)
    names = list(solution_cells(notebook))
    points = {name: [0.0, 0.0] for name in names}  # in the notebook's order
    for cell in grade_cells(notebook):
        points[graded_name(cell.grade_id, names)][cell.hidden] += cell.points
    return {name: (visible, hidden) for name, (visible, hidden) in points.items()}


def number(points: float) -> str:
    return f"{points:g}"


def overview_markdown(assignments: list[str]) -> list[str]:
    """The MyST Markdown of the overview: one table row per assignment."""
    lines = [
        "| Exercise (points) | What is graded: points (visible + hidden tests) | Download |",
        "| --- | --- | --- |",
    ]
    for assignment in assignments:
        notebook = get_assignment(assignment).release_notebook
        page = "/" + notebook.relative_to(REPO_ROOT).with_suffix("").as_posix()
        graded = ", ".join(
            f"`{name}`: {number(visible + hidden)} ({number(visible)} + {number(hidden)})"
            for name, (visible, hidden) in points_by_name(assignment).items()
        )
        total = sum(v + h for v, h in points_by_name(assignment).values())
        lines.append(
            f"| {{doc}}`{page}` ({number(total)}) | {graded} "
            f"| {{exercise-download}}`{assignment}` |"
        )
    return lines


class ExerciseOverview(Directive):
    """``exercise-overview``: the table of every assignment (see the module docstring)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        assignments = assignment_names()
        for assignment in assignments:
            # Read this page again when a source notebook changes its graded cells or points.
            env.note_dependency(str(get_assignment(assignment).source_notebook))
        container = nodes.container(classes=["exercise-overview"])
        self.state.nested_parse(StringList(overview_markdown(assignments)), 0, container)
        return [container]


def download_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{exercise-download}`02_hidden_state``` -> a link to ``02_hidden_state.zip``."""
    assignment = text.strip()
    if assignment not in assignment_names():
        message = inliner.reporter.error(f"no assignment called {assignment!r}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    env = inliner.document.settings.env
    base = env.app.builder.get_target_uri(env.docname)
    uri = relative_uri(base, f"{DOWNLOAD_DIR}/{assignment}.zip")
    link = nodes.reference(rawtext, "", refuri=uri, classes=["download", "exercise-zip"])
    link += nodes.Text("zip")  # short: the table must fit a phone's width
    return [link], []


def write_zips(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for assignment in assignment_names():
        exercise_zip(assignment, Path(app.outdir) / DOWNLOAD_DIR / f"{assignment}.zip")
    LOGGER.info(f"exercise downloads written to {Path(app.outdir) / DOWNLOAD_DIR}")


def setup(app: Sphinx) -> dict:
    app.add_directive("exercise-overview", ExerciseOverview)
    app.add_role("exercise-download", download_role)
    app.connect("build-finished", write_zips)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
