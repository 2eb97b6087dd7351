"""im2col and col2im: the two data movements behind every convolution in this package.

A 2-D convolution is one matrix product once the input is unrolled into columns
(lecture 18, the Toeplitz view; Goodfellow et al., *Deep Learning*, ch. 9, "Efficiency of
convolution"). The unrolling needs no loop over output pixels: for each of the ``kH * kW``
kernel offsets ``(i, j)`` the input values that meet weight ``[i, j]`` form one strided
sub-grid of the padded input,

    x_padded[:, :, i*dH : i*dH + sH*(H_out-1) + 1 : sH,  j*dW : j*dW + sW*(W_out-1) + 1 : sW]

so im2col is ``kH * kW`` block copies and col2im (its adjoint, used by every backward pass) is
the mirror loop that adds those blocks back.

Two layout choices make those copies and the matrix product fast:

- **One matrix for many samples**, so that a convolution is one large matrix product per
  group (G = groups, C_g = C / G, M = N * H_out * Wq): ``columns`` are
  ``(C, kH * kW, N, H_out * Wq)``, i.e. ``(G, C_g * kH * kW, M)``, rows ordered (channel, i, j)
  like a flattened weight ``(C_out, C_g, kH, kW)``; the product ``weight @ columns`` is
  *channel-major*, ``(C, N, H_out, Wq)`` = ``(G, C_g, M)`` (``to_channel_major`` and
  ``from_channel_major`` convert from and to NCHW). The slice of the batch's columns for
  samples ``lo:hi`` is again such a matrix (with a larger row stride), which is how
  ``conv`` cuts the batch into cache-sized blocks.
- **Whole rows**: the padded input is split into its ``sH * sW`` stride phases
  (``phase[a, b][y, z] = x_padded[y*sH + a, z*sW + b]``; with stride 1 the one phase is the
  padded input itself). Within a phase, a kernel offset's sub-grid is a *stride-1* window, and a
  window row is a contiguous run of the phase's row; taking every output row ``Wq`` (the
  phase's width) wide makes the whole sub-grid ONE contiguous run of the flattened phase, which
  numpy copies and adds at memory speed. The ``Wq - W_out`` extra entries of each row are
  computed and dropped (their upstream gradient is zero). When they would be over a fifth of
  the products (a large dilation), the columns keep only the ``W_out`` entries of each row
  (``Geometry.width``; below, ``Wq`` stands for that width).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import EllipsisType

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._args import Ints, Pads

COMPACT_ABOVE = 9  # whole rows unless they make the products this much larger than compact columns


class Geometry:
    """Where the windows of a convolution sit: kernel ``(kH, kW)``, ``stride``, ``dilation``,
    ``pads = ((top, bottom), (left, right))``, input ``in_hw = (H, W)`` and output ``out_hw``
    (no larger than the convolution's output size); and, derived from them, the padded input's
    size ``padded_hw``, a stride phase's size ``phase_hw = (Hq + 1, Wq)`` (plus one row that the
    runs of the last row's extra entries may reach into), the column layout's row ``width`` (``Wq``
    or ``W_out``) and ``runs``: per kernel offset in row-major order, ``(phase (a, b), start)``, the offset's
    sub-grid starting at flat index ``start`` of phase ``(a, b)``."""

    __slots__ = ("kernel", "stride", "dilation", "pads", "in_hw", "out_hw", "padded_hw", "phase_hw", "width", "runs")
    kernel: Ints
    stride: Ints
    dilation: Ints
    pads: Pads
    in_hw: Ints
    out_hw: Ints
    padded_hw: tuple[int, int]
    phase_hw: tuple[int, int]
    width: int
    runs: list[tuple[tuple[int, int], int]]

    def __init__(self, kernel: Ints, stride: Ints, dilation: Ints, pads: Pads, in_hw: Ints, out_hw: Ints) -> None:
        self.kernel, self.stride, self.dilation = tuple(kernel), tuple(stride), tuple(dilation)
        self.pads, self.in_hw, self.out_hw = tuple(pads), tuple(in_hw), tuple(out_hw)
        (top, bottom), (left, right) = self.pads
        hp, wp = self.padded_hw = (self.in_hw[0] + top + bottom, self.in_hw[1] + left + right)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        self.phase_hw = (-(-hp // sh) + 1, -(-wp // sw))
        wq = self.phase_hw[1]
        # Whole rows, unless their extra entries would be over a fifth of the products (large
        # dilations): then only the W_out entries of each row, at the price of shorter copies
        # (measured: faster with dilation 2 on a 14-wide input, slower with stride 2).
        compact = self.stride == (1, 1) and wq - self.out_hw[1] > 0.2 * wq
        self.width = self.out_hw[1] if compact else wq
        self.runs = []
        for i in range(kh):
            for j in range(kw):
                (qi, a), (qj, b) = divmod(i * dh, sh), divmod(j * dw, sw)
                self.runs.append(((a, b), qi * wq + qj))


Index = tuple[EllipsisType, slice, slice]  # the last two axes of an (N, C, H, W) array


def _phase_slices(g: Geometry, shape: Ints) -> Iterator[tuple[int, int, Index, Index]]:
    """Yield, per stride phase ``(a, b)``, the slices of ``x`` ``(N, C, H, W)`` that lie in the phase and
    where they go in it: ``(a, b, x_slice, phase_slice)`` with ``x[x_slice]`` and
    ``phase[a, b][phase_slice]`` of the same shape (the rest of the phase is padding)."""
    (sh, sw), ((top, _), (left, _)) = g.stride, g.pads
    h, w = shape[2:]

    def axis(offset: int, pad: int, step: int, size: int) -> tuple[slice, slice]:
        first = -(-(pad - offset) // step) if pad > offset else 0  # first phase row holding a row of x
        start = first * step + offset - pad  # ... and that row of x
        count = 0 if start >= size else (size - 1 - start) // step + 1
        return slice(start, start + step * (count - 1) + 1 if count else start, step), slice(first, first + count)

    for a in range(sh):
        rows_x, rows_p = axis(a, top, sh, h)
        for b in range(sw):
            cols_x, cols_p = axis(b, left, sw, w)
            yield a, b, (Ellipsis, rows_x, cols_x), (Ellipsis, rows_p, cols_p)


def run_view(
    phases: np.ndarray, g: Geometry, phase: tuple[int, int], start: int, writeable: bool = False
) -> np.ndarray:
    """The ``(C, N, H_out, Wq)`` view of one kernel offset's sub-grid (its run in every sample and
    channel); no two of its elements share memory."""
    hq, wq = g.phase_hw
    item = phases.itemsize
    view = np.ndarray(
        (phases.shape[1], phases.shape[0], g.out_hw[0], g.width),
        phases.dtype,
        buffer=phases,
        offset=((phase[0] * g.stride[1] + phase[1]) * hq * wq + start) * item,
        strides=(phases.strides[1], phases.strides[0], wq * item, item),
    )
    view.flags.writeable = writeable
    return view


def pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``(N, C, H, W)`` ``x`` by ``pads = ((top, bottom), (left, right))``
    with ``value``. Without padding the result is ``x`` itself."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    for border in (
        out[:, :, :top],
        out[:, :, top + h :],
        out[:, :, top : top + h, :left],
        out[:, :, top : top + h, left + w :],
    ):
        border.fill(value)
    return out


def phases_of(x: np.ndarray, g: Geometry, value: float = 0.0) -> np.ndarray:
    """``x`` ``(N, C, H, W)`` padded with ``value`` and split into stride phases
    ``(N, C, sH, sW, Hq + 1, Wq)`` (a new C-contiguous array)."""
    if g.stride == (1, 1):  # one phase: pad straight into it
        (top, bottom), (left, right) = g.pads
        out = pad(x, ((top, bottom + 1), (left, right)), value)
        return out.reshape(*out.shape[:2], 1, 1, *out.shape[2:])
    out = np.full((*x.shape[:2], *g.stride, *g.phase_hw), value, dtype=x.dtype)
    for a, b, x_part, phase_part in _phase_slices(g, x.shape):
        out[:, :, a, b][phase_part] = x[x_part]
    return out


def _all_runs(phases: np.ndarray, g: Geometry) -> np.ndarray:
    """With stride 1: the ``(C, kH, kW, N, H_out, width)`` view of every kernel offset's run at once."""
    (dh, dw), wq, item = g.dilation, g.phase_hw[1], phases.itemsize
    s_n, s_c = phases.strides[:2]
    return as_strided(
        phases,
        (phases.shape[1], *g.kernel, phases.shape[0], g.out_hw[0], g.width),
        (s_c, dh * wq * item, dw * item, s_n, wq * item, item),
        writeable=False,
    )


