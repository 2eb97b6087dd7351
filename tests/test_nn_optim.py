"""course_utils.nn optimisers: PyTorch's update rules against steps computed by hand."""

import numpy as np
import pytest

from course_utils import nn


def param(value, grad):
    p = nn.Parameter(np.array(value, dtype=np.float64))
    p.grad = np.array(grad, dtype=np.float64)
    return p


def test_sgd_plain_step():
    p = param([1.0, -2.0], [0.5, 1.0])
    nn.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.1])


def test_sgd_momentum_and_weight_decay_by_hand():
    p = param([1.0], [0.5])
    opt = nn.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step()  # g = 0.5 + 0.01 * 1 = 0.51; b = g; p = 1 - 0.051
    np.testing.assert_allclose(p.data, [0.949])
    p.grad = np.array([0.5])
    opt.step()  # g = 0.5 + 0.00949 = 0.50949; b = 0.9 * 0.51 + 0.50949 = 0.96849; p = 0.949 - 0.096849
    np.testing.assert_allclose(p.data, [0.852151])


def test_adam_two_steps_by_hand():
    p = param([1.0], [0.5])
    opt = nn.Adam([p], lr=0.1)
    opt.step()  # m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25; p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    np.testing.assert_allclose(p.data, [1 - 0.1 * 0.5 / (0.5 + 1e-8)], rtol=1e-12)
    p.grad = np.array([-1.0])
    opt.step()
    m = 0.9 * 0.05 + 0.1 * -1.0
    v = 0.999 * 0.00025 + 0.001 * 1.0
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = 1 - 0.1 * 0.5 / (0.5 + 1e-8) - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(p.data, [expected], rtol=1e-12)


def test_adam_weight_decay_is_added_to_the_gradient():
    p = param([2.0], [0.0])
    nn.Adam([p], lr=0.1, weight_decay=0.5).step()  # g = 1.0: the first Adam step moves by lr
    np.testing.assert_allclose(p.data, [1.9], rtol=1e-7)


def test_frozen_and_gradless_parameters_are_skipped_and_dtype_kept():
    frozen, gradless = param([1.0], [1.0]), param([1.0], [1.0])
    frozen.requires_grad = False
    gradless.grad = None
    single = nn.Parameter(np.ones(2, dtype=np.float32))
    single.grad = np.full(2, 0.5, dtype=np.float32)
    for opt in (nn.SGD([frozen, gradless, single], lr=0.1, momentum=0.9), nn.Adam([frozen, gradless, single])):
        opt.step()
    np.testing.assert_array_equal(frozen.data, [1.0])
    np.testing.assert_array_equal(gradless.data, [1.0])
    assert single.data.dtype == np.float32 and (single.data < 1).all()


def test_zero_grad_and_model_freezing():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    model[0].weight.requires_grad = False
    before = model[0].weight.data.copy()
    opt = nn.SGD(model.parameters(), lr=1.0)
    model(np.ones((3, 2)))
    model.backward(np.ones((3, 1), dtype=np.float32))
    opt.step()
    np.testing.assert_array_equal(model[0].weight.data, before)
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda p: nn.SGD(p, lr=-1.0), ValueError, "lr"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=1.0), ValueError, "momentum"),
        (lambda p: nn.SGD(p, lr=0.1, weight_decay=-1.0), ValueError, "weight_decay"),
        (lambda p: nn.Adam(p, betas=(0.9,)), ValueError, "betas"),
        (lambda p: nn.Adam([]), ValueError, "params is empty"),
        (lambda p: nn.Adam([np.zeros(2)]), TypeError, r"params\[0\] must be a Parameter"),
    ],
)
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make([param([0.0], [0.0])])
