"""course_utils.grading: type and shape before values, messages that teach, forbidden calls."""

import sys

import numpy as np
import pytest
import scipy.signal

from course_utils import grading
from course_utils.grading import ForbiddenCallError, check_array, check_raises, check_scalar, forbidden


class Liar:
    """An answer object that claims to equal everything."""

    shape = (3,)

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)


class SubArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)


def test_check_array_accepts_the_right_answer():
    check_array(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12])


@pytest.mark.parametrize("got", [Liar(), [1.0, 2.0, 3.0], np.zeros(3).view(SubArray), 3.0])
def test_check_array_checks_the_type_first(got):
    with pytest.raises(AssertionError, match=r"^expected an ndarray of shape \(3,\), got \w+\n  in f\(x\)"):
        check_array(got, np.zeros(3), name="f(x)")


def test_check_array_names_both_shapes():
    with pytest.raises(AssertionError, match=r"^expected shape \(2, 3\), got shape \(3, 2\)\n  in f\(x\)$"):
        check_array(np.zeros((3, 2)), np.zeros((2, 3)), name="f(x)")


def test_check_array_checks_the_dtype():
    with pytest.raises(AssertionError, match="dtype"):
        check_array(np.zeros(3, dtype=np.int64), np.zeros(3))
    check_array(np.zeros(3, dtype=np.int64), np.zeros(3), dtype_kind="fiu")


def test_check_array_reports_the_worst_element():
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] += 5
    got[0, 0] += 1
    with pytest.raises(AssertionError, match=r"^2 of 6 values wrong; at \(1, 2\): expected 5, got 10\n"):
        check_array(got, expected)


def test_a_large_array_is_summarised_with_a_short_first_line():
    expected = np.zeros((2, 3, 8, 8))
    got = expected.copy()
    got[1, 2, 5, 6] = 7.5
    got[0, 2, 0, 0] = 1.0
    with pytest.raises(AssertionError) as caught:
        check_array(got, expected, name="conv(x (2, 3, 8, 8))")
    lines = str(caught.value).splitlines()
    assert lines[0] == "2 of 384 values wrong; at (1, 2, 5, 6): expected 0, got 7.5"
    assert lines[1] == "  in conv(x (2, 3, 8, 8))"
    assert "  wrong in (image, channel) (0, 2), (1, 2) (2 of 6)" in lines
    assert len(lines) == 4 and all(len(line) <= 90 for line in lines)  # nothing dumped


def test_a_failed_check_shows_the_students_line_not_the_courses_frames():
    # IPython hides __tracebackhide__ frames but never the last one, the frame an error is raised in;
    # a check's failure renders its own traceback without it. Run in a real kernel, as a notebook is.
    import re

    import nbformat
    from nbclient import NotebookClient

    cells = [
        "import numpy as np\nfrom course_utils.grading import check_array, forbidden\n"
        "from course_utils.gradcheck import check_gradients\n"
        "def broken(x):\n    return np.ones((2, 2)) + np.ones((2, 3))",
        "check_array(np.ones(2), [1.0], name='the ones')",
        "check_gradients(np.ones(3), np.zeros(3), name='g')",
        "with forbidden():\n    got = broken(1)",
        "with forbidden('numpy.convolve'):\n    np.convolve([1.0], [1.0])",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60).execute()
    shown = []
    for cell in nb.cells[1:]:
        (error,) = [output for output in cell.outputs if output.output_type == "error"]
        shown.append(
            (error.ename, error.evalue.splitlines()[0], re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback)))
        )
    assert [(ename, first) for ename, first, _ in shown] == [
        ("AssertionError", "expected shape (1,), got shape (2,)"),
        ("AssertionError", "expected 0 at (0,), got 1"),
        ("AssertionError", "expected a result, got ValueError from your code (traceback above)"),
        ("ForbiddenCallError", "numpy.convolve is not allowed in this exercise: the point is to write it yourself"),
    ]
    for _, _, traceback in shown:
        assert "grading.py" not in traceback and "gradcheck.py" not in traceback and "contextlib" not in traceback
    assert re.search(r"----> \d+     return np.ones\(\(2, 2\)\)", shown[2][2])  # the student's own line


