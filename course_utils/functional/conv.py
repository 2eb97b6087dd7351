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
from ._im2col import Geometry, col2im, from_channel_major, im2col, to_channel_major


def _matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """``(C_out, C_in/G, kH, kW)`` -> ``(G, C_out/G, C_in/G * kH * kW)`` (a view)."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


def _by_group(a: np.ndarray, groups: int) -> np.ndarray:
    """Columns ``(C, kH * kW, N, H_out, Wq)`` or a channel-major ``(C, N, H_out, Wq)`` -> ``(G, rows, M)``."""
    return a.reshape(groups, -1, a.shape[-3] * a.shape[-2] * a.shape[-1])


def _product(cols, weight, groups, g: Geometry, bias=None):
    """The convolution proper, ONE matrix product per group over the whole batch:
    ``weight (G, C_out/G, C_g*kH*kW) @ columns (G, C_g*kH*kW, M)``, returned as ``(N, C_out, H_out, W_out)``."""
    product = np.matmul(_matrix(weight, groups), _by_group(cols, groups))
    return from_channel_major(product.reshape(weight.shape[0], -1), g, bias)


def _input_grad(go, weight, groups, x_shape, g: Geometry):
    """conv2d's input gradient, shape ``x_shape``, from the channel-major upstream gradient ``go``
    ``(C_out, N, H_out, Wq)``: col2im of ``weight^T @ go`` (one matrix product per group)."""
    cols = np.matmul(_matrix(weight, groups).transpose(0, 2, 1), _by_group(go, groups))
    return col2im(cols, x_shape, g)


def _weight_grad(go, cols, weight_shape, groups):
    """conv2d's weight gradient ``go @ columns^T`` (one matrix product per group, summed over the
    batch by the product itself), from the channel-major ``go`` ``(C_out, N, H_out, Wq)``."""
    return np.matmul(_by_group(go, groups), _by_group(cols, groups).transpose(0, 2, 1)).reshape(weight_shape)


class Saved:
    """What a conv2d forward pass keeps for its backward pass: the geometry and the columns."""

    __slots__ = ("geometry", "columns")

    def __init__(self, geometry: Geometry, columns: np.ndarray):
        self.geometry, self.columns = geometry, columns


def _conv2d(x, weight, bias, stride, pads, dilation, groups, out_shape):
    """Forward pass; returns ``(out, Saved)``."""
    g = Geometry(weight.shape[2:], stride, dilation, pads, x.shape[2:], out_shape[2:])
    cols = im2col(x, g)
    return _product(cols, weight, groups, g, bias), Saved(g, cols)


def _conv2d_backward(grad_out, x, weight, bias, groups, saved: Saved):
    """Backward pass from the forward's ``saved`` (whose columns it releases)."""
    g, cols = saved.geometry, saved.columns
    saved.columns = None
    if cols is None:
        cols = im2col(x, g)
    go = to_channel_major(grad_out, g)
    grad_weight = _weight_grad(go, cols, weight.shape, groups)
    del cols  # free the columns before _input_grad allocates as many (the allocator reuses them)
    grad_x = _input_grad(go, weight, groups, x.shape, g)
    grad_bias = None if bias is None else go.reshape(go.shape[0], -1).sum(axis=1)
    return grad_x, grad_weight, grad_bias


def conv2d_saving(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """:func:`conv2d` that also returns what its backward pass needs: ``(out, saved)``; then
    ``conv2d_backward_saved(saved, grad_out, x, weight, bias, ..., groups)`` reuses the columns
    instead of building them again (what ``nn.Conv2d`` does in training)."""
    stride, pads, dilation, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 2, "conv2d"
    )
    return _conv2d(x, weight, bias, stride, pads, dilation, groups, out_shape)


def conv2d_backward_saved(saved: Saved, grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """:func:`conv2d_backward` from the ``saved`` of :func:`conv2d_saving`, made with the same
    arguments (used once: the columns are released). Returns ``(grad_x, grad_weight, grad_bias)``."""
    g = saved.geometry
    _args.grad_out_array(grad_out, (x.shape[0], weight.shape[0], *g.out_hw), x)
    return _conv2d_backward(grad_out, x, weight, bias, groups, saved)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
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
    return conv2d_saving(x, weight, bias, stride, padding, dilation, groups)[0]


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of :func:`conv2d` with respect to its array arguments.

    Inputs:
    - grad_out: ``(N, C_out, H_out, W_out)``, the upstream gradient (x's dtype).
    - x, weight, bias, stride, padding, dilation, groups: exactly as given to :func:`conv2d`.

    Returns ``(grad_x, grad_weight, grad_bias)``:
    - grad_x: ``(N, C_in, H, W)``.
    - grad_weight: ``(C_out, C_in / groups, kH, kW)``.
    - grad_bias: ``(C_out,)``, or None when ``bias`` is None.
    """
    stride, pads, dilation, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 2, "conv2d_backward"
    )
    _args.grad_out_array(grad_out, out_shape, x)
    g = Geometry(weight.shape[2:], stride, dilation, pads, x.shape[2:], out_shape[2:])
    return _conv2d_backward(grad_out, x, weight, bias, groups, Saved(g, None))


def _lift_1d(x, weight, stride, pads, dilation):
    """View 1-D convolution arguments as 2-D ones with height 1."""
    return x[:, :, None, :], weight[:, :, None, :], (1, *stride), ((0, 0), *pads), (1, *dilation)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of a batch of signals, as ``torch.nn.functional.conv1d``.

    Inputs:
    - x: ``(N, C_in, L)`` float32 or float64.
    - weight: ``(C_out, C_in / groups, K)``, same dtype.
    - bias: ``(C_out,)`` or None.
    - stride, dilation: positive int (or 1-tuple); padding: int, ``"valid"`` or ``"same"``.
    - groups: int dividing ``C_in`` and ``C_out``.

    Returns:
    - out: ``(N, C_out, L_out)`` with ``L_out = floor((L + 2*P - D*(K - 1) - 1) / S) + 1``.
    """
    stride, pads, dilation, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 1, "conv1d"
    )
    x2, w2, stride, pads, dilation = _lift_1d(x, weight, stride, pads, dilation)
    out, _ = _conv2d(x2, w2, bias, stride, pads, dilation, groups, (*out_shape[:2], 1, out_shape[2]))
    return out[:, :, 0, :]


def conv1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of :func:`conv1d` with respect to its array arguments.

    Inputs:
    - grad_out: ``(N, C_out, L_out)``.
    - x, weight, bias, stride, padding, dilation, groups: exactly as given to :func:`conv1d`.

    Returns ``(grad_x, grad_weight, grad_bias)`` of shapes ``(N, C_in, L)``,
    ``(C_out, C_in / groups, K)`` and ``(C_out,)`` (None when ``bias`` is None).
    """
    stride, pads, dilation, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 1, "conv1d_backward"
    )
    _args.grad_out_array(grad_out, out_shape, x)
    x2, w2, stride, pads, dilation = _lift_1d(x, weight, stride, pads, dilation)
    g = Geometry(w2.shape[2:], stride, dilation, pads, x2.shape[2:], (1, out_shape[2]))
    grad_x, grad_weight, grad_bias = _conv2d_backward(grad_out[:, :, None, :], x2, w2, bias, groups, Saved(g, None))
    return grad_x[:, :, 0, :], grad_weight[:, :, 0, :], grad_bias
