"""course_utils.nn layers: forward against direct definitions, float64 gradient checks of every backward."""

import numpy as np
import pytest

from course_utils import functional as F
from course_utils import nn
from course_utils.gradcheck import check_gradients, numerical_gradient, numerical_gradient_op
from course_utils.grading import ForbiddenCallError, forbidden

f64 = {"dtype": np.float64}


def gradient_check(layer, x, *, seed=0, tol=1e-6):
    """Check ``layer.backward`` for the input and every parameter against central differences."""
    rng = np.random.default_rng(seed)
    grad_out = rng.standard_normal(layer(x).shape)
    layer.zero_grad()
    grad_x = layer.backward(grad_out)
    analytic = {name: p.grad.copy() for name, p in layer.named_parameters()}
    check_gradients(grad_x, numerical_gradient_op(layer, x, grad_out), name=f"{layer!r} grad_x", tol=tol)
    for name, parameter in layer.named_parameters():
        numeric = numerical_gradient(lambda _: np.sum(layer(x) * grad_out), parameter.data)
        check_gradients(analytic[name], numeric, name=f"{layer!r} grad {name}", tol=tol)


def direct_conv2d(x, w, b, stride, padding, dilation, groups):
    """The definition, one output element at a time (independent of course_utils.functional)."""
    n, c_in, h, wd = x.shape
    c_out, c_in_g, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    w_out = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, c_out, h_out, w_out))
    per_group = c_out // groups
    for i in range(n):
        for o in range(c_out):
            g = o // per_group
            for r in range(h_out):
                for c in range(w_out):
                    patch = xp[
                        i,
                        g * c_in_g : (g + 1) * c_in_g,
                        r * stride : r * stride + dilation * (kh - 1) + 1 : dilation,
                        c * stride : c * stride + dilation * (kw - 1) + 1 : dilation,
                    ]
                    out[i, o, r, c] = np.sum(patch * w[o]) + b[o]
    return out


def test_conv2d_forward_is_the_definition():
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, rng=rng, **f64)
    conv.bias.data[:] = rng.standard_normal(6)
    x = rng.standard_normal((2, 4, 7, 6))
    expected = direct_conv2d(x, conv.weight.data, conv.bias.data, 2, 1, 2, 2)
    np.testing.assert_allclose(conv(x), expected, rtol=1e-10, atol=1e-12)


def test_linear_pools_relu_flatten_forward():
    rng = np.random.default_rng(1)
    linear = nn.Linear(5, 3, rng=rng, **f64)
    x = rng.standard_normal((4, 5))
    np.testing.assert_allclose(linear(x), x @ linear.weight.data.T + linear.bias.data, rtol=1e-12)
    images = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(images), [[[[5.0, 7.0], [13.0, 15.0]]]])
    np.testing.assert_array_equal(nn.AvgPool2d(2)(images), [[[[2.5, 4.5], [10.5, 12.5]]]])
    np.testing.assert_array_equal(nn.ReLU()(np.array([-1.0, 0.5])), [0.0, 0.5])
    assert nn.Flatten()(np.zeros((3, 2, 4, 5))).shape == (3, 40)


def away_from_zero(rng, shape):
    """Random values at least 0.05 from zero (ReLU's kink) and, in practice, free of ties (max pooling)."""
    x = rng.uniform(0.05, 1.0, shape)
    return x * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda rng: nn.Conv2d(2, 3, 3, rng=rng, **f64), (2, 2, 5, 5)),
        (lambda rng: nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=2, groups=2, rng=rng, **f64), (2, 4, 7, 6)),
        (lambda rng: nn.Conv2d(2, 2, 3, padding="same", bias=False, rng=rng, **f64), (1, 2, 4, 5)),
        (lambda rng: nn.ConvTranspose2d(2, 3, 3, rng=rng, **f64), (2, 2, 3, 4)),
        (
            lambda rng: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, rng=rng, **f64),
            (1, 4, 3, 3),
        ),
        (lambda rng: nn.ConvTranspose2d(2, 2, 2, stride=(2, 1), dilation=2, bias=False, rng=rng, **f64), (1, 2, 3, 3)),
        (lambda rng: nn.Linear(5, 4, rng=rng, **f64), (3, 5)),
        (lambda rng: nn.MaxPool2d(2), (2, 2, 4, 5)),
        (lambda rng: nn.MaxPool2d(3, stride=2, padding=1, dilation=1), (1, 2, 5, 5)),
        (lambda rng: nn.MaxPool2d(2, stride=1, dilation=2), (1, 1, 5, 5)),
        (lambda rng: nn.AvgPool2d(2), (2, 2, 4, 4)),
        (lambda rng: nn.AvgPool2d(3, stride=2, padding=1), (1, 2, 5, 6)),
        (lambda rng: nn.ReLU(), (2, 3, 4)),
        (lambda rng: nn.Flatten(), (2, 3, 2, 2)),
    ],
)
def test_layer_gradients(make, shape):
    rng = np.random.default_rng(3)
    gradient_check(make(rng), away_from_zero(rng, shape))


