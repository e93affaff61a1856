"""Where the course keeps things, and what an assignment is made of."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS_DIR = REPO_ROOT / "solutions"
EXERCISES_DIR = REPO_ROOT / "exercises"
REFERENCES_DIR = REPO_ROOT / "autograder" / "references"
SAMPLES_DIR = REPO_ROOT / "autograder" / "samples"
WORK_DIR = REPO_ROOT / "autograder" / "work"
VISIBLE_CHECKS_DIR = "visible_checks"  # beside each notebook; nbgrader ships it to students
# Never copied by nbgrader (mistakes.py, the catalogue of mistakes, stays with the instructor).
NBGRADER_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "mistakes.py"]


class InstructorError(Exception):
    """The instructor's own input is wrong (unknown assignment, missing folder, ...)."""


@dataclass(frozen=True)
class Assignment:
    """One assignment: one nbgrader source notebook under solutions/<name>/."""

    name: str

    @property
    def source_dir(self) -> Path:
        return SOLUTIONS_DIR / self.name

    @property
    def release_dir(self) -> Path:
        return EXERCISES_DIR / self.name

    @property
    def reference_dir(self) -> Path:
        """The full reference store (visible and hidden checks): never shipped to students."""
        return REFERENCES_DIR / self.name

    @property
    def visible_dir(self) -> Path:
        """The reference values of the visible checks, shipped beside the notebook."""
        return self.source_dir / VISIBLE_CHECKS_DIR

    @property
    def sample_dir(self) -> Path:
        return SAMPLES_DIR / self.name

    @property
    def source_notebook(self) -> Path:
        notebooks = sorted(self.source_dir.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise InstructorError(
                f"{self.source_dir} must hold exactly one notebook, found {len(notebooks)}"
            )
        return notebooks[0]

    @property
    def notebook_name(self) -> str:
        """The notebook's file name, e.g. 'hidden_state.ipynb'."""
        return self.source_notebook.name

    @property
    def release_notebook(self) -> Path:
        return self.release_dir / self.notebook_name


def assignment_names() -> list[str]:
    """Every assignment that has a source folder under solutions/."""
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir() if p.is_dir() and p.name[0] != ".")


def get_assignment(name: str) -> Assignment:
    """The assignment called ``name``, or an InstructorError that lists the known ones."""
    known = assignment_names()
    if name not in known:
        raise InstructorError(
            f"unknown assignment {name!r}; the course has: {', '.join(known) or 'none'}"
        )
    return Assignment(name)
