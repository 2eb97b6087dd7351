"""course_utils.gradcheck: numerical gradients, relative error and the gradient check report."""

import numpy as np
import pytest

from course_utils.gradcheck import check_gradients, numerical_gradient, numerical_gradient_op, relative_error


def test_numerical_gradient_of_a_cubic_matches_the_derivative():
    x = np.random.default_rng(0).standard_normal((3, 4))
    got = numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(got, 3 * x**2, rtol=1e-8, atol=1e-10)
    assert got.shape == x.shape and got.dtype == np.float64


def test_numerical_gradient_restores_x_even_when_f_raises():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    before = x.copy()
    numerical_gradient(lambda v: float(v @ np.ones(3) @ np.ones(2)), x)
    np.testing.assert_array_equal(x, before)

    def fails(v):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(fails, x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_refuses_what_it_cannot_perturb_precisely():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        numerical_gradient(np.sum, [1.0, 2.0])


def test_numerical_gradient_op_is_the_vector_jacobian_product():
    rng = np.random.default_rng(1)
    x, grad_out = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    got = numerical_gradient_op(lambda v: v * v, x, grad_out)
    np.testing.assert_allclose(got, 2 * x * grad_out, rtol=1e-7, atol=1e-10)
    summed = numerical_gradient_op(lambda v: v.sum(axis=1), x, np.array([1.0, -2.0]))
    np.testing.assert_allclose(summed, np.array([[1.0] * 5, [-2.0] * 5]), rtol=1e-8)
    with pytest.raises(ValueError, match=r"grad_out must have op\(x\)'s shape \(2, 5\)"):
        numerical_gradient_op(lambda v: v, x, np.ones((5, 2)))


def test_relative_error_is_cs231n_definition():
    a, b = np.array([1.0, 0.0, -2.0]), np.array([1.1, 0.0, -2.0])
    assert relative_error(a, b) == pytest.approx(0.1 / 2.1)
    assert relative_error(np.zeros(4), np.zeros(4)) == 0.0
    assert relative_error(np.array([1e-9]), np.array([0.0])) == pytest.approx(0.1)  # the 1e-8 floor
    with pytest.raises(ValueError, match=r"analytic \(3,\), numeric \(2,\)"):
        relative_error(a, b[:2])


def test_check_gradients_reports_and_passes():
    report = check_gradients(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), name="w")
    assert report.passed and report.index == (1,)
    assert str(report).startswith("w: OK, max relative error")


def test_check_gradients_names_the_worst_element():
    analytic = np.zeros((2, 3))
    numeric = analytic.copy()
    numeric[0, 1] = 1e-3
    numeric[1, 2] = 0.5
    analytic[1, 2] = 0.25
    with pytest.raises(
        AssertionError,
        match=r"^expected 0\.001 at \(0, 1\), got 0\n"
        r"  in grad_x: MISMATCH.*at index \(0, 1\): analytic 0, numeric 0\.001",
    ):
        check_gradients(analytic, numeric, name="grad_x")
    with pytest.raises(AssertionError, match="MISMATCH"):
        check_gradients(np.array([np.nan]), np.array([0.0]))
    with pytest.raises(TypeError, match="analytic must be a numpy.ndarray"):
        check_gradients([0.0], np.zeros(1))
