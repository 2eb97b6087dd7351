"""Every assignment, end to end through nbgrader.

For each ``solutions/NN-topic/NN-topic.ipynb`` (discovered, so new notebooks are covered
without editing this file):

- the solution, submitted as a student and autograded, executes top to bottom with no
  error in any cell and scores full marks on every graded cell;
- the untouched release, autograded, scores zero on every graded cell, and nbgrader's
  ``Validator(invert=True)`` (what the Validate button runs) finds no passing test;
- the release contains neither solution code nor a hidden-test line, and neither does the
  feedback that ``nbgrader generate_feedback`` writes for the stub (whose hidden tests fail
  with tracebacks);
- every figure the solution draws carries alt text (``course_utils.plots.show``);
- the source notebook follows the style guide (``tools/notebook.py check``).
"""

from __future__ import annotations

import html
import re

import colab_support
import nbformat
import pytest
from conftest import REPO, nbgrader, per_assignment

from course_utils.instructor import markers
from tools import notebook as notebook_tool  # the checkout is on sys.path (conftest)

pytestmark = pytest.mark.notebooks


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [
        f"cell {index} ({cell.metadata.get('nbgrader', {}).get('grade_id', 'no grade id')}): {ename}: {evalue}"
        for index, cell, ename, evalue in colab_support.errors(nb)
    ]


@per_assignment()
def test_solution_runs_clean_and_scores_full_marks(assignment, roundtrip):
    errors = _errors(roundtrip.autograded("solution"))
    assert not errors, "errors in the solution notebook:\n" + "\n".join(errors)
    grades = roundtrip.grades("solution")
    assert grades, f"{assignment} has no graded cell"
    short = {grade_id: f"{score}/{max_score}" for grade_id, (score, max_score) in grades.items() if score != max_score}
    assert short == {}, f"graded cells of the solution that lost points: {short}"


def figures_without_alt_text(nb: nbformat.NotebookNode) -> list[str]:
    """One line per PNG output of ``nb`` whose metadata has no alt text (``output.metadata["image/png"]["alt"]``)."""
    return [
        f"cell {index} (starts {cell.source.splitlines()[0][:60]!r})"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
        and not str(output.get("metadata", {}).get("image/png", {}).get("alt", "")).strip()
    ]


@per_assignment()
def test_every_figure_has_alt_text(assignment, roundtrip):
    nb = roundtrip.autograded("solution")
    assert any(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ), f"{assignment} drew no figure: is the check looking at the right outputs?"
    missing = figures_without_alt_text(nb)
    assert not missing, (
        f"{len(missing)} figures of {assignment} have no alt text (show them with "
        "course_utils.plots.show(fig, alt=...)):\n" + "\n".join(missing)
    )


@per_assignment()
def test_release_fails_every_graded_test(assignment, roundtrip):
    passed = {grade_id: score for grade_id, (score, _) in roundtrip.grades("stub").items() if score != 0}
    assert passed == {}, f"graded cells that give points to the untouched stub: {passed}"

    from nbgrader.validator import Validator

    results = Validator(invert=True).validate(str(roundtrip.released()))
    assert "changed" not in results and "type_changed" not in results, results
    assert results.get("passed", []) == [], "test cells that pass on the stub:\n" + "\n---\n".join(
        cell["source"] for cell in results["passed"]
    )


_secret_lines = notebook_tool.secret_lines


@per_assignment()
def test_release_has_no_solution_or_hidden_test(assignment, roundtrip):
    source = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    release = nbformat.read(roundtrip.released(), as_version=4)
    released = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in release.cells if "nbgrader" in cell.metadata
    }
    text = "\n".join(cell.source for cell in release.cells)
    assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)|END (SOLUTION|HIDDEN TESTS)", text)
    for cell in source.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        released_lines = {line.strip() for line in released[grade_id].splitlines()}
        leaked = sorted(_secret_lines(cell.source) & released_lines)
        assert leaked == [], f"{grade_id}: released lines from a solution or hidden-test block: {leaked}"


