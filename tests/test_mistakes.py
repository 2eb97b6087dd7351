"""Mutation testing of the visible tests: every typical mistake a solution lists fails a visible test.

Each graded exercise lists, in the hidden block of its test cell (instructor-only: the release
and the feedback drop hidden blocks), the mistakes students typically make::

    ### BEGIN HIDDEN TESTS
    _MISTAKES = {
        "the stride forgotten when placing the window": [("i * stride:i * stride + kh", "i:i + kh")],
    }

Each mistake is a list of ``(old, new)`` replacements in the solution cell's code (between
``### BEGIN SOLUTION`` and ``### END SOLUTION``, in every such block of the cell; ``old`` must
occur there, so the list cannot rot).
For each notebook the test runs the solution with only its visible tests, in one kernel, then,
exercise by exercise, redefines the function with each mistake, runs the exercise's visible test
cells, and restores the solution. A mistake that no visible test catches fails this test: for a
self-learner the visible tests are the only feedback there is. And the failure must read well
where the student sees it: when a check fails (an ``AssertionError``), the first line of the
traceback's message, ``AssertionError: ...``, names what was expected and what came back within
the 90 columns that nbgrader's Validate keeps of each line. (A mistake may also end in an error
of the student's own code, e.g. a broadcast error; the traceback then points at their line.)
"""
from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass, field

import nbformat
import pytest
from conftest import REPO, notebook_tool, per_assignment
from nbclient import NotebookClient

from course_utils.instructor.execute import without_hidden_tests


pytestmark = pytest.mark.notebooks

MARKER = "_MISTAKES"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass
class Exercise:
    grade_id: str
    solution: int                                   # index of the solution cell
    tests: list[int] = field(default_factory=list)  # indices of its graded test cells
    mistakes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def listed_mistakes(source: str) -> dict[str, list[tuple[str, str]]]:
    """The ``_MISTAKES`` literal of a test cell's hidden block (empty if none)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == MARKER for t in node.targets):
            if MARKER in without_hidden_tests(source):
                raise AssertionError(f"{MARKER} must be inside the hidden-tests block (it would be released)")
            return ast.literal_eval(node.value)
    return {}


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The graded exercises of ``nb`` (``tools/notebook.py``'s parser) with their listed mistakes."""
    found = []
    for solution, tests in notebook_tool.exercises(nb):
        exercise = Exercise(nb.cells[solution].metadata["nbgrader"]["grade_id"], solution, tests)
        for index in tests:
            exercise.mistakes.update(listed_mistakes(nb.cells[index].source))
        found.append(exercise)
    return found


def mutate(source: str, replacements: list[tuple[str, str]]) -> str:
    """``source`` with each ``old`` replaced by ``new`` inside its solution blocks (a cell may have several)."""
    parts = source.split(BEGIN)
    blocks = [part.split(END, 1) for part in parts[1:]]     # [solution code, what follows END]
    for old, new in replacements:
        if not any(old in code for code, _ in blocks):
            raise KeyError(old)
        blocks = [[code.replace(old, new), rest] for code, rest in blocks]
    return parts[0] + "".join(BEGIN + code + END + rest for code, rest in blocks)


def _error(cell: nbformat.NotebookNode) -> str | None:
    for output in cell.outputs:
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}".splitlines()[0]
    return None


@dataclass
class Verdict:
    exercise: str
    mistake: str
    caught_by: str | None   # the first visible failure, or None
    problem: str | None = None


def apply_mistakes(assignment: str) -> tuple[list[Exercise], list[str], list[Verdict]]:
    """Run the notebook with visible tests only, then each listed mistake; return what happened."""
    path = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = without_hidden_tests(cell.source)
    client = NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    base_errors, verdicts = [], []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
                if error := _error(cell):
                    base_errors.append(f"cell {index}: {error}")
        for exercise in found:
            original = nb.cells[exercise.solution].source
            for mistake, replacements in exercise.mistakes.items():
                try:
                    mutated = nbformat.v4.new_code_cell(mutate(original, replacements))
                except KeyError as missing:
                    verdicts.append(Verdict(exercise.grade_id, mistake, None, f"no longer applies: {missing} not in the solution"))
                    continue
                client.execute_cell(mutated, exercise.solution)
                if error := _error(mutated):
                    verdicts.append(Verdict(exercise.grade_id, mistake, None, f"breaks the solution cell itself: {error}"))
                caught = None
                for index in exercise.tests:
                    probe = nbformat.v4.new_code_cell(nb.cells[index].source)
                    client.execute_cell(probe, index)
                    if caught is None:
                        caught = _error(probe)
                verdicts.append(Verdict(exercise.grade_id, mistake, caught))
                client.execute_cell(nbformat.v4.new_code_cell(original), exercise.solution)
    return found, base_errors, verdicts


