"""course_utils.instructor.markers: the one reader of nbgrader's solution and hidden-test markers."""

import doctest

import nbformat
from conftest import REPO

from course_utils.instructor import markers

CELL = """def f(x):
    ### BEGIN SOLUTION
    return x + 1
    ### END SOLUTION
check(f(1), 2)
### BEGIN HIDDEN TESTS
check(f(9), 10)
### END HIDDEN TESTS
print("done")"""


def test_runs_give_the_source_back_and_tell_each_line_apart():
    runs = markers.runs(CELL)
    assert "".join(text for _, text in runs) == CELL
    assert [state for state, _ in runs] == [
        "outside",
        "marker",
        "inside",
        "marker",
        "outside",
        "marker",
        "inside",
        "marker",
        "outside",
    ]
    assert markers.lines(CELL, markers.INSIDE) == ["    return x + 1", "check(f(9), 10)"]
    assert markers.lines(CELL, markers.INSIDE, kinds=(markers.HIDDEN,)) == ["check(f(9), 10)"]


def test_without_hidden_tests_is_what_nbgrader_releases():
    # nbgrader's own release of every solution notebook is in notebooks/: each test cell's source
    # there is the solution's without its hidden block (up to surrounding blank lines).
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        release = nbformat.read(REPO / "notebooks" / path.parent.name / path.name, as_version=4)
        released = {cell.id: cell.source for cell in release.cells}
        for cell in solution.cells:
            if markers.has(cell.source, markers.HIDDEN):
                assert markers.without(cell.source).strip() == released[cell.id].strip(), (path.name, cell.id)
    assert markers.without(CELL, kinds=markers.BOTH).splitlines() == ["def f(x):", "check(f(1), 2)", 'print("done")']


def test_has_and_the_docstring_example():
    assert markers.has(CELL, markers.HIDDEN) and markers.has(CELL, markers.SOLUTION)
    assert not markers.has("check(f(1), 2)", markers.HIDDEN)
    assert doctest.testmod(markers).failed == 0
