"""Bad input raises TypeError or ValueError whose message names the argument and the shapes;
nothing is broadcast or cast silently."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import functional as F

x4 = np.zeros((2, 3, 5, 5))
w4 = np.zeros((4, 3, 3, 3))
x3 = np.zeros((2, 3, 9))
w3 = np.zeros((4, 3, 3))
y4 = np.zeros((2, 4, 3, 3))  # conv2d(x4, w4) output
wt = np.zeros((3, 2, 3, 3))  # conv_transpose2d weight for x4: output (2, 2, 7, 7)

CASES = {
    # wrong number of dimensions
    "conv2d x 3-D": (lambda: F.conv2d(x3, w4), ValueError, ["x", "4 dimensions", "(2, 3, 9)"]),
    "conv2d weight 3-D": (lambda: F.conv2d(x4, w3), ValueError, ["weight", "(4, 3, 3)"]),
    "conv1d x 4-D": (lambda: F.conv1d(x4, w3), ValueError, ["x", "3 dimensions", "(2, 3, 5, 5)"]),
    "conv_transpose2d x 3-D": (lambda: F.conv_transpose2d(x3, wt), ValueError, ["x", "(2, 3, 9)"]),
    "max_pool2d x 2-D": (lambda: F.max_pool2d(np.zeros((5, 5)), 2), ValueError, ["x", "(5, 5)"]),
    "avg_pool2d x 3-D": (lambda: F.avg_pool2d(x3, 2), ValueError, ["x", "(2, 3, 9)"]),
    "linear weight 1-D": (lambda: F.linear(np.zeros((2, 3)), np.zeros(3)), ValueError, ["weight", "(3,)"]),
    "cross_entropy logits 1-D": (lambda: F.cross_entropy(np.zeros(3), np.array([0])), ValueError, ["logits", "(3,)"]),
    "bias 2-D": (lambda: F.conv2d(x4, w4, np.zeros((4, 1))), ValueError, ["bias", "(4, 1)"]),
    # channels that do not match the weight
    "conv2d channels": (lambda: F.conv2d(np.zeros((2, 2, 5, 5)), w4), ValueError, ["x", "2 channels", "(4, 3, 3, 3)"]),
    "conv1d channels": (lambda: F.conv1d(np.zeros((2, 5, 9)), w3), ValueError, ["x", "5 channels", "(4, 3, 3)"]),
    "conv_transpose2d channels": (
        lambda: F.conv_transpose2d(np.zeros((2, 2, 5, 5)), wt),
        ValueError,
        ["x", "(3, 2, 3, 3)"],
    ),
    "linear features": (lambda: F.linear(np.zeros((2, 5)), np.zeros((3, 4))), ValueError, ["x", "(2, 5)", "(3, 4)"]),
    "bias length": (lambda: F.conv2d(x4, w4, np.zeros(3)), ValueError, ["bias", "(4,)", "(3,)"]),
    "linear bias length": (
        lambda: F.linear(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros(4)),
        ValueError,
        ["bias", "(3,)"],
    ),
    "conv_transpose2d bias length": (lambda: F.conv_transpose2d(x4, wt, np.zeros(3)), ValueError, ["bias", "(2,)"]),
    # groups
    "groups not dividing C_in": (lambda: F.conv2d(x4, np.zeros((4, 1, 3, 3)), groups=2), ValueError, ["groups=2", "3"]),
    "groups not dividing C_out": (
        lambda: F.conv2d(np.zeros((2, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2),
        ValueError,
        ["groups=2", "3"],
    ),
    "groups zero": (lambda: F.conv2d(x4, w4, groups=0), ValueError, ["groups", "0"]),
    "groups float": (lambda: F.conv_transpose2d(x4, wt, groups=1.5), TypeError, ["groups", "1.5"]),
    "conv_transpose2d groups": (lambda: F.conv_transpose2d(x4, wt, groups=2), ValueError, ["groups=2", "3"]),
    # a kernel larger than the padded input
    "conv2d kernel too large": (
        lambda: F.conv2d(np.zeros((1, 3, 2, 2)), w4),
        ValueError,
        ["kernel", "(1, 3, 2, 2)", "(4, 3, 3, 3)"],
    ),
    "conv2d dilated kernel too large": (lambda: F.conv2d(x4, w4, dilation=3), ValueError, ["kernel", "(7, 7)"]),
    "conv1d kernel too large": (lambda: F.conv1d(np.zeros((2, 3, 2)), w3), ValueError, ["kernel", "(2, 3, 2)"]),
    "max_pool2d window too large": (
        lambda: F.max_pool2d(np.zeros((1, 1, 3, 3)), 4, padding=0),
        ValueError,
        ["window", "(1, 1, 3, 3)"],
    ),
    "avg_pool2d window too large": (
        lambda: F.avg_pool2d(np.zeros((1, 1, 3, 3)), (2, 5)),
        ValueError,
        ["window", "(1, 1, 3, 3)"],
    ),
    "conv_transpose2d empty output": (
        lambda: F.conv_transpose2d(np.zeros((1, 3, 1, 1)), np.zeros((3, 2, 1, 1)), padding=1),
        ValueError,
        ["output size", "padding"],
    ),
    # non-positive stride or dilation, bad padding
    "stride 0": (lambda: F.conv2d(x4, w4, stride=0), ValueError, ["stride", "positive"]),
    "stride negative tuple": (lambda: F.conv2d(x4, w4, stride=(1, -1)), ValueError, ["stride", "(1, -1)"]),
    "dilation 0": (lambda: F.conv2d(x4, w4, dilation=(0, 1)), ValueError, ["dilation", "positive"]),
    "conv1d dilation 0": (lambda: F.conv1d(x3, w3, dilation=0), ValueError, ["dilation"]),
    "pool stride 0": (lambda: F.max_pool2d(x4, 2, stride=0), ValueError, ["stride"]),
    "pool dilation 0": (lambda: F.max_pool2d(x4, 2, dilation=0), ValueError, ["dilation"]),
    "pool kernel 0": (lambda: F.avg_pool2d(x4, 0), ValueError, ["kernel_size"]),
    "conv_transpose2d stride 0": (lambda: F.conv_transpose2d(x4, wt, stride=0), ValueError, ["stride"]),
    "negative padding": (lambda: F.conv2d(x4, w4, padding=-1), ValueError, ["padding", "non-negative"]),
    "unknown padding string": (lambda: F.conv2d(x4, w4, padding="full"), ValueError, ["padding", "'full'"]),
    "stride of 3 ints": (lambda: F.conv2d(x4, w4, stride=(1, 1, 1)), TypeError, ["stride", "2 ints"]),
    "float stride": (lambda: F.conv2d(x4, w4, stride=1.0), TypeError, ["stride", "1.0"]),
    "pool padding over half the kernel": (
        lambda: F.max_pool2d(x4, 2, padding=2),
        ValueError,
        ["padding", "half", "kernel_size"],
    ),
    "conv_transpose2d string padding": (
        lambda: F.conv_transpose2d(x4, wt, padding="same"),
        ValueError,
        ["padding", "'same'"],
    ),
    "output_padding too large": (
        lambda: F.conv_transpose2d(x4, wt, stride=2, output_padding=2),
        ValueError,
        ["output_padding", "stride", "dilation"],
    ),
    # padding="same" with stride > 1
    "same with stride": (
        lambda: F.conv2d(x4, w4, padding="same", stride=(1, 2)),
        ValueError,
        ["same", "stride", "(1, 2)"],
    ),
    "conv1d same with stride": (lambda: F.conv1d(x3, w3, padding="same", stride=2), ValueError, ["same", "stride"]),
    # wrong-shaped grad_out
    "conv2d_backward grad_out": (
        lambda: F.conv2d_backward(np.zeros((2, 4, 5, 5)), x4, w4),
        ValueError,
        ["grad_out", "(2, 4, 3, 3)", "(2, 4, 5, 5)"],
    ),
    "conv1d_backward grad_out": (
        lambda: F.conv1d_backward(np.zeros((2, 4, 9)), x3, w3),
        ValueError,
        ["grad_out", "(2, 4, 7)"],
    ),
    "conv_transpose2d_backward grad_out": (
        lambda: F.conv_transpose2d_backward(np.zeros((2, 2, 6, 7)), x4, wt),
        ValueError,
        ["grad_out", "(2, 2, 7, 7)", "(2, 2, 6, 7)"],
    ),
    "max_pool2d_backward grad_out": (
        lambda: F.max_pool2d_backward(np.zeros((2, 3, 3, 3)), x4, 2),
        ValueError,
        ["grad_out", "(2, 3, 2, 2)"],
    ),
    "avg_pool2d_backward grad_out": (
        lambda: F.avg_pool2d_backward(np.zeros((2, 3, 2)), x4, 2),
        ValueError,
        ["grad_out", "(2, 3, 2, 2)"],
    ),
    "relu_backward grad_out": (
        lambda: F.relu_backward(np.zeros((2, 3)), np.zeros((3, 2))),
        ValueError,
        ["grad_out", "(3, 2)"],
    ),
    "relu_backward broadcastable grad_out": (
        lambda: F.relu_backward(np.zeros((1, 2)), np.zeros((3, 2))),
        ValueError,
        ["grad_out", "(1, 2)"],
    ),
    "linear_backward grad_out": (
        lambda: F.linear_backward(np.zeros((2, 4)), np.zeros((2, 4)), np.zeros((3, 4))),
        ValueError,
        ["grad_out", "(2, 3)"],
    ),
    "cross_entropy_backward grad_out": (
        lambda: F.cross_entropy_backward(np.ones(2), np.zeros((2, 3)), np.array([0, 1])),
        ValueError,
        ["grad_out", "(2,)"],
    ),
    "cross_entropy_backward grad_out string": (
        lambda: F.cross_entropy_backward("1", np.zeros((2, 3)), np.array([0, 1])),
        TypeError,
        ["grad_out", "str"],
    ),
    # integer, object or non-array input; mixed dtypes
    "integer x": (lambda: F.conv2d(np.zeros((2, 3, 5, 5), dtype=int), w4), TypeError, ["x", "int64"]),
    "object weight": (lambda: F.conv2d(x4, w4.astype(object)), TypeError, ["weight", "object"]),
    "list x": (lambda: F.relu([1.0, -1.0]), TypeError, ["x", "list"]),
    "integer pool input": (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4), dtype=np.int32), 2), TypeError, ["x", "int32"]),
    "integer linear": (lambda: F.linear(np.zeros((2, 4), dtype=int), np.zeros((3, 4))), TypeError, ["x"]),
    "integer logits": (lambda: F.cross_entropy(np.zeros((2, 3), dtype=int), np.array([0, 1])), TypeError, ["logits"]),
    "integer grad_out": (lambda: F.conv2d_backward(y4.astype(int), x4, w4), TypeError, ["grad_out", "int64"]),
    "mixed dtypes": (lambda: F.conv2d(x4.astype(np.float32), w4), TypeError, ["weight", "float64", "float32"]),
    "mixed bias dtype": (
        lambda: F.linear(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros(3, np.float32)),
        TypeError,
        ["bias", "float32"],
    ),
    "mixed grad_out dtype": (
        lambda: F.max_pool2d_backward(np.zeros((2, 3, 2, 2), np.float32), x4, 2),
        TypeError,
        ["grad_out", "float32"],
    ),
    # targets
    "float targets": (
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
        TypeError,
        ["targets", "float64"],
    ),
    "targets shape": (
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([[0, 1]])),
        ValueError,
        ["targets", "(2,)", "(1, 2)"],
    ),
    "targets out of range": (
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
        ValueError,
        ["targets", "[0, 3)"],
    ),
    "negative targets": (
        lambda: F.cross_entropy_backward(1.0, np.zeros((2, 3)), np.array([-1, 0])),
        ValueError,
        ["targets"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_rejected_with_a_clear_message(name):
    call, exception, fragments = CASES[name]
    with pytest.raises(exception) as info:
        call()
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"{name}: message {message!r} lacks {missing}"
