"""course_utils.nn.BatchNorm2d: statistics, running estimates (PyTorch's conventions), modes, gradients."""

import numpy as np
import pytest

from course_utils import nn
from course_utils.gradcheck import check_gradients, numerical_gradient, numerical_gradient_op


def test_training_normalises_with_the_biased_batch_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (4, 3, 5, 5))
    bn = nn.BatchNorm2d(3, dtype=np.float64)
    bn.weight.data[:] = [1.0, 2.0, 0.5]
    bn.bias.data[:] = [0.0, -1.0, 1.0]
    y = bn(x)
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * bn.weight.data.reshape(1, 3, 1, 1) + bn.bias.data.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)


def test_running_estimates_use_momentum_and_the_unbiased_variance():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm2d(2, momentum=0.1, dtype=np.float64)
    batches = [rng.normal(5.0, 3.0, (2, 2, 3, 3)) for _ in range(2)]
    mean, var = np.zeros(2), np.ones(2)
    for x in batches:
        bn(x)
        m = x.shape[0] * x.shape[2] * x.shape[3]
        batch_var = x.var(axis=(0, 2, 3)) * m / (m - 1)
        mean, var = 0.9 * mean + 0.1 * x.mean(axis=(0, 2, 3)), 0.9 * var + 0.1 * batch_var
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)


def test_evaluation_uses_running_estimates_and_does_not_update_them():
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    for _ in range(30):
        bn(rng.normal(2.0, 0.5, (8, 2, 4, 4)))
    before = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval()
    x = rng.normal(2.0, 0.5, (3, 2, 4, 4))
    y = bn(x)
    np.testing.assert_array_equal(bn.running_mean, before[0])
    expected = (x - before[0].reshape(1, 2, 1, 1)) / np.sqrt(before[1].reshape(1, 2, 1, 1) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_allclose(bn(x[:1]), y[:1], rtol=1e-12)  # one image's output ignores its batch
    bn.train()
    assert not np.allclose(bn(x[:1]), y[:1])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(np.ones((1, 2, 1, 1)))


@pytest.mark.parametrize("training", [True, False])
def test_gradients_in_both_modes(training):
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm2d(3, dtype=np.float64)
    bn.running_mean[:], bn.running_var[:] = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    bn.weight.data[:], bn.bias.data[:] = rng.standard_normal(3), rng.standard_normal(3)
    bn.train(training)
    x = rng.standard_normal((2, 3, 3, 2))
    grad_out = rng.standard_normal(x.shape)
    bn(x)
    grad_x = bn.backward(grad_out)
    check_gradients(grad_x, numerical_gradient_op(bn, x, grad_out), name="grad_x", tol=1e-6)
    for name in ("weight", "bias"):
        parameter = getattr(bn, name)
        numeric = numerical_gradient(lambda _: np.sum(bn(x) * grad_out), parameter.data)
        check_gradients(parameter.grad, numeric, name=name, tol=1e-6)


def test_functional_pair_shapes_and_errors():
    x = np.random.default_rng(4).standard_normal((2, 3, 2, 2))
    ones, zeros = np.ones(3), np.zeros(3)
    grads = nn.batch_norm2d_backward(np.ones_like(x), x, ones, zeros)
    assert [g.shape for g in grads] == [x.shape, (3,), (3,)]
    np.testing.assert_allclose(grads[0], 0.0, atol=1e-12)  # a constant upstream gradient is normalised away
    with pytest.raises(ValueError, match="mean and var must be given together"):
        nn.batch_norm2d(x, ones, zeros, mean=zeros)
    with pytest.raises(ValueError, match=r"BatchNorm2d: x must have shape \(N, 3, H, W\)"):
        nn.BatchNorm2d(3)(np.ones((2, 4, 2, 2)))
