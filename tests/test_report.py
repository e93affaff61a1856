"""The instructor's report (autograder/report.py) on a made-up batch: its numbers, checked against
values computed here from the batch; the HTML against the CSV; escaping; determinism; and how
the page behaves in a headless Chromium opened from file://."""

from __future__ import annotations

import csv
import math
import os
import statistics
import struct
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.course import get_assignment
from autograder.grading import GradingReport, StudentResult
from autograder.notebooks import (
    GradeCell,
    grade_cells,
    graded_name,
    read_notebook,
    solution_cells,
)
from autograder.report import write_report

# rows() and the graded functions come from a real assignment's notebook; the scores are made up.
ASSIGNMENT = "02_hidden_state"
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_NOTE = "<script>alert('note')</script> & more"
IMG_FOLDER = "<img src=x onerror=alert(1)>"
FLAG = "opened <b>/etc/passwd</b>"


def source_notebook():
    return read_notebook(get_assignment(ASSIGNMENT).source_notebook)


def make_report(workdir: Path) -> GradingReport:
    """Six students: full marks, a partial one with mistakes in two functions and a note that
    holds HTML, a flagged one, one whose kernel died (no scores), and two more partial ones."""
    cells = grade_cells(source_notebook())
    names = list(solution_cells(source_notebook()))
    step, softmax = names[0], "softmax"
    assert softmax in names[1:]
    full = {cell.grade_id: cell.points for cell in cells}

    def scores(keep: int, half: int = -1) -> dict[str, float]:
        """Full points on the first ``keep`` cells, half points on cell ``half``, else 0."""
        result = {c.grade_id: (c.points if i < keep else 0.0) for i, c in enumerate(cells)}
        if half >= 0:
            result[cells[half].grade_id] = cells[half].points / 2
        return result

    students = [
        StudentResult("alice", dict(full)),
        StudentResult(
            "bob",
            scores(4, half=6),
            notes=[SCRIPT_NOTE],
            mistakes=[
                (step, "transposed W_hh"),
                (softmax, "max not subtracted"),
                (softmax, "max not subtracted"),
            ],  # the same mistake on two checks
        ),
        StudentResult(
            "carol",
            scores(7),
            flags=[FLAG],
            mistakes=[(step, "b_h ignored"), (softmax, "max not subtracted")],
        ),
        StudentResult("dave", {}, notes=["the kernel died", "no output"]),
        StudentResult(
            "erin",
            scores(2, half=2),
            mistakes=[
                (step, "transposed W_hh"),
                (step, "b_h ignored"),
                (softmax, "summed over the batch axis"),
            ],
        ),
        StudentResult("frank", scores(len(cells) - 1), mistakes=[(softmax, "max not subtracted")]),
    ]
    return GradingReport(ASSIGNMENT, cells, students, [IMG_FOLDER], workdir)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[GradingReport, Path]:
    folder = tmp_path_factory.mktemp("report")
    report = make_report(folder / "no-workdir")
    assert write_report(report, folder / "out") == folder / "out" / "report.html"
    return report, folder / "out"


@pytest.fixture(scope="module")
def report(written) -> GradingReport:
    return written[0]


