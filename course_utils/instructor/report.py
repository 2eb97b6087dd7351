"""Per-exercise statistics of a graded batch: which exercise did the class struggle with?

:func:`exercise_table` reads the gradebook: one row per graded cell (``grade_id``) of each
assignment, over the submissions graded so far (students who submitted nothing are not
counted; ``grades.csv`` lists them). :func:`write` saves it as ``report.csv`` and draws
``report.png``: for each exercise, the distribution of the fraction of its points that
students earned (a box over the individual scores), sorted so the hardest comes first.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from nbgrader.api import Gradebook

from .coursedir import CourseDir, UsageError
from .grade import read_marker

FIELDS = ["assignment", "exercise", "points", "submissions", "mean", "median", "full_marks"]


def exercise_table(
    course: CourseDir, assignments: list[str] | None = None
) -> tuple[list[dict], dict[str, list[float]]]:
    """Return ``(rows, fractions)``.

    The table rows and, per ``assignment · exercise``, each student's score / points.
    """
    rows, fractions = [], {}
    with Gradebook(course.db_url) as gb:
        names = sorted(a.name for a in gb.assignments)
        for name in assignments or []:
            if name not in names:
                raise UsageError(f"unknown assignment {name!r}; graded assignments: {', '.join(names) or 'none'}")
        for assignment in gb.assignments:
            if assignments and assignment.name not in assignments:
                continue
            scores: dict[str, list[float]] = {}
            points: dict[str, float] = {}
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    scores[cell.name], points[cell.name] = [], float(cell.max_score)
            for submission in assignment.submissions:
                if read_marker(course, submission.student.id, assignment.name) is None:
                    continue  # interrupted: not graded yet
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        scores[grade.name].append(float(grade.score))
            for exercise, got in scores.items():
                if not got:
                    continue
                full = points[exercise]
                rows.append(
                    {
                        "assignment": assignment.name,
                        "exercise": exercise,
                        "points": f"{full:g}",
                        "submissions": len(got),
                        "mean": f"{statistics.fmean(got):.3g}",
                        "median": f"{statistics.median(got):.3g}",
                        "full_marks": f"{sum(s >= full for s in got) / len(got):.0%}",
                    }
                )
                fractions[f"{assignment.name} · {exercise} ({full:g} pt)"] = [s / full for s in got]
    rows.sort(key=lambda r: (r["assignment"], r["exercise"]))
    return rows, fractions


def figure(fractions: dict[str, list[float]], path: Path) -> Path:
    """Draw the score distributions (hardest exercise on top) into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(fractions, key=lambda k: sum(fractions[k]) / len(fractions[k]), reverse=True)
    fig, ax = plt.subplots(figsize=(8, 1 + 0.45 * max(1, len(labels))))
    ax.boxplot([fractions[k] for k in labels], vert=False, widths=0.6, showmeans=True)
    for y, key in enumerate(labels, start=1):
        values = fractions[key]
        jitter = [y + 0.15 * (((i * 0.618) % 1) - 0.5) for i in range(len(values))]
        ax.scatter(values, jitter, s=10, alpha=0.5, color="tab:blue")
    ax.set_yticks(range(1, len(labels) + 1), labels)
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("fraction of the exercise's points earned (box: quartiles, triangle: mean)")
    ax.set_title("Scores per exercise, hardest on top")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write(course: CourseDir, assignments: list[str] | None = None) -> tuple[list[dict], Path, Path]:
    """Write ``report.csv`` and ``report.png`` in the course directory; return ``(rows, csv, png)``."""
    rows, fractions = exercise_table(course, assignments)
    if not rows:
        raise UsageError("nothing graded yet: run `course grade` first")
    table = course.root / "report.csv"
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return rows, table, figure(fractions, course.root / "report.png")
