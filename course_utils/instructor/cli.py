"""The instructor's ``course`` command (installed with ``course_utils``).

    course release [--dest DIR]      (in the course's checkout: solutions/ -> notebooks/)
    course grade SUBMISSIONS [--assignment A] [--workers N] [--course-dir DIR] [--db-url URL]
                 [--source DIR] [--timeout S] [--memory-mb M] [--max-processes P] [--roster FILE]
                 [--force] [--no-sandbox] [--students IDS|FILE] [--duedate TIME] [--late-penalty none|zero]
    course export --format canvas [--course-dir DIR] [--roster CANVAS_CSV] [--output FILE]
    course feedback [--assignment A] [--course-dir DIR]
    course report [--assignment A] [--course-dir DIR]

``INSTRUCTORS.md`` walks through the workflow. A bad argument prints one line starting
with ``course: error:`` and exits with status 2; ``course grade`` exits with 1 when the
batch was graded but some files could not be (each is listed, and ``grades.csv`` has them).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from .coursedir import DEFAULT_SOURCE, UsageError
from .jail import Limits


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="course", description="Release, grade, give feedback and report for the course.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    release = sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    release.add_argument("--dest", type=Path, help="write the release here instead of notebooks/")

    def course_dir(p):
        p.add_argument(
            "--course-dir",
            type=Path,
            default=Path("course-dir"),
            help="the grading course directory (default ./course-dir)",
        )
        p.add_argument("--assignment", help="only this assignment (NN-topic)")

    grade = sub.add_parser("grade", help="autograde a folder or zip of submissions; write grades.csv")
    grade.add_argument(
        "submissions",
        type=Path,
        help="folder or .zip: <student>/<assignment>/<nb>.ipynb or flat <student>_<assignment>.ipynb",
    )
    course_dir(grade)
    grade.add_argument("--workers", type=int, default=1, help="submissions graded in parallel (default 1)")
    grade.add_argument("--db-url", help="gradebook URL (default sqlite:///COURSE_DIR/gradebook.db)")
    grade.add_argument(
        "--source", type=Path, help=f"instructor notebooks with hidden tests (default: ./{DEFAULT_SOURCE})"
    )
    grade.add_argument(
        "--timeout", type=int, default=Limits.timeout, help=f"seconds per cell (default {Limits.timeout})"
    )
    grade.add_argument(
        "--memory-mb",
        type=int,
        default=Limits.memory_mb,
        help=f"address-space limit of the kernel (default {Limits.memory_mb})",
    )
    grade.add_argument(
        "--max-processes",
        type=int,
        default=None,
        help="processes and threads a submission may run at once (default 128)",
    )
    grade.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run submissions without the operating-system sandbox (unsafe; see INSTRUCTORS.md)",
    )
    grade.add_argument(
        "--students",
        help="grade only these students: a comma-separated list or a file of IDs, "
        "one per line (two graders split a class this way)",
    )
    grade.add_argument(
        "--duedate",
        help="the assignments' deadline, e.g. 2026-12-08T23:59:00+01:00 (stored in the "
        "gradebook; timestamp.txt says when each student submitted)",
    )
    grade.add_argument(
        "--late-penalty",
        choices=["none", "zero"],
        help="nbgrader's late rule: none (default) or zero (a late submission scores 0); remembered",
    )
    grade.add_argument("--roster", type=Path, help="file of student IDs, one per line, so absent students get a row")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")

    feedback = sub.add_parser("feedback", help="write HTML feedback per student and assignment")
    course_dir(feedback)
    report = sub.add_parser("report", help="per-exercise table (report.csv) and figure (report.png)")
    course_dir(report)
    export = sub.add_parser("export", help="the grades as a file an LMS imports (Canvas's gradebook CSV)")
    export.add_argument("--format", required=True, choices=["canvas"], help="the LMS's format")
    export.add_argument(
        "--course-dir",
        type=Path,
        default=Path("course-dir"),
        help="the grading course directory (default ./course-dir)",
    )
    export.add_argument("--roster", type=Path, help="the LMS's own gradebook export, to map student IDs")
    export.add_argument("--output", type=Path, help="where to write (default COURSE_DIR/canvas-grades.csv)")
    return parser


def _release(args) -> int:
    from .release import release

    try:
        print(f"released into {release(dest=args.dest)}")
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    return 0


def _read_roster(path: Path) -> list[str]:
    from .submissions import STUDENT_ID

    if not path.is_file():
        raise UsageError(f"roster not found: {path}")
    ids = [line.split(",")[0].strip() for line in path.read_text().splitlines() if line.strip()]
    ids = [i for i in ids if i.lower() not in ("id", "student", "student_id")]
    bad = [i for i in ids if not STUDENT_ID.match(i)]
    if bad:
        raise UsageError(f"roster {path}: invalid student IDs {', '.join(bad[:5])}")
    return ids


def _students(value: str) -> set[str]:
    """Student IDs from ``--students``: a file of IDs (one per line) or a comma-separated list."""
    from .submissions import STUDENT_ID

    path = Path(value)
    ids = (
        [line.split(",")[0].strip() for line in path.read_text().splitlines()]
        if path.is_file()
        else [part.strip() for part in value.split(",")]
    )
    ids = [i for i in ids if i]
    bad = [i for i in ids if not STUDENT_ID.match(i)]
    if bad or not ids:
        raise UsageError(
            f"--students {value!r}: not a file, and not a comma-separated list of student IDs"
            + (f" (invalid: {', '.join(bad[:5])})" if bad else "")
        )
    return set(ids)


def _duedate(value: str):
    """``--duedate`` as nbgrader stores it (naive UTC), or a UsageError naming the format."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(value)
    except (ValueError, OverflowError):
        raise UsageError(f"--duedate {value!r} is not a time; write e.g. 2026-12-08T23:59:00+01:00") from None