@pytest.fixture(scope="module")
def page(written) -> str:
    return (written[1] / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows(written) -> dict[str, list[dict[str, str]]]:
    """The CSV's rows by section."""
    with open(written[1] / "report.csv", newline="", encoding="utf-8") as handle:
        by_section = defaultdict(list)
        for row in csv.DictReader(handle):
            by_section[row["section"]].append(row)
    return by_section


@pytest.fixture(scope="module")
def tables(page) -> dict[str, dict]:
    parser = TableParser()
    parser.feed(page)
    return parser.tables


class TableParser(HTMLParser):
    """Each table's id, data-function and rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict] = {}
        self.table: dict | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.table = {"function": attrs.get("data-function"), "rows": []}
            self.tables[attrs["id"]] = self.table
        elif tag == "tr" and self.table is not None:
            self.table["rows"].append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.table["rows"][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def body(tables: dict, table_id: str) -> list[list[str]]:
    return tables[table_id]["rows"][1:]


def same_share(percent_text: str, share_text: str) -> bool:
    """The HTML shows the CSV's share (a fraction) as a percentage: "66.67%" for "0.6667"."""
    assert percent_text.endswith("%"), percent_text
    return float(percent_text[:-1]) / 100 == pytest.approx(float(share_text), abs=1e-12)


def expected_totals(report: GradingReport) -> dict[str, float]:
    """Each student's total: the sum of their scores in GradingReport.rows()."""
    totals = dict.fromkeys((r.student for r in report.students), 0.0)
    for row in report.rows():
        totals[row["student_id"]] += float(row["score"])
    return totals


# ---------------------------------------------------------------------------------------------
# The numbers, computed here from the input


def test_both_files_are_written(written):
    assert sorted(p.name for p in written[1].iterdir()) == ["report.csv", "report.html"]


def test_the_report_reads_no_gradebook(report):
    assert not report.workdir.exists()


def test_student_totals_are_the_sums_of_the_grade_rows(report, rows):
    totals = expected_totals(report)
    assert [row["key"] for row in rows["student"]] == list(totals)
    for row in rows["student"]:
        assert float(row["value"]) == pytest.approx(totals[row["key"]], abs=5e-4)
        assert float(row["max"]) == sum(cell.points for cell in report.cells)


def test_summary_numbers(report, rows):
    totals = list(expected_totals(report).values())
    summary = {row["key"]: row["value"] for row in rows["summary"]}
    assert int(summary["students_graded"]) == len(report.students)
    assert int(summary["students_skipped"]) == len(report.skipped)
    assert float(summary["mean_total"]) == pytest.approx(statistics.fmean(totals), abs=5e-4)
    assert float(summary["median_total"]) == pytest.approx(statistics.median(totals), abs=5e-4)
    assert float(summary["max_total"]) == report.max_total


def test_cell_means_and_pass_rates(report, rows):
    names = list(solution_cells(source_notebook()))
    students = report.students
    assert [row["key"] for row in rows["cell"]] == [cell.grade_id for cell in report.cells]
    for cell, row in zip(report.cells, rows["cell"], strict=True):
        scores = [r.scores.get(cell.grade_id, 0.0) for r in students]
        passed = sum(score == cell.points for score in scores)
        assert float(row["value"]) == pytest.approx(sum(scores) / len(students), abs=5e-4)
        assert int(row["count"]) == passed
        assert float(row["share"]) == pytest.approx(passed / len(students), abs=5e-5)
        assert float(row["max"]) == cell.points
        assert row["hidden"] == ("yes" if cell.hidden else "no")
        assert row["function"] == graded_name(cell.grade_id, names)
    # the batch is varied enough for these checks to mean something
    assert len({row["share"] for row in rows["cell"]}) >= 3


def test_histogram_counts_every_student_once(report, rows):
    width = float(next(r["value"] for r in rows["summary"] if r["key"] == "bin_width"))
    assert width == max(1, math.ceil(report.max_total / 20))
    expected = Counter(
        math.floor(t / width + 0.5) * width for t in expected_totals(report).values()
    )
    got = {float(row["key"]): int(row["count"]) for row in rows["histogram"]}
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert max(got) >= report.max_total


def test_mistakes_most_frequent_first_per_function(report, rows):
    counts = Counter(pair for r in report.students for pair in set(r.mistakes))
    names = list(solution_cells(source_notebook()))
    expected = sorted(counts.items(), key=lambda i: (names.index(i[0][0]), -i[1], i[0][1]))
    got = [((row["function"], row["key"]), int(row["count"])) for row in rows["mistake"]]
    assert got == expected
    for row in rows["mistake"]:
        assert float(row["share"]) == pytest.approx(
            int(row["count"]) / len(report.students), abs=5e-5
        )
    # a tie (2 and 2) is alphabetical; bob's repeated mistake counts once
    assert [key for (_, key), _ in got[:2]] == ["b_h ignored", "transposed W_hh"]
    assert got[2] == (("softmax", "max not subtracted"), 3)


def test_problems_and_flags(report, rows):
    noted = [r.student for r in report.students if r.notes]
    flagged = [r.student for r in report.students if r.flags]
    assert [row["key"] for row in rows["problem"]] == noted
    assert [row["key"] for row in rows["flagged"]] == flagged
    counts = {r.student: (len(r.notes), len(r.flags)) for r in report.students}
    assert all(int(row["count"]) == counts[row["key"]][0] for row in rows["problem"])
    assert all(int(row["count"]) == counts[row["key"]][1] for row in rows["flagged"])


# ---------------------------------------------------------------------------------------------
# The HTML shows the CSV's numbers


def test_html_cell_table_equals_the_csv(tables, rows):
    assert tables["cells"]["rows"][0] == [
        "test cell", "function", "points", "hidden", "mean score", "pass rate"
    ]  # fmt: skip
    shown = body(tables, "cells")
    assert len(shown) == len(rows["cell"])
    for (grade_id, function, points, hidden, mean, rate), row in zip(
        shown, rows["cell"], strict=True
    ):
        assert [grade_id, function, points, hidden, mean] == [
            row["key"], row["function"], row["max"], row["hidden"], row["value"]
        ]  # fmt: skip
        assert same_share(rate, row["share"])


def test_html_student_tables_equal_the_csv(tables, rows):
    assert body(tables, "students") == [[r["key"], r["value"], r["max"]] for r in rows["student"]]
    for table_id, section in [("problems", "problem"), ("flagged", "flagged")]:
        shown = [row[:2] for row in body(tables, table_id)]
        assert shown == [[r["key"], r["value"]] for r in rows[section]]


def test_html_summary_histogram_and_mistakes_equal_the_csv(tables, rows):
    summary = {row["key"]: row["value"] for row in rows["summary"]}
    shown = dict(body(tables, "summary"))
    assert shown["Students graded"] == summary["students_graded"]
    assert shown["Folders skipped"] == summary["students_skipped"]
    assert shown["Mean total"] == summary["mean_total"]
    assert shown["Median total"] == summary["median_total"]
    assert shown["Maximum total"] == summary["max_total"]
    histogram = body(tables, "histogram-table")
    assert [row[:2] for row in histogram] == [[r["key"], r["count"]] for r in rows["histogram"]]
    mistake_tables = [t for t in tables.values() if t["function"] is not None]
    shown = [(t["function"], what, count, rate) for t in mistake_tables for what, count, rate
             in t["rows"][1:]]  # fmt: skip
    assert [s[:3] for s in shown] == [
        (r["function"], r["key"], r["count"]) for r in rows["mistake"]
    ]
    assert all(same_share(s[3], r["share"]) for s, r in zip(shown, rows["mistake"], strict=True))


def test_student_strings_are_escaped(page):
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;note&#x27;)&lt;/script&gt; &amp; more" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    assert "opened &lt;b&gt;/etc/passwd&lt;/b&gt;" in page and "<b>" not in page


def test_self_contained(page):
    sources = [part.split("'")[0] for part in page.split("src='")[1:]]
    assert sources and all(src.startswith("data:image/png;base64,") for src in sources)
    assert "http:" not in page and "https:" not in page and "<link" not in page


# ---------------------------------------------------------------------------------------------
# Deterministic


def png_chunks(png: bytes) -> list[bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        chunks.append(png[at + 4 : at + 8])
        at += 12 + length
    return chunks


def test_rerunning_gives_byte_identical_files(tmp_path, written):
    report = make_report(tmp_path / "no-workdir")
    write_report(report, tmp_path / "again")
    for name in ["report.html", "report.csv"]:
        assert (tmp_path / "again" / name).read_bytes() == (written[1] / name).read_bytes(), name


def test_the_png_carries_no_date_or_software(page):
    import base64

    encoded = page.split("data:image/png;base64,")[1].split("'")[0]
    chunks = png_chunks(base64.b64decode(encoded))
    assert b"IHDR" in chunks and b"IDAT" in chunks
    assert not {b"tIME", b"tEXt", b"iTXt", b"zTXt"} & set(chunks), chunks


# ---------------------------------------------------------------------------------------------
# Edge cases


def test_no_students(tmp_path):
    report = GradingReport(ASSIGNMENT, grade_cells(source_notebook()), [], [], tmp_path)
    page = write_report(report, tmp_path / "out").read_text(encoding="utf-8")
    with open(tmp_path / "out" / "report.csv", newline="", encoding="utf-8") as handle:
        summary = {
            r["key"]: r["value"] for r in csv.DictReader(handle) if r["section"] == "summary"
        }
    assert summary["students_graded"] == "0" and summary["mean_total"] == ""
    assert "No likely mistakes were recognised." in page


def test_an_assignment_outside_the_course_names_functions_from_its_mistakes(tmp_path):
    cells = [GradeCell("test_area", 1.0, False), GradeCell("test_area_hidden", 2.0, True)]
    student = StudentResult("ann", {"test_area": 1.0}, mistakes=[("area", "radius squared")])
    report = GradingReport("not_a_course_assignment", cells, [student], [], tmp_path)
    write_report(report, tmp_path / "out")
    with open(tmp_path / "out" / "report.csv", newline="", encoding="utf-8") as handle:
        functions = [r["function"] for r in csv.DictReader(handle) if r["section"] == "cell"]
    assert functions == ["area", "area"]


# ---------------------------------------------------------------------------------------------
# In a browser


@pytest.mark.browser
def test_the_page_works_offline_in_chromium_at_400_px(written):
    if not CHROMIUM.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    url = (written[1] / "report.html").as_uri()
    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 400, "height": 800})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url, wait_until="load")
            image_width = page.evaluate("document.getElementById('histogram').naturalWidth")
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            inner_width = page.evaluate("window.innerWidth")
            wrappers = page.evaluate(
                "[...document.querySelectorAll('.scroll')]"
                ".map(wrapper => wrapper.getBoundingClientRect().right)"
            )
        finally:
            browser.close()
    assert image_width > 0, "the histogram did not load"
    assert all(u.startswith(("file://", "data:")) for u in requests), requests
    assert requests[0] == url
    assert not errors, errors
    assert scroll_width <= inner_width, f"the page is {scroll_width} px wide at {inner_width}"
    assert wrappers and max(wrappers) <= inner_width
