"""Export the final grades to a file an LMS imports: ``course export --format canvas``.

Canvas's gradebook import (*Grades -> Import*) reads a CSV whose first columns are
``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment, and an
optional second row ``Points Possible``. Canvas matches a row to a student by ``ID``, ``SIS
User ID`` or ``SIS Login ID``; an assignment column named ``Name (123)`` updates Canvas
assignment 123, a column named without an ID creates a new assignment.

Student IDs: :func:`canvas` writes the course's student ID (the nbgrader ID, the hub user)
as ``SIS Login ID``. Given ``roster``, the CSV that Canvas's *Grades -> Export* downloads, it
takes each student's ``Student``, ``ID``, ``SIS User ID`` and ``Section`` from the roster row
whose ``SIS Login ID`` (else ``SIS User ID``, else ``ID``) equals the course's ID, and the
headers of assignment columns that the roster already has (``01-conv1d (4711)``). Students of
the gradebook that the roster does not list are written all the same and reported.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .coursedir import CourseDir, UsageError
from .grade import grade_rows

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
FORMATS = ("canvas",)


def _read_roster(path: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """``({course student ID: roster row}, {assignment name: roster column header})`` from a Canvas export."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UsageError(f"roster {path} cannot be read as a CSV file: {error}") from None
    if not rows or not set(CANVAS_COLUMNS[:4]) <= set(rows[0]):
        raise UsageError(
            f"roster {path} is not a Canvas gradebook export (it needs the columns {', '.join(CANVAS_COLUMNS[:4])})"
        )
    by_id: dict[str, dict] = {}
    for row in rows:
        if "Points Possible" in (row.get("Student") or ""):
            continue
        for key in ("ID", "SIS User ID", "SIS Login ID"):  # the course's ID may be any of the three
            if row.get(key):
                by_id[row[key].strip()] = row
    headers = {name.rsplit(" (", 1)[0]: name for name in rows[0] if name not in CANVAS_COLUMNS and name.endswith(")")}
    return by_id, headers


def canvas(course: CourseDir, output: Path, roster: Path | None = None) -> tuple[Path, list[str]]:
    """Write Canvas's gradebook CSV of every student's score per assignment; return it and the unmatched IDs."""
    rows = grade_rows(course)
    if not rows:
        raise UsageError(f"no grades in {course.root}: run `course grade` first")
    by_id, headers = _read_roster(roster) if roster else ({}, {})
    assignments = sorted({row["assignment"] for row in rows})
    maxima = {row["assignment"]: row["max_score"] for row in rows}
    scores: dict[str, dict[str, str]] = {}
    for row in rows:
        scores.setdefault(row["student"], {})[row["assignment"]] = row["score"]
    unmatched = sorted(s for s in scores if roster and s not in by_id)
    columns = [headers.get(a, a) for a in assignments]
    output = Path(output)
    tmp = output.with_name(output.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CANVAS_COLUMNS + columns)
        writer.writerow(["    Points Possible", "", "", "", ""] + [maxima[a] for a in assignments])
        for student in sorted(scores):
            known = by_id.get(student, {})
            writer.writerow(
                [
                    known.get("Student") or student,
                    known.get("ID", ""),
                    known.get("SIS User ID", ""),
                    known.get("SIS Login ID") or student,
                    known.get("Section", ""),
                ]
                + [scores[student].get(a, "") for a in assignments]
            )
    os.replace(tmp, output)
    return output, unmatched