def test_forbidden_reports_an_error_of_the_students_code_as_a_failed_check():
    def refuses(n):
        raise TypeError(f"n must be an int, got {type(n).__name__}")

    with pytest.raises(AssertionError, match=r"^expected a result, got TypeError from your code") as caught:
        with forbidden("numpy.convolve"):
            refuses(np.int64(3))
    assert isinstance(caught.value.__cause__, TypeError) and "got int64" in str(caught.value)
    assert np.convolve([1.0], [1.0]).tolist() == [1.0]  # restored
    with pytest.raises(NotImplementedError):  # the stub's own message stays
        with forbidden():
            raise NotImplementedError("write your code here")
    with pytest.raises(ForbiddenCallError):  # a failed check stays what it is
        with forbidden("numpy.convolve"):
            np.convolve([1.0], [1.0])


def test_check_array_does_not_trust_a_monkeypatched_numpy(monkeypatch):
    monkeypatch.setattr(np, "isclose", lambda *args, **kwargs: np.ones(np.shape(args[0]), dtype=bool))
    with pytest.raises(AssertionError, match="values wrong"):
        check_array(np.ones(2), np.zeros(2))


def test_check_scalar():
    check_scalar(3, 3)
    check_scalar(np.int64(3), 3)
    check_scalar(0.1 + 0.2, 0.3)
    for wrong_type in (3.0, True, "3", np.array([3])):
        with pytest.raises(AssertionError, match="expected an int"):
            check_scalar(wrong_type, 3)
    with pytest.raises(AssertionError, match="expected 4, got 3"):
        check_scalar(3, 4)
    with pytest.raises(AssertionError, match="expected a number"):
        check_scalar(Liar(), 1.5)


def test_check_raises():
    check_raises(ValueError, int, "x")
    with pytest.raises(AssertionError, match="^expected ValueError to be raised, got 3\n"):
        check_raises(ValueError, int, "3")
    with pytest.raises(AssertionError, match="expected ValueError, got TypeError"):
        check_raises(ValueError, int, None)
    check_raises(ValueError, int, "x3", mentions=("x3",))
    with pytest.raises(
        AssertionError, match=r"^expected a message naming 3 and 5, got another\n  in f\n  the message: "
    ):
        check_raises(ValueError, int, "x3", name="f", mentions=("3", "5"))
    with pytest.raises(AssertionError, match=r"^expected ValueError to be raised, got an array of shape \(0, 3\)\n"):
        check_raises(ValueError, np.zeros, (0, 3))


def test_forbidden_blocks_functions_modules_and_aliases():
    main = vars(sys.modules["__main__"])
    main["_alias_of_convolve"] = np.convolve
    original, original_correlate = np.convolve, scipy.signal.correlate
    try:
        with forbidden("numpy.convolve", "scipy.signal"):
            with pytest.raises(ForbiddenCallError, match="numpy.convolve is not allowed"):
                np.convolve([1.0], [1.0])
            with pytest.raises(ForbiddenCallError, match="scipy.signal.correlate"):
                scipy.signal.correlate([1.0], [1.0])
            with pytest.raises(ForbiddenCallError):
                main["_alias_of_convolve"]([1.0], [1.0])
            import scipy.signal as again

            with pytest.raises(ForbiddenCallError):
                again.convolve([1.0], [1.0])
            np.dot([1.0], [1.0])  # everything else still works
        assert np.convolve is original and scipy.signal.correlate is original_correlate
        assert main["_alias_of_convolve"] is original
    finally:
        del main["_alias_of_convolve"]


def test_forbidden_restores_after_an_error_and_is_not_swallowed_by_check_raises():
    def cheat(x):
        return np.convolve(x, [1.0])

    with forbidden("numpy.convolve"):
        with pytest.raises(ForbiddenCallError):
            check_raises(ValueError, cheat, [1.0])
    assert cheat([2.0]).tolist() == [2.0]


def test_forbidden_ignores_names_that_do_not_exist():
    with forbidden("numpy.no_such_function", "no_such_module.f"):
        pass
    assert grading.forbidden is forbidden
