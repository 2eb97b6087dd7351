"""Numerical gradients by central differences, to check hand-written backward passes.

``numerical_gradient(f, x)`` estimates the gradient of a scalar function ``f`` at ``x``:

    df/dx[i] ~= (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error shrinks like ``h**2`` (a one-sided difference only like ``h``). For an operation
with an array output, ``numerical_gradient_op(op, x, grad_out)`` takes the scalar
``sum(op(x) * grad_out)``, whose gradient is exactly what ``op_backward(grad_out, x)`` returns.
``check_gradients`` compares an analytic gradient with a numerical one by the relative error
of CS231n's gradient-check notes, and names the worst element when they disagree.

Work in float64: with float32, rounding (about 1e-7 relative) divided by ``2 h`` swamps the
estimate, so these functions refuse anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_utils.grading import CheckFailure


def _float64(x: np.ndarray, name: str) -> np.ndarray:
    """Return ``x`` if it is a float64 ndarray; raise TypeError naming ``name`` otherwise."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(f"{name} must have dtype float64 for a gradient check, got {x.dtype} (use .astype(np.float64))")
    return x


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` (a Python float, NumPy scalar or 0-d array). It is called ``2 * x.size``
        times with ``x`` itself, one element of which is moved by ``+h`` or ``-h`` each time.
    x : ndarray, float64, any shape
        Perturbed in place and restored (also if ``f`` raises).
    h : float
        The step.

    Returns
    -------
    grad : ndarray, float64, shape ``x.shape``

    Raises
    ------
    TypeError
        If ``x`` is not a float64 ndarray.

    Shape
    -----
    - Input (x): ``(*)``, any shape.
    - Output (grad): ``(*)``, x's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils.gradcheck import numerical_gradient
    >>> x = np.array([1.0, -2.0, 3.0])
    >>> np.round(numerical_gradient(lambda v: np.sum(v**2), x), 4)  # the gradient of sum(x**2) is 2x
    array([ 2., -4.,  6.])
    >>> x  # restored
    array([ 1., -2.,  3.])
    """
    _float64(x, "x")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        try:
            x[index] = old + h
            f_plus = float(f(x))
            x[index] = old - h
            f_minus = float(f(x))
        finally:
            x[index] = old
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_op(
    op: Callable[[np.ndarray], np.ndarray], x: np.ndarray, grad_out: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Central-difference gradient of ``sum(op(x) * grad_out)`` with respect to ``x``.

    This is the vector-Jacobian product that a backward pass computes, so compare it with
    ``op_backward(grad_out, x, ...)``.

    Parameters
    ----------
    op : callable
        ``op(x) -> ndarray`` of ``grad_out.shape``.
    x : ndarray, float64, any shape
        Perturbed in place and restored.
    grad_out : ndarray, shape of ``op(x)``
        The upstream gradient.
    h : float
        The step.

    Returns
    -------
    grad_x : ndarray, float64, shape ``x.shape``

    Raises
    ------
    TypeError
        If ``x`` is not a float64 ndarray.
    ValueError
        If ``grad_out`` does not have ``op(x)``'s shape.

    Shape
    -----
    - Input (x): ``(*)``, any shape.
    - grad_out: the shape of ``op(x)``.
    - Output (grad_x): ``(*)``, x's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> from course_utils.gradcheck import numerical_gradient_op
    >>> x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    >>> np.round(numerical_gradient_op(F.relu, x, np.ones_like(x)), 4)  # as F.relu_backward(1, x)
    array([[0., 1.],
           [1., 0.]])
    """
    _float64(x, "x")
    out = op(x)
    if np.shape(out) != np.shape(grad_out):
        raise ValueError(f"grad_out must have op(x)'s shape {np.shape(out)}, got {np.shape(grad_out)}")
    return numerical_gradient(lambda value: np.sum(op(value) * grad_out), x, h)


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check that the analytic and numerical gradients are arrays of one shape; return them as float64."""
    for value, name in ((a, "analytic"), (b, "numeric")):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if a.shape != b.shape:
        raise ValueError(f"the gradients' shapes differ: analytic {a.shape}, numeric {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def _elementwise_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b| / max(1e-8, |a| + |b|)``, elementwise."""
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """The largest elementwise relative error between two arrays of the same shape.

    ``max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)`` (CS231n's gradient-check definition; the
    ``1e-8`` floor keeps two zeros from dividing by zero). Rules of thumb in float64: below
    ``1e-7`` the gradients agree; around ``1e-4`` suspect a bug unless there are kinks (ReLU, max
    pooling) near ``x``; above ``1e-2`` the gradient is wrong.

    Parameters
    ----------
    a, b : ndarray, same shape
        E.g. an analytic and a numerical gradient (compared in float64).

    Returns
    -------
    float
        The largest relative error; 0.0 for empty arrays.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not an ndarray.
    ValueError
        If their shapes differ.

    Shape
    -----
    - Input (a, b): ``(*)``, any shape, the same for both.
    - Output: a Python float.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils.gradcheck import relative_error
    >>> f"{relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.000002])):.1e}"  # 2e-6 / 4.000002
    '5.0e-07'
    >>> relative_error(np.zeros(3), np.zeros(3))
    0.0
    """
    a, b = _pair(a, b)
    return float(_elementwise_error(a, b).max()) if a.size else 0.0


@dataclass(frozen=True)
class GradientReport:
    """What ``check_gradients`` found: the worst element's index, both values there and the error.

    Parameters
    ----------
    name : str
        What was checked, e.g. ``"conv2d grad_weight"``.
    error : float
        The largest relative error (see :func:`relative_error`).
    index : tuple of int
        Where it is.
    analytic, numeric : float
        Both gradients there.
    tol : float
        The largest acceptable error.

    Attributes
    ----------
    passed : bool
        ``error <= tol``.

    Examples
    --------
    >>> from course_utils.gradcheck import GradientReport
    >>> report = GradientReport("relu grad_x", 3e-11, (0, 1), 1.0, 1.0, 1e-6)
    >>> report.passed
    True
    >>> print(report)
    relu grad_x: OK, max relative error 3.00e-11 (tol 1e-06) at index (0, 1): analytic 1, numeric 1
    """

    name: str
    error: float
    index: tuple[int, ...]
    analytic: float
    numeric: float
    tol: float

    @property
    def passed(self) -> bool:
        """Whether the error is within the tolerance."""
        return self.error <= self.tol

    def __str__(self) -> str:
        verdict = "OK" if self.passed else "MISMATCH"
        return (
            f"{self.name}: {verdict}, max relative error {self.error:.2e} (tol {self.tol:.0e}) "
            f"at index {self.index}: analytic {self.analytic:.6g}, numeric {self.numeric:.6g}"
        )


def check_gradients(
    analytic: np.ndarray, numeric: np.ndarray, *, name: str = "gradient", tol: float = 1e-6
) -> GradientReport:
    """Compare an analytic gradient with a numerical one; raise if they disagree.

    Parameters
    ----------
    analytic, numeric : ndarray, same shape
        E.g. ``relu_backward(grad_out, x)`` and ``numerical_gradient_op(relu, x, grad_out)``.
    name : str
        What is being checked, e.g. ``"conv2d grad_weight"``: used in the report.
    tol : float
        Largest acceptable ``relative_error``.

    Returns
    -------
    GradientReport
        Prints as one line, e.g. ``conv2d grad_x: OK, max relative error 3.1e-10 (tol 1e-06) ...``.

    Raises
    ------
    AssertionError
        When the relative error exceeds ``tol`` (a ``course_utils.grading.CheckFailure``). Its first
        line names the worst element and both values there (``expected 0.001 at (0, 1), got 0``:
        expected is the numerical gradient); the next lines give the report.
    TypeError
        If either gradient is not an ndarray.
    ValueError
        If their shapes differ.

    Shape
    -----
    - Input (analytic, numeric): ``(*)``, any shape, the same for both.
    - Output: a ``GradientReport``, whose ``index`` has one entry per dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> from course_utils.gradcheck import check_gradients, numerical_gradient_op
    >>> x, grad_out = np.array([[-1.5, 0.5], [2.0, -0.25]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> numeric = numerical_gradient_op(F.relu, x, grad_out)
    >>> check_gradients(F.relu_backward(grad_out, x), numeric, name="relu grad_x").passed
    True
    >>> try:
    ...     check_gradients(np.zeros((2, 2)), numeric, name="broken relu grad_x")
    ... except AssertionError as error:
    ...     print(error)
    expected 2 at (0, 1), got 0
      in broken relu grad_x: MISMATCH, max relative error 1.00e+00 (tol 1e-06) at index (0, 1): analytic 0, numeric 2
      (expected: the numerical gradient; got: the analytic one)
    """
    __tracebackhide__ = True  # the student's test cell, not this frame, in IPython's traceback
    a, b = _pair(analytic, numeric)
    if a.size == 0:
        return GradientReport(name, 0.0, (), 0.0, 0.0, tol)
    errors = _elementwise_error(a, b)
    errors[~np.isfinite(errors)] = np.inf
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(errors)), a.shape))
    report = GradientReport(name, float(errors[index]), index, float(a[index]), float(b[index]), tol)
    if not report.passed:  # a short first line (nbgrader's Validate cuts lines at 90 columns), then the report
        raise CheckFailure(
            f"expected {report.numeric:.6g} at {index}, got {report.analytic:.6g}\n"
            f"  in {report}\n  (expected: the numerical gradient; got: the analytic one)"
        )
    return report
