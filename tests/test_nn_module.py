"""course_utils.nn.module and construction of the layers: parameters, names, modes, repr, initialisation."""

import numpy as np
import pytest

from course_utils import functional as F
from course_utils import nn


def small_net(**kwargs):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, **kwargs),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 2 * 2, 3, **kwargs),
    )


def test_named_parameters_use_dotted_names_in_order():
    model = small_net()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"]
    assert [p.shape for p in model.parameters()] == [(4, 1, 3, 3), (4,), (4,), (4,), (3, 16), (3,)]
    assert model[5] is model.modules[5] and len(model) == 6
    nested = nn.Sequential(nn.Sequential(nn.Linear(2, 2)), nn.ReLU())
    assert [name for name, _ in nested.named_parameters()] == ["0.0.weight", "0.0.bias"]


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Sequential(nn.BatchNorm2d(2)), nn.ReLU())
    assert model.eval() is model
    assert not model.training and not model[0][0].training
    model.train()
    assert model[0][0].training and model[1].training


def test_repr_reads_like_pytorch():
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 10, bias=False)
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)\n"
        "  (3): Flatten(start_dim=1, end_dim=-1)\n"
        "  (4): Linear(in_features=8, out_features=10, bias=False)\n"
        ")"
    )
    assert repr(nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, groups=2, bias=False)) == (
        "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1), groups=2, bias=False)"
    )
    assert repr(nn.BatchNorm2d(8)) == "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(nn.Parameter(np.zeros((2, 3)), requires_grad=False)) == (
        "Parameter(shape=(2, 3), dtype=float64, requires_grad=False)"
    )


@pytest.mark.parametrize(
    "layer, shape, fan_in",
    [
        (lambda rng: nn.Conv2d(16, 64, 3, rng=rng), (64, 16, 3, 3), 16 * 9),
        (lambda rng: nn.Conv2d(16, 64, (3, 5), groups=4, rng=rng), (64, 4, 3, 5), 4 * 15),
        (lambda rng: nn.ConvTranspose2d(16, 64, 3, groups=2, rng=rng), (16, 32, 3, 3), 8 * 9),
        (lambda rng: nn.Linear(300, 200, rng=rng), (200, 300), 300),
    ],
)
def test_he_initialisation_is_seeded_float32_with_zero_bias(layer, shape, fan_in):
    a, b = layer(np.random.default_rng(7)), layer(np.random.default_rng(7))
    w = a.weight.data
    assert w.shape == shape and w.dtype == np.float32
    np.testing.assert_array_equal(w, b.weight.data)
    assert abs(w.std() / np.sqrt(2 / fan_in) - 1) < 0.1
    assert abs(w.mean()) < 0.1 * w.std()
    assert not a.bias.data.any() and a.bias.data.dtype == np.float32
    assert not np.array_equal(w, layer(np.random.default_rng(8)).weight.data)


def test_default_generator_and_dtype_keyword():
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.data, nn.Linear(3, 2).weight.data)
    model = small_net(dtype=np.float64)
    assert model[0].weight.data.dtype == np.float64
    x = np.ones((2, 1, 4, 4))
    assert nn.Conv2d(1, 2, 3)(x).dtype == np.float32  # inputs are cast to the layer's dtype


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "divisible by groups"),
        (lambda: nn.Conv2d(0, 4, 3), ValueError, "in_channels must be positive"),
        (lambda: nn.Conv2d(1, 4, (3, 3, 3)), TypeError, "kernel_size"),
        (lambda: nn.Conv2d(1, 4, 3, stride=0), ValueError, "stride"),
        (lambda: nn.Conv2d(1, 4, 3, rng=42), TypeError, "rng must be a numpy.random.Generator"),
        (lambda: nn.Linear(2.5, 3), TypeError, "in_features"),
        (lambda: nn.Conv2d(1, 4, 3, padding="full"), ValueError, "padding must be"),
        (lambda: nn.Conv2d(1, 4, 3, padding="same", stride=2), ValueError, "needs stride 1"),
        (lambda: nn.MaxPool2d(0), ValueError, "kernel_size"),
        (lambda: nn.AvgPool2d(2, padding=-1), ValueError, "padding"),
        (lambda: nn.BatchNorm2d(4, momentum=2.0), ValueError, "momentum"),
        (lambda: nn.BatchNorm2d(4, momentum=None), ValueError, "momentum"),
        (lambda: nn.Sequential(nn.ReLU(), "relu"), TypeError, "argument 1 is a str"),
        (lambda: nn.Parameter([1.0]), TypeError, "data must be a numpy.ndarray"),
    ],
)
def test_bad_construction_raises_naming_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "arguments",
    [
        {"stride": 1.0},
        {"stride": True},
        {"stride": 0},
        {"stride": (1, 2, 3)},
        {"dilation": np.float64(2)},
        {"dilation": 0},
        {"padding": -1},
        {"padding": 1.5},
        {"padding": "full"},
        {"padding": "same", "stride": 2},
        {"groups": 0},
        {"groups": 2.0},
    ],
)
def test_layers_and_ops_refuse_an_argument_with_the_same_error(arguments):
    # One rule (functional/_args.py) for both: the layer refuses at construction what the op refuses.
    x, weight = np.ones((1, 2, 6, 6)), np.ones((2, 2, 3, 3))
    with pytest.raises((TypeError, ValueError)) as from_op:
        F.conv2d(x, weight, **arguments)
    with pytest.raises(type(from_op.value)) as from_layer:
        nn.Conv2d(2, 2, 3, **arguments)
    assert str(from_layer.value) == str(from_op.value)


def test_bad_input_and_backward_before_forward():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d: x.shape\[1\] must be 3, got shape \(2, 1, 5, 5\)"):
        conv(np.ones((2, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"Linear: x.shape\[-1\] must be 4, got shape \(3,\)"):
        nn.Linear(4, 2)(np.ones(3))
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        nn.ReLU()([1.0])
    for layer in (conv, nn.Linear(2, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.BatchNorm2d(2)):
        with pytest.raises(RuntimeError, match="backward called before forward"):
            layer.backward(np.ones((1, 2)))


def test_importing_nn_loads_neither_matplotlib_nor_tqdm():
    # They load when a plot or a progress bar is asked for: a script that only trains starts fast.
    import subprocess
    import sys

    code = "import sys, course_utils.nn; print(sorted(m for m in ('matplotlib', 'tqdm') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"import course_utils.nn loaded {loaded}"
