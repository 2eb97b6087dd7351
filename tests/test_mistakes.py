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
the 90 columns that nbgrader's Validate keeps of each line. A mistake that makes the student's
own code raise (a broadcast error, a valid input refused) counts too: the tests run the student's
code inside ``forbidden(...)``, which reports such an error as a failed check, "expected a result,
got ValueError", chained to the student's traceback. The same failures are then read through
nbgrader's ``Validator``, every one of them, as Validate shows them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import nbformat
import pytest
from conftest import REPO, per_assignment
from nbclient import NotebookClient

from course_utils.instructor import markers
from tools import notebook as notebook_tool  # the checkout is on sys.path (conftest)

pytestmark = pytest.mark.notebooks

MARKER = "_MISTAKES"


@dataclass
class Exercise:
    grade_id: str
    solution: int  # index of the solution cell
    tests: list[int] = field(default_factory=list)  # indices of its graded test cells
    mistakes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def listed_mistakes(source: str) -> dict[str, list[tuple[str, str]]]:
    """The ``_MISTAKES`` literal of a test cell's hidden block (empty if none)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == MARKER for t in node.targets):
            if MARKER in markers.without(source):
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
    pieces = markers.runs(source, (markers.SOLUTION,))
    for old, new in replacements:
        if not any(state == markers.INSIDE and old in text for state, text in pieces):
            raise KeyError(old)
        pieces = [(state, text.replace(old, new) if state == markers.INSIDE else text) for state, text in pieces]
    return "".join(text for _, text in pieces)


def _error(cell: nbformat.NotebookNode) -> str | None:
    for output in cell.outputs:
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}".splitlines()[0]
    return None


@dataclass
class Verdict:
    exercise: str
    mistake: str
    caught_by: str | None  # the first visible failure, or None
    problem: str | None = None
    outputs: dict[int, list] = field(default_factory=dict)  # test cell index -> its outputs with the mistake


def apply_mistakes(assignment: str) -> tuple[list[Exercise], list[str], list[Verdict]]:
    """Run the notebook with visible tests only, then each listed mistake; return what happened."""
    path = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = markers.without(cell.source)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=300, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
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
                    verdicts.append(
                        Verdict(exercise.grade_id, mistake, None, f"no longer applies: {missing} not in the solution")
                    )
                    continue
                client.execute_cell(mutated, exercise.solution)
                if error := _error(mutated):
                    verdicts.append(
                        Verdict(exercise.grade_id, mistake, None, f"breaks the solution cell itself: {error}")
                    )
                caught, outputs = None, {}
                for index in exercise.tests:
                    probe = nbformat.v4.new_code_cell(nb.cells[index].source)
                    client.execute_cell(probe, index)
                    outputs[index] = probe.outputs
                    if caught is None:
                        caught = _error(probe)
                verdicts.append(Verdict(exercise.grade_id, mistake, caught, outputs=outputs))
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
    assert not missed, "typical mistakes that pass every visible test of their exercise:\n" + "\n".join(missed)
    unreadable = [
        f"{v.exercise}: {v.mistake}: {v.caught_by}"
        for v in verdicts
        if not (v.caught_by.startswith("AssertionError: ") and readable(v.caught_by))
    ]
    assert not unreadable, (
        "failures whose first line does not say expected and got within 90 columns "
        "(what Validate shows):\n" + "\n".join(unreadable)
    )


def readable(line: str, columns: int = 90) -> bool:
    """A failure's first line as Validate shows it: within ``columns``, naming expected and got."""
    return len(line) <= columns and "expected" in line and "got" in line


@per_assignment()
def test_every_exercise_lists_its_typical_mistakes(assignment):
    nb = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    bare = [exercise.grade_id for exercise in exercises(nb) if not exercise.mistakes]
    assert not bare, f"exercises of {assignment} that list no typical mistake ({MARKER} in a hidden block): {bare}"


def _solved_release(assignment: str) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """The solution notebook, and the release with every solution cell filled in as a student would."""
    solution = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    released = nbformat.read(REPO / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    by_id = {cell.id: cell for cell in solution.cells}
    for cell in released.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = by_id[cell.id].source
    return solution, released


def validate_shows(failures: list[dict], tests: set[str]) -> list[str]:
    """What Validate prints of the failed test cells ``tests``: each error line, cut as it cuts them."""
    from nbgrader.validator import Validator

    cut = Validator()._indent  # nbgrader's own indentation and cut at its width (90 columns)
    return [
        line for failure in failures if failure["source"] in tests for line in cut(failure["raw_error"]).splitlines()
    ]


def names_expected_and_got(lines: list[str]) -> bool:
    return any("expected" in line and "got" in line for line in lines)


@per_assignment()
def test_validate_names_expected_and_got_for_every_listed_mistake(assignment, tmp_path):
    """Every listed mistake under nbgrader's Validator, on the outputs the kernel run above produced.

    The Validator is nbgrader's own, with its execution switched off (``preprocessors``: only the
    metadata check), reading the release with the mistake's test-cell outputs in place: it finds
    the failed cells, extracts their errors and cuts their lines as Validate does. That the outputs
    are what Validate's own execution gives is checked on 00 by the next test.
    """
    from nbgrader.preprocessors import CheckCellMetadata
    from nbgrader.validator import Validator

    if assignment not in _results:
        _results[assignment] = apply_mistakes(assignment)
    _, _, verdicts = _results[assignment]
    solution, released = _solved_release(assignment)
    position = {cell.id: index for index, cell in enumerate(released.cells)}
    silent = []
    for verdict in verdicts:
        if not verdict.outputs:
            continue
        nb = nbformat.from_dict(released)
        for index, outputs in verdict.outputs.items():
            nb.cells[position[solution.cells[index].id]].outputs = outputs
        path = tmp_path / f"{assignment}.ipynb"
        nbformat.write(nb, path)
        result = Validator(preprocessors=[CheckCellMetadata]).validate(str(path))
        tests = {markers.without(solution.cells[i].source).strip() for i in verdict.outputs}
        lines = validate_shows(result.get("failed", []), tests)
        if not names_expected_and_got(lines):
            silent.append(f"{verdict.exercise}: {verdict.mistake}: {lines[-3:] if lines else 'no failure shown'}")
    assert not silent, "under Validate, no line (cut at 90 columns) names expected and got:\n" + "\n".join(silent)


def test_validate_executing_the_notebook_agrees_for_00(tmp_path):
    """The real Validate, executing the notebook as a student's button press does, for every mistake of 00."""
    from nbgrader.validator import Validator

    assignment = "00-start-here"
    solution, released = _solved_release(assignment)
    silent = []
    for exercise in exercises(solution):
        for mistake, replacements in exercise.mistakes.items():
            nb = nbformat.from_dict(released)
            cell = next(c for c in nb.cells if c.id == solution.cells[exercise.solution].id)
            cell.source = mutate(cell.source, replacements)
            path = tmp_path / f"{assignment}.ipynb"
            nbformat.write(nb, path)
            failures = Validator().validate(str(path)).get("failed", [])
            tests = {markers.without(solution.cells[i].source).strip() for i in exercise.tests}
            lines = validate_shows(failures, tests)
            if not names_expected_and_got(lines):
                silent.append(f"{exercise.grade_id}: {mistake}: {lines[-3:] if lines else 'no failure shown'}")
    assert not silent, "under Validate, no line (cut at 90 columns) names expected and got:\n" + "\n".join(silent)