def test_backward_accumulates_and_zero_grad_clears():
    rng = np.random.default_rng(4)
    conv = nn.Conv2d(1, 2, 3, rng=rng, **f64)
    x = rng.standard_normal((1, 1, 4, 4))
    grad_out = rng.standard_normal(conv(x).shape)
    conv.backward(grad_out)
    once = conv.weight.grad.copy()
    conv.backward(grad_out)
    np.testing.assert_allclose(conv.weight.grad, 2 * once)
    conv.zero_grad()
    assert conv.weight.grad is None and conv.bias.grad is None


def test_frozen_parameter_gets_no_gradient_but_passes_one_on():
    rng = np.random.default_rng(5)
    linear = nn.Linear(3, 2, rng=rng, **f64)
    linear.weight.requires_grad = False
    x = rng.standard_normal((4, 3))
    linear(x)
    grad_x = linear.backward(np.ones((4, 2)))
    assert linear.weight.grad is None
    np.testing.assert_allclose(linear.bias.grad, [4.0, 4.0])
    np.testing.assert_allclose(grad_x, np.ones((4, 2)) @ linear.weight.data)


def test_small_network_gradient_through_the_loss():
    rng = np.random.default_rng(6)
    model = nn.Sequential(
        # no bias before BatchNorm: its gradient is exactly 0 and only rounding noise would be compared
        nn.Conv2d(1, 3, 3, padding=1, bias=False, rng=rng, **f64),
        nn.BatchNorm2d(3, dtype=np.float64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 2, rng=rng, **f64),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 2 * 2, 3, rng=rng, **f64),
    )
    x = rng.standard_normal((4, 1, 6, 6))
    y = np.array([0, 2, 1, 2])
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(x), y)
    model.zero_grad()
    grad_x = model.backward(loss_fn.backward())
    analytic = {name: p.grad.copy() for name, p in model.named_parameters()}

    def loss(_):
        return loss_fn(model(x), y)

    check_gradients(grad_x, numerical_gradient(loss, x), name="network grad_x", tol=1e-5)
    for name, parameter in model.named_parameters():
        check_gradients(analytic[name], numerical_gradient(loss, parameter.data), name=name, tol=1e-5)


def test_cross_entropy_loss_value_and_gradient():
    logits = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    targets = np.array([0, 1])
    loss_fn = nn.CrossEntropyLoss()
    assert loss_fn(logits, targets) == pytest.approx(-(np.log(0.5) + np.log(0.25)) / 2)
    np.testing.assert_allclose(loss_fn.backward(), [[-0.25, 0.25], [0.375, -0.375]])
    np.testing.assert_allclose(loss_fn.backward(2.0), [[-0.5, 0.5], [0.75, -0.75]])


@pytest.mark.parametrize(
    "make, shape",
    [
        (
            lambda rng: nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, rng=rng, dtype=np.float32),
            (3, 4, 9, 8),
        ),
        (lambda rng: nn.Conv2d(2, 3, (3, 2), padding="same", rng=rng, dtype=np.float32), (2, 2, 5, 6)),
        (lambda rng: nn.MaxPool2d(3, stride=1, padding=1), (2, 3, 6, 5)),
        (lambda rng: nn.MaxPool2d(2), (2, 3, 6, 6)),
    ],
)
def test_training_reuses_the_forward_and_gives_the_stateless_gradients(make, shape):
    """In training mode the layer keeps its forward's columns / argmax and releases them in backward;
    the gradients are those of the stateless <op>_backward, ties (ReLU zeros) included."""
    rng = np.random.default_rng(8)
    layer = make(rng)
    x = np.maximum(rng.standard_normal(shape).astype(np.float32), 0)  # many exact ties at 0
    y = layer(x)
    assert layer.saved is not None
    grad_out = rng.standard_normal(y.shape).astype(np.float32)
    grad_x = layer.backward(grad_out)
    assert layer.saved is None
    if isinstance(layer, nn.Conv2d):
        expected = F.conv2d_backward(grad_out, x, layer.weight.data, layer.bias.data, **layer._args())
        np.testing.assert_array_equal(layer.weight.grad, expected[1])
        expected = expected[0]
    else:
        expected = F.max_pool2d_backward(grad_out, x, layer.kernel_size, layer.stride, layer.padding)
    np.testing.assert_array_equal(grad_x, expected)
    np.testing.assert_array_equal(layer.backward(grad_out), expected)  # a second backward recomputes
    layer.eval()
    layer(x)
    assert layer.saved is None  # nothing is kept for a backward pass in evaluation mode


def test_forbidden_functional_switches_the_layers_off():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 1, 4, 4)).astype(np.float32)
    for layer in (nn.Conv2d(1, 1, 3, rng=rng), nn.MaxPool2d(2)):
        with forbidden("course_utils.functional"), pytest.raises(ForbiddenCallError):
            layer(x)
        grad_out = np.ones_like(layer(x))
        with forbidden("course_utils.functional"), pytest.raises(ForbiddenCallError):
            layer.backward(grad_out)
