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

- **One matrix for the whole batch**, so that a convolution is ONE large matrix product per
  group (G = groups, C_g = C / G, M = N * H_out * Wq): ``columns`` are
  ``(C, kH * kW, N, H_out, Wq)``, i.e. ``(G, C_g * kH * kW, M)``, rows ordered (channel, i, j)
  like a flattened weight ``(C_out, C_g, kH, kW)``; the product ``weight @ columns`` is
  *channel-major*, ``(C, N, H_out, Wq)`` = ``(G, C_g, M)`` (``to_channel_major`` and
  ``from_channel_major`` convert from and to NCHW).
- **Whole rows**: the padded input is split into its ``sH * sW`` stride phases
  (``phase[a, b][y, z] = x_padded[y*sH + a, z*sW + b]``; with stride 1 the one phase is the
  padded input itself). Within a phase, a kernel offset's sub-grid is a *stride-1* window, and a
  window row is a contiguous run of the phase's row; taking every output row ``Wq`` (the
  phase's width) wide makes the whole sub-grid ONE contiguous run of the flattened phase, which
  numpy copies and adds at memory speed. The ``Wq - W_out`` extra entries of each row are
  computed and dropped (their upstream gradient is zero).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._threads import parallel


class Geometry(NamedTuple):
    """Where the windows of a convolution sit: kernel ``(kH, kW)``, ``stride``, ``dilation``,
    ``pads = ((top, bottom), (left, right))``, input ``in_hw = (H, W)`` and output ``out_hw``
    (no larger than the convolution's output size)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]

    @property
    def padded_hw(self) -> tuple[int, int]:
        (top, bottom), (left, right) = self.pads
        return self.in_hw[0] + top + bottom, self.in_hw[1] + left + right

    @property
    def phase_hw(self) -> tuple[int, int]:
        """``(Hq + 1, Wq)``: a stride phase's size, plus one zero row that the runs of the last
        row's extra entries may reach into."""
        (hp, wp), (sh, sw) = self.padded_hw, self.stride
        return -(-hp // sh) + 1, -(-wp // sw)

    @property
    def width(self) -> int:
        """``Wq``, the width of one output row in the column layout."""
        return self.phase_hw[1]

    def runs(self):
        """Yield, per kernel offset in row-major order, ``(phase (a, b), start)``: the offset's
        sub-grid starts at flat index ``start`` of phase ``(a, b)``."""
        (kh, kw), (sh, sw), (dh, dw), wq = self.kernel, self.stride, self.dilation, self.width
        for i in range(kh):
            for j in range(kw):
                (qi, a), (qj, b) = divmod(i * dh, sh), divmod(j * dw, sw)
                yield (a, b), qi * wq + qj


def _phases(xp: np.ndarray, g: Geometry, value: float) -> np.ndarray:
    """Padded ``xp`` ``(N, C, Hp, Wp)`` -> its stride phases ``(N, C, sH, sW, Hq + 1, Wq)``, the rest ``value``."""
    (sh, sw), (hq, wq) = g.stride, g.phase_hw
    out = np.empty((*xp.shape[:2], sh, sw, hq, wq), dtype=xp.dtype)
    for a in range(sh):
        for b in range(sw):
            part = xp[:, :, a::sh, b::sw]
            h, w = part.shape[2:]
            out[:, :, a, b, :h, :w] = part
            out[:, :, a, b, h:].fill(value)
            out[:, :, a, b, :h, w:].fill(value)
    return out


def run_view(phases: np.ndarray, g: Geometry, phase, start: int, writeable: bool = False) -> np.ndarray:
    """The ``(C, N, H_out * Wq)`` view of one kernel offset's sub-grid (its run in every sample
    and channel); no two of its elements share memory."""
    sh, sw = g.stride
    hq, wq = g.phase_hw
    item = phases.itemsize
    offset = ((phase[0] * sw + phase[1]) * hq * wq + start) * item
    return as_strided(
        phases.reshape(-1)[offset // item :],
        (phases.shape[1], phases.shape[0], g.out_hw[0] * wq),
        (phases.strides[1], phases.strides[0], item),
        writeable=writeable,
    )


def pad(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``(N, C, H, W)`` ``x`` by ``pads = ((top, bottom), (left, right))``
    with ``value``. Without padding the result is ``x`` itself."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    for border in (out[:, :, :top], out[:, :, top + h :], out[:, :, top : top + h, :left],
                   out[:, :, top : top + h, left + w :]):
        border.fill(value)
    return out


def phases_of(x: np.ndarray, g: Geometry, value: float = 0.0) -> np.ndarray:
    """``x`` ``(N, C, H, W)`` padded with ``value`` and split into stride phases
    ``(N, C, sH, sW, Hq + 1, Wq)`` (a new C-contiguous array)."""
    if g.stride == (1, 1):  # one phase: pad straight into it
        (top, bottom), (left, right) = g.pads
        out = pad(x, ((top, bottom + 1), (left, right)), value)
        return out.reshape(*out.shape[:2], 1, 1, *out.shape[2:])
    return _phases(pad(x, g.pads, value), g, value)


def _all_runs(phases: np.ndarray, g: Geometry) -> np.ndarray:
    """With stride 1: the ``(C, kH, kW, N, H_out * Wq)`` view of every kernel offset's run at once."""
    (dh, dw), wq, item = g.dilation, g.width, phases.itemsize
    s_n, s_c = phases.strides[:2]
    return as_strided(phases, (phases.shape[1], *g.kernel, phases.shape[0], g.out_hw[0] * wq),
                      (s_c, dh * wq * item, dw * item, s_n, item), writeable=False)


def im2col(x: np.ndarray, g: Geometry) -> np.ndarray:
    """Unroll ``x`` ``(N, C, H, W)`` into columns ``(C, kH * kW, N, H_out, Wq)``: one block copy
    per kernel offset (a single copy with stride 1), on BLAS's threads (a slice of the batch each)."""
    n, c = x.shape[:2]
    (kh, kw), (ho, wq) = g.kernel, (g.out_hw[0], g.width)
    cols = np.empty((c, kh * kw, n, ho * wq), dtype=x.dtype)

    def part(lo: int, hi: int) -> None:
        phases = phases_of(x[lo:hi], g)
        if g.stride == (1, 1):
            np.copyto(cols[:, :, lo:hi].reshape(c, kh, kw, hi - lo, ho * wq), _all_runs(phases, g))
            return
        for k, (phase, start) in enumerate(g.runs()):
            cols[:, k, lo:hi] = run_view(phases, g, phase, start)

    parallel(part, n, cols.size)
    return cols.reshape(c, -1, n, ho, wq)


def scatter(x_shape, g: Geometry, dtype, add) -> np.ndarray:
    """The adjoint of taking the kernel offsets' runs: an array of shape ``x_shape = (N, C, H, W)``
    made of zeros to which ``add(k, target, lo, hi)`` adds, in place, the contribution of kernel
    offset ``k`` to ``target``, the ``(C, hi - lo, H_out * Wq)`` run view of samples ``lo:hi``
    (overlapping windows add up). Run on BLAS's threads, a slice of the batch each."""
    n, c, h, w = x_shape
    (sh, sw), ((top, _), (left, _)) = g.stride, g.pads
    grad = np.empty(x_shape, dtype=dtype)

    def part(lo: int, hi: int) -> None:
        phases = np.zeros((hi - lo, c, sh, sw, *g.phase_hw), dtype=dtype)
        for k, (phase, start) in enumerate(g.runs()):
            add(k, run_view(phases, g, phase, start, writeable=True), lo, hi)
        if g.stride == (1, 1):
            grad[lo:hi] = phases[:, :, 0, 0, top : top + h, left : left + w]
            return
        unpadded = g.padded_hw == (h, w)
        padded = grad[lo:hi] if unpadded else np.empty((hi - lo, c, *g.padded_hw), dtype=dtype)
        for a in range(sh):
            for b in range(sw):
                sub = padded[:, :, a::sh, b::sw]
                sub[...] = phases[:, :, a, b, : sub.shape[2], : sub.shape[3]]
        if not unpadded:
            grad[lo:hi] = padded[:, :, top : top + h, left : left + w]

    parallel(part, n, n * c * g.kernel[0] * g.kernel[1] * g.out_hw[0] * g.width)
    return grad


def col2im(cols: np.ndarray, x_shape, g: Geometry) -> np.ndarray:
    """Adjoint of :func:`im2col`: add columns ``(C, kH * kW, N, H_out, Wq)`` (any shape of that
    size) back into an array of shape ``x_shape = (N, C, H, W)``; overlapping windows add up.
    The columns' extra entries (``W_out <= column < Wq``) must be zero."""
    cols = cols.reshape(x_shape[1], -1, x_shape[0], g.out_hw[0] * g.width)

    def add(k, target, lo, hi):
        target += cols[:, k, lo:hi]

    return scatter(x_shape, g, cols.dtype, add)


def to_channel_major(a: np.ndarray, g: Geometry) -> np.ndarray:
    """``(N, C, H_out, W_out)`` -> ``(C, N, H_out, Wq)``, zero in the extra columns."""
    n, c, ho, wo = a.shape
    out = np.empty((c, n, ho, g.width), dtype=a.dtype)

    def part(lo: int, hi: int) -> None:
        out[:, lo:hi, :, :wo] = a[lo:hi].transpose(1, 0, 2, 3)
        out[:, lo:hi, :, wo:] = 0

    parallel(part, n, out.size)
    return out


def from_channel_major(m: np.ndarray, g: Geometry, bias: np.ndarray | None = None) -> np.ndarray:
    """``(C, N, H_out, Wq)`` (or its matrix) -> ``(N, C, H_out, W_out)``, plus ``bias[c]`` if given."""
    ho, wo = g.out_hw
    m = m.reshape(m.shape[0], -1, ho, g.width)[..., :wo].transpose(1, 0, 2, 3)
    out = np.empty(m.shape, dtype=m.dtype)

    def part(lo: int, hi: int) -> None:
        if bias is None:
            out[lo:hi] = m[lo:hi]
        else:
            np.add(m[lo:hi], bias[:, None, None], out=out[lo:hi])

    parallel(part, m.shape[0], out.size)
    return out
