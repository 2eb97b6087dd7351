"""`course grade` as a term uses it: submission times and secrets kept, a deadline with nbgrader's
late penalty, graders that split the class, feedback for every student, and the Canvas export.

The submissions come as nbgrader's exchange collects them (``<student>/<assignment>/`` with
``timestamp.txt`` and ``submission_secret.txt``). The hub test (test_hub.py) runs the same
commands against a real JupyterHub, exchange and PostgreSQL gradebook.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from conftest import REPO  # the checkout's root, found in one place
from make_submissions import ASSIGNMENT, SOLVED, answered

pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("instructor-lms")]

RELEASED = REPO / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
COURSE = [sys.executable, "-m", "course_utils.instructor.cli"]
OPTIONS = ["--source", str(REPO / "solutions"), "--workers", "2", "--timeout", "30", "--no-progress"]
DUE = "2026-12-02T00:00:00+00:00"
# student: (answer, timestamp.txt); the published solution of 01-conv1d is graded too (see below).
STUDENTS = {
    "ontime": (SOLVED, "2026-12-01 10:00:00.000000 UTC"),
    "late": (SOLVED, "2026-12-03 12:00:00.000000 UTC"),  # 36 h late
    "partial": (SOLVED.replace("zip(values, weights)", "zip(values[:3], weights[:3])"), "2026-12-01 11:00:00 UTC"),
    "nostamp": (SOLVED, None),
}


def course(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*COURSE, *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def rows(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, newline="") as f:
        return {(row["student"], row["assignment"]): row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("term")
    for student, (answer, stamp) in STUDENTS.items():
        folder = root / "collected" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(answered(nbformat.read(RELEASED, as_version=4), answer), folder / f"{ASSIGNMENT}.ipynb")
        (folder / "submission_secret.txt").write_text(f"secret-of-{student}")
        if stamp:
            (folder / "timestamp.txt").write_text(stamp)
    # The published solution of 01-conv1d as a student's answer: its lines match hidden-test lines.
    folder = root / "collected" / "ontime" / "01-conv1d"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "solutions" / "01-conv1d" / "01-conv1d.ipynb", folder)
    (folder / "timestamp.txt").write_text("2026-12-01 09:00:00 UTC")
    (folder / "submission_secret.txt").write_text("secret-of-ontime-01")
    # Two graders split the class: first half, then the second half.
    first = course(
        "grade",
        "collected",
        "--students",
        "ontime,late",
        "--duedate",
        DUE,
        "--late-penalty",
        "zero",
        *OPTIONS,
        cwd=root,
    )
    (root / "second-half.txt").write_text("partial\nnostamp\n")
    second = course("grade", "collected", "--students", "second-half.txt", *OPTIONS, cwd=root)
    return root, first, second


def test_halves_add_up_to_one_class(term):
    root, first, second = term
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert "graded 3 submission(s) now" in first.stdout and "graded 2 submission(s) now" in second.stdout
    grades = rows(root / "course-dir" / "grades.csv")
    assert {s for s, a in grades if a == ASSIGNMENT} == set(STUDENTS)
    assert len(grades) == len(set(grades)) == 2 * len(STUDENTS)  # each student once per assignment
    for half in ("ontime,late", "partial,nostamp"):
        again = course("grade", "collected", "--students", half, *OPTIONS, cwd=root)
        assert "graded 0 submission(s) now" in again.stdout, again.stdout + again.stderr
    assert rows(root / "course-dir" / "grades.csv") == grades


def test_late_penalty_from_the_deadline_and_the_timestamp(term):
    grades = rows(term[0] / "course-dir" / "grades.csv")
    assert grades[("ontime", ASSIGNMENT)]["score"] == "1" and grades[("ontime", ASSIGNMENT)]["status"] == "ok"
    late = grades[("late", ASSIGNMENT)]
    assert late["score"] == "0" and late["status"] == "ok; late by 36.0 h (penalty 1)", late
    assert grades[("partial", ASSIGNMENT)]["score"] == "0" and grades[("nostamp", ASSIGNMENT)]["score"] == "1"
    # The rule is remembered in the course directory: the second grader applied it without being told.
    assert "penalty_method = 'zero'" in (term[0] / "course-dir" / "nbgrader_config.py").read_text()


def test_times_and_secrets_reach_autograded_and_feedback(term):
    root = term[0]
    result = course("feedback", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    for student, (_, stamp) in STUDENTS.items():
        for kind in ("submitted", "autograded", "feedback"):
            folder = root / "course-dir" / kind / student / ASSIGNMENT
            assert (folder / "submission_secret.txt").read_text() == f"secret-of-{student}", folder
            assert (folder / "timestamp.txt").is_file() == bool(stamp), folder
        assert (root / "course-dir" / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_the_published_solution_gets_its_feedback_page(term):
    root = term[0]
    course("feedback", cwd=root)
    page = root / "course-dir" / "feedback" / "ontime" / "01-conv1d" / "01-conv1d.html"
    assert page.is_file(), "the page of an honest student whose code matches hidden-test lines was withheld"
    from course_utils.instructor.feedback import hidden_lines, leaks, secret_lines

    source = nbformat.read(REPO / "solutions" / "01-conv1d" / "01-conv1d.ipynb", as_version=4)
    sources = [cell.source for cell in source.cells]
    hidden = hidden_lines(sources)
    text = page.read_text()
    # Lines shared with the student's own code are on the page (their code), no secret one is.
    assert leaks(text, hidden), "the test cannot fail: no hidden line is shared with the student's code"
    assert leaks(text, secret_lines(hidden, sources, [])) == []


def test_canvas_export(term):
    root = term[0]
    result = course("export", "--format", "canvas", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(root / "course-dir" / "canvas-grades.csv", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT, "01-conv1d"]
    assert table[1] == ["    Points Possible", "", "", "", "", "1", "10"]
    body = {row[3]: row for row in table[2:]}
    assert body["late"][5] == "0" and body["ontime"][5:] == ["1", "10"] and body["nostamp"][6] == "0"
    # With Canvas's own export as the roster: its names, IDs, sections and assignment column.
    roster = root / "canvas-export.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,00-start-here (4711)\n"
        "    Points Possible,,,,,1\n"
        '"Time, On",101,S-101,ontime,Sec A,\n"Late, Lee",102,S-102,late,Sec B,\n'
    )
    result = course("export", "--format", "canvas", "--roster", str(roster), "--output", "import.csv", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "course: warning: nostamp is not in the roster" in result.stderr
    with open(root / "import.csv", newline="") as f:
        table = list(csv.reader(f))
    assert table[0][5] == "00-start-here (4711)"
    assert ["Time, On", "101", "S-101", "ontime", "Sec A", "1", "10"] in table


@pytest.mark.parametrize(
    "args, message",
    [
        (["grade", "collected", "--duedate", "next friday"], "--duedate 'next friday' is not a time"),
        (["grade", "collected", "--students", "bad/id"], "--students 'bad/id'"),
        (["grade", "collected", "--late-penalty", "half"], "invalid choice: 'half'"),
        (["export", "--format", "blackboard"], "invalid choice: 'blackboard'"),
        (["export", "--format", "canvas", "--course-dir", "nowhere"], "is not a course directory"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, message):
    (tmp_path / "collected").mkdir()
    result = course(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("course: error:") and message in lines[0], lines


def test_a_roster_that_is_not_canvas_is_refused(term):
    root = term[0]
    (root / "other.csv").write_text("name,email\nx,y\n")
    result = course("export", "--format", "canvas", "--roster", "other.csv", cwd=root)
    assert result.returncode == 2 and "is not a Canvas gradebook export" in result.stderr, result.stderr
