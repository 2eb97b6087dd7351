"""Layers with parameters or shapes to remember: Conv2d, ConvTranspose2d, Linear, MaxPool2d,
AvgPool2d, ReLU, Flatten.

Each layer is a thin ``Module`` around an operation of ``course_utils.functional`` and its
``_backward``: the layer stores the arguments and parameters, caches the input in ``forward``
and hands both to the backward operation. In training mode, ``Conv2d`` and ``MaxPool2d`` also
keep what their forward pass computed for the backward pass (the im2col columns, the offsets
of the maxima) instead of computing it again, and release it in ``backward``. The ops are looked
up by name at call time, so ``course_utils.grading.forbidden`` switches the layers off too.
Arguments, defaults and ``repr`` follow ``torch.nn``.

Weights start with He (Kaiming) normal initialisation, ``N(0, 2 / fan_in)`` (He et al., 2015,
"Delving deep into rectifiers"), drawn from the ``rng`` given (``np.random.default_rng(0)``
by default), so a network built twice with the same generator seed is the same network;
biases start at zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from course_utils import functional as F
from course_utils.functional import _args
from course_utils.functional import conv as _conv
from course_utils.functional import pool as _pool
from course_utils.nn.module import Module, Parameter

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

_Op = Callable[..., Any]
# op name -> (op, op_backward, the op keeping what its backward needs, the backward using it)
_SAVING: dict[str, tuple[_Op, _Op, _Op, _Op]] = {
    "conv2d": (F.conv2d, F.conv2d_backward, _conv.conv2d_saving, _conv.conv2d_backward_saved),
    "max_pool2d": (F.max_pool2d, F.max_pool2d_backward, _pool.max_pool2d_saving, _pool.max_pool2d_backward_saved),
}


def _forward(layer: _Convolution | MaxPool2d, op: str, *args: Any, **kwargs: Any) -> np.ndarray:
    """``F.<op>(*args, **kwargs)``, looked up now. In training mode, while ``F.<op>`` is the original
    op, the layer keeps (in ``layer.saved``) what ``<op>_backward`` would otherwise recompute; the
    memory the last backward pass used up (``layer.spare``) is reused for it."""
    function, saving = getattr(F, op), _SAVING.get(op)
    spare = getattr(layer, "spare", None)
    layer.saved = layer.spare = None  # release the last step's before computing this one's
    if layer.training and saving is not None and function is saving[0]:
        out, layer.saved = saving[2](*args, **kwargs, spare=spare)
        return out
    return function(*args, **kwargs)


def _backward(layer: _Convolution | MaxPool2d, op: str, grad_out: np.ndarray, *args: Any, **kwargs: Any) -> Any:
    """``F.<op>_backward(grad_out, *args, **kwargs)``, from what the forward pass kept if it kept
    anything (used once, then released): ``grad_x`` or a tuple of gradients, as ``F.<op>_backward``."""
    function, saving = getattr(F, op + "_backward"), _SAVING.get(op)
    saved, layer.saved = getattr(layer, "saved", None), None
    if saved is not None and saving is not None and function is saving[1]:
        grads = saving[3](saved, grad_out, *args, **kwargs)
        layer.spare = saved
        return grads
    return function(grad_out, *args, **kwargs)


def _pair(value: int | tuple[int, int], name: str, *, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``; the functional ops' rule (``TypeError``, ``ValueError``)."""
    first, second = _args.int_tuple(value, name, 2, minimum)
    return first, second


def _channels(in_channels: int, out_channels: int, groups: int) -> tuple[int, int, int]:
    """Check ``(in_channels, out_channels, groups)``: positive ints, both channels divisible by ``groups``."""
    c_in, c_out = _args.positive_int(in_channels, "in_channels"), _args.positive_int(out_channels, "out_channels")
    groups = _args.positive_int(groups, "groups")
    if c_in % groups or c_out % groups:
        raise ValueError(f"in_channels ({c_in}) and out_channels ({c_out}) must be divisible by groups ({groups})")
    return c_in, c_out, groups


