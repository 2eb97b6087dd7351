"""One batch holding every hostile fixture and honest ones, graded by `course grade` end to end.

The fixtures (tests/fixtures/submissions/, written by tests/fixtures/make_submissions.py)
are the released 00-start-here notebook with the solution cell replaced: honest full,
partial and blank answers; an infinite loop, a sleep, unbounded allocation; os._exit and a
segfault; a million printed lines and a 50 MB image; a deleted, edited and unmarked test
cell, reordered cells, a changed kernelspec; an always-equal float, monkeypatched checks,
a silenced traceback, a hunt for the hidden tests on disk; a stderr warning; invalid JSON.
The tests run in order on one course directory: grade, re-run and resume, a second batch
(flat LMS zip), feedback, report.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from conftest import REPO  # the checkout's root, found in one place
from make_submissions import ASSIGNMENT, CASES

from course_utils.instructor.feedback import hidden_lines, leaks

pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("instructor-batch")]

FIXTURES = Path(__file__).parent / "fixtures" / "submissions"
COURSE = [sys.executable, "-m", "course_utils.instructor.cli"]
# Short limits keep the test fast; a time-limit fixture costs one TIMEOUT.
OPTIONS = [
    "--source",
    str(REPO / "solutions"),
    "--workers",
    "2",
    "--timeout",
    "20",
    "--memory-mb",
    "1536",
    "--no-progress",
]


def course(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*COURSE, *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("instructor")
    (root / "roster.txt").write_text("absent\nhonest-full\n")
    result = course("grade", str(FIXTURES), "--assignment", ASSIGNMENT, "--roster", "roster.txt", *OPTIONS, cwd=root)
    return root, result


def test_every_submission_gets_the_expected_grade(batch):
    root, result = batch
    # The batch finished; the exit status is 1 only because one file is not valid JSON.
    assert result.returncode == 1, result.stderr
    assert "course: warning: invalid-json/" in result.stderr and "Traceback" not in result.stderr, result.stderr
    grades = rows(root / "course-dir" / "grades.csv")
    assert set(grades) == {*CASES, "invalid-json", "absent"}
    wrong = {}
    for student, (_, _, score, status, review) in CASES.items():
        row = grades[student]
        got = (float(row["score"]), row["status"], row["review"])
        if (
            float(row["score"]) != score
            or row["max_score"] != "1"
            or (status == "ok" and row["status"] != "ok")
            or status not in row["status"]
            or (review is not None and bool(row["review"]) != review)
        ):
            wrong[student] = got
    assert wrong == {}, f"unexpected grades (score, status, review): {wrong}"
    assert grades["invalid-json"]["score"] == "0" and "not valid JSON" in grades["invalid-json"]["status"]
    assert grades["invalid-json"]["review"]
    assert grades["absent"]["status"] == "missing" and grades["absent"]["score"] == "0"


def test_suspicious_code_is_listed(batch):
    grades = rows(batch[0] / "course-dir" / "grades.csv")
    for student, label in [
        ("eq-cheat", "overrides comparison"),
        ("patch-checks", "patches numpy or the checks"),
        ("hide-traceback", "touches IPython"),
        ("read-hidden", "reads or writes files"),
        ("segfault", "controls the process"),
    ]:
        assert label in grades[student]["flags"], (student, grades[student]["flags"])
    assert grades["honest-full"]["flags"] == "" and grades["honest-partial"]["flags"] == ""


def test_rerun_gives_the_same_grades_and_an_interrupted_run_resumes(batch):
    root, _ = batch
    csv_path = root / "course-dir" / "grades.csv"
    before = csv_path.read_bytes()
    again = course("grade", str(FIXTURES), "--assignment", ASSIGNMENT, *OPTIONS, cwd=root)
    assert "graded 0 submission(s) now" in again.stdout, again.stdout + again.stderr
    assert csv_path.read_bytes() == before
    # A run killed after saving a grade but before its marker: that submission is graded again.
    (root / "course-dir" / "state" / "honest-full" / f"{ASSIGNMENT}.json").unlink()
    resumed = course("grade", str(FIXTURES), "--assignment", ASSIGNMENT, *OPTIONS, cwd=root)
    assert "graded 1 submission(s) now" in resumed.stdout, resumed.stdout + resumed.stderr
    assert csv_path.read_bytes() == before


def test_a_second_batch_adds_to_the_first(batch):
    root, _ = batch
    csv_path = root / "course-dir" / "grades.csv"
    before = rows(csv_path)
    flat = root / "lms-export.zip"
    with zipfile.ZipFile(flat, "w") as zf:
        zf.write(FIXTURES / "honest-full" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", f"zed_4711_{ASSIGNMENT}.ipynb")
    result = course("grade", str(flat), *OPTIONS, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    after = rows(csv_path)
    assert after.pop("zed")["score"] == "1"
    assert after == before


def test_feedback_for_everyone_without_hidden_tests(batch):
    root, _ = batch
    result = course("feedback", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    source = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    hidden = hidden_lines([cell.source for cell in source.cells])
    assert hidden, "the fixture assignment should have hidden tests"
    for student in rows(root / "course-dir" / "grades.csv"):
        page = root / "course-dir" / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert page.is_file(), f"no feedback for {student}"
        text = page.read_text()
        assert leaks(text, hidden) == [], f"hidden tests in {student}'s feedback"
        assert len(text) < 1_000_000, f"{student}'s feedback is {len(text)} characters"
    flooded = (root / "course-dir" / "feedback" / "print-flood" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Output truncated" in flooded or "output truncated" in flooded


def test_report_table_and_figure(batch):
    root, _ = batch
    result = course("report", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(root / "course-dir" / "report.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    # Every graded submission counts (whether or not the second batch has run yet); absent or
    # interrupted ones do not.
    graded = [
        r
        for r in rows(root / "course-dir" / "grades.csv").values()
        if not r["status"].startswith(("missing", "not graded"))
    ]
    assert len(graded) >= len(CASES) + 1  # the fixtures and the unreadable one
    assert row["exercise"] == "weighted_sum_tests" and int(row["submissions"]) == len(graded)
    assert (root / "course-dir" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
