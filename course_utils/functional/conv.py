"""conv1d and conv2d (cross-correlation, as in PyTorch) and their backward passes.

The forward pass is im2col and ONE matrix product per group for the whole batch. The
backward pass takes the same columns (kept by the forward pass in training, see
``conv2d_saving``; rebuilt from ``x`` by the stateless ``conv2d_backward``) for the weight
gradient, ``grad_out @ columns^T``, and scatters ``weight^T @ grad_out`` back with col2im for
the input gradient (Goodfellow et al., *Deep
Learning*, ch. 9, "Gradient computation": the weight gradient and the "deconvolution";
Johnson & Fouhey, EECS 442 lecture 15 on shapes). conv1d is conv2d on a height-1 view.
"""

from __future__ import annotations

import numpy as np

from . import _args
from ._args import Ints, Pads
from ._im2col import Geometry, col2im, from_channel_major, im2col, to_channel_major


def _matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """``(C_out, C_in/G, kH, kW)`` -> ``(G, C_out/G, C_in/G * kH * kW)`` (a view)."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


def _by_group(a: np.ndarray, groups: int) -> np.ndarray:
    """Columns ``(C, kH * kW, N, L)`` or a channel-major ``(C, N, L)`` -> ``(G, rows, M = N * L)`` (a view,
    also of a batch slice ``cols[:, :, lo:hi]``)."""
    return a.reshape(groups, -1, a.shape[-2] * a.shape[-1])


CHUNK_BYTES = 1 << 23  # a block of samples: columns and products of a few MB, no fresh pages per call


def chunks(n: int, bytes_per_sample: int) -> list[tuple[int, int]]:
    """Cut ``range(n)`` into consecutive ``(lo, hi)`` blocks of equal size, at most ``CHUNK_BYTES`` each."""
    count = -(-n // max(1, CHUNK_BYTES // max(1, bytes_per_sample)))
    return [(n * k // count, n * (k + 1) // count) for k in range(count)]


def _product(
    cols: np.ndarray, weight: np.ndarray, groups: int, g: Geometry, bias: np.ndarray | None, out: np.ndarray
) -> np.ndarray:
    """The convolution proper, one matrix product per group for a block of samples:
    ``weight (G, C_out/G, C_g*kH*kW) @ columns (G, C_g*kH*kW, M)``, written to ``out`` ``(n, C_out, H_out, W_out)``."""
    product = np.matmul(_matrix(weight, groups), _by_group(cols, groups))
    return from_channel_major(product.reshape(weight.shape[0], -1), g, bias, out)


def _input_grad(
    go: np.ndarray, weight: np.ndarray, groups: int, g: Geometry, out: np.ndarray, cols: np.ndarray | None = None
) -> np.ndarray:
    """conv2d's input gradient, written to ``out`` ``(n, C_in, H, W)``, from the channel-major upstream
    gradient ``go`` ``(C_out, n, H_out * Wq)``: col2im of ``weight^T @ go`` (one product per group),
    the product written to ``cols`` (columns of the block's shape, e.g. the forward's) if given."""
    product = np.matmul(
        _matrix(weight, groups).transpose(0, 2, 1),
        _by_group(go, groups),
        out=None if cols is None else _by_group(cols, groups),
    )
    return col2im(product if cols is None else cols, out.shape, g, out)


def _add_weight_grad(total: np.ndarray, go: np.ndarray, cols: np.ndarray, groups: int) -> None:
    """Add a block's weight gradient ``go @ columns^T`` (one product per group, summed over the block's
    samples by the product itself) to ``total`` ``(G, C_out/G, C_g*kH*kW)``."""
    # computed transposed, columns @ go^T, which BLAS runs faster on these shapes (measured)
    total += np.matmul(_by_group(cols, groups), _by_group(go, groups).transpose(0, 2, 1)).transpose(0, 2, 1)


class Saved:
    """What a conv2d forward pass keeps for its backward pass: the geometry and the columns.

    The backward pass uses the columns once (``columns`` becomes None) and leaves their memory
    in ``buffer``, which the next forward pass of the same shape may fill again (``spare``)."""

    __slots__ = ("geometry", "columns", "buffer")
    geometry: Geometry
    columns: np.ndarray | None
    buffer: np.ndarray | None

    def __init__(self, geometry: Geometry, columns: np.ndarray | None) -> None:
        self.geometry, self.columns, self.buffer = geometry, columns, None


def _conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: Ints,
    pads: Pads,
    dilation: Ints,
    groups: int,
    out_shape: Ints,
    keep: bool = False,
    spare: Saved | None = None,
) -> tuple[np.ndarray, Saved]:
    """Forward pass, block of samples by block; returns ``(out, Saved)`` (the columns kept if ``keep``,
    in ``spare.buffer`` if that has their shape and dtype)."""
    g = Geometry(weight.shape[2:], stride, dilation, pads, x.shape[2:], out_shape[2:])
    n, c_in = x.shape[:2]
    rows, length = c_in * g.kernel[0] * g.kernel[1], g.out_hw[0] * g.width
    out = np.empty(out_shape, dtype=x.dtype)
    shape = (c_in, rows // c_in, n, length)
    kept = None
    if keep:
        buffer = getattr(spare, "buffer", None)
        reuse = buffer is not None and buffer.shape == shape and buffer.dtype == x.dtype
        kept = buffer if reuse else np.empty(shape, dtype=x.dtype)
    for lo, hi in chunks(n, (rows + weight.shape[0]) * length * x.itemsize):
        cols = im2col(x[lo:hi], g, None if kept is None else kept[:, :, lo:hi])
        _product(cols, weight, groups, g, bias, out[lo:hi])
    return out, Saved(g, kept)


def _conv2d_backward(
    grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, groups: int, saved: Saved
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Backward pass, block of samples by block, from the forward's ``saved`` (whose columns it uses
    up, leaving their memory in ``saved.buffer``; without columns it builds them again)."""
    g, kept = saved.geometry, saved.columns
    saved.columns, saved.buffer = None, kept
    n, c_in = x.shape[:2]
    rows, length = c_in * g.kernel[0] * g.kernel[1], g.out_hw[0] * g.width
    grad_x = np.empty(x.shape, dtype=x.dtype)
    grad_weight = np.zeros(_matrix(weight, groups).shape, dtype=x.dtype)
    grad_bias = None if bias is None else np.zeros(weight.shape[0], dtype=x.dtype)
    blocks = chunks(n, (rows + weight.shape[0]) * length * x.itemsize)
    for lo, hi in blocks:  # first the weight gradient, which needs the columns ...
        go = to_channel_major(grad_out[lo:hi], g)
        _add_weight_grad(grad_weight, go, im2col(x[lo:hi], g) if kept is None else kept[:, :, lo:hi], groups)
        if grad_bias is not None:
            grad_bias += go.reshape(go.shape[0], -1).sum(axis=1)
    for lo, hi in blocks:  # ... then the input gradient, whose columns overwrite the forward's
        if len(blocks) > 1:
            go = to_channel_major(grad_out[lo:hi], g)
        _input_grad(go, weight, groups, g, grad_x[lo:hi], None if kept is None else kept[:, :, lo:hi])
    return grad_x, grad_weight.reshape(weight.shape), grad_bias


