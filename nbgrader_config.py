"""nbgrader's configuration at the course root, where nbgrader runs.

solutions/ holds the instructor's source notebooks and exercises/ the student versions
(nbgrader's own default folder "source" is named differently, and its "solution" folder is a
different thing). Grading is configured exactly as `python -m autograder grade` does it, so
even a plain `nbgrader autograde` compares the recorded checks outside the student's process.
"""

from pathlib import Path

from autograder.course import REFERENCES_DIR, WORK_DIR
from autograder.grading import use_checked_grading

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)
c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = str(WORK_DIR / "nbgrader" / "submitted")
c.CourseDirectory.autograded_directory = str(WORK_DIR / "nbgrader" / "autograded")
c.CourseDirectory.feedback_directory = str(WORK_DIR / "nbgrader" / "feedback")
c.CourseDirectory.db_url = f"sqlite:///{WORK_DIR / 'nbgrader' / 'gradebook.db'}"
use_checked_grading(c, REFERENCES_DIR, WORK_DIR / "nbgrader" / "runs")
