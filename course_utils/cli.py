"""The instructor's ``course`` command (installed with ``course_utils``).

    course release [--dest DIR]
    course grade SUBMISSIONS [--assignment A] [--workers N] [--course-dir DIR] [--db-url URL]
                 [--source DIR] [--timeout S] [--memory-mb M] [--max-processes P] [--roster FILE]
                 [--force] [--no-sandbox]
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

from .instructor.coursedir import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="course", description="Release, grade, give feedback and report for the course.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    release = sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    release.add_argument("--dest", type=Path, help="write the release here instead of notebooks/")

    def course_dir(p):
        p.add_argument("--course-dir", type=Path, default=Path("course-dir"),
                       help="the grading course directory (default ./course-dir)")
        p.add_argument("--assignment", help="only this assignment (NN-topic)")

    grade = sub.add_parser("grade", help="autograde a folder or zip of submissions; write grades.csv")
    grade.add_argument("submissions", type=Path, help="folder or .zip: <student>/<assignment>/<nb>.ipynb "
                       "or flat <student>_<assignment>.ipynb")
    course_dir(grade)
    grade.add_argument("--workers", type=int, default=1, help="submissions graded in parallel (default 1)")
    grade.add_argument("--db-url", help="gradebook URL (default sqlite:///COURSE_DIR/gradebook.db)")
    grade.add_argument("--source", type=Path, help="instructor notebooks with hidden tests (default: solutions/)")
    grade.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    grade.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of the kernel (default 2048)")
    grade.add_argument("--max-processes", type=int, default=None,
                       help="processes and threads a submission may run at once (default 128)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run submissions without the operating-system sandbox (unsafe; see INSTRUCTORS.md)")
    grade.add_argument("--roster", type=Path, help="file of student IDs, one per line, so absent students get a row")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")

    feedback = sub.add_parser("feedback", help="write HTML feedback per student and assignment")
    course_dir(feedback)
    report = sub.add_parser("report", help="per-exercise table (report.csv) and figure (report.png)")
    course_dir(report)
    return parser


def _release(args) -> int:
    from .release import release

    print(f"released into {release(dest=args.dest)}")
    return 0


def _read_roster(path: Path) -> list[str]:
    from .instructor.submissions import STUDENT_ID

    if not path.is_file():
        raise UsageError(f"roster not found: {path}")
    ids = [line.split(",")[0].strip() for line in path.read_text().splitlines() if line.strip()]
    ids = [i for i in ids if i.lower() not in ("id", "student", "student_id")]
    bad = [i for i in ids if not STUDENT_ID.match(i)]
    if bad:
        raise UsageError(f"roster {path}: invalid student IDs {', '.join(bad[:5])}")
    return ids


def _grade(args) -> int:
    from .instructor import coursedir, submissions

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.timeout < 1 or args.memory_mb < 256:
        raise UsageError("--timeout must be at least 1 and --memory-mb at least 256")
    from .instructor import jail

    if args.max_processes is not None and args.max_processes < 16:
        raise UsageError("--max-processes must be at least 16 (a Python kernel runs several threads)")
    roster = _read_roster(args.roster) if args.roster else []
    # Fail closed: no sandbox, no grading (unless the instructor says --no-sandbox).
    if args.no_sandbox:
        print("course: warning: grading WITHOUT the sandbox (--no-sandbox): submissions run as you, with your "
              "files, processes and network; grades.csv says 'sandbox: off'", file=sys.stderr)
    elif problem := jail.problem():
        raise UsageError(problem)
    source = args.source or coursedir.REPO / "solutions"
    known = coursedir.source_assignments(source) if source.is_dir() else []
    if not known:
        raise UsageError(f"source folder {source} has no assignments (NN-topic folders)")
    if args.assignment and args.assignment not in known:
        raise UsageError(f"unknown assignment {args.assignment!r}; known: {', '.join(known)}")
    batch = submissions.collect(args.submissions, known, scratch=args.course_dir / "state" / "unzipped",
                                only=args.assignment)
    if not batch.submissions:
        raise UsageError(f"no submission in {args.submissions} fits the layout; " + "; ".join(batch.problems[:3]))

    from nbgrader.api import Gradebook

    from .instructor import grade

    course = coursedir.setup(args.course_dir, source=args.source, db_url=args.db_url, timeout=args.timeout)
    digests = coursedir.ensure_assignments(course, sorted({s.assignment for s in batch.submissions}))
    if roster:
        with Gradebook(course.db_url) as gb:
            for student in roster:
                gb.update_or_create_student(student)
    limits = grade.Limits(timeout=args.timeout, memory_mb=args.memory_mb,
                          cpu_seconds=max(600, 5 * args.timeout), budget=max(900, 8 * args.timeout),
                          max_processes=args.max_processes or jail.DEFAULT_MAX_PROCESSES, sandbox=not args.no_sandbox)
    outcomes = grade.grade_batch(course, batch.submissions, digests, workers=args.workers, limits=limits,
                                 force=args.force, progress=not args.no_progress)
    path = grade.write_grades(course)
    rows = grade.grade_rows(course)
    print(f"graded {len(outcomes)} submission(s) now, {len(batch.submissions) - len(outcomes)} unchanged "
          f"since the last run; {len(rows)} row(s) in {path}")
    statuses = Counter(part.split(":")[0].split(" (")[0] for row in rows for part in row["status"].split("; "))
    print("status: " + ", ".join(f"{name} {count}" for name, count in statuses.most_common()))
    for row in rows:
        if row["review"] or row["flags"]:
            print(f"  {row['student']}/{row['assignment']}: {row['score']}/{row['max_score']}"
                  + f" [{row['status']}]" + (f" REVIEW: {row['review']}" if row["review"] else "")
                  + (f" suspicious: {row['flags']}" if row["flags"] else ""))
    for problem in batch.problems:
        print(f"course: warning: {problem}", file=sys.stderr)
    return 1 if batch.problems else 0


def _feedback(args) -> int:
    from .instructor import coursedir, feedback

    course = coursedir.CourseDir(args.course_dir.resolve())
    written, withheld = feedback.generate(course, [args.assignment] if args.assignment else None)
    print(f"wrote {len(written)} feedback file(s) under {course.root / 'feedback'}")
    for page in withheld:
        print(f"course: error: withheld {page}: it still quoted a hidden test", file=sys.stderr)
    return 1 if withheld else 0


def _report(args) -> int:
    from .instructor import coursedir, report

    course = coursedir.CourseDir(args.course_dir.resolve())
    rows, table, png = report.write(course, [args.assignment] if args.assignment else None)
    widths = {f: max(len(f), *(len(str(r[f])) for r in rows)) for f in report.FIELDS}
    print("  ".join(f.ljust(widths[f]) for f in report.FIELDS))
    for row in rows:
        print("  ".join(str(row[f]).ljust(widths[f]) for f in report.FIELDS))
    print(f"wrote {table} and {png}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``course`` console script; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        return {"release": _release, "grade": _grade, "feedback": _feedback, "report": _report}[args.command](args)
    except UsageError as error:
        print(f"course: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 (an instructor sees one line; COURSE_DEBUG=1 shows the rest)
        if os.environ.get("COURSE_DEBUG"):
            raise
        print(f"course: error: {type(error).__name__}: {error} (set COURSE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
