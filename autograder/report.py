"""The instructor's report on one graded batch: ``report.html`` to read, ``report.csv`` to compute.

``write_report(report, folder)`` turns a :class:`~autograder.grading.GradingReport` into both
files. It reads nothing but its input and the course's source notebook (to name the graded
function of each test cell), and writes no date: the same input gives byte-identical files.

``report.html`` opens from ``file://`` with no network: its CSS is inline and its histogram is a
PNG embedded as a ``data:`` URI. Every string that comes from a submission (student ids, notes,
flags) is HTML-escaped.

``report.csv`` holds the report's numbers, one per row, in these columns:

``section``
    what the row describes: ``summary``, ``histogram``, ``cell``, ``mistake``, ``student``,
    ``problem`` or ``flagged`` (below).
``key``
    what the row is about: a summary quantity, a bin, a grade_id, a mistake, a student id.
``function``
    the graded function (``cell`` and ``mistake`` rows; empty if unknown).
``hidden``
    ``yes`` or ``no``: whether the test cell holds hidden tests (``cell`` rows).
``value``
    a score: the summary quantity, a cell's mean score, a student's total.
``max``
    the most that ``value`` can be: the cell's points, the assignment's maximum total.
``count``
    a number of students (``histogram``, ``cell``, ``mistake``), of notes (``problem``) or of
    flags (``flagged``).
``share``
    ``count`` divided by the number of students graded, between 0 and 1 (the pass rate for
    ``cell`` rows).

The sections:

- ``summary``: ``key`` names the quantity and ``value`` holds it: ``students_graded``,
  ``students_skipped``, ``max_total``, ``mean_total``, ``median_total`` (both empty without
  students), ``bin_width`` (of the histogram) and ``sandboxed`` (1 or 0).
- ``histogram``: one row per bar; ``key`` is the bar's centre c, and the bar counts the
  students whose total lies in [c - bin_width / 2, c + bin_width / 2) (the last bar also any
  total beyond it).
- ``cell``: one row per test cell, in notebook order; ``value`` is the mean score, ``max`` the
  points, ``count`` how many students got full points and ``share`` the pass rate.
- ``mistake``: one row per (function, likely mistake) seen, most frequent first within each
  function (ties alphabetical); ``count`` is the number of students whose submission shows it
  (once per student, however many checks show it).
- ``student``: one row per student graded; ``value`` is the total (the sum of the student's
  rows in ``GradingReport.rows()``), ``max`` the maximum total.
- ``problem`` / ``flagged``: one row per student with notes / flags for review; ``value`` is
  the student's total.

Every number is written exactly as the HTML shows it (three decimals at most; shares four),
except that the HTML shows shares as percentages (``0.6667`` as ``66.67%``).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import statistics
from collections import Counter
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.course import InstructorError, get_assignment
from autograder.notebooks import graded_name, read_notebook, solution_cells

if TYPE_CHECKING:
    from autograder.grading import GradingReport, StudentResult

CSV_COLUMNS = ["section", "key", "function", "hidden", "value", "max", "count", "share"]
MAX_BARS = 21  # more bars than this and the histogram groups several scores per bar

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 0 auto; padding: 0 0.75em;
       line-height: 1.4; overflow-wrap: break-word; }
.scroll { overflow-x: auto; margin-bottom: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td ul { margin: 0; padding-left: 1.2em; }
td.wide { min-width: 12em; }
img { max-width: 100%; height: auto; }
.warning { border: 2px solid #b00; padding: 0.5em 1em; }
"""


@dataclass(frozen=True)
class CellStats:
    grade_id: str
    function: str  # "" when no graded function matches the grade_id
    points: float
    hidden: bool
    mean: float | None  # None without students
    passed: int  # students with full points


@dataclass(frozen=True)
class MistakeStats:
    function: str
    what: str
    count: int  # students whose submission shows it


@dataclass(frozen=True)
class Numbers:
    """Everything the report computes from a GradingReport, computed once."""

    totals: list[float]  # per student, in report.students order
    cells: list[CellStats]
    mistakes: list[MistakeStats]
    bin_width: float
    histogram: list[tuple[float, int]]  # (bar centre, students)


