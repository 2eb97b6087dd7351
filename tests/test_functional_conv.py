"""conv1d and conv2d: forward against SciPy/NumPy and loop definitions, backward against
central differences and the exact dot-product identity, over random shapes (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from functional_reference import check_backward, conv2d_loop
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import functional as F


def test_conv2d_matches_scipy_correlate(rng):
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    want = np.array(
        [
            [sum(scipy.signal.correlate(x[n, c], w[o, c], mode="valid") for c in range(3)) + b[o] for o in range(4)]
            for n in range(2)
        ]
    )
    np.testing.assert_allclose(F.conv2d(x, w, b), want, rtol=0, atol=1e-10)
    # padding=1 equals "full"-range correlation of the zero-padded image
    want_pad = np.array(
        [
            [sum(scipy.signal.correlate(np.pad(x[n, c], 1), w[o, c], mode="valid") for c in range(3)) for o in range(4)]
            for n in range(2)
        ]
    )
    np.testing.assert_allclose(F.conv2d(x, w, padding=1), want_pad, rtol=0, atol=1e-10)


def test_conv1d_matches_numpy_convolve(rng):
    x = rng.standard_normal((2, 3, 17))
    w = rng.standard_normal((5, 3, 4))
    # np.convolve flips the kernel: correlation is convolution with the reversed kernel
    want = np.array(
        [[sum(np.convolve(x[n, c], w[o, c, ::-1], mode="valid") for c in range(3)) for o in range(5)] for n in range(2)]
    )
    got = F.conv1d(x, w)
    assert got.shape == (2, 5, 14)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((4, 2), 1), ((2, 5), (3, 1)), ((1, 4), 2)])
def test_same_padding_keeps_the_size_and_pads_extra_on_the_bottom_right(kernel, dilation, rng):
    x = rng.standard_normal((1, 2, 7, 8))
    w = rng.standard_normal((3, 2, *kernel))
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    total = (dh * (kernel[0] - 1), dw * (kernel[1] - 1))
    pads = ((total[0] // 2, total[0] - total[0] // 2), (total[1] // 2, total[1] - total[1] // 2))
    got = F.conv2d(x, w, padding="same", dilation=dilation)
    assert got.shape == (1, 3, 7, 8)
    np.testing.assert_allclose(got, conv2d_loop(x, w, pads=pads, dilation=dilation), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(
        F.conv2d(x, w, padding="valid", dilation=dilation), F.conv2d(x, w, padding=0, dilation=dilation)
    )


@pytest.mark.parametrize(
    "kwargs, pads",
    [
        (dict(stride=2, padding=3, dilation=2, groups=2), (3, 3)),
        (dict(padding="same", dilation=3), (3, 3)),
        (dict(padding="same", dilation=1, groups=2), (1, 1)),
    ],
)
def test_conv1d_matches_the_loop_definition_on_a_height_one_image(kwargs, pads, rng):
    groups = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 4, 15))
    w = rng.standard_normal((6, 4 // groups, 3))
    b = rng.standard_normal(6)
    want = conv2d_loop(
        x[:, :, None],
        w[:, :, None],
        b,
        stride=(1, kwargs.get("stride", 1)),
        pads=((0, 0), pads),
        dilation=(1, kwargs["dilation"]),
        groups=groups,
    )[:, :, 0]
    np.testing.assert_allclose(F.conv1d(x, w, b, **kwargs), want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype, rng):
    x = rng.standard_normal((2, 2, 6, 6)).astype(dtype)
    w = rng.standard_normal((3, 2, 3, 3)).astype(dtype)
    b = np.zeros(3, dtype)
    y = F.conv2d(x, w, b, padding=1)
    assert y.dtype == dtype and all(g.dtype == dtype for g in F.conv2d_backward(y, x, w, b, padding=1))
    y1 = F.conv1d(x[:, :, 0], w[:, :, 0], b)
    assert y1.dtype == dtype and all(g.dtype == dtype for g in F.conv1d_backward(y1, x[:, :, 0], w[:, :, 0], b))
    np.testing.assert_allclose(
        y, conv2d_loop(x.astype(np.float64), w.astype(np.float64), pads=((1, 1), (1, 1))), rtol=1e-4, atol=1e-4
    )


CASES_2D = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
    dict(padding="same", dilation=2),
    dict(groups=2, stride=(1, 3), padding=1),
]


@pytest.mark.parametrize("kwargs", CASES_2D)
def test_conv2d_backward_matches_central_differences(kwargs, rng):
    groups = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 4, 6, 7))
    w = rng.standard_normal((2 * groups, 4 // groups, 3, 2))
    b = rng.standard_normal(2 * groups)
    check_backward(F.conv2d, F.conv2d_backward, x, w, b, rng, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=2, dilation=2), dict(padding="same", groups=2)])
def test_conv1d_backward_matches_central_differences(kwargs, rng):
    x = rng.standard_normal((2, 4, 11))
    w = rng.standard_normal((4, 4 // kwargs.get("groups", 1), 4))
    b = rng.standard_normal(4)
    _, (grad_x, grad_w, grad_b) = check_backward(F.conv1d, F.conv1d_backward, x, w, b, rng, **kwargs)
    assert (grad_x.shape, grad_w.shape, grad_b.shape) == (x.shape, w.shape, b.shape)


@st.composite
def conv_problems(draw):
    """Random valid conv2d arguments (small, so that the loop reference stays fast)."""
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = [max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 5)) for k, d, p in zip(kernel, dilation, padding)]
    seed = draw(st.integers(0, 2**32 - 1))
    return groups, c_in, c_out, kernel, stride, dilation, padding, size, seed


@settings(max_examples=40, deadline=None, derandomize=True)
@given(conv_problems())
def test_conv2d_random_shapes_match_the_loop_definition_and_the_dot_product_test(problem):
    groups, c_in, c_out, kernel, stride, dilation, padding, size, seed = problem
    r = np.random.default_rng(seed)
    x = r.standard_normal((2, c_in, *size))
    w = r.standard_normal((c_out, c_in // groups, *kernel))
    b = r.standard_normal(c_out)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = F.conv2d(x, w, b, **kwargs)
    want = conv2d_loop(x, w, b, stride, tuple((p, p) for p in padding), dilation, groups)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-10)
    # conv2d is linear in x and in w, so the gradient must satisfy <grad, v> = <g, conv2d(v)> exactly
    g = r.standard_normal(y.shape)
    grad_x, grad_w, grad_b = F.conv2d_backward(g, x, w, b, **kwargs)
    vx, vw = r.standard_normal(x.shape), r.standard_normal(w.shape)
    pads = tuple((p, p) for p in padding)
    np.testing.assert_allclose(
        (grad_x * vx).sum(), (g * conv2d_loop(vx, w, None, stride, pads, dilation, groups)).sum(), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        (grad_w * vw).sum(), (g * conv2d_loop(x, vw, None, stride, pads, dilation, groups)).sum(), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(grad_b, g.sum(axis=(0, 2, 3)), rtol=1e-12)


def test_matches_torch_when_installed(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 6, 11, 10))
    w = rng.standard_normal((4, 3, 3, 4))
    b = rng.standard_normal(4)
    kwargs = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(F.conv2d(x, w, b, **kwargs), ty.detach().numpy(), atol=1e-12)
    for ours, theirs in zip(F.conv2d_backward(g, x, w, b, **kwargs), (tx, tw, tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("kwargs", CASES_2D)
def test_blocks_of_samples_and_kept_columns_give_the_whole_batch_results(kwargs, monkeypatch, rng):
    """The batch is cut into blocks of samples (here one sample per block), and the training path
    (columns kept by the forward, their memory reused by the next step) gives the stateless results."""
    from course_utils.functional import conv as C

    groups = kwargs.get("groups", 1)
    x, x2 = rng.standard_normal((2, 3, 4, 9, 8))
    w = rng.standard_normal((2 * groups, 4 // groups, 3, 2))
    b = rng.standard_normal(2 * groups)
    y = F.conv2d(x, w, b, **kwargs)
    g = rng.standard_normal(y.shape)
    t_kwargs = {**kwargs, "padding": 0} if kwargs.get("padding") == "same" else kwargs  # transposed conv: y -> x
    t_g = rng.standard_normal(F.conv_transpose2d(y, w, **t_kwargs).shape)

    def everything():
        return [
            F.conv2d(x, w, b, **kwargs),
            *F.conv2d_backward(g, x, w, b, **kwargs),
            F.conv_transpose2d(y, w, np.full(4, b[0]), **t_kwargs),
            *F.conv_transpose2d_backward(t_g, y, w, None, **t_kwargs)[:2],
        ]

    whole = everything()
    monkeypatch.setattr(C, "CHUNK_BYTES", 1)
    for got, want in zip(everything(), whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    spare = None
    for inputs in (x2, x):  # the second step's columns reuse the first step's memory
        out, saved = C.conv2d_saving(inputs, w, b, **kwargs, spare=spare)
        grads = C.conv2d_backward_saved(saved, g, inputs, w, b, **kwargs)
        spare = saved
    for got, want in zip([out, *grads], whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert spare.buffer is not None and spare.columns is None