def _grade(args) -> int:
    from . import coursedir, submissions

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.timeout < 1 or args.memory_mb < 256:
        raise UsageError("--timeout must be at least 1 and --memory-mb at least 256")
    from . import jail

    if args.max_processes is not None and args.max_processes < 16:
        raise UsageError("--max-processes must be at least 16 (a Python kernel runs several threads)")
    roster = _read_roster(args.roster) if args.roster else []
    # Fail closed: no sandbox, no grading (unless the instructor says --no-sandbox).
    if args.no_sandbox:
        print(
            "course: warning: grading WITHOUT the sandbox (--no-sandbox): submissions run as you, with your "
            "files, processes and network; grades.csv says 'sandbox: off'",
            file=sys.stderr,
        )
    elif problem := jail.problem():
        raise UsageError(problem)
    # The arguments first, then the files they name: a bad --duedate is reported as such anywhere.
    duedate = _duedate(args.duedate) if args.duedate else None
    wanted = _students(args.students) if args.students else None
    source = args.source or DEFAULT_SOURCE
    known = coursedir.source_assignments(source) if source.is_dir() else []
    if not known and args.source is None:
        raise UsageError(
            f"no --source given and {source.resolve()} has no assignments (NN-topic folders): "
            "pass --source DIR or run in the course's checkout"
        )
    if not known:
        raise UsageError(f"source folder {source} has no assignments (NN-topic folders)")
    if args.assignment and args.assignment not in known:
        raise UsageError(f"unknown assignment {args.assignment!r}; known: {', '.join(known)}")
    batch = submissions.collect(
        args.submissions, known, scratch=args.course_dir / "state" / "unzipped", only=args.assignment
    )
    if wanted is not None:
        batch.submissions = [sub for sub in batch.submissions if sub.student in wanted]
    if not batch.submissions:
        raise UsageError(f"no submission in {args.submissions} fits the layout; " + "; ".join(batch.problems[:3]))

    from nbgrader.api import Gradebook

    from . import grade

    course = coursedir.setup(
        args.course_dir, source=args.source, db_url=args.db_url, timeout=args.timeout, late_penalty=args.late_penalty
    )
    graded = sorted({s.assignment for s in batch.submissions})
    with coursedir.locked(course):  # another grader may be setting up the same gradebook
        digests = coursedir.ensure_assignments(course, graded)
        with Gradebook(course.db_url) as gb:
            for student in roster:
                gb.update_or_create_student(student)
            for assignment in graded if duedate else []:
                gb.update_or_create_assignment(assignment, duedate=duedate)
    limits = Limits.for_timeout(
        args.timeout,
        memory_mb=args.memory_mb,
        max_processes=args.max_processes or jail.DEFAULT_MAX_PROCESSES,
        sandbox=not args.no_sandbox,
    )
    outcomes = grade.grade_batch(
        course,
        batch.submissions,
        digests,
        workers=args.workers,
        limits=limits,
        force=args.force,
        progress=not args.no_progress,
    )
    with coursedir.locked(course):  # a grader that shares the course directory may be writing it too:
        path = grade.write_grades(course)  # the last to write sees every marker
    rows = grade.grade_rows(course)
    print(
        f"graded {len(outcomes)} submission(s) now, {len(batch.submissions) - len(outcomes)} unchanged "
        f"since the last run; {len(rows)} row(s) in {path}"
    )
    statuses = Counter(part.split(":")[0].split(" (")[0] for row in rows for part in row["status"].split("; "))
    print("status: " + ", ".join(f"{name} {count}" for name, count in statuses.most_common()))
    for row in rows:
        if row["review"] or row["flags"]:
            print(
                f"  {row['student']}/{row['assignment']}: {row['score']}/{row['max_score']}"
                + f" [{row['status']}]"
                + (f" REVIEW: {row['review']}" if row["review"] else "")
                + (f" suspicious: {row['flags']}" if row["flags"] else "")
            )
    for problem in batch.problems:
        print(f"course: warning: {problem}", file=sys.stderr)
    return 1 if batch.problems else 0


