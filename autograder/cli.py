"""The instructor's command line: ``python -m autograder COMMAND ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.course import EXERCISES_DIR, InstructorError, assignment_names, get_assignment

UNSANDBOXED_NOTE = (
    "warning: --unsafe-no-sandbox: student code ran with your permissions, outside bubblewrap; "
    "a hostile notebook could have read the solutions or changed files you can reach."
)


def _assignments(names: list[str]) -> list:
    return [get_assignment(name) for name in (names or assignment_names())]


def cmd_grade(args: argparse.Namespace) -> int:
    from autograder.gradebook import describe
    from autograder.grading import Shard, grade

    report = grade(
        args.assignment,
        Path(args.submissions),
        csv_path=Path(args.csv) if args.csv else None,
        workdir=Path(args.workdir) if args.workdir else None,
        cell_timeout=args.cell_timeout,
        total_timeout=args.total_timeout,
        unsafe_no_sandbox=args.unsafe_no_sandbox,
        workers=args.workers,
        db_url=args.db_url,
        shard=Shard.parse(args.shard) if args.shard else None,
        zygote=not args.no_zygote,
    )
    print()
    print(report.summary())
    print()
    print(f"gradebook: {describe(args.db_url) if args.db_url else report.workdir / 'gradebook.db'}")
    print(f"feedback:  {report.workdir / 'feedback'}/<student>/{report.assignment}/")
    if args.csv:
        print(f"csv:       {Path(args.csv).resolve()}")
    print(f"report:    {report.report_path}")
    if not report.sandboxed:
        print(UNSANDBOXED_NOTE, file=sys.stderr)
    if report.skipped:
        print(f"error: not graded (folder names that are not valid student ids): "
              f"{', '.join(report.skipped)}", file=sys.stderr)  # fmt: skip
        return 2
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from autograder.references import generate_references
    from autograder.release import generate_exercise, write_samples

    for assignment in _assignments(args.assignments):
        print(f"{assignment.name}: running the reference solution ...")
        count = generate_references(assignment)
        print(f"{assignment.name}: {count} reference checks -> {assignment.reference_dir}")
        generate_exercise(assignment, EXERCISES_DIR)
        print(f"{assignment.name}: student notebook -> {assignment.release_dir}")
        print(f"{assignment.name}: sample submissions -> {write_samples(assignment)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from autograder.grading import export_csv

    count = export_csv(args.assignment, args.db_url, Path(args.csv))
    print(f"{count} students of {args.assignment} -> {Path(args.csv).resolve()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from autograder.bench import bench

    if args.copies < 1:
        raise InstructorError(f"--copies must be at least 1, got {args.copies}")
    figures = bench(args.assignment, args.copies, args.workers,
                    Path(args.keep) if args.keep else None)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade a folder of submissions")
    grade.add_argument("assignment", help="assignment name, e.g. 02_hidden_state")
    grade.add_argument("submissions", help="folder with one sub-folder per student")
    grade.add_argument("--csv", help="write one row per student and test cell to this file")
    grade.add_argument("--workdir", help="grading work folder (default autograder/work/<a>)")
    grade.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    grade.add_argument(
        "--total-timeout", type=int, default=600, help="seconds per notebook (all cells)"
    )
    grade.add_argument(
        "--unsafe-no-sandbox", action="store_true",
        help="grade without bubblewrap (student code runs with your permissions): only for "
        "notebooks you trust, on a machine where bubblewrap cannot be installed",
    )  # fmt: skip
    grade.add_argument(
        "--workers", type=int,
        help="students graded at once, each in a sandbox of its own (default: 2 per core)",
    )  # fmt: skip
    grade.add_argument(
        "--db-url", help="the class's gradebook as an SQLAlchemy URL, e.g. "
        "postgresql://user:password@host/gradebook (default: sqlite in the work folder)",
    )  # fmt: skip
    grade.add_argument(
        "--shard", metavar="K/N",
        help="grade only the K-th of N slices of the students (N machines, one shared --db-url)",
    )  # fmt: skip
    grade.add_argument(
        "--no-zygote", action="store_true",
        help="start a new Python and kernel for every notebook instead of forking them from a "
        "sandboxed process that has imported the libraries (slower; for comparison)",
    )  # fmt: skip
    grade.set_defaults(run=cmd_grade)

    export = commands.add_parser("export", help="write the CSV of a (shared) gradebook")
    export.add_argument("assignment")
    export.add_argument("--db-url", required=True, help="the gradebook's SQLAlchemy URL")
    export.add_argument("--csv", required=True, help="where to write the CSV")
    export.set_defaults(run=cmd_export)

    bench = commands.add_parser("bench", help="time our grader against stock nbgrader autograde")
    bench.add_argument("assignment")
    bench.add_argument("--copies", type=int, default=40, help="copies of a correct submission")
    bench.add_argument("--workers", type=int, help="our workers (default: as `grade`)")
    bench.add_argument("--keep", help="keep the benchmark's folders here (default: a temp dir)")
    bench.add_argument("--json", help="also write the figures to this file")
    bench.set_defaults(run=cmd_bench)

    build = commands.add_parser(
        "build",
        help="after editing solutions/: regenerate reference outputs, exercises/ and samples",
    )
    build.add_argument("assignments", nargs="*", help="default: every assignment")
    build.set_defaults(run=cmd_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InstructorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
