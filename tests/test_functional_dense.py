"""relu, linear and cross_entropy: definitions, numerical stability and backward passes
against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from functional_reference import check_backward, numerical_gradient

from course_utils import functional as F


def test_relu_and_its_gradient_at_zero(rng):
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(F.relu(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(F.relu_backward(np.array([[5.0, 5.0, 5.0]]), x), [[0.0, 0.0, 5.0]])
    x = rng.standard_normal((3, 4, 5))
    g = rng.standard_normal(x.shape)
    np.testing.assert_allclose(F.relu_backward(g, x), numerical_gradient(lambda v: (F.relu(v) * g).sum(), x), atol=1e-8)


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear_and_its_backward(shape, rng):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((3, 4))
    b = rng.standard_normal(3)
    y = F.linear(x, w, b)
    assert y.shape == (*shape[:-1], 3)
    np.testing.assert_allclose(y, np.einsum("...i,oi->...o", x, w) + b, rtol=1e-12)
    check_backward(F.linear, F.linear_backward, x, w, b, rng, atol=1e-8)
    assert F.linear(x, w).shape == y.shape


def test_cross_entropy_definition(rng):
    logits = rng.standard_normal((6, 4))
    targets = np.array([0, 3, 1, 1, 2, 0])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    want = -np.mean(np.log(p[np.arange(6), targets]))
    got = F.cross_entropy(logits, targets)
    assert isinstance(got, np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert F.cross_entropy(np.zeros((2, 5)), np.array([1, 4])) == pytest.approx(np.log(5), rel=1e-12)
    assert isinstance(F.cross_entropy(logits.astype(np.float32), targets), np.float32)


def test_cross_entropy_is_numerically_stable():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    targets = np.array([0, 2])
    np.testing.assert_allclose(F.cross_entropy(logits, targets), 500.0, rtol=1e-12)  # (0 + 1000) / 2
    grad = F.cross_entropy_backward(1.0, logits, targets)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0, 0, 0], [0, 0.5, -0.5]], atol=1e-12)
    assert np.isfinite(F.cross_entropy(logits.astype(np.float32) * 50, targets))


@pytest.mark.parametrize("grad_out", [1.0, 2.5, np.float64(0.5), np.array(3.0)])
def test_cross_entropy_backward_matches_central_differences(grad_out, rng):
    logits = rng.standard_normal((5, 3))
    targets = rng.integers(0, 3, 5)
    grad = F.cross_entropy_backward(grad_out, logits, targets)
    numeric = numerical_gradient(lambda v: float(grad_out) * F.cross_entropy(v, targets), logits)
    np.testing.assert_allclose(grad, numeric, atol=1e-8)
    assert grad.dtype == np.float64
    assert F.cross_entropy_backward(grad_out, logits.astype(np.float32), targets).dtype == np.float32


def test_matches_torch_when_installed(rng):
    torch = pytest.importorskip("torch")
    logits = rng.standard_normal((7, 5)) * 3
    targets = rng.integers(0, 5, 7)
    t = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(t, torch.tensor(targets))
    loss.backward()
    np.testing.assert_allclose(F.cross_entropy(logits, targets), loss.item(), rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy_backward(1.0, logits, targets), t.grad.numpy(), atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_linear_keep_the_dtype(dtype, rng):
    x = rng.standard_normal((2, 3)).astype(dtype)
    w = rng.standard_normal((4, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    assert F.relu(x).dtype == dtype and F.relu_backward(x, x).dtype == dtype
    y = F.linear(x, w, b)
    assert y.dtype == dtype and all(g.dtype == dtype for g in F.linear_backward(y, x, w, b))
