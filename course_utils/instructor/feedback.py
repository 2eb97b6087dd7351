"""HTML feedback for every student and assignment, with no hidden test in it.

:func:`generate` runs nbgrader's ``generate_feedback`` (its ``ClearHiddenTests`` removes the
hidden tests from the cells' sources); :class:`ScrubHiddenTests`, which the course
directory's config runs just before it, removes them from the *outputs* too: a traceback
that passes through a hidden-test line becomes its last line only, and any output line
that quotes a hidden-test line (a submission that prints the test file) is replaced.
Students without an executed notebook (nothing submitted, unreadable, not gradable) get
a short page saying so. Finally every feedback file is checked for hidden-test lines and
deleted if one is found (fail closed): :func:`generate` returns the deleted paths.

A line counts as a hidden-test line only if it is secret (:func:`secret_lines`): a line that
is also in the released notebook (a visible test, the prompt, ``for i in range(n):``) or
that the student wrote in their own cells is never a leak, so an honest student whose code
happens to match a hidden line keeps their page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from . import markers
from .coursedir import CourseDir, UsageError
from .grade import grade_rows

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TAG = re.compile(r"<[^>]*>")
_MIN_LINE = 6  # shorter hidden lines (``else:``, ``)``) say nothing about the tests
REMOVED = "[line of a hidden test removed]"


def hidden_lines(sources: list[str]) -> set[str]:
    """The stripped lines between ``BEGIN HIDDEN TESTS`` and ``END HIDDEN TESTS`` in ``sources``.

    The delimiters are included.
    """
    return {
        line.strip()
        for source in sources
        for line in markers.lines(source, markers.MARKER, markers.INSIDE, kinds=(markers.HIDDEN,))
        if len(line.strip()) >= _MIN_LINE
    }


def student_sources(nb) -> list[str]:
    """The sources of the cells a student wrote: answer cells and cells without nbgrader metadata."""
    own = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if markers.has(cell.source, markers.HIDDEN):  # a test cell, whatever its metadata says
            continue
        if meta.get("solution", False) or (cell.cell_type == "code" and "grade_id" not in meta):
            own.append(cell.source)
    return own


def secret_lines(hidden: set[str], sources: list[str], own: list[str]) -> set[str]:
    """``hidden`` less the lines that the released notebook or the student's ``own`` cells contain.

    The released notebook is ``sources`` without their hidden blocks.
    """
    public = {
        line.strip() for source in sources for line in markers.lines(source, markers.OUTSIDE, kinds=(markers.HIDDEN,))
    }
    public |= {line.strip() for source in own for line in source.splitlines()}
    return hidden - public


def _plain(text: str) -> str:
    """``text`` without ANSI colours, and with JSON/repr escapes undone (a printed notebook file)."""
    text = _ANSI.sub("", text)
    return text + "\n" + text.replace('\\"', '"').replace("\\'", "'").replace("\\n", "\n")


def _quotes(text: str, hidden: set[str]) -> bool:
    plain = _plain(text)
    return any(line in plain for line in hidden)


def _scrub_text(text: str, hidden: set[str]) -> str:
    return "\n".join(REMOVED if _quotes(line, hidden) else line for line in text.split("\n"))


class ScrubHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test lines from every output of the notebook (see the module docstring)."""

    def preprocess(self, nb, resources):
        sources = [cell.source for cell in nb.cells]
        info = resources.get("nbgrader", {})
        if info.get("db_url"):
            with Gradebook(info["db_url"]) as gb:
                notebook = gb.find_notebook(info["notebook"], info["assignment"])
                sources += [cell.source for cell in notebook.source_cells]
        self.hidden = secret_lines(hidden_lines(sources), sources, student_sources(nb))
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.evalue = _scrub_text(output.evalue, self.hidden)
                # IPython marks the failing line with an arrow; the lines around it are context.
                failing = [
                    line
                    for frame in output.traceback
                    for line in _ANSI.sub("", frame).split("\n")
                    if "---->" in line or line.lstrip().startswith("->")
                ]
                if any(_quotes(line, self.hidden) for line in failing):
                    output.traceback = [
                        f"{output.ename}: {output.evalue}",
                        "(raised in a hidden test: its code is not shown)",
                    ]
                else:
                    output.traceback = [_scrub_text(frame, self.hidden) for frame in output.traceback]
            elif output.output_type == "stream":
                output.text = _scrub_text(output.text, self.hidden)
            else:
                for mime, value in output.get("data", {}).items():
                    if isinstance(value, str) and not mime.startswith("image/"):
                        output.data[mime] = _scrub_text(value, self.hidden)
        return cell, resources


def leaks(page: str, hidden: set[str]) -> list[str]:
    """Hidden-test lines that appear in an HTML page's text."""
    text = _plain(html.unescape(_TAG.sub("", page)))
    return sorted(line for line in hidden if line in text)


_PLACEHOLDER = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{assignment}: feedback for {student}</title></head>
<body><h1>{assignment}</h1><p>Feedback for <b>{student}</b>: score {score} / {max_score}.</p>
<p>{message}</p></body></html>
"""


def generate(course: CourseDir, assignments: list[str] | None = None) -> tuple[list[Path], list[Path]]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every row of ``grades.csv``.

    Returns ``(written, withheld)``: the files written, and those deleted because they
    still contained a hidden-test line.
    """
    from nbgrader.apps import NbGraderAPI

    with Gradebook(course.db_url) as gb:
        known = {a.name: [nb.name for nb in a.notebooks] for a in gb.assignments}
        sources = {a.name: [cell.source for nb in a.notebooks for cell in nb.source_cells] for a in gb.assignments}
    hidden = {name: hidden_lines(text) for name, text in sources.items()}
    for name in assignments or []:
        if name not in known:
            raise UsageError(f"unknown assignment {name!r}; graded assignments: {', '.join(sorted(known)) or 'none'}")
    wanted = assignments or sorted(known)
    api = NbGraderAPI(config=course.config())
    for assignment in wanted:
        if any(course.root.glob(f"autograded/*/{assignment}/*.ipynb")):
            result = api.generate_feedback(assignment, force=True)
            if not result["success"]:
                error = (result.get("error") or result.get("log") or "unknown error").strip().splitlines()
                raise UsageError(f"nbgrader could not write feedback for {assignment}: {error[-1]}")
    written, withheld = [], []
    for row in grade_rows(course):
        if row["assignment"] not in wanted:
            continue
        folder = course.folder("feedback", row["student"], row["assignment"])
        for notebook in known[row["assignment"]]:
            page = folder / f"{notebook}.html"
            executed = course.folder("autograded", row["student"], row["assignment"]) / f"{notebook}.ipynb"
            if not executed.is_file():
                message = (
                    "No submission was received."
                    if row["status"] == "missing"
                    else f"Your submission could not be graded automatically ({html.escape(row['status'])}); "
                    "your instructor will look at it."
                )
                folder.mkdir(parents=True, exist_ok=True)
                page.write_text(
                    _PLACEHOLDER.format(
                        assignment=html.escape(row["assignment"]),
                        student=html.escape(row["student"]),
                        score=row["score"],
                        max_score=row["max_score"],
                        message=message,
                    )
                )
            if not page.is_file():
                continue
            own = student_sources(nbformat.read(executed, as_version=4)) if executed.is_file() else []
            if leaks(
                page.read_text(errors="replace"),
                secret_lines(hidden[row["assignment"]], sources[row["assignment"]], own),
            ):
                page.unlink()
                withheld.append(page)
            else:
                written.append(page)
    return written, withheld