def _he_normal(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator | None, dtype: DTypeLike) -> Parameter:
    """A Parameter of ``shape`` drawn from ``N(0, 2 / fan_in)`` with ``rng`` (``default_rng(0)`` if None)."""
    rng = np.random.default_rng(0) if rng is None else rng
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return Parameter((rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype))


def _input(
    x: np.ndarray, name: str, *, dtype: DTypeLike | None = None, ndim: int | None = None, size: int | None = None
) -> np.ndarray:
    """``x`` as an array of ``dtype`` (if given); check its number of dimensions and ``x.shape[1]``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: x must be a numpy.ndarray, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: x must have {ndim} dimensions, got shape {x.shape}")
    if size is not None and x.shape[1] != size:
        raise ValueError(f"{name}: x.shape[1] must be {size}, got shape {x.shape}")
    return x if dtype is None else x.astype(dtype, copy=False)


class _Weighted(Module):
    """A layer with a ``weight`` Parameter and an optional ``bias`` Parameter (None without bias)."""

    weight: Parameter
    bias: Parameter | None
    x: np.ndarray | None  # the input of the last forward pass

    def _bias_data(self) -> np.ndarray | None:
        """The bias's array, or None without bias."""
        return None if self.bias is None else self.bias.data

    def _accumulate(self, grad_weight: np.ndarray, grad_bias: np.ndarray | None) -> None:
        """Add the gradients of ``weight`` and ``bias`` to their ``.grad``."""
        self.weight.accumulate(grad_weight)
        if self.bias is not None:
            assert grad_bias is not None  # a backward op given a bias returns its gradient
            self.bias.accumulate(grad_bias)


def _conv_repr(layer: _Convolution, extras: dict[str, tuple[object, object]]) -> str:
    """PyTorch's ``extra_repr`` of a convolution: channels, kernel and stride, then each extra not at its default."""
    text = f"{layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}, stride={layer.stride}"
    for key, (value, default) in extras.items():
        if value != default:
            text += f", {key}={value}"
    return text


class _Convolution(_Weighted):
    """Forward and backward shared by ``Conv2d`` and ``ConvTranspose2d``.

    The two differ only in the ``course_utils.functional`` op they call, named by ``_op``
    (looked up at call time) and its ``<op>_backward``, and in the arguments ``_args()`` returns.
    """

    _op = ""
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    # in training mode, what the forward pass kept for the backward pass, and the memory it used up
    saved: _conv.Saved | None
    spare: _conv.Saved | None

    def _args(self) -> dict[str, Any]:
        """The op's keyword arguments after ``x, weight, bias``."""
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``."""
        self.x = _input(x, type(self).__name__, dtype=self.weight.data.dtype, ndim=4, size=self.in_channels)
        return _forward(self, self._op, self.x, self.weight.data, self._bias_data(), **self._args())

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` ``(N, C_out, H_out, W_out)`` -> ``grad_x`` ``(N, C_in, H, W)``.

        Adds the gradients of ``weight`` and ``bias`` to their ``.grad``.
        """
        x = self._cached("x")
        grad_x, grad_weight, grad_bias = _backward(
            self, self._op, grad_out, x, self.weight.data, self._bias_data(), **self._args()
        )
        self._accumulate(grad_weight, grad_bias)
        return grad_x


class Conv2d(_Convolution):
    """2-D convolution (cross-correlation) layer: ``y = conv2d(x, weight, bias, ...)``.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C_in`` and ``C_out``; both divisible by ``groups``.
    kernel_size, stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
    groups : int
    bias : bool
    rng : numpy.random.Generator, optional
        Draws the He-normal weights (``fan_in = C_in / groups * kH * kW``).
    dtype : numpy dtype
        float32 (default) or float64 (for gradient checks); inputs are cast to it.

    Attributes
    ----------
    weight : Parameter
        ``(C_out, C_in / groups, kH, kW)``, He-normal.
    bias : Parameter or None
        ``(C_out,)``, zeros; None without bias.

    Raises
    ------
    TypeError
        At construction, for a size, channel or groups argument of the wrong kind (as the functional
        op); in ``forward``, if ``x`` is not an ndarray.
    ValueError
        At construction, for a wrong value; in ``forward``, for an input of the wrong shape.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(N, C_in, H, W)``
    - Output: ``(N, C_out, H_out, W_out)``, where
      ``H_out = floor((H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1`` (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
    >>> conv
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> conv.weight.shape, conv.bias.shape
    ((8, 3, 3, 3), (8,))
    >>> y = conv(np.ones((2, 3, 16, 16), dtype=np.float32))
    >>> y.shape, y.dtype
    ((2, 8, 16, 16), dtype('float32'))
    >>> conv.backward(np.ones_like(y)).shape, conv.weight.grad.shape
    ((2, 3, 16, 16), (8, 3, 3, 3))
    >>> nn.Conv2d(3, 8, kernel_size=3, stride=2)(np.ones((2, 3, 16, 16))).shape  # floor((16 - 2 - 1) / 2) + 1
    (2, 8, 7, 7)
    """

    _op = "conv2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.groups = _channels(in_channels, out_channels, groups)
        self.kernel_size = _pair(kernel_size, "kernel_size", minimum=1)
        self.stride = _pair(stride, "stride", minimum=1)
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding", minimum=0)
        self.dilation = _pair(dilation, "dilation", minimum=1)
        _args.conv_padding(
            self.padding, self.kernel_size, self.stride, self.dilation
        )  # "full", or "same" with a stride
        c_in = self.in_channels // self.groups
        fan_in = c_in * math.prod(self.kernel_size)
        self.weight = _he_normal((self.out_channels, c_in, *self.kernel_size), fan_in, rng, dtype)
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self.x = self.saved = self.spare = None

    def _args(self) -> dict[str, Any]:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)

    def extra_repr(self) -> str:
        return _conv_repr(
            self,
            {
                "padding": (self.padding, (0, 0)),
                "dilation": (self.dilation, (1, 1)),
                "groups": (self.groups, 1),
                "bias": (self.bias is not None, True),
            },
        )


class ConvTranspose2d(_Convolution):
    """2-D transposed convolution layer (the gradient of ``conv2d`` with respect to its input).

    Parameters
    ----------
    in_channels, out_channels : int
        ``C_in`` and ``C_out``; both divisible by ``groups``.
    kernel_size, stride, padding, output_padding, dilation : int or (int, int)
        ``output_padding`` (each ``< stride`` or ``< dilation``) adds rows/columns at the bottom/right.
    groups : int
    bias : bool
    rng : numpy.random.Generator, optional
        Draws the He-normal weights with ``fan_in = C_in / groups * kH * kW`` (the inputs that meet
        one output at stride 1).
    dtype : numpy dtype
        float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter
        ``(C_in, C_out / groups, kH, kW)`` (PyTorch's layout), He-normal.
    bias : Parameter or None
        ``(C_out,)``, zeros; None without bias.

    Raises
    ------
    TypeError
        At construction, for a size, channel or groups argument of the wrong kind (as the functional
        op); in ``forward``, if ``x`` is not an ndarray.
    ValueError
        At construction, for a wrong value; in ``forward``, for an input of the wrong shape.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(N, C_in, H, W)``
    - Output: ``(N, C_out, H_out, W_out)``, where
      ``H_out = (H - 1) * sH - 2 * pH + dH * (kH - 1) + output_padding_H + 1`` (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> up = nn.ConvTranspose2d(8, 3, kernel_size=4, stride=2, padding=1)
    >>> up
    ConvTranspose2d(8, 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
    >>> up.weight.shape
    (8, 3, 4, 4)
    >>> y = up(np.ones((2, 8, 7, 7), dtype=np.float32))  # (7 - 1) * 2 - 2 + 3 + 1 = 14: twice the size
    >>> y.shape
    (2, 3, 14, 14)
    >>> up.backward(np.ones_like(y)).shape
    (2, 8, 7, 7)
    """

    _op = "conv_transpose2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.groups = _channels(in_channels, out_channels, groups)
        self.kernel_size = _pair(kernel_size, "kernel_size", minimum=1)
        self.stride = _pair(stride, "stride", minimum=1)
        self.padding = _pair(padding, "padding", minimum=0)
        self.output_padding = _pair(output_padding, "output_padding", minimum=0)
        self.dilation = _pair(dilation, "dilation", minimum=1)
        fan_in = self.in_channels // self.groups * math.prod(self.kernel_size)
        shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        self.weight = _he_normal(shape, fan_in, rng, dtype)
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self.x = None

    def _args(self) -> dict[str, Any]:
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            groups=self.groups,
            dilation=self.dilation,
        )

    def extra_repr(self) -> str:
        return _conv_repr(
            self,
            {
                "padding": (self.padding, (0, 0)),
                "output_padding": (self.output_padding, (0, 0)),
                "dilation": (self.dilation, (1, 1)),
                "groups": (self.groups, 1),
                "bias": (self.bias is not None, True),
            },
        )


class Linear(_Weighted):
    """Fully connected layer: ``y = x @ weight.T + bias``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    rng : numpy.random.Generator, optional
        Draws the He-normal weights (``fan_in = in_features``).
    dtype : numpy dtype
        float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter
        ``(out_features, in_features)``, He-normal.
    bias : Parameter or None
        ``(out_features,)``, zeros; None without bias.

    Raises
    ------
    TypeError
        At construction, for a size, channel or groups argument of the wrong kind (as the functional
        op); in ``forward``, if ``x`` is not an ndarray.
    ValueError
        At construction, for a wrong value; in ``forward``, for an input of the wrong shape.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(*, in_features)``, usually ``(N, in_features)``.
    - Output: ``(*, out_features)``, usually ``(N, out_features)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> fc = nn.Linear(4, 2)
    >>> fc
    Linear(in_features=4, out_features=2, bias=True)
    >>> fc.weight.shape, fc.bias.shape
    ((2, 4), (2,))
    >>> y = fc(np.ones((5, 4), dtype=np.float32))
    >>> y.shape
    (5, 2)
    >>> fc.backward(np.ones_like(y)).shape, fc.bias.grad  # bias.grad: one per sample
    ((5, 4), array([5., 5.], dtype=float32))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        self.in_features = _args.positive_int(in_features, "in_features")
        self.out_features = _args.positive_int(out_features, "out_features")
        self.weight = _he_normal((self.out_features, self.in_features), self.in_features, rng, dtype)
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self.x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(*, in_features)`` -> ``(*, out_features)``."""
        self.x = _input(x, "Linear", dtype=self.weight.data.dtype)
        if self.x.ndim < 1 or self.x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: x.shape[-1] must be {self.in_features}, got shape {self.x.shape}")
        return F.linear(self.x, self.weight.data, self._bias_data())

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` ``(*, out_features)`` -> ``grad_x`` ``(*, in_features)``.

        Adds the gradients of ``weight`` and ``bias`` to their ``.grad``.
        """
        x = self._cached("x")
        grad_x, grad_weight, grad_bias = F.linear_backward(grad_out, x, self.weight.data, self._bias_data())
        self._accumulate(grad_weight, grad_bias)
        return grad_x

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class MaxPool2d(Module):
    """Max pooling over ``kernel_size`` windows of each channel.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int, (int, int) or None
        None (default) means ``stride = kernel_size``.
    padding : int or (int, int)
        Implicit ``-inf`` padding, at most half the kernel.
    dilation : int or (int, int)

    Raises
    ------
    TypeError
        At construction, for a size, channel or groups argument of the wrong kind (as the functional
        op); in ``forward``, if ``x`` is not an ndarray.
    ValueError
        At construction, for a wrong value; in ``forward``, for an input of the wrong shape.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(N, C, H, W)``
    - Output: ``(N, C, H_out, W_out)``, where
      ``H_out = floor((H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1`` (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> pool = nn.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)
    >>> y = pool(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> y
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> pool.backward(np.ones_like(y))[0, 0]  # to each window's maximum
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """

    x: np.ndarray | None  # the input of the last forward pass
    # in training mode, what the forward pass kept for the backward pass, and the memory it used up
    saved: _pool.SavedIndex | None
    spare: _pool.SavedIndex | None

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        for name in ("kernel_size", "stride", "dilation"):
            _pair(getattr(self, name), name, minimum=1)
        _pair(padding, "padding", minimum=0)
        self.x = self.saved = self.spare = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
        self.x = _input(x, "MaxPool2d", ndim=4)
        return _forward(self, "max_pool2d", self.x, self.kernel_size, self.stride, self.padding, self.dilation)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` ``(N, C, H_out, W_out)`` -> ``grad_x`` ``(N, C, H, W)`` (to each window's max)."""
        x = self._cached("x")
        return _backward(self, "max_pool2d", grad_out, x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, dilation={self.dilation}"


class AvgPool2d(Module):
    """Average pooling over ``kernel_size`` windows of each channel (zero padding counts in the mean).

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int, (int, int) or None
        None (default) means ``stride = kernel_size``.
    padding : int or (int, int)

    Raises
    ------
    TypeError
        At construction, for a size, channel or groups argument of the wrong kind (as the functional
        op); in ``forward``, if ``x`` is not an ndarray.
    ValueError
        At construction, for a wrong value; in ``forward``, for an input of the wrong shape.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(N, C, H, W)``
    - Output: ``(N, C, H_out, W_out)``, where ``H_out = floor((H + 2 * pH - kH) / sH) + 1`` (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> pool = nn.AvgPool2d(2)
    >>> pool
    AvgPool2d(kernel_size=2, stride=2, padding=0)
    >>> y = pool(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> y
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    >>> pool.backward(np.ones_like(y)).shape
    (1, 1, 4, 4)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        for name in ("kernel_size", "stride"):
            _pair(getattr(self, name), name, minimum=1)
        _pair(padding, "padding", minimum=0)
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
        self.x = _input(x, "AvgPool2d", ndim=4)
        return F.avg_pool2d(self.x, self.kernel_size, self.stride, self.padding)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` ``(N, C, H_out, W_out)`` -> ``grad_x`` ``(N, C, H, W)`` (shared by each window)."""
        return F.avg_pool2d_backward(grad_out, self._cached("x"), self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class ReLU(Module):
    """Rectified linear unit: ``y = max(x, 0)`` elementwise; any shape.

    Raises
    ------
    TypeError
        In ``forward``, if ``x`` is not a float ndarray.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(*)``, any number of dimensions.
    - Output: ``(*)``, the input's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> relu = nn.ReLU()
    >>> relu(np.array([[-1.0, 0.0, 2.0]]))
    array([[0., 0., 2.]])
    >>> relu.backward(np.array([[5.0, 5.0, 5.0]]))
    array([[0., 0., 5.]])
    """

    def __init__(self) -> None:
        super().__init__()
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` (any shape) -> ``max(x, 0)``, same shape."""
        self.x = _input(x, "ReLU")
        return F.relu(self.x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` (shape of x) -> ``grad_x = grad_out * (x > 0)``."""
        return F.relu_backward(grad_out, self._cached("x"))


class Flatten(Module):
    """Flatten all but the batch dimension: ``(N, d1, d2, ...)`` -> ``(N, d1 * d2 * ...)``.

    Raises
    ------
    TypeError
        In ``forward``, if ``x`` is not an ndarray.
    ValueError
        In ``forward``, if ``x`` has no batch dimension (0-d).
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(N, *)``
    - Output: ``(N, prod(*))``

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> flatten = nn.Flatten()
    >>> flatten(np.ones((2, 3, 4, 4))).shape
    (2, 48)
    >>> flatten.backward(np.ones((2, 48))).shape
    (2, 3, 4, 4)
    """

    def __init__(self) -> None:
        super().__init__()
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, d1, d2, ...)`` -> ``(N, d1 * d2 * ...)``, a view when it can be."""
        x = _input(x, "Flatten")
        if x.ndim < 1:
            raise ValueError(f"Flatten: x needs a batch dimension, got shape {x.shape}")
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` ``(N, d1 * d2 * ...)`` -> ``(N, d1, d2, ...)``."""
        return grad_out.reshape(self._cached("shape"))

    def extra_repr(self) -> str:
        return "start_dim=1, end_dim=-1"
