"""Grade a batch of submissions into the course directory and write ``grades.csv``.

:func:`grade_batch` copies each submission into ``submitted/``, runs it on one of
``workers`` worker processes (:mod:`course_utils.instructor.execute`, in a scratch folder
outside the course directory, with a wall-clock budget per submission),
then, in this process only, saves the scores with nbgrader's ``SaveAutoGrades`` and writes
a resume marker (``state/<student>/<assignment>.json``). The gradebook has one writer,
and a submission counts as graded only once its marker exists, which is written after
its grades are committed: an interrupted run is resumed by running the same command again,
and a re-run skips what is already graded (same submission, same tests, same limits).

:func:`write_grades` lists every student of the gradebook against every assignment,
with ``score, max_score, status, review, flags``. Status values: ``ok``; ``missing`` (no
submission); ``not graded`` (interrupted); otherwise ``; ``-separated reasons such as
``time limit``, ``memory limit``, ``kernel died``, ``output truncated``, ``test cell
weighted_sum_tests edited (restored)``, ``unreadable: ...``, ``grading failed: ...``.
``review`` says why a person should look (empty when no one needs to): the score is then
the automatic one (zero for what could not run), never more.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import queue
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from sqlalchemy.exc import SAWarning

from . import jail, suspicious
from .coursedir import CourseDir
from .execute import GUARD_FAILED, KERNEL_DIED, TRUNCATED_NOTE
from .jail import Limits
from .submissions import Submission

SANDBOX_OFF = "sandbox: off"
_ERROR_STATUS = {
    "CellTimeoutError": "time limit",
    "MemoryError": "memory limit",
    KERNEL_DIED: "kernel died",
    GUARD_FAILED: "grading guard failed",
}


@dataclass
class Outcome:
    """What grading one submission produced (before it is saved)."""

    submission: Submission
    key: str
    executed: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    status: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _key(sub: Submission, digest: str, limits: Limits, lateness: str = "") -> str:
    """What a submission's grade depends on: its files, its assignment's tests, the limits, the deadline rules."""
    h = hashlib.sha256(
        f"{digest}|{limits.timeout}|{limits.memory_mb}|{limits.cpu_seconds}|"
        f"{limits.max_processes}|{limits.sandbox}|{lateness}".encode()
    )
    for name, path in sorted({**sub.notebooks, **sub.files}.items()):
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def marker_path(course: CourseDir, student: str, assignment: str) -> Path:
    return course.state_dir / student / f"{assignment}.json"


def read_marker(course: CourseDir, student: str, assignment: str) -> dict | None:
    path = marker_path(course, student, assignment)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _status_of(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error" and out.ename in _ERROR_STATUS:
                found.append(_ERROR_STATUS[out.ename])
            elif out.output_type == "stream" and (TRUNCATED_NOTE in out.text or "... Output truncated ..." in out.text):
                found.append("output truncated")
    return list(dict.fromkeys(found))


def _notebook_ids(db_url: str, assignment: str) -> list[str]:
    with Gradebook(db_url) as gb:
        return [nb.name for nb in gb.find_assignment(assignment).notebooks]


def _read_results(job: dict, answer: str) -> tuple[dict, dict[str, nbformat.NotebookNode]] | None:
    """The worker's report and executed notebooks, or None if a file is not what the worker wrote."""
    data = Path(job["report"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != answer:
        return None
    report, notebooks = json.loads(data), {}
    for item in job["notebooks"] if "error" not in report else []:
        data = Path(item["out"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != report["notebooks"][item["id"]]["sha256"]:
            return None
        notebooks[item["id"]] = nbformat.reads(data.decode(), as_version=4)
    return report, notebooks


def _execute(
    course: CourseDir, sub: Submission, key: str, limits: Limits, db_url: str, workers: queue.Queue
) -> Outcome:
    """Run one submission's notebooks on a worker from ``workers``; never raises for a student's fault."""
    outcome = Outcome(sub, key)
    start = time.perf_counter()
    if not limits.sandbox:
        outcome.status.append(SANDBOX_OFF)
    source_dir = course.source / sub.assignment
    if sub.error:
        outcome.status.append(f"unreadable: {sub.error}")
        outcome.review.append("unreadable notebook")
        return outcome
    ids = _notebook_ids(db_url, sub.assignment)
    for name in sorted(set(sub.notebooks) - set(ids)):
        outcome.status.append(f"{name}.ipynb is not a notebook of {sub.assignment} (ignored)")
        outcome.review.append("misnamed notebook")
    with tempfile.TemporaryDirectory(prefix="course-grade-") as scratch:
        # The box: the only folder the jailed kernel sees besides the Python environment (see jail.py).
        work = Path(scratch) / "box" / "work"
        # The assignment's data files, never its notebooks (they hold the hidden tests).
        shutil.copytree(source_dir, work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        job = {
            "config": str(course.config_file),
            "db_url": db_url,
            "assignment": sub.assignment,
            "student": sub.student,
            "workdir": str(work),
            "report": str(Path(scratch) / "report.json"),
            "notebooks": [
                {
                    "id": nb_id,
                    "src": str(sub.notebooks[nb_id]),
                    "out": str(Path(scratch) / f"{nb_id}.ipynb"),
                    "release": str(course.root / "release" / sub.assignment / f"{nb_id}.ipynb"),
                }
                for nb_id in ids
                if nb_id in sub.notebooks
            ],
        }
        job_file = Path(scratch) / "job.json"
        job_file.write_text(json.dumps(job))
        worker = workers.get()
        try:
            answered = worker.run(job_file, limits.budget)
        finally:
            workers.put(worker)
        results = _read_results(job, answered) if answered else None
        if not answered:
            outcome.status.append(f"grading failed: no result within {limits.budget} s")
            outcome.review.append("grading failed")
        elif results is None:
            outcome.status.append("grading failed: the grading files were modified after grading")
            outcome.review.append("tampering")
        elif "error" in results[0]:
            outcome.status.append(f"grading failed: {results[0]['error'][:200]}")
            outcome.review.append("grading failed")
        else:
            report, outcome.executed = results
            for nb_id, nb in outcome.executed.items():
                outcome.status += report["notebooks"][nb_id]["notes"] + _status_of(nb)
                outcome.review += report["notebooks"][nb_id]["review"]
    if "grading guard failed" in outcome.status:
        outcome.review.append("grading guard failed")
    outcome.seconds = time.perf_counter() - start
    return outcome


class _Worker:
    """A long-lived ``python -m course_utils.instructor.execute`` process that runs one job at a time."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def run(self, job_file: Path, budget: float) -> str | None:
        """Send a job; return the worker's answer (its report's SHA-256), or None (worker killed) after ``budget`` s."""
        if self.proc is None or self.proc.poll() is not None:
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "course_utils.instructor.execute"],
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    bufsize=0,
                    start_new_session=True,
                    cwd=tempfile.gettempdir(),
                )
        # Both pipes were asked for (PIPE) when the process was started.
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        nonce = secrets.token_hex(8)
        stdin.write(f"{job_file} {nonce}\n".encode())
        deadline = time.monotonic() + budget
        while (remaining := deadline - time.monotonic()) > 0:
            if not select.select([stdout], [], [], remaining)[0]:
                break
            line = stdout.readline()
            if not line:  # the worker died
                break
            words = line.decode(errors="replace").split()
            if words[:1] == [nonce] and len(words) == 2:
                return words[1]
        self.stop()
        return None

    def stop(self) -> None:
        """Kill the worker's process group (the worker and anything left running in it)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None


def _timestamp(sub: Submission):
    """The submission time from its ``timestamp.txt`` (UTC, naive, as nbgrader stores it), or None."""
    from nbgrader.utils import parse_utc

    path = sub.files.get("timestamp.txt")
    return parse_utc(path.read_text().strip()) if path else None


def _save(course: CourseDir, outcome: Outcome, db_url: str, config) -> None:
    """Write one outcome into the gradebook and autograded/, then its marker (the commit point)."""
    sub = outcome.submission
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush warnings
        timestamp = _timestamp(sub)
        with Gradebook(db_url) as gb:
            gb.update_or_create_student(sub.student)
            gb.update_or_create_submission(sub.assignment, sub.student, timestamp=timestamp)
        for nb_id, nb in outcome.executed.items():
            resources = {
                "nbgrader": {"notebook": nb_id, "assignment": sub.assignment, "student": sub.student, "db_url": db_url}
            }
            SaveAutoGrades().preprocess(nb, resources)
            # nbgrader's own late-submission rule (LateSubmissionPlugin, set in the course config).
            AssignLatePenalties(config=config).preprocess(nb, resources)
        with Gradebook(db_url) as gb:
            for notebook in gb.find_submission(sub.assignment, sub.student).notebooks:
                for grade in notebook.grades:
                    if notebook.name not in outcome.executed:  # not submitted, unreadable or not run: zero
                        grade.auto_score = 0
                    # formgrader lists it under "needs manual grade"
                    grade.needs_manual_grade = grade.needs_manual_grade or bool(outcome.review)
            gb.db.commit()
    dest = course.folder("autograded", sub.student, sub.assignment)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for nb_id, nb in outcome.executed.items():
        nbformat.write(nb, dest / f"{nb_id}.ipynb")
    for name, path in sub.files.items():  # generate_feedback copies them on; release_feedback needs them
        shutil.copyfile(path, dest / name)
    status = [s for s in dict.fromkeys(outcome.status) if s != SANDBOX_OFF] or ["ok"]
    status += [SANDBOX_OFF] if SANDBOX_OFF in outcome.status else []
    marker = {
        "key": outcome.key,
        "status": status,
        "review": sorted(set(outcome.review)),
        "flags": outcome.flags,
        "seconds": round(outcome.seconds, 2),
    }
    _write_atomic(marker_path(course, sub.student, sub.assignment), json.dumps(marker, indent=1))


def _receive(course: CourseDir, sub: Submission) -> Submission:
    """Copy a submission into ``submitted/<student>/<assignment>/``; return it with the new paths."""
    dest = course.folder("submitted", sub.student, sub.assignment)
    tmp = dest.with_name(dest.name + ".incoming")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name, path in sub.notebooks.items():
        shutil.copyfile(path, tmp / f"{name}.ipynb")
    for name, path in sub.files.items():
        shutil.copyfile(path, tmp / name)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    return Submission(
        sub.student,
        sub.assignment,
        {n: dest / f"{n}.ipynb" for n in sub.notebooks},
        sub.error,
        {n: dest / n for n in sub.files},
    )


def _flags(course: CourseDir, sub: Submission) -> list[str]:
    if sub.error:
        return []
    code = []
    for name, path in sub.notebooks.items():
        source_nb = course.source / sub.assignment / f"{name}.ipynb"
        source = nbformat.read(source_nb, as_version=4) if source_nb.is_file() else nbformat.v4.new_notebook()
        code += suspicious.student_code(nbformat.read(path, as_version=4), source)
    return suspicious.scan(code)


def grade_batch(
    course: CourseDir,
    submissions: list[Submission],
    digests: dict[str, str],
    *,
    workers: int = 1,
    limits: Limits | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[Outcome]:
    """Grade ``submissions``; skip those already graded with the same key unless ``force``.

    ``digests`` maps each assignment to its source digest (from ``ensure_assignments``).
    Returns the outcomes of the submissions graded in this run.
    """
    from tqdm.auto import tqdm

    limits = limits or Limits()
    config = course.config()
    db_url = config.CourseDirectory.db_url
    with Gradebook(db_url) as gb:  # a new deadline or late rule regrades (the penalty is saved with the grade)
        plugin, method = (
            config.AssignLatePenalties.get("plugin_class", ""),
            config.LateSubmissionPlugin.get("penalty_method", ""),
        )
        rule = f"{plugin}|{method}"
        lateness = {a.name: f"{a.duedate}|{rule}" for a in gb.assignments}
    todo = []
    for sub in submissions:
        sub = _receive(course, sub)
        key = _key(sub, digests[sub.assignment], limits, lateness.get(sub.assignment, ""))
        marker = read_marker(course, sub.student, sub.assignment)
        if force or marker is None or marker.get("key") != key:
            todo.append((sub, key))
    outcomes = []
    bar = tqdm(total=len(todo), desc="grading", unit="submission", disable=not progress or not todo)
    env = {**course.env(), **limits.env(), jail.HIDE_ENV: os.pathsep.join(str(p) for p in (course.root, course.source))}
    idle: queue.Queue = queue.Queue()
    for n in range(max(1, workers)):
        idle.put(_Worker({**env, jail.UID_ENV: str(jail.kernel_uid(n))}, course.state_dir / f"worker-{n}.log"))
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(_execute, course, sub, key, limits, db_url, idle) for sub, key in todo]
        for future in as_completed(futures):
            outcome = future.result()
            outcome.flags = _flags(course, outcome.submission)
            _save(course, outcome, db_url, config)
            outcomes.append(outcome)
            bar.update()
    finally:  # on Ctrl-C: stop at once; what was saved stays saved, the rest is graded on the next run
        pool.shutdown(wait=False, cancel_futures=True)
        while not idle.empty():
            idle.get().stop()
        bar.close()
    return outcomes


FIELDS = ["student", "assignment", "score", "max_score", "status", "review", "flags"]


def grade_rows(course: CourseDir) -> list[dict]:
    """One row per student of the gradebook and assignment of the gradebook (see the module docstring)."""
    rows = []
    with Gradebook(course.db_url) as gb:
        assignments = sorted(a.name for a in gb.assignments)
        maxima = {a.name: float(a.max_score) for a in gb.assignments}
        for student in sorted(s.id for s in gb.students):
            for assignment in assignments:
                row = {"student": student, "assignment": assignment, "max_score": _num(maxima[assignment])}
                marker = read_marker(course, student, assignment)
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    submission = None
                if marker is None:
                    row.update(
                        score=_num(0.0),
                        status="missing" if submission is None else "not graded (run `course grade` again)",
                        review="" if submission is None else "interrupted",
                        flags="",
                    )
                else:
                    score = float(submission.score) if submission else 0.0
                    status = list(marker["status"])
                    if submission is not None and submission.total_seconds_late > 0:
                        penalty = float(submission.late_submission_penalty or 0.0)
                        score = max(0.0, score - penalty)
                        status.append(
                            f"late by {submission.total_seconds_late / 3600:.1f} h"
                            + (f" (penalty {_num(penalty)})" if penalty else "")
                        )
                    row.update(
                        score=_num(score),
                        status="; ".join(status),
                        review="; ".join(marker["review"]),
                        flags=" | ".join(marker["flags"]),
                    )
                rows.append(row)
    return rows


def _num(x: float) -> str:
    return f"{x:g}"


def write_grades(course: CourseDir, path: Path | None = None) -> Path:
    """Write ``grades.csv`` (atomically) and return its path (default ``course-dir/grades.csv``)."""
    path = Path(path) if path else course.root / "grades.csv"
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(grade_rows(course))
    os.replace(tmp, path)
    return path