@per_assignment()
def test_feedback_shows_no_hidden_test(assignment, roundtrip):
    source = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    # Public: every line outside the hidden-test blocks (the "solution" student submitted the
    # solution itself, so its feedback rightly shows solution code).
    public = {
        line.strip()
        for cell in source.cells
        for line in markers.lines(cell.source, markers.OUTSIDE, kinds=(markers.HIDDEN,))
    }
    hidden = {line for cell in source.cells for line in _secret_lines(cell.source, (markers.HIDDEN,))} - public
    nbgrader("generate_feedback", assignment, "--force", cwd=roundtrip.course)
    for student in ("solution", "stub"):
        page = (roundtrip.course / "feedback" / student / assignment / f"{assignment}.html").read_text()
        lines = {line.strip() for line in html.unescape(re.sub(r"<[^>]+>", "", page)).splitlines()}
        shown = sorted(hidden & lines)
        assert shown == [], f"feedback for {student} shows hidden-test lines: {shown[:5]}"


@per_assignment()
def test_source_follows_the_style_guide(assignment):
    assert notebook_tool.problems(REPO / "solutions" / assignment / f"{assignment}.ipynb") == []


def test_readme_syllabus_points_match_the_notebooks():
    """The README's syllabus states each notebook's points; they are its graded cells' points."""
    readme = (REPO / "README.md").read_text()
    for assignment in notebook_tool.source_notebooks():
        nb = nbformat.read(assignment, as_version=4)
        points = sum(
            c.metadata["nbgrader"].get("points", 0) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
        )
        row = next(
            line
            for line in readme.splitlines()
            if line.startswith("| [") and f"(notebooks/{assignment.parent.name}/" in line
        )
        stated = row.split("|")[-3].strip()
        assert stated == f"{points:g}", (
            f"README says {stated} points for {assignment.parent.name}, the notebook has {points:g}"
        )


def test_readme_links_every_notebook_to_colab_and_binder_at_one_repository():
    """Colab and Binder links all point at tools/notebook.py's REPOSITORY, as the notebooks' own links do."""
    readme = (REPO / "README.md").read_text()
    for assignment in notebook_tool.source_notebooks():
        name = assignment.parent.name
        row = next(line for line in readme.splitlines() if line.startswith("| [") and f"(notebooks/{name}/" in line)
        assert f"[Colab]({notebook_tool.colab_url(name)})" in row, (
            f"the README's syllabus row of {name} has no Colab link"
        )
        title = nbformat.read(assignment, as_version=4).cells[0].source
        assert notebook_tool.colab_url(name) in title, f"{name}'s title cell has no Colab link"
    hosts = re.findall(r"(?:mybinder\.org/v2/gh|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+)/", readme)
    assert hosts and set(hosts) == {notebook_tool.REPOSITORY}, f"README links to {set(hosts)}"


def test_the_style_check_catches_exercise_numbers_and_points_that_disagree_with_the_gradebook():
    def graded(grade_id, points):
        return nbformat.v4.new_code_cell(
            "pass",
            metadata={
                "nbgrader": {"grade": True, "grade_id": grade_id, "points": points, "solution": False, "locked": True}
            },
        )

    def solution(grade_id):
        return nbformat.v4.new_code_cell(
            "pass", metadata={"nbgrader": {"grade": False, "grade_id": grade_id, "solution": True, "locked": False}}
        )

    def notebook(header, *headings):
        cells = [nbformat.v4.new_markdown_cell(header)]
        for heading, (name, points) in zip(headings, [("a", 2), ("b", 3)]):
            cells += [nbformat.v4.new_markdown_cell(heading), solution(name), graded(f"{name}_tests", points)]
        return nbformat.v4.new_notebook(cells=cells)

    good = notebook(
        "# 05 · T\n\nGraded exercises: 2, worth 5 points.",
        "### Exercise 5.1: a (2 points)",
        "### Exercise 5.2: b (3 points)",
    )
    assert notebook_tool._numbering_problems(good, 5) == []
    problems = notebook_tool._numbering_problems(
        notebook(
            "# 05 · T\n\nGraded exercises: 3.", "### Exercise 5.1: a (2 points)", "### Exercise 5.3: b (3 points)"
        ),
        5,
    )
    assert any("are not 5.1 to 5.2" in p for p in problems) and any("says 3 graded exercises" in p for p in problems)
    problems = notebook_tool._numbering_problems(
        notebook(
            "# 05 · T\n\n5.1 `a` (2), 5.2 `b` (2)", "### Exercise 5.1: a (2 points)", "### Exercise 5.2: b (4 points)"
        ),
        5,
    )
    assert any("state points [2, 4]" in p for p in problems) and any(
        "header lists points [2, 2]" in p for p in problems
    )