def _feedback(args) -> int:
    from . import coursedir, feedback

    course = coursedir.CourseDir(args.course_dir.resolve())
    written, withheld = feedback.generate(course, [args.assignment] if args.assignment else None)
    print(f"wrote {len(written)} feedback file(s) under {course.root / 'feedback'}")
    for page in withheld:
        print(f"course: error: withheld {page}: it still quoted a hidden test", file=sys.stderr)
    return 1 if withheld else 0


def _report(args) -> int:
    from . import coursedir, report

    course = coursedir.CourseDir(args.course_dir.resolve())
    rows, table, png = report.write(course, [args.assignment] if args.assignment else None)
    widths = {f: max(len(f), *(len(str(r[f])) for r in rows)) for f in report.FIELDS}
    print("  ".join(f.ljust(widths[f]) for f in report.FIELDS))
    for row in rows:
        print("  ".join(str(row[f]).ljust(widths[f]) for f in report.FIELDS))
    print(f"wrote {table} and {png}")
    return 0


def _export(args) -> int:
    from . import coursedir, export

    course = coursedir.CourseDir(args.course_dir.resolve())
    course.config()  # a UsageError if this is no course directory
    if args.roster and not args.roster.is_file():
        raise UsageError(f"roster not found: {args.roster}")
    path, unmatched = export.canvas(course, args.output or course.root / "canvas-grades.csv", args.roster)
    print(f"wrote {path} (Canvas: Grades -> Import)")
    for student in unmatched:
        print(
            f"course: warning: {student} is not in the roster {args.roster}; written with SIS Login ID {student}",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``course`` console script; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        return {"release": _release, "grade": _grade, "feedback": _feedback, "report": _report, "export": _export}[
            args.command
        ](args)
    except UsageError as error:
        print(f"course: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("COURSE_DEBUG"):
            raise
        print(f"course: error: {type(error).__name__}: {error} (set COURSE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
