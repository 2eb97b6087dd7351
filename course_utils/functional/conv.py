"""conv1d and conv2d (cross-correlation, as in PyTorch) and their backward passes.

The forward pass is im2col and one (grouped) matrix product. The backward pass rebuilds the
same columns from ``x`` for the weight gradient, ``grad_out @ columns^T``, and scatters
``weight^T @ grad_out`` back with col2im for the input gradient (Goodfellow et al., *Deep
Learning*, ch. 9, "Gradient computation": the weight gradient and the "deconvolution";
Johnson & Fouhey, EECS 442 lecture 15 on shapes). conv1d is conv2d on a height-1 view.
"""
from __future__ import annotations

import numpy as np

from . import _args
from ._im2col import col2im, grouped, im2col


def _weight_matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """``(C_out, C_in/G, kH, kW)`` -> ``(G, C_out/G, C_in/G * kH * kW)`` (a view)."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


def _product(cols, weight, groups, n, out_hw):
    """The convolution proper: ``weight @ columns``, returned as ``(N, C_out, H_out, W_out)``."""
    return np.matmul(_weight_matrix(weight, groups), cols).reshape(n, -1, *out_hw)


def _input_grad(grad_out, weight, groups, x_shape, stride, pads, dilation):
    """conv2d's input gradient, shape ``x_shape``: col2im of ``weight^T @ grad_out``."""
    cols = np.matmul(_weight_matrix(weight, groups).transpose(0, 2, 1), grouped(grad_out, groups))
    return col2im(cols, x_shape, weight.shape[2:], stride, pads, dilation, grad_out.shape[2:])


def _weight_grad(grad_out, cols, weight_shape, groups):
    """conv2d's weight gradient: ``grad_out @ columns^T`` summed over the batch.

    Computed transposed, ``columns @ grad_out^T``, which BLAS runs faster on these shapes.
    """
    go_t = np.ascontiguousarray(grouped(grad_out, groups).transpose(0, 1, 3, 2))
    per_sample = np.matmul(cols, go_t)  # (N, G, C_g * kH * kW, C_out / G)
    return per_sample.sum(axis=0).transpose(0, 2, 1).reshape(weight_shape)


def _conv2d(x, weight, bias, stride, pads, dilation, groups, out_shape):
    cols = im2col(x, weight.shape[2:], stride, pads, dilation, out_shape[2:], groups)
    out = _product(cols, weight, groups, x.shape[0], out_shape[2:])
    if bias is not None:
        out += bias[:, None, None]
    return out


def _conv2d_backward(grad_out, x, weight, bias, stride, pads, dilation, groups):
    cols = im2col(x, weight.shape[2:], stride, pads, dilation, grad_out.shape[2:], groups)
    grad_weight = _weight_grad(grad_out, cols, weight.shape, groups)
    del cols  # free the columns before _input_grad allocates as many (the allocator reuses them)
    grad_x = _input_grad(grad_out, weight, groups, x.shape, stride, pads, dilation)
    grad_bias = None if bias is None else grad_out.sum(axis=(0, 2, 3))
    return grad_x, grad_weight, grad_bias


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
    stride, pads, dilation, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 2, "conv2d"
    )
    return _conv2d(x, weight, bias, stride, pads, dilation, groups, out_shape)


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
    return _conv2d_backward(grad_out, x, weight, bias, stride, pads, dilation, groups)


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
    out = _conv2d(x2, w2, bias, stride, pads, dilation, groups, (*out_shape[:2], 1, out_shape[2]))
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
    grad_x, grad_weight, grad_bias = _conv2d_backward(
        grad_out[:, :, None, :], x2, w2, bias, stride, pads, dilation, groups
    )
    return grad_x[:, :, 0, :], grad_weight[:, :, 0, :], grad_bias
