"""The notebook tests can fail: run them on a deliberately broken assignment.

The broken assignment has a graded test that passes without any student code, a
solution that loses points, and a cell that raises. The checks of test_notebooks.py
must reject it.
"""

import nbformat
import pytest
import test_notebooks as checks
from conftest import make_roundtrip
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.notebooks

NAME = "99-broken"


def _graded(source: str, grade_id: str, **nbgrader) -> nbformat.NotebookNode:
    meta = {"grade_id": grade_id, "schema_version": 3, "locked": False, "solution": False, "grade": False, **nbgrader}
    return new_code_cell(source, metadata={"nbgrader": meta})


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    root = tmp_path_factory.mktemp("broken")
    nb = new_notebook(
        cells=[
            _graded(
                "def answer():\n    ### BEGIN SOLUTION\n    return 41\n    ### END SOLUTION", "answer", solution=True
            ),
            _graded("assert 1 + 1 == 2", "always_passes", grade=True, locked=True, points=1),
            _graded(
                "assert answer() == 42, f'expected 42, got {answer()}'",
                "solution_is_wrong",
                grade=True,
                locked=True,
                points=2,
            ),
            new_code_cell("1 / 0"),
        ]
    )
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    (root / "src" / NAME).mkdir(parents=True)
    nbformat.write(nb, root / "src" / NAME / f"{NAME}.ipynb")
    return make_roundtrip(NAME, root, solutions=root / "src")


def test_gradebook_sees_the_defects(broken):
    assert broken.grades("stub")["always_passes"] == (1.0, 1.0)
    assert broken.grades("solution")["solution_is_wrong"] == (0.0, 2.0)


def test_solution_check_rejects_a_failing_solution(broken):
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        checks.test_solution_runs_clean_and_scores_full_marks(NAME, broken)


def test_release_check_rejects_a_test_that_passes_on_the_stub(broken):
    with pytest.raises(AssertionError, match="always_passes"):
        checks.test_release_fails_every_graded_test(NAME, broken)


@pytest.mark.xdist_group("harness")
def test_xdist_groups_reach_the_scheduler(pytestconfig, request):
    """Under `make test` (--dist loadgroup) a grouped test's node id carries its group, so that
    pytest-xdist sends the whole group to one worker (see conftest.pytest_collection_modifyitems)."""
    if not getattr(pytestconfig.option, "loadgroup", False):
        pytest.skip("not running under pytest-xdist --dist loadgroup")
    assert request.node.nodeid.endswith("@harness"), request.node.nodeid
