"""max_pool2d and avg_pool2d: loop definitions over random shapes, tie-breaking like PyTorch,
and the backward passes against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from functional_reference import avg_pool2d_loop, max_pool2d_loop, numerical_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import functional as F


def test_small_example_by_hand():
    x = np.array([[1.0, 2.0, 5.0, 0.0], [3.0, 4.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0], [0.0, 9.0, 2.0, 2.0]])[None, None]
    np.testing.assert_array_equal(F.max_pool2d(x, 2), [[[[4.0, 5.0], [9.0, 2.0]]]])
    np.testing.assert_array_equal(F.avg_pool2d(x, 2), [[[[2.5, 1.75], [2.25, 2.0]]]])
    grad = F.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2)
    # the bottom-right window is a four-way tie: the first element (row-major) takes it all
    np.testing.assert_array_equal(grad[0, 0], [[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(F.avg_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2), np.full(x.shape, 0.25))


def test_padding_is_minus_infinity_for_max_and_zero_for_avg():
    x = -np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(F.max_pool2d(x, 2, stride=1, padding=1), -np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, stride=1, padding=1)[0, 0, 0], [-0.25, -0.5, -0.25])


@st.composite
def pool_problems(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = tuple(
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4)) for k, d, p in zip(kernel, dilation, padding)
    )
    ties = draw(st.booleans())
    return kernel, stride, padding, dilation, size, ties, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(pool_problems())
def test_random_shapes_match_the_loop_definitions(problem):
    kernel, stride, padding, dilation, size, ties, seed = problem
    r = np.random.default_rng(seed)
    x = r.standard_normal((2, 3, *size))
    if ties:
        x = np.round(x)  # many equal values: the gradient goes to the first maximum of each window
    out, backward = max_pool2d_loop(x, kernel, stride, padding, dilation)
    got = F.max_pool2d(x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(got, out)
    g = r.standard_normal(out.shape)
    np.testing.assert_allclose(
        F.max_pool2d_backward(g, x, kernel, stride, padding, dilation), backward(g), rtol=0, atol=1e-12
    )
    avg = F.avg_pool2d(x, kernel, stride, padding)
    np.testing.assert_allclose(avg, avg_pool2d_loop(x, kernel, stride, padding), rtol=0, atol=1e-12)
    # avg_pool2d is linear: its backward pass satisfies <grad_x, v> = <g, avg_pool2d(v)>
    g = r.standard_normal(avg.shape)
    v = r.standard_normal(x.shape)
    np.testing.assert_allclose(
        (F.avg_pool2d_backward(g, x, kernel, stride, padding) * v).sum(),
        (g * avg_pool2d_loop(v, kernel, stride, padding)).sum(),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
    ],
)
def test_max_pool2d_backward_matches_central_differences(kwargs, rng):
    x = rng.permutation(120).reshape(2, 3, 4, 5) / 10.0  # distinct values: the max is differentiable
    g = rng.standard_normal(F.max_pool2d(x, **kwargs).shape)
    numeric = numerical_gradient(lambda v: (F.max_pool2d(v, **kwargs) * g).sum(), x, eps=1e-4)
    np.testing.assert_allclose(F.max_pool2d_backward(g, x, **kwargs), numeric, atol=1e-8)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1)),
    ],
)
def test_avg_pool2d_backward_matches_central_differences(kwargs, rng):
    x = rng.standard_normal((2, 3, 5, 4))
    g = rng.standard_normal(F.avg_pool2d(x, **kwargs).shape)
    numeric = numerical_gradient(lambda v: (F.avg_pool2d(v, **kwargs) * g).sum(), x)
    np.testing.assert_allclose(F.avg_pool2d_backward(g, x, **kwargs), numeric, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype, rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    for op, backward in ((F.max_pool2d, F.max_pool2d_backward), (F.avg_pool2d, F.avg_pool2d_backward)):
        y = op(x, 3, 2, 1)
        assert y.dtype == dtype and backward(y, x, 3, 2, 1).dtype == dtype


def test_matches_torch_when_installed(rng):
    torch = pytest.importorskip("torch")
    x = np.round(rng.standard_normal((2, 3, 9, 8)), 1)
    for kwargs in (dict(kernel_size=3, stride=2, padding=1, dilation=2), dict(kernel_size=(2, 3), stride=(1, 2))):
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.max_pool2d(tx, **kwargs)
        g = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(g))
        np.testing.assert_array_equal(F.max_pool2d(x, **kwargs), ty.detach().numpy())
        np.testing.assert_allclose(F.max_pool2d_backward(g, x, **kwargs), tx.grad.numpy(), atol=1e-12)