def write_report(report: GradingReport, folder: Path) -> Path:
    """Write ``folder/report.html`` and ``folder/report.csv`` (see the module docstring) and
    return the path of the HTML file."""
    folder.mkdir(parents=True, exist_ok=True)
    numbers = compute_numbers(report)
    html_path = folder / "report.html"
    html_path.write_text(render_html(report, numbers), encoding="utf-8")
    with open(folder / "report.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_rows(report, numbers))
    return html_path


# ---------------------------------------------------------------------------------------------
# The numbers


def compute_numbers(report: GradingReport) -> Numbers:
    names = graded_functions(report)
    totals = [student_total(report, result) for result in report.students]
    width = bin_width(report.max_total)
    return Numbers(
        totals=totals,
        cells=cell_stats(report, names),
        mistakes=mistake_stats(report, names),
        bin_width=width,
        histogram=histogram(totals, report.max_total, width),
    )


def student_total(report: GradingReport, result: StudentResult) -> float:
    """The student's total over the assignment's test cells, as ``GradingReport.rows()`` has it."""
    return sum(result.scores.get(cell.grade_id, 0.0) for cell in report.cells)


def graded_functions(report: GradingReport) -> list[str]:
    """The graded functions in notebook order, then any other function a mistake names."""
    try:
        source = read_notebook(get_assignment(report.assignment).source_notebook)
        names = list(solution_cells(source))
    except (InstructorError, OSError):  # not a course assignment: name what the mistakes name
        names = []
    named_by_mistakes = {pair[0] for result in report.students for pair in result.mistakes}
    return names + sorted(named_by_mistakes - set(names))


def cell_stats(report: GradingReport, names: list[str]) -> list[CellStats]:
    stats = []
    for cell in report.cells:
        scores = [result.scores.get(cell.grade_id, 0.0) for result in report.students]
        mean = statistics.fmean(scores) if scores else None
        passed = sum(score >= cell.points for score in scores)
        function = function_of(cell.grade_id, names)
        stats.append(CellStats(cell.grade_id, function, cell.points, cell.hidden, mean, passed))
    return stats


def function_of(grade_id: str, names: list[str]) -> str:
    try:
        return graded_name(grade_id, names)
    except ValueError:
        return ""


def mistake_stats(report: GradingReport, names: list[str]) -> list[MistakeStats]:
    """How many students show each likely mistake: grouped by function (in ``names`` order),
    most frequent first, ties alphabetical. A student counts once per mistake."""
    counts = Counter(
        pair for result in report.students for pair in {tuple(m) for m in result.mistakes}
    )
    order = {name: index for index, name in enumerate(names)}

    def rank(item: tuple[tuple[str, str], int]) -> tuple:
        (function, what), count = item
        return order.get(function, len(order)), function, -count, what

    ranked = sorted(counts.items(), key=rank)
    return [MistakeStats(function, what, count) for (function, what), count in ranked]


def bin_width(max_total: float) -> float:
    """One bar per score up to MAX_BARS - 1 points; beyond, a whole number of points per bar."""
    return float(max(1, math.ceil(max_total / (MAX_BARS - 1))))


def histogram(totals: list[float], max_total: float, width: float) -> list[tuple[float, int]]:
    """(bar centre, students) for bars centred on 0, w, 2w, ... up to the maximum total; a bar
    counts the totals within w/2 of its centre (lower edge included)."""
    bars = max(1, math.ceil(max_total / width - 1e-9) + 1)
    counts = [0] * bars
    for total in totals:
        counts[min(max(math.floor(total / width + 0.5), 0), bars - 1)] += 1
    return [(index * width, count) for index, count in enumerate(counts)]


def number(value: float | None, decimals: int = 3) -> str:
    """``value`` rounded to ``decimals`` with no trailing zeros; empty for None."""
    if value is None:
        return ""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def share(count: int, students: int) -> str:
    """``count / students`` with four decimals at most; empty without students."""
    return number(count / students, 4) if students else ""


def percent(share_text: str) -> str:
    """The HTML's form of a CSV share: "0.6667" -> "66.67%"; "-" for an empty share."""
    return f"{number(float(share_text) * 100, 2)}%" if share_text else "-"


def summary_numbers(report: GradingReport, numbers: Numbers) -> dict[str, str]:
    totals = numbers.totals
    return {
        "students_graded": str(len(report.students)),
        "students_skipped": str(len(report.skipped)),
        "max_total": number(report.max_total),
        "mean_total": number(statistics.fmean(totals)) if totals else "",
        "median_total": number(statistics.median(totals)) if totals else "",
        "bin_width": number(numbers.bin_width),
        "sandboxed": "1" if report.sandboxed else "0",
    }


def csv_rows(report: GradingReport, numbers: Numbers) -> list[dict[str, str]]:
    """Every row of report.csv, in order (see the module docstring)."""
    students = len(report.students)
    summary = summary_numbers(report, numbers)
    rows = [{"section": "summary", "key": key, "value": value} for key, value in summary.items()]
    rows += [
        {"section": "histogram", "key": number(centre), "count": str(count),
         "share": share(count, students)}
        for centre, count in numbers.histogram
    ]  # fmt: skip
    rows += [
        {"section": "cell", "key": cell.grade_id, "function": cell.function,
         "hidden": "yes" if cell.hidden else "no", "value": number(cell.mean),
         "max": number(cell.points), "count": str(cell.passed),
         "share": share(cell.passed, students)}
        for cell in numbers.cells
    ]  # fmt: skip
    rows += [
        {"section": "mistake", "key": m.what, "function": m.function, "count": str(m.count),
         "share": share(m.count, students)}
        for m in numbers.mistakes
    ]  # fmt: skip
    for result, total in zip(report.students, numbers.totals, strict=True):
        value = number(total)
        rows.append({"section": "student", "key": result.student, "value": value,
                     "max": summary["max_total"]})  # fmt: skip
        if result.notes:
            rows.append({"section": "problem", "key": result.student, "value": value,
                         "count": str(len(result.notes))})  # fmt: skip
        if result.flags:
            rows.append({"section": "flagged", "key": result.student, "value": value,
                         "count": str(len(result.flags))})  # fmt: skip
    return [{column: row.get(column, "") for column in CSV_COLUMNS} for row in rows]


# ---------------------------------------------------------------------------------------------
# The page


def histogram_png(numbers: Numbers, max_total: float) -> bytes:
    """The histogram of total scores as a PNG with no date or version in it (deterministic)."""
    # Figure + FigureCanvasAgg, not pyplot: no global backend or figure registry is touched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    centres = [centre for centre, _ in numbers.histogram]
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.bar(centres, [count for _, count in numbers.histogram], width=numbers.bin_width * 0.9,
             color="#4477aa")  # fmt: skip
    half = numbers.bin_width / 2
    axes.set_xlim(-half, max(max_total, centres[-1]) + half)
    axes.set_xlabel(f"total score (out of {number(max_total)})")
    axes.set_ylabel("students")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def table(
    table_id: str,
    header: list[str],
    rows: list[list[str]],
    numeric: Container[int] = (),
    wide: Container[int] = (),
    function: str | None = None,
) -> str:
    """A table in a wrapper that scrolls on narrow screens. ``rows`` hold HTML (escaped by the
    caller); ``numeric`` columns are right-aligned, ``wide`` ones (lists of notes) kept readable;
    ``function`` goes into a data-function attribute."""

    def column_class(index: int) -> str:
        return " class='num'" if index in numeric else " class='wide'" if index in wide else ""

    def cells(tag: str, values: list[str]) -> str:
        return "".join(f"<{tag}{column_class(i)}>{value}</{tag}>" for i, value in enumerate(values))

    extra = f" data-function='{esc(function)}'" if function is not None else ""
    head = f"<thead><tr>{cells('th', [esc(h) for h in header])}</tr></thead>"
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return (f"<div class='scroll'><table id='{esc(table_id)}'{extra}>{head}<tbody>{body}</tbody>"
            "</table></div>")  # fmt: skip


def bullet_list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>"


def summary_section(report: GradingReport, numbers: Numbers) -> str:
    summary = summary_numbers(report, numbers)
    labels = {"students_graded": "Students graded", "students_skipped": "Folders skipped",
              "max_total": "Maximum total", "mean_total": "Mean total",
              "median_total": "Median total"}  # fmt: skip
    rows = [[esc(label), esc(summary[key] or "-")] for key, label in labels.items()]
    parts = ["<h2>Summary</h2>", table("summary", ["", "value"], rows, numeric={1})]
    if report.skipped:
        parts.append("<p>Skipped (folder names that are not valid student ids):</p>")
        parts.append(bullet_list(report.skipped))
    if not report.sandboxed:
        parts.append("<p class='warning'>Graded without the sandbox: student code ran with the "
                     "instructor's permissions.</p>")  # fmt: skip
    return "\n".join(parts)


def histogram_section(report: GradingReport, numbers: Numbers) -> str:
    png = base64.b64encode(histogram_png(numbers, report.max_total)).decode("ascii")
    students = len(report.students)
    rows = [[esc(number(centre)), str(count), esc(percent(share(count, students)))]
            for centre, count in numbers.histogram]  # fmt: skip
    return "\n".join([
        "<h2>Total scores</h2>",
        f"<img id='histogram' src='data:image/png;base64,{png}' width='640' height='320' "
        "alt='Histogram: number of students per total score'>",
        f"<details><summary>The histogram as a table (each bar counts the totals within "
        f"{number(numbers.bin_width / 2)} of its score)</summary>",
        table("histogram-table", ["total score", "students", "share"], rows, numeric={0, 1, 2}),
        "</details>",
    ])  # fmt: skip


def cells_section(report: GradingReport, numbers: Numbers) -> str:
    students = len(report.students)
    rows = [
        [esc(cell.grade_id), esc(cell.function or "-"), esc(number(cell.points)),
         "yes" if cell.hidden else "no", esc(number(cell.mean) or "-"),
         esc(percent(share(cell.passed, students)))]
        for cell in numbers.cells
    ]  # fmt: skip
    header = ["test cell", "function", "points", "hidden", "mean score", "pass rate"]
    return "\n".join([
        "<h2>Test cells</h2>",
        "<p>Pass rate: the share of students with full points on the cell.</p>",
        table("cells", header, rows, numeric={2, 4, 5}),
    ])  # fmt: skip


def mistakes_section(report: GradingReport, numbers: Numbers) -> str:
    students = len(report.students)
    parts = ["<h2>Likely mistakes</h2>"]
    if not numbers.mistakes:
        parts.append("<p>No likely mistakes were recognised.</p>")
    functions = list(dict.fromkeys(m.function for m in numbers.mistakes))
    for index, function in enumerate(functions):
        rows = [[esc(m.what), str(m.count), esc(percent(share(m.count, students)))]
                for m in numbers.mistakes if m.function == function]  # fmt: skip
        header = ["likely mistake", "students", "share"]
        parts.append(f"<h3>{esc(function)}</h3>")
        parts.append(table(f"mistakes-{index}", header, rows, numeric={1, 2}, function=function))
    return "\n".join(parts)


def students_with(report: GradingReport, numbers: Numbers, attribute: str, title: str) -> str:
    """The table of the students whose ``attribute`` ("notes" or "flags") is not empty."""
    rows = [
        [esc(result.student), esc(number(total)), bullet_list(getattr(result, attribute))]
        for result, total in zip(report.students, numbers.totals, strict=True)
        if getattr(result, attribute)
    ]
    table_id = {"notes": "problems", "flags": "flagged"}[attribute]
    header = ["student", "total", attribute]
    body = table(table_id, header, rows, numeric={1}, wide={2}) if rows else "<p>None.</p>"
    return f"<h2>{esc(title)}</h2>\n{body}"


def all_students_section(report: GradingReport, numbers: Numbers) -> str:
    max_total = esc(number(report.max_total))
    rows = [[esc(result.student), esc(number(total)), max_total]
            for result, total in zip(report.students, numbers.totals, strict=True)]  # fmt: skip
    header = ["student", "total", "max"]
    return "<h2>Students</h2>\n" + table("students", header, rows, numeric={1, 2})


def render_html(report: GradingReport, numbers: Numbers) -> str:
    title = f"Grading report: {report.assignment}"
    sections = [
        summary_section(report, numbers),
        histogram_section(report, numbers),
        cells_section(report, numbers),
        mistakes_section(report, numbers),
        students_with(report, numbers, "notes", "Submissions with problems"),
        students_with(report, numbers, "flags", "Submissions flagged for review by hand"),
        all_students_section(report, numbers),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )
