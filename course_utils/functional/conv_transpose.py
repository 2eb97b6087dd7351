"""conv_transpose2d (the "deconvolution" of decoders and upsampling) and its backward pass.

A transposed convolution is the adjoint of a convolution: its forward pass is conv2d's
input gradient (``weight^T @ x`` scattered with col2im) and its input gradient is a conv2d
forward pass (lecture 18, the Toeplitz view: ``y = T x`` and ``x' = T^T y``; Goodfellow et
al., *Deep Learning*, ch. 9: "deconvolution", multiplication by the transposed matrix). No new
algorithm lives here, only the bookkeeping of shapes.
"""

from __future__ import annotations

import numpy as np

from . import _args
from ._im2col import Geometry, im2col, to_channel_major
from .conv import _add_weight_grad, _input_grad, _matrix, _product, chunks


def _setup(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: int | tuple[int, ...],
    padding: int | tuple[int, ...],
    output_padding: int | tuple[int, ...],
    groups: int,
    dilation: int | tuple[int, ...],
) -> tuple[Geometry, tuple[int, ...]]:
    """Validate; return the ``Geometry`` of the convolution this one is the adjoint of and ``out_shape``."""
    _args.float_array(x, "x", ndim=4)
    _args.float_array(weight, "weight", ndim=4)
    if bias is not None:
        _args.float_array(bias, "bias", ndim=1)
    _args.same_dtype(x, "x", weight=weight, bias=bias)
    _args.positive_int(groups, "groups")
    n, c_in, h, w = x.shape
    if weight.shape[0] != c_in:
        raise ValueError(
            f"conv_transpose2d: x has {c_in} channels (shape {x.shape}) but weight {weight.shape} "
            f"expects weight.shape[0] = {weight.shape[0]} (weight is (C_in, C_out / groups, kH, kW))"
        )
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide the input channels (x.shape[1] = {c_in})")
    c_out = weight.shape[1] * groups
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(
            f"bias must have shape ({c_out},) to match weight {weight.shape} and groups={groups}, got {bias.shape}"
        )
    if isinstance(padding, str):
        raise ValueError(f"conv_transpose2d takes an int or a tuple as padding, got {padding!r}")
    stride = _args.int_tuple(stride, "stride", 2, 1)
    dilation = _args.int_tuple(dilation, "dilation", 2, 1)
    pad = _args.int_tuple(padding, "padding", 2, 0)
    output_padding = _args.int_tuple(output_padding, "output_padding", 2, 0)
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise ValueError(
                f"output_padding {output_padding} must be smaller than either stride {stride} or dilation {dilation}"
            )
    if 0 in x.shape or 0 in weight.shape:
        raise ValueError(f"conv_transpose2d: empty input: x {x.shape}, weight {weight.shape}")
    out_hw = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + op + 1
        for size, s, p, d, k, op in zip((h, w), stride, pad, dilation, weight.shape[2:], output_padding)
    )
    if min(out_hw) < 1:
        raise ValueError(
            f"conv_transpose2d: the output size {out_hw} is not positive for x {x.shape}, weight "
            f"{weight.shape}, stride {stride}, padding {pad}, dilation {dilation}: reduce the padding"
        )
    pads = tuple((p, p) for p in pad)
    # the convolution this one is the adjoint of: from the output (N, C_out, *out_hw) to x's (H, W)
    return Geometry(weight.shape[2:], stride, dilation, pads, out_hw, (h, w)), (n, c_out, *out_hw)


def conv_transpose2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

    Each input pixel ``x[n, c, h, w]`` adds ``x[n, c, h, w] * weight[c, o, :, :]`` (dilated)
    to the output window starting at ``(h*sH - pH, w*sW - pW)``. It is the adjoint of
    :func:`conv2d` with the same weight, stride, padding, dilation and groups:
    ``<conv2d(a, W), b> = <a, conv_transpose2d(b, W)>``.

    Parameters
    ----------
    x : ndarray, float32 or float64
        ``(N, C_in, H, W)``.
    weight : ndarray, x's dtype
        ``(C_in, C_out / groups, kH, kW)`` (PyTorch's layout: input channels first).
    bias : ndarray or None, optional
        ``(C_out,)``.
    stride, padding, dilation : int or (int, int), optional
        Padding is removed from the output's borders.
    output_padding : int or (int, int), optional
        Added to one side (bottom/right) of the output, each smaller than the stride or the
        dilation (it picks among the input sizes a strided conv2d maps to H).
    groups : int, optional
        Divides ``C_in``.

    Returns
    -------
    out : ndarray
        ``(N, C_out, H_out, W_out)``, x's dtype.

    Raises
    ------
    TypeError
        For non-float or mismatched dtypes, or arguments of the wrong kind.
    ValueError
        For wrong shapes or argument values, e.g. a string padding, an ``output_padding`` too large
        or a padding that leaves no output.

    Shape
    -----
    - Input: ``(N, C_in, H, W)``
    - Weight: ``(C_in, C_out / groups, kH, kW)``
    - Bias: ``(C_out,)``
    - Output: ``(N, C_out, H_out, W_out)``, where
      ``H_out = (H - 1)*sH - 2*pH + dH*(kH - 1) + output_padding_H + 1`` (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x, w = np.ones((1, 2, 3, 3)), np.ones((2, 4, 3, 3))
    >>> F.conv_transpose2d(x, w, stride=2).shape  # (3 - 1)*2 + (3 - 1) + 1 = 7
    (1, 4, 7, 7)
    >>> F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1).shape  # 7 - 2 + 1 = 6
    (1, 4, 6, 6)
    >>> F.conv_transpose2d(np.ones((1, 1, 1, 1)), np.arange(4.0).reshape(1, 1, 2, 2))  # one pixel stamps the kernel
    array([[[[0., 1.],
             [2., 3.]]]])

    The adjoint of :func:`conv2d`:

    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((2, 5, 3, 3))
    >>> w = rng.standard_normal((5, 3, 3, 3))
    >>> left, right = np.sum(F.conv2d(a, w, stride=2) * b), np.sum(a * F.conv_transpose2d(b, w, stride=2))
    >>> bool(np.isclose(left, right))  # <conv2d(a, w), b> = <a, conv_transpose2d(b, w)>
    True
    """
    g, out_shape = _setup(x, weight, bias, stride, padding, output_padding, groups, dilation)
    out = np.empty(out_shape, dtype=x.dtype)
    length = g.out_hw[0] * g.width
    for lo, hi in chunks(x.shape[0], (weight.shape[0] + weight[0].size * groups) * length * x.itemsize):
        _input_grad(to_channel_major(x[lo:hi], g), weight, groups, g, out[lo:hi])
    if bias is not None:
        out += bias[:, None, None]
    return out


def conv_transpose2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv_transpose2d` with respect to its array arguments.

    ``grad_x`` is ``conv2d(grad_out, weight, ...)`` cropped to ``(H, W)``.

    Parameters
    ----------
    grad_out : ndarray
        The upstream gradient, ``(N, C_out, H_out, W_out)``, x's dtype.
    x, weight, bias, stride, padding, output_padding, groups, dilation
        As given to :func:`conv_transpose2d`.

    Returns
    -------
    grad_x : ndarray
        ``(N, C_in, H, W)``.
    grad_weight : ndarray
        ``(C_in, C_out / groups, kH, kW)``.
    grad_bias : ndarray or None
        ``(C_out,)``, or None when ``bias`` is None.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv_transpose2d`, and when ``grad_out`` does not have the output's shape and x's dtype.

    Shape
    -----
    - grad_out: ``(N, C_out, H_out, W_out)``, the shape :func:`conv_transpose2d` returns.
    - Input, Weight, Bias: as :func:`conv_transpose2d`.
    - Output: ``grad_x`` ``(N, C_in, H, W)``, ``grad_weight`` ``(C_in, C_out / groups, kH, kW)``,
      ``grad_bias`` ``(C_out,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x, w, b = np.ones((1, 2, 3, 3)), np.ones((2, 4, 3, 3)), np.zeros(4)
    >>> out = F.conv_transpose2d(x, w, b, stride=2)
    >>> grad_x, grad_w, grad_b = F.conv_transpose2d_backward(np.ones_like(out), x, w, b, stride=2)
    >>> grad_x.shape, grad_w.shape, grad_b
    ((1, 2, 3, 3), (2, 4, 3, 3), array([49., 49., 49., 49.]))
    """
    g, out_shape = _setup(x, weight, bias, stride, padding, output_padding, groups, dilation)
    _args.grad_out_array(grad_out, out_shape, x)
    grad_x = np.empty(x.shape, dtype=x.dtype)
    grad_weight = np.zeros(_matrix(weight, groups).shape, dtype=x.dtype)
    length = g.out_hw[0] * g.width
    for lo, hi in chunks(x.shape[0], (weight.shape[0] + weight[0].size * groups) * length * x.itemsize):
        cols = im2col(grad_out[lo:hi], g)
        _product(cols, weight, groups, g, None, grad_x[lo:hi])
        _add_weight_grad(grad_weight, to_channel_major(x[lo:hi], g), cols, groups)
    grad_weight = grad_weight.reshape(weight.shape)
    grad_bias = None if bias is None else grad_out.sum(axis=(0, 2, 3))
    return grad_x, grad_weight, grad_bias