_results: dict[str, tuple] = {}


@per_assignment()
def test_every_listed_mistake_fails_a_visible_test(assignment):
    if assignment not in _results:
        _results[assignment] = apply_mistakes(assignment)
    found, base_errors, verdicts = _results[assignment]
    assert not base_errors, f"the solution fails its own visible tests: {base_errors}"
    problems = [f"{v.exercise}: {v.mistake!r} {v.problem}" for v in verdicts if v.problem]
    assert not problems, "mistakes that cannot be applied:\n" + "\n".join(problems)
    missed = [f"{v.exercise}: {v.mistake}" for v in verdicts if v.caught_by is None]
    assert not missed, ("typical mistakes that pass every visible test of their exercise:\n" + "\n".join(missed))
    unreadable = [f"{v.exercise}: {v.mistake}: {v.caught_by}" for v in verdicts
                  if v.caught_by.startswith("AssertionError: ") and not readable(v.caught_by)]
    assert not unreadable, ("failures whose first line does not say expected and got within 90 columns "
                            "(what Validate shows):\n" + "\n".join(unreadable))


def readable(line: str, columns: int = 90) -> bool:
    """A failure's first line as Validate shows it: within ``columns``, naming expected and got."""
    return len(line) <= columns and "expected" in line and "got" in line


@per_assignment()
def test_every_exercise_lists_its_typical_mistakes(assignment):
    nb = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    bare = [exercise.grade_id for exercise in exercises(nb) if not exercise.mistakes]
    assert not bare, f"exercises of {assignment} that list no typical mistake ({MARKER} in a hidden block): {bare}"


# Under nbgrader's Validate, as a student presses it: the release with the solutions filled in and one
# mistake applied. Each run executes the whole notebook, so this covers every mistake of 00 and the
# first two mistakes of each exercise of 01; the check above covers the rest by the same rule. As there, a
# mistake that ends in an error of the student's own code (not a failed check) is left as it is.
VALIDATED = {"00-start-here": None, "01-conv1d": 2}


@pytest.mark.parametrize("assignment, per_exercise", VALIDATED.items())
def test_validate_names_expected_and_got_for_listed_mistakes(assignment, per_exercise, tmp_path):
    from nbgrader.validator import Validator

    solution = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    released = nbformat.read(REPO / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    by_id = {cell.id: cell for cell in solution.cells}
    for cell in released.cells:  # a student who solved everything...
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = by_id[cell.id].source
    unreadable = []
    for exercise in exercises(solution):
        for mistake, replacements in list(exercise.mistakes.items())[:per_exercise]:
            nb = nbformat.from_dict(released)   # ...but for one mistake
            cell = next(c for c in nb.cells if c.id == solution.cells[exercise.solution].id)
            cell.source = mutate(cell.source, replacements)
            path = tmp_path / f"{assignment}.ipynb"
            nbformat.write(nb, path)
            failures = Validator().validate(str(path)).get("failed", [])
            tests = {solution.cells[i].source.split("### BEGIN HIDDEN TESTS")[0].strip() for i in exercise.tests}
            lines = [line[:90] for failure in failures if failure["source"] in tests
                     for line in html.unescape(re.sub(r"<[^>]+>", "", failure["error"])).splitlines()]
            checked = any(line.startswith("AssertionError") for line in lines)  # else the student's own error
            if checked and not any("expected" in line and "got" in line for line in lines):
                unreadable.append(f"{exercise.grade_id}: {mistake}: {lines[-3:] if lines else 'no failure'}")
    assert not unreadable, "under Validate, no line (cut at 90 columns) names expected and got:\n" + "\n".join(unreadable)
