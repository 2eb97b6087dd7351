"""im2col and col2im: the two data movements behind every convolution in this package.

A 2-D convolution is one matrix product once the input is unrolled into columns
(lecture 18, the Toeplitz view; Goodfellow et al., *Deep Learning*, ch. 9, "Efficiency of
convolution"). The unrolling needs no loop over output pixels: for each
of the ``kH * kW`` kernel offsets ``(i, j)`` the input values that meet weight ``[i, j]``
form one strided sub-grid of the padded input,

    x_padded[:, :, i*dH : i*dH + sH*(H_out-1) + 1 : sH,  j*dW : j*dW + sW*(W_out-1) + 1 : sW]

so im2col is ``kH * kW`` slice copies and col2im (its adjoint, used by every backward pass)
is the mirror loop that adds those slices back. Stride and dilation are slice steps.

Layouts (G = groups, C_g = C / G, P = H_out * W_out):

- ``columns``: ``(N, G, C_g * kH * kW, P)``, one matrix per sample and group, rows ordered
  (channel, i, j) like a flattened weight ``(C_out, C_g, kH, kW)``, so
  ``weight.reshape(G, C_out/G, -1) @ columns`` is the convolution, already in NCHW order.
- ``grouped``: a ``(N, C, H, W)`` array viewed as ``(N, G, C_g, H * W)``, the layout of
  those products.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def offsets(kernel, stride, dilation, out_hw) -> Iterator[tuple[int, int, tuple[slice, slice]]]:
    """Yield ``(i, j, (rows, cols))``: the slices of a padded input that kernel offset ``(i, j)`` sees.

    Offsets come in row-major window order; ``x_padded[..., rows, cols]`` has shape ``out_hw``.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, (
                slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                slice(j * dw, j * dw + sw * (wo - 1) + 1, sw),
            )


def pad(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``(N, C, H, W)`` ``x`` by ``pads = ((top, bottom), (left, right))``.

    Without padding the result is ``x`` itself.
    """
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def unpad(xp: np.ndarray, pads) -> np.ndarray:
    """Inverse of :func:`pad`: the centre of ``xp`` as a C-contiguous array."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return xp
    return np.ascontiguousarray(xp[:, :, top : xp.shape[2] - bottom, left : xp.shape[3] - right])


def im2col(x: np.ndarray, kernel, stride, pads, dilation, out_hw, groups: int) -> np.ndarray:
    """Unroll ``x`` of shape ``(N, C, H, W)`` into columns ``(N, G, C_g * kH * kW, H_out * W_out)``.

    ``out_hw = (H_out, W_out)`` is usually the convolution's output size; a smaller one
    takes the first rows/columns only (conv_transpose2d's backward uses that).
    """
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = kernel, out_hw
    xp = pad(x, pads)
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for i, j, window in offsets(kernel, stride, dilation, out_hw):
        cols[:, :, i, j] = xp[(slice(None), slice(None), *window)]
    return cols.reshape(n, groups, (c // groups) * kh * kw, ho * wo)


def col2im(cols: np.ndarray, x_shape, kernel, stride, pads, dilation, out_hw) -> np.ndarray:
    """Adjoint of :func:`im2col`: add columns ``(N, G, C_g * kH * kW, H_out * W_out)`` back into
    an array of shape ``x_shape = (N, C, H, W)``; overlapping windows add up."""
    n, c, h, w = x_shape
    (kh, kw), ((top, bottom), (left, right)) = kernel, pads
    cols = cols.reshape(n, c, kh, kw, *out_hw)
    grad = np.zeros((n, c, h + top + bottom, w + left + right), dtype=cols.dtype)
    for i, j, window in offsets(kernel, stride, dilation, out_hw):
        grad[(slice(None), slice(None), *window)] += cols[:, :, i, j]
    return unpad(grad, pads)


def grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(N, G, C / G, H * W)`` (a view when ``a`` is contiguous)."""
    return a.reshape(a.shape[0], groups, a.shape[1] // groups, -1)