def conv2d_saving(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    spare: Saved | None = None,
) -> tuple[np.ndarray, Saved]:
    """:func:`conv2d` that also returns what its backward pass needs: ``(out, saved)``; then
    ``conv2d_backward_saved(saved, grad_out, x, weight, bias, ..., groups)`` reuses the columns
    instead of building them again (what ``nn.Conv2d`` does in training). ``spare``, a used
    ``saved`` of an earlier step, lends its memory to the new columns."""
    strides, pads, dilations, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 2, "conv2d"
    )
    return _conv2d(x, weight, bias, strides, pads, dilations, groups, out_shape, keep=True, spare=spare)


def conv2d_backward_saved(
    saved: Saved,
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`conv2d_backward` from the ``saved`` of :func:`conv2d_saving`, made with the same
    arguments (used once: the columns are released). Returns ``(grad_x, grad_weight, grad_bias)``."""
    g = saved.geometry
    _args.grad_out_array(grad_out, (x.shape[0], weight.shape[0], *g.out_hw), x)
    return _conv2d_backward(grad_out, x, weight, bias, groups, saved)


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D cross-correlation of a batch of images, as ``torch.nn.functional.conv2d``.

    ``out[n, o, h, w] = bias[o] + sum_{c, i, j} weight[o, c, i, j] *
    x_padded[n, g*C_in/G + c, h*sH + i*dH, w*sW + j*dW]`` where ``g = o // (C_out/G)``.

    Inputs:
    - x: ``(N, C_in, H, W)`` float32 or float64.
    - weight: ``(C_out, C_in / groups, kH, kW)``, same dtype.
    - bias: ``(C_out,)`` or None.
    - stride, dilation: int or ``(sH, sW)`` / ``(dH, dW)``, positive.
    - padding: int, ``(pH, pW)``, ``"valid"`` (0) or ``"same"`` (output size = input size;
      stride 1 only; an odd total ``d*(k-1)`` puts the extra row/column at the bottom/right).
    - groups: int dividing ``C_in`` and ``C_out``; group g sees input channels
      ``g*C_in/G ... (g+1)*C_in/G - 1`` and makes output channels ``g*C_out/G ...``.

    Returns:
    - out: ``(N, C_out, H_out, W_out)``, x's dtype, with
      ``H_out = floor((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1`` (likewise ``W_out``).

    Raises TypeError for non-float or mismatched dtypes, ValueError for wrong shapes or
    argument values (each message names the argument and the shapes).
    """
    strides, pads, dilations, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 2, "conv2d"
    )
    return _conv2d(x, weight, bias, strides, pads, dilations, groups, out_shape)[0]


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d` with respect to its array arguments.

    Inputs:
    - grad_out: ``(N, C_out, H_out, W_out)``, the upstream gradient (x's dtype).
    - x, weight, bias, stride, padding, dilation, groups: exactly as given to :func:`conv2d`.

    Returns ``(grad_x, grad_weight, grad_bias)``:
    - grad_x: ``(N, C_in, H, W)``.
    - grad_weight: ``(C_out, C_in / groups, kH, kW)``.
    - grad_bias: ``(C_out,)``, or None when ``bias`` is None.
    """
    strides, pads, dilations, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 2, "conv2d_backward"
    )
    _args.grad_out_array(grad_out, out_shape, x)
    g = Geometry(weight.shape[2:], strides, dilations, pads, x.shape[2:], out_shape[2:])
    return _conv2d_backward(grad_out, x, weight, bias, groups, Saved(g, None))


def _lift_1d(
    x: np.ndarray, weight: np.ndarray, stride: Ints, pads: Pads, dilation: Ints
) -> tuple[np.ndarray, np.ndarray, Ints, Pads, Ints]:
    """View 1-D convolution arguments as 2-D ones with height 1."""
    return x[:, :, None, :], weight[:, :, None, :], (1, *stride), ((0, 0), *pads), (1, *dilation)


def conv1d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] | str = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """1-D cross-correlation of a batch of signals, as ``torch.nn.functional.conv1d``.

    Inputs:
    - x: ``(N, C_in, L)`` float32 or float64.
    - weight: ``(C_out, C_in / groups, K)``, same dtype.
    - bias: ``(C_out,)`` or None.
    - stride, dilation: positive int (or 1-tuple); padding: int (or 1-tuple), ``"valid"`` or ``"same"``.
    - groups: int dividing ``C_in`` and ``C_out``.

    Returns:
    - out: ``(N, C_out, L_out)`` with ``L_out = floor((L + 2*P - D*(K - 1) - 1) / S) + 1``.
    """
    strides, pads, dilations, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 1, "conv1d"
    )
    x2, w2, strides, pads, dilations = _lift_1d(x, weight, strides, pads, dilations)
    out, _ = _conv2d(x2, w2, bias, strides, pads, dilations, groups, (*out_shape[:2], 1, out_shape[2]))
    return out[:, :, 0, :]


def conv1d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] | str = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv1d` with respect to its array arguments.

    Inputs:
    - grad_out: ``(N, C_out, L_out)``.
    - x, weight, bias, stride, padding, dilation, groups: exactly as given to :func:`conv1d`.

    Returns ``(grad_x, grad_weight, grad_bias)`` of shapes ``(N, C_in, L)``,
    ``(C_out, C_in / groups, K)`` and ``(C_out,)`` (None when ``bias`` is None).
    """
    strides, pads, dilations, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 1, "conv1d_backward"
    )
    _args.grad_out_array(grad_out, out_shape, x)
    x2, w2, strides, pads, dilations = _lift_1d(x, weight, strides, pads, dilations)
    g = Geometry(w2.shape[2:], strides, dilations, pads, x2.shape[2:], (1, out_shape[2]))
    grad_x, grad_weight, grad_bias = _conv2d_backward(grad_out[:, :, None, :], x2, w2, bias, groups, Saved(g, None))
    return grad_x[:, :, 0, :], grad_weight[:, :, 0, :], grad_bias
