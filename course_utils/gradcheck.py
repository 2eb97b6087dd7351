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

    Returns
    -------
    grad_x : ndarray, float64, shape ``x.shape``
    """
    _float64(x, "x")
    out = op(x)
    if np.shape(out) != np.shape(grad_out):
        raise ValueError(f"grad_out must have op(x)'s shape {np.shape(out)}, got {np.shape(grad_out)}")
    return numerical_gradient(lambda value: np.sum(op(value) * grad_out), x, h)


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for value, name in ((a, "analytic"), (b, "numeric")):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if a.shape != b.shape:
        raise ValueError(f"the gradients' shapes differ: analytic {a.shape}, numeric {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def _elementwise_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """The largest elementwise relative error between two arrays of the same shape.

    ``max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)`` (CS231n's gradient-check definition; the
    ``1e-8`` floor keeps two zeros from dividing by zero). Rules of thumb in float64: below
    ``1e-7`` the gradients agree; around ``1e-4`` suspect a bug unless there are kinks (ReLU, max
    pooling) near ``x``; above ``1e-2`` the gradient is wrong. Returns 0.0 for empty arrays.
    """
    a, b = _pair(a, b)
    return float(_elementwise_error(a, b).max()) if a.size else 0.0


@dataclass(frozen=True)
class GradientReport:
    """What ``check_gradients`` found: the worst element's index, both values there and the error."""

    name: str
    error: float
    index: tuple[int, ...]
    analytic: float
    numeric: float
    tol: float

    @property
    def passed(self) -> bool:
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
        When the relative error exceeds ``tol``. Its first line names the worst element and both
        values there (``expected 0.001 at (0, 1), got 0``: expected is the numerical gradient);
        the next lines give the report.
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
