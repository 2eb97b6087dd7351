"""max_pool2d and avg_pool2d and their backward passes.

Pooling summarises each window of a feature map by one number (Goodfellow et al., *Deep
Learning*, ch. 9, "Pooling"; Pardo, Northwestern lecture on pooling). The windows are visited
the way im2col visits them, one strided sub-grid of the padded input per kernel offset,
so a pooling pass is ``kH * kW`` elementwise maxima or sums over arrays of the output's
shape: no loop over output pixels, no intermediate of ``kH * kW`` times the output.
"""
from __future__ import annotations

import numpy as np

from . import _args
from ._im2col import offsets, pad, unpad


def _setup(x, kernel_size, stride, padding, dilation, op: str):
    """Validate; return ``(kernel, stride, pads, dilation, out_shape)``."""
    _args.float_array(x, "x", ndim=4)
    kernel = _args.int_tuple(kernel_size, "kernel_size", 2, 1)
    stride = kernel if stride is None else _args.int_tuple(stride, "stride", 2, 1)
    padding = _args.int_tuple(padding, "padding", 2, 0)
    dilation = _args.int_tuple(dilation, "dilation", 2, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size {kernel}")
    out = tuple(
        _args.out_size(size, k, s, p, p, d) for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)
    )
    if 0 in x.shape[:2] or min(out) < 1:
        raise ValueError(
            f"{op}: the window (kernel_size {kernel}, dilation {dilation}) is larger than the padded input "
            f"(x {x.shape}, padding {padding})"
        )
    return kernel, stride, tuple((p, p) for p in padding), dilation, (*x.shape[:2], *out)


def _windows(xp, kernel, stride, dilation, out_hw):
    """Yield the ``kH * kW`` strided sub-grids of padded ``xp``, each of the output's shape."""
    for _, _, window in offsets(kernel, stride, dilation, out_hw):
        yield window, xp[(slice(None), slice(None), *window)]


def _max(xp, kernel, stride, dilation, out_hw):
    grids = _windows(xp, kernel, stride, dilation, out_hw)
    out = next(grids)[1].copy()
    for _, grid in grids:
        np.maximum(out, grid, out=out)
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """Max pooling, as ``torch.nn.functional.max_pool2d`` (``ceil_mode=False``).

    Inputs:
    - x: ``(N, C, H, W)`` float32 or float64.
    - kernel_size: int or ``(kH, kW)``; stride: int, pair or None (None means kernel_size).
    - padding: int or pair, at most half the kernel size; padded cells hold ``-inf``.
    - dilation: int or pair, the spacing between window elements.

    Returns:
    - out: ``(N, C, H_out, W_out)`` with ``H_out = floor((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1``.
    """
    kernel, stride, pads, dilation, out_shape = _setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    return _max(pad(x, pads, -np.inf), kernel, stride, dilation, out_shape[2:])


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1):
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    Each window's upstream gradient goes to the window's maximum; when several elements tie,
    to the first of them in row-major window order (as PyTorch does). Overlapping windows add.

    Inputs:
    - grad_out: ``(N, C, H_out, W_out)``.
    - x, kernel_size, stride, padding, dilation: as given to :func:`max_pool2d`.

    Returns:
    - grad_x: ``(N, C, H, W)``.
    """
    kernel, stride, pads, dilation, out_shape = _setup(x, kernel_size, stride, padding, dilation, "max_pool2d_backward")
    _args.grad_out_array(grad_out, out_shape, x)
    xp = pad(x, pads, -np.inf)
    out = _max(xp, kernel, stride, dilation, out_shape[2:])
    grad = np.zeros(xp.shape, dtype=x.dtype)
    # Windows are disjoint when, along both axes, the stride exceeds the window's extent.
    disjoint = all(s > d * (k - 1) for s, d, k in zip(stride, dilation, kernel))
    pending = grad_out.copy()  # the gradient of the windows whose maximum is not yet found
    for window, grid in _windows(xp, kernel, stride, dilation, out_shape[2:]):
        hit = grid == out
        target = grad[(slice(None), slice(None), *window)]
        if disjoint:
            np.multiply(pending, hit, out=target)
        else:
            target += pending * hit
        pending *= ~hit
    return unpad(grad, pads)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling, as ``torch.nn.functional.avg_pool2d`` with its defaults
    (``ceil_mode=False``, ``count_include_pad=True``: padded zeros count in the average).

    Inputs:
    - x: ``(N, C, H, W)`` float32 or float64.
    - kernel_size: int or ``(kH, kW)``; stride: int, pair or None (None means kernel_size).
    - padding: int or pair, at most half the kernel size.

    Returns:
    - out: ``(N, C, H_out, W_out)`` with ``H_out = floor((H + 2*pH - kH) / sH) + 1``.
    """
    kernel, stride, pads, dilation, out_shape = _setup(x, kernel_size, stride, padding, 1, "avg_pool2d")
    grids = _windows(pad(x, pads), kernel, stride, dilation, out_shape[2:])
    out = next(grids)[1].copy()
    for _, grid in grids:
        out += grid
    out *= out.dtype.type(1.0 / (kernel[0] * kernel[1]))
    return out


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0):
    """Gradient of :func:`avg_pool2d` with respect to ``x``: every element of a window gets
    ``grad_out / (kH * kW)``; overlapping windows add.

    Inputs:
    - grad_out: ``(N, C, H_out, W_out)``.
    - x, kernel_size, stride, padding: as given to :func:`avg_pool2d`.

    Returns:
    - grad_x: ``(N, C, H, W)``.
    """
    kernel, stride, pads, dilation, out_shape = _setup(x, kernel_size, stride, padding, 1, "avg_pool2d_backward")
    _args.grad_out_array(grad_out, out_shape, x)
    (top, bottom), (left, right) = pads
    grad = np.zeros((*x.shape[:2], x.shape[2] + top + bottom, x.shape[3] + left + right), dtype=x.dtype)
    share = grad_out * grad_out.dtype.type(1.0 / (kernel[0] * kernel[1]))
    for _, _, window in offsets(kernel, stride, dilation, out_shape[2:]):
        grad[(slice(None), slice(None), *window)] += share
    return unpad(grad, pads)
