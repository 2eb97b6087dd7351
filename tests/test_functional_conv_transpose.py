"""conv_transpose2d: the scatter definition, the adjoint identity with conv2d, the output-size
formula, and its backward pass against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from functional_reference import check_backward, conv_transpose2d_loop
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import functional as F


def test_a_single_pixel_stamps_the_kernel():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 2.0
    w = np.arange(4.0).reshape(1, 1, 2, 2)
    want = np.zeros((1, 1, 7, 7))
    want[0, 0, 2:4, 2:4] = 2.0 * w[0, 0]  # stride 2: pixel (1, 1) starts at (2, 2)
    np.testing.assert_array_equal(F.conv_transpose2d(x, w, stride=2, output_padding=1), want)


@st.composite
def transpose_problems(draw):
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    # the padding may not make the output empty
    padding = tuple(
        draw(st.integers(0, min(2, ((n - 1) * s + d * (k - 1) + op) // 2)))
        for n, s, d, k, op in zip(size, stride, dilation, kernel, output_padding)
    )
    return groups, c_in, c_out, kernel, stride, dilation, padding, output_padding, size, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(transpose_problems())
def test_random_shapes_match_the_scatter_definition_and_are_the_adjoint_of_conv2d(problem):
    groups, c_in, c_out, kernel, stride, dilation, padding, output_padding, size, seed = problem
    r = np.random.default_rng(seed)
    x = r.standard_normal((2, c_in, *size))
    w = r.standard_normal((c_in, c_out // groups, *kernel))
    b = r.standard_normal(c_out)
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    y = F.conv_transpose2d(x, w, b, **kwargs)
    formula = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, s, p, d, k, op in zip(size, stride, padding, dilation, kernel, output_padding)
    )
    assert y.shape == (2, c_out, *formula)
    np.testing.assert_allclose(y, conv_transpose2d_loop(x, w, b, **kwargs), rtol=0, atol=1e-10)
    # adjoint (dot-product) identity: <conv2d(a, w), x> = <a, conv_transpose2d(x, w)>
    a = r.standard_normal(y.shape)
    conv = F.conv2d(a, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    conv = conv[:, :, : size[0], : size[1]]  # an output_padding >= stride leaves one extra row/column
    lhs = (conv * x).sum()
    rhs = (a * F.conv_transpose2d(x, w, **kwargs)).sum()
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)
    # the backward pass satisfies the same exact identities (the op is linear in x and in w)
    g = r.standard_normal(y.shape)
    grad_x, grad_w, grad_b = F.conv_transpose2d_backward(g, x, w, b, **kwargs)
    vx, vw = r.standard_normal(x.shape), r.standard_normal(w.shape)
    np.testing.assert_allclose(
        (grad_x * vx).sum(), (g * conv_transpose2d_loop(vx, w, None, **kwargs)).sum(), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        (grad_w * vw).sum(), (g * conv_transpose2d_loop(x, vw, None, **kwargs)).sum(), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(grad_b, g.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(stride=2, padding=1, output_padding=1),
        dict(stride=(1, 2), dilation=(2, 1), padding=(1, 0), output_padding=(1, 0)),
        dict(groups=2, stride=2),
    ],
)
def test_backward_matches_central_differences(kwargs, rng):
    groups = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 4, 4, 3))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(3 * groups)
    check_backward(F.conv_transpose2d, F.conv_transpose2d_backward, x, w, b, rng, **kwargs)


def test_float32_is_kept_and_matches_torch_when_installed(rng):
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(6)
    kwargs = dict(stride=(2, 3), padding=1, output_padding=(1, 2), groups=2, dilation=(1, 1))
    y32 = F.conv_transpose2d(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), **kwargs)
    assert y32.dtype == np.float32
    torch = pytest.importorskip("torch")
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, **kwargs)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(F.conv_transpose2d(x, w, b, **kwargs), ty.detach().numpy(), atol=1e-12)
    for ours, theirs in zip(F.conv_transpose2d_backward(g, x, w, b, **kwargs), (tx, tw, tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-12)