def im2col(x: np.ndarray, g: Geometry, out: np.ndarray | None = None) -> np.ndarray:
    """Unroll ``x`` ``(N, C, H, W)`` into columns ``(C, kH * kW, N, H_out * Wq)``: one block copy per
    kernel offset (a single copy with stride 1), into ``out`` if given (it may be a slice of a
    larger batch's columns)."""
    n, c = x.shape[:2]
    (kh, kw), (ho, width) = g.kernel, (g.out_hw[0], g.width)
    cols = np.empty((c, kh * kw, n, ho * width), dtype=x.dtype) if out is None else out
    blocks = cols.reshape(c, kh * kw, n, ho, width)  # a view, also of a batch slice
    phases = phases_of(x, g)
    if g.stride == (1, 1):
        s = blocks.strides
        np.copyto(as_strided(blocks, (c, kh, kw, n, ho, width), (s[0], kw * s[1], *s[1:])), _all_runs(phases, g))
    else:
        for k, (phase, start) in enumerate(g.runs):
            blocks[:, k] = run_view(phases, g, phase, start)
    return cols


def col2im(cols: np.ndarray, x_shape: Ints, g: Geometry, out: np.ndarray | None = None) -> np.ndarray:
    """Adjoint of :func:`im2col`: add columns ``(C, kH * kW, N, H_out * Wq)`` (any shape of that size
    that reshapes to it without a copy, e.g. a batch slice of larger columns) back into an array of
    shape ``x_shape = (N, C, H, W)`` (``out`` if given); overlapping windows add up. The columns'
    extra entries (``W_out <= column < Wq``) must be zero."""
    n, c = x_shape[:2]
    cols = cols.reshape(c, -1, n, g.out_hw[0], g.width)
    grad = np.empty(x_shape, dtype=cols.dtype) if out is None else out
    phases = np.zeros((n, c, *g.stride, *g.phase_hw), dtype=cols.dtype)
    for k, (phase, start) in enumerate(g.runs):
        run_view(phases, g, phase, start, writeable=True)[...] += cols[:, k]
    for a, b, x_part, phase_part in _phase_slices(g, x_shape):
        grad[x_part] = phases[:, :, a, b][phase_part]
    return grad


def to_channel_major(a: np.ndarray, g: Geometry) -> np.ndarray:
    """``(N, C, H_out, W_out)`` -> ``(C, N, H_out * width)``, zero in the extra columns."""
    n, c, ho, wo = a.shape
    out = np.empty((c, n, ho, g.width), dtype=a.dtype)
    out[..., :wo] = a.transpose(1, 0, 2, 3)
    out[..., wo:] = 0
    return out.reshape(c, n, -1)


def from_channel_major(m: np.ndarray, g: Geometry, bias: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """``(C, N, H_out, width)`` (or its matrix) -> ``out`` ``(N, C, H_out, W_out)``, plus ``bias[c]`` if given."""
    ho, wo = g.out_hw
    m = m.reshape(m.shape[0], -1, ho, g.width)[..., :wo].transpose(1, 0, 2, 3)
    if bias is None:
        out[...] = m
    else:
        np.add(m, bias[:, None, None], out=out)
    return out
