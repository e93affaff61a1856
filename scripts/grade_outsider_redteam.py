"""Grade the independent red team (tests/redteam_outsider.py) once, sandboxed, and check
every case against its bounds: `.venv/bin/python scripts/grade_outsider_redteam.py OUT [CELL_S
NOTEBOOK_S]`. Never run it with --unsafe-no-sandbox: its cases plant daemons and start-up files.
"""

import sys
import time
from pathlib import Path

from autograder.grading import grade
from tests import redteam_outsider as rt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
cell, notebook = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (60, 600)
folders = rt.build_all(out / "subs")
by_student = {c.student: c for c in rt.CASES}
bad = []
for assignment, folder in folders.items():
    t = time.time()
    report = grade(
        assignment,
        folder,
        workdir=out / f"work-{assignment}",
        csv_path=out / f"{assignment}.csv",
        cell_timeout=cell,
        total_timeout=notebook,
        progress=True,
    )
    print(assignment, "graded in", round(time.time() - t), "s")
    for r in report.students:
        case = by_student.get(r.student)
        if case is None:
            continue
        lo, hi = rt.min_score(case), rt.max_score(case)
        flagged = bool(r.flags or r.notes)
        status = "OK" if lo <= r.total() <= hi else "VIOLATION"
        if status != "OK" or (case.hostile and not flagged) or (not case.hostile and r.flags):
            bad.append((r.student, r.total(), lo, hi, r.flags, r.notes))
        notes = "; ".join(r.notes)[:90]
        print(f"{status:9} {r.student:32} {r.total():5g} in [{lo:g}, {hi:g}] "
              f"{r.seconds:5.1f}s flags={len(r.flags)} notes={notes}")  # fmt: skip
    print(report.summary()[-3000:])
print("PROBLEMS:")
for b in bad:
    print(b)
