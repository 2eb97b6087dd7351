"""Collect a batch of submissions from a folder or a zip file.

Three layouts are accepted (a zip may wrap any of them in one top-level folder):

- nested: ``<student>/<assignment>/<notebook>.ipynb`` (nbgrader's ``submitted/`` layout);
- flat, as an LMS exports it: ``<student>_<assignment>.ipynb`` or
  ``<student>_<anything>_<assignment>.ipynb``. **Naming rule**: the file name ends with
  ``_<assignment>.ipynb`` for an assignment of the course; the student ID is the text
  before the first underscore (so flat student IDs contain no underscore); the file is
  that assignment's notebook (``<assignment>.ipynb``).

In the nested layout, nbgrader's ``timestamp.txt`` (when the student submitted: lateness)
and ``submission_secret.txt`` (what ``nbgrader release_feedback`` needs to return feedback
through the exchange) are kept beside the notebooks (:data:`KEPT_FILES`); a timestamp
that nbgrader cannot read is reported and ignored.

Student IDs are letters, digits and ``.@+-`` (what nbgrader and a file system accept
safely). Files that fit no layout, unknown assignments, unsafe names and notebooks that
are not valid JSON are reported in :attr:`Batch.problems` and never stop the batch; an
unreadable notebook is kept as a submission with ``error`` set, so it gets a row
(score 0, flagged for review) in ``grades.csv``.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .coursedir import UsageError

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.@+-]{0,99}$")
MAX_UNZIPPED_BYTES = 2 * 2**30
MAX_NOTEBOOK_BYTES = 200 * 2**20
# nbgrader's files beside a submission's notebooks that grading keeps (see the module docstring).
KEPT_FILES = ("timestamp.txt", "submission_secret.txt")


@dataclass
class Submission:
    """One student's notebooks for one assignment: ``{notebook name: path}``, and its :data:`KEPT_FILES`."""

    student: str
    assignment: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    error: str | None = None
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class Batch:
    submissions: list[Submission]
    problems: list[str]


def _read_error(path: Path) -> str | None:
    """Why ``path`` is not a readable notebook, or None."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        return f"not valid JSON ({str(error).splitlines()[0][:80]})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return "not a notebook (no list of cells)"
    return None


def _kept_error(path: Path) -> str | None:
    """Why a kept file (``timestamp.txt``, ``submission_secret.txt``) is unusable, or None."""
    from nbgrader.utils import parse_utc

    if path.stat().st_size > 1000:
        return "larger than 1000 bytes"
    text = path.read_text(errors="replace").strip()
    if path.name == "timestamp.txt":
        try:
            parse_utc(text)
        except (ValueError, OverflowError):
            return f"not a time nbgrader reads ({text[:40]!r})"
    return None


def unzip(archive: Path, dest: Path) -> Path:
    """Extract the ``.ipynb`` members (and :data:`KEPT_FILES`) of ``archive`` into ``dest`` safely; return ``dest``.

    Members with absolute paths or ``..`` are skipped (no zip-slip), and the total size is capped.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise UsageError(f"{archive} is not a valid zip file") from None
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    total = 0
    with zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if (
                info.is_dir()
                or not (info.filename.endswith(".ipynb") or parts[-1] in KEPT_FILES)
                or info.filename.startswith("/")
                or ".." in parts
                or "__MACOSX" in parts
                or ".ipynb_checkpoints" in parts
            ):
                continue
            total += info.file_size
            if total > MAX_UNZIPPED_BYTES:
                raise UsageError(f"{archive} unpacks to more than {MAX_UNZIPPED_BYTES // 2**30} GB")
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    return dest


def _flat(name: str, assignments: list[str]) -> tuple[str, str] | None:
    stem = name[: -len(".ipynb")]
    for assignment in sorted(assignments, key=len, reverse=True):
        if stem.endswith("_" + assignment):
            head = stem[: -len(assignment) - 1]
            return head.split("_")[0], assignment
    return None


def collect(path: Path, assignments: list[str], *, scratch: Path, only: str | None = None) -> Batch:
    """Find the submissions in ``path`` (a folder or a ``.zip``) for the known ``assignments``.

    ``scratch`` is where a zip is unpacked; ``only`` keeps one assignment.
    Raises :class:`UsageError` when ``path`` does not exist or holds no notebook at all.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"submissions not found: {path}")
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise UsageError(f"{path} is neither a folder nor a .zip file")
        path = unzip(path, scratch)
    files = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())
    if not files:
        raise UsageError(f"no notebooks (.ipynb) found in {path}")
    relative = [f.relative_to(path).parts for f in files]
    # A zip of a folder: one top-level directory above the layout.
    tops = {parts[0] for parts in relative}
    if len(tops) == 1 and all(len(parts) in (2, 4) for parts in relative):
        relative = [parts[1:] for parts in relative]
    found: dict[tuple[str, str], Submission] = {}
    problems: list[str] = []
    for file, parts in zip(files, relative):
        shown = "/".join(parts)
        if len(parts) == 3:
            student, assignment, notebook = parts[0], parts[1], parts[2][: -len(".ipynb")]
        elif len(parts) == 1 and (match := _flat(parts[0], assignments)):
            (student, assignment), notebook = match, match[1]
        else:
            problems.append(
                f"skipped {shown}: fits neither <student>/<assignment>/<notebook>.ipynb "
                "nor <student>_<assignment>.ipynb"
            )
            continue
        if assignment not in assignments:
            problems.append(f"skipped {shown}: unknown assignment {assignment!r}")
            continue
        if only and assignment != only:
            continue
        if not STUDENT_ID.match(student):
            problems.append(f"skipped {shown}: unsafe student ID {student!r}")
            continue
        sub = found.setdefault((student, assignment), Submission(student, assignment))
        if notebook in sub.notebooks:
            problems.append(f"skipped {shown}: a second {notebook}.ipynb for {student}/{assignment}")
            continue
        sub.notebooks[notebook] = file
        for name in KEPT_FILES if len(parts) == 3 else ():
            kept = file.parent / name
            if kept.is_file() and name not in sub.files:
                if problem := _kept_error(kept):
                    problems.append(f"{shown}: ignored {name}: {problem}")
                else:
                    sub.files[name] = kept
        error = _read_error(file)
        if error:
            sub.error = f"{notebook}.ipynb is {error}"
            problems.append(f"{shown}: {error}")
    return Batch([found[key] for key in sorted(found)], problems)
