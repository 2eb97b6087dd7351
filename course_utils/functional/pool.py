"""max_pool2d and avg_pool2d and their backward passes.

Pooling summarises each window of a feature map by one number (Goodfellow et al., *Deep Learning*,
ch. 9, "Pooling"; Pardo, Northwestern lecture on pooling). The windows are visited the way im2col
visits them, one strided sub-grid of the padded input per kernel offset (gathered into a contiguous
buffer), so a pooling pass is ``kH * kW`` elementwise maxima or sums over arrays of the output's
shape, on BLAS's threads (a slice of the batch each): no loop over output pixels, no intermediate of
``kH * kW`` times the output. The backward pass of max pooling needs the offset of each window's
maximum; ``max_pool2d_saving`` keeps it from the forward pass (``nn.MaxPool2d`` does that), the
stateless ``max_pool2d_backward`` finds it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from . import _args
from ._args import Ints, Pads
from ._im2col import pad
from ._threads import parallel

Arguments = tuple[Ints, Ints, Pads, Ints, Ints]  # kernel, stride, pads, dilation, out_shape


def _setup(
    x: np.ndarray,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...],
    dilation: int | tuple[int, ...],
    op: str,
) -> Arguments:
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


def _grids(kernel: Ints, stride: Ints, dilation: Ints, out_hw: Ints) -> Iterator[tuple[slice, slice]]:
    """Yield, per kernel offset ``(i, j)`` in row-major order, the ``(rows, cols)`` slices of the
    padded input that the offset sees; ``x_padded[..., rows, cols]`` has shape ``out_hw``."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            yield (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def _index_dtype(kernel: Ints) -> type[np.integer]:
    """The smallest integer type that holds a window offset ``k < kH * kW``."""
    return np.int8 if kernel[0] * kernel[1] < 128 else np.int32


def _max(
    x: np.ndarray, kernel: Ints, stride: Ints, pads: Pads, dilation: Ints, out_shape: Ints, with_index: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max pooling ``(N, C, H_out, W_out)`` and, with ``with_index``, the offset ``k = i * kW + j`` of
    each window's first maximum (int8), or None.

    Per kernel offset, its sub-grid (gathered into a contiguous buffer first when its rows have
    gaps, stride > 1, or when it is read twice, for the index) is compared and maximised with the
    running maximum; on BLAS's threads, a slice of the batch each.
    """
    out = np.empty(out_shape, dtype=x.dtype)
    index = np.zeros(out_shape, dtype=_index_dtype(kernel)) if with_index else None

    def part(lo: int, hi: int) -> None:
        xp = pad(x[lo:hi], pads, -np.inf)
        acc, buffer = out[lo:hi], np.empty(acc_shape := (hi - lo, *out_shape[1:]), dtype=x.dtype)
        if index is not None:  # with_index
            later, offset = np.empty(acc_shape, dtype=bool), np.empty(acc_shape, dtype=index.dtype)
        for k, window in enumerate(_grids(kernel, stride, dilation, out_shape[2:])):
            grid = xp[(slice(None), slice(None), *window)]
            if k == 0:
                acc[...] = grid
                continue
            if stride[1] > 1 or with_index:  # gaps in rows, or used twice: gather into a contiguous buffer
                np.copyto(buffer, grid)
                grid = buffer
            if index is not None:  # with_index
                np.greater(grid, acc, out=later)  # strictly: a tie keeps the first maximum (row-major)
                # k grows, so the last offset that was strictly larger is the largest such k
                np.multiply(later.view(np.int8), index.dtype.type(k), out=offset)
                np.maximum(index[lo:hi], offset, out=index[lo:hi])
            np.maximum(acc, grid, out=acc)

    parallel(part, x.shape[0], x.size)
    return out, index


def _scatter(
    grad_out: np.ndarray,
    x_shape: Ints,
    kernel: Ints,
    stride: Ints,
    pads: Pads,
    dilation: Ints,
    share: Callable[[int, int, int, np.ndarray], None],
) -> np.ndarray:
    """``grad_x`` ``(N, C, H, W)``: for each kernel offset ``k``, ``share(k, lo, hi, out)`` writes into
    ``out`` the offset's part of the gradient of samples ``lo:hi`` (output-shaped), which is added
    to the offset's sub-grid (or is the sub-grid, when the windows tile the input)."""
    (top, bottom), (left, right) = pads
    padded = any(pads[0] + pads[1])
    grad = np.empty(x_shape, dtype=grad_out.dtype)

    def part(lo: int, hi: int) -> None:
        if _tiles(x_shape, kernel, stride, pads, dilation, grad_out.shape):
            # the windows cover every element once: write each sub-grid, no zeros, no additions
            for k, window in enumerate(_grids(kernel, stride, dilation, grad_out.shape[2:])):
                share(k, lo, hi, grad[lo:hi][(slice(None), slice(None), *window)])
            return
        if padded:
            target = np.zeros(
                (hi - lo, x_shape[1], x_shape[2] + top + bottom, x_shape[3] + left + right), dtype=grad_out.dtype
            )
        else:
            target = grad[lo:hi]
            target.fill(0)
        buffer = np.empty((hi - lo, *grad_out.shape[1:]), dtype=grad_out.dtype)
        for k, window in enumerate(_grids(kernel, stride, dilation, grad_out.shape[2:])):
            share(k, lo, hi, buffer)
            target[(slice(None), slice(None), *window)] += buffer
        if padded:
            grad[lo:hi] = target[:, :, top : top + x_shape[2], left : left + x_shape[3]]

    parallel(part, x_shape[0], int(np.prod(x_shape)))
    return grad


def _tiles(x_shape: Ints, kernel: Ints, stride: Ints, pads: Pads, dilation: Ints, out_shape: Ints) -> bool:
    """Whether the windows cover every element of x exactly once."""
    return (
        not any(pads[0] + pads[1])
        and stride == kernel
        and dilation == (1, 1)
        and x_shape[2] == kernel[0] * out_shape[2]
        and x_shape[3] == kernel[1] * out_shape[3]
    )


def _max_backward(
    grad_out: np.ndarray, index: np.ndarray, x_shape: Ints, kernel: Ints, stride: Ints, pads: Pads, dilation: Ints
) -> np.ndarray:
    """Send each window's upstream gradient to the offset ``index`` names; overlapping windows add.

    When the windows tile the input, each offset's sub-grid is written once; otherwise every
    window's maximum becomes a flat position in the padded input and ``np.add.at`` adds the
    upstream gradients there (one pass, in the order of the windows)."""
    if _tiles(x_shape, kernel, stride, pads, dilation, grad_out.shape):

        def share(k: int, lo: int, hi: int, out: np.ndarray) -> None:
            np.multiply(grad_out[lo:hi], index[lo:hi] == k, out=out)

        return _scatter(grad_out, x_shape, kernel, stride, pads, dilation, share)
    (kh, kw), (sh, sw), (dh, dw), ((top, bottom), (left, right)) = kernel, stride, dilation, pads
    n, c, ho, wo = grad_out.shape
    hp, wp = x_shape[2] + top + bottom, x_shape[3] + left + right
    flat_type: type[np.signedinteger] = np.int32 if n * c * hp * wp < 2**31 else np.int64
    offsets = np.array([i * dh * wp + j * dw for i in range(kh) for j in range(kw)], dtype=flat_type)
    corners = np.arange(ho, dtype=flat_type)[:, None] * (sh * wp) + np.arange(wo, dtype=flat_type) * sw
    grad = np.empty(x_shape, dtype=grad_out.dtype)
    padded = any(pads[0] + pads[1])

    def part(lo: int, hi: int) -> None:
        flat = np.take(offsets, index[lo:hi])
        flat += corners
        flat += (np.arange((hi - lo) * c, dtype=flat_type) * (hp * wp)).reshape(hi - lo, c, 1, 1)
        if padded:
            target = np.zeros(((hi - lo), c, hp, wp), dtype=grad_out.dtype)
        else:
            target = grad[lo:hi]
            target.fill(0)
        np.add.at(target.reshape(-1), flat.reshape(-1), grad_out[lo:hi].reshape(-1))
        if padded:
            grad[lo:hi] = target[:, :, top : top + x_shape[2], left : left + x_shape[3]]

    parallel(part, n, int(np.prod(x_shape)))
    return grad


class SavedIndex:
    """What a max_pool2d forward pass keeps for its backward pass: the pooling arguments and the offsets of the maxima.

    Parameters
    ----------
    arguments : tuple
        The normalised ``(kernel, stride, pads, dilation, out_shape)``.
    index : ndarray of int
        ``(N, C, H_out, W_out)``: the offset ``k = i * kW + j`` of each window's first maximum.

    Attributes
    ----------
    arguments : tuple
    index : ndarray of int
    """

    __slots__ = ("arguments", "index")
    arguments: Arguments
    index: np.ndarray

    def __init__(self, arguments: Arguments, index: np.ndarray) -> None:
        self.arguments, self.index = arguments, index


def max_pool2d(
    x: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Max pooling, as ``torch.nn.functional.max_pool2d`` (``ceil_mode=False``).

    Parameters
    ----------
    x : ndarray, float32 or float64
        ``(N, C, H, W)``.
    kernel_size : int or (int, int)
        ``(kH, kW)``.
    stride : int, (int, int) or None, optional
        None means kernel_size.
    padding : int or (int, int), optional
        At most half the kernel size; padded cells hold ``-inf``.
    dilation : int or (int, int), optional
        The spacing between window elements.

    Returns
    -------
    out : ndarray
        ``(N, C, H_out, W_out)``, x's dtype.

    Raises
    ------
    TypeError
        If ``x`` is not a float array, or a size argument is not an int or a pair of ints.
    ValueError
        If ``x`` is not 4-D, a size is not positive, the padding exceeds half the kernel or the
        window is larger than the padded input.

    Shape
    -----
    - Input: ``(N, C, H, W)``
    - Output: ``(N, C, H_out, W_out)``, where ``H_out = floor((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1``
      (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.max_pool2d(x, 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> F.max_pool2d(np.ones((8, 3, 7, 7)), 3, stride=2, padding=1).shape  # floor((7 + 2 - 2 - 1) / 2) + 1 = 4
    (8, 3, 4, 4)
    """
    kernel, strides, pads, dilations, out_shape = _setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    return _max(x, kernel, strides, pads, dilations, out_shape, with_index=False)[0]


def max_pool2d_saving(
    x: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    spare: object = None,
) -> tuple[np.ndarray, SavedIndex]:
    """:func:`max_pool2d` that also returns what its backward pass needs, ``(out, saved)``.

    ``saved`` holds the offset of each window's maximum; ``max_pool2d_backward_saved(saved,
    grad_out, x)`` uses it instead of finding the maxima again (what ``nn.MaxPool2d`` does in
    training).

    Parameters
    ----------
    x, kernel_size, stride, padding, dilation
        As for :func:`max_pool2d`.
    spare : object, optional
        Accepted for symmetry with ``conv2d_saving`` and not used.

    Returns
    -------
    out : ndarray
        ``(N, C, H_out, W_out)``, as :func:`max_pool2d` returns.
    saved : SavedIndex
        The pooling arguments and the offsets of the maxima.

    Raises
    ------
    TypeError, ValueError
        As :func:`max_pool2d`.

    Shape
    -----
    As :func:`max_pool2d`; ``saved.index`` is ``(N, C, H_out, W_out)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils.functional.pool import max_pool2d_saving
    >>> out, saved = max_pool2d_saving(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    >>> out.shape, saved.index  # every maximum at the window's bottom right: k = 1 * 2 + 1
    ((1, 1, 2, 2), array([[[[3, 3],
             [3, 3]]]], dtype=int8))
    """
    arguments = _setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    out, index = _max(x, *arguments, with_index=True)
    assert index is not None  # with_index=True
    return out, SavedIndex(arguments, index)


def max_pool2d_backward_saved(
    saved: SavedIndex, grad_out: np.ndarray, x: np.ndarray, *args: object, **kwargs: object
) -> np.ndarray:
    """:func:`max_pool2d_backward` from the ``saved`` of :func:`max_pool2d_saving`.

    Parameters
    ----------
    saved : SavedIndex
        What :func:`max_pool2d_saving` returned with ``out``.
    grad_out : ndarray
        ``(N, C, H_out, W_out)``.
    x : ndarray
        The input given to :func:`max_pool2d_saving`.
    *args, **kwargs
        The pooling arguments after ``x``: ignored, those ``saved`` was made with are used.

    Returns
    -------
    grad_x : ndarray
        ``(N, C, H, W)``.

    Raises
    ------
    TypeError, ValueError
        If ``grad_out`` is not a float array of the forward output's shape and x's dtype.

    Shape
    -----
    As :func:`max_pool2d_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils.functional.pool import max_pool2d_backward_saved, max_pool2d_saving
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> out, saved = max_pool2d_saving(x, 2)
    >>> max_pool2d_backward_saved(saved, np.ones_like(out), x).shape
    (1, 1, 4, 4)
    """
    kernel, stride, pads, dilation, out_shape = saved.arguments
    _args.grad_out_array(grad_out, out_shape, x)
    return _max_backward(grad_out, saved.index, x.shape, kernel, stride, pads, dilation)


def max_pool2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    Each window's upstream gradient goes to the window's maximum; when several elements tie,
    to the first of them in row-major window order (as PyTorch does). Overlapping windows add.

    Parameters
    ----------
    grad_out : ndarray
        The upstream gradient, ``(N, C, H_out, W_out)``, x's dtype.
    x, kernel_size, stride, padding, dilation
        As given to :func:`max_pool2d`.

    Returns
    -------
    grad_x : ndarray
        ``(N, C, H, W)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`max_pool2d`, and when ``grad_out`` does not have the output's shape and x's dtype.

    Shape
    -----
    - grad_out: ``(N, C, H_out, W_out)``, the shape :func:`max_pool2d` returns.
    - Input: ``(N, C, H, W)``
    - Output (grad_x): ``(N, C, H, W)``

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2)  # to each window's maximum
    array([[[[0., 0., 0., 0.],
             [0., 1., 0., 1.],
             [0., 0., 0., 0.],
             [0., 1., 0., 1.]]]])
    """
    kernel, strides, pads, dilations, out_shape = _setup(
        x, kernel_size, stride, padding, dilation, "max_pool2d_backward"
    )
    _args.grad_out_array(grad_out, out_shape, x)
    index = _max(x, kernel, strides, pads, dilations, out_shape, with_index=True)[1]
    assert index is not None  # with_index=True
    return _max_backward(grad_out, index, x.shape, kernel, strides, pads, dilations)


def avg_pool2d(
    x: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    """Average pooling, as ``torch.nn.functional.avg_pool2d`` with its defaults.

    The defaults are ``ceil_mode=False`` and ``count_include_pad=True``: padded zeros count in
    the average.

    Parameters
    ----------
    x : ndarray, float32 or float64
        ``(N, C, H, W)``.
    kernel_size : int or (int, int)
        ``(kH, kW)``.
    stride : int, (int, int) or None, optional
        None means kernel_size.
    padding : int or (int, int), optional
        At most half the kernel size.

    Returns
    -------
    out : ndarray
        ``(N, C, H_out, W_out)``, x's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`max_pool2d`.

    Shape
    -----
    - Input: ``(N, C, H, W)``
    - Output: ``(N, C, H_out, W_out)``, where ``H_out = floor((H + 2*pH - kH) / sH) + 1`` (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> F.avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    >>> F.avg_pool2d(np.ones((8, 3, 7, 7)), 3, stride=2, padding=1).shape  # floor((7 + 2 - 3) / 2) + 1 = 4
    (8, 3, 4, 4)
    """
    kernel, strides, pads, dilations, out_shape = _setup(x, kernel_size, stride, padding, 1, "avg_pool2d")
    out = np.empty(out_shape, dtype=x.dtype)
    scale = x.dtype.type(1.0 / (kernel[0] * kernel[1]))

    def part(lo: int, hi: int) -> None:
        xp, acc = pad(x[lo:hi], pads), out[lo:hi]
        for k, window in enumerate(_grids(kernel, strides, dilations, out_shape[2:])):
            if k == 0:
                acc[...] = xp[(slice(None), slice(None), *window)]
            else:
                acc += xp[(slice(None), slice(None), *window)]
        acc *= scale

    parallel(part, x.shape[0], x.size)
    return out


def avg_pool2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d` with respect to ``x``.

    Every element of a window gets ``grad_out / (kH * kW)``; overlapping windows add.

    Parameters
    ----------
    grad_out : ndarray
        The upstream gradient, ``(N, C, H_out, W_out)``, x's dtype.
    x, kernel_size, stride, padding
        As given to :func:`avg_pool2d`.

    Returns
    -------
    grad_x : ndarray
        ``(N, C, H, W)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`avg_pool2d`, and when ``grad_out`` does not have the output's shape and x's dtype.

    Shape
    -----
    - grad_out: ``(N, C, H_out, W_out)``, the shape :func:`avg_pool2d` returns.
    - Input: ``(N, C, H, W)``
    - Output (grad_x): ``(N, C, H, W)``

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> F.avg_pool2d_backward(np.array([[[[4.0, 8.0]]]]), np.ones((1, 1, 2, 4)), 2)
    array([[[[1., 1., 2., 2.],
             [1., 1., 2., 2.]]]])
    """
    kernel, strides, pads, dilations, out_shape = _setup(x, kernel_size, stride, padding, 1, "avg_pool2d_backward")
    _args.grad_out_array(grad_out, out_shape, x)
    scale = grad_out.dtype.type(1.0 / (kernel[0] * kernel[1]))

    def share(k: int, lo: int, hi: int, out: np.ndarray) -> None:
        np.multiply(grad_out[lo:hi], scale, out=out)

    return _scatter(grad_out, x.shape, kernel, strides, pads, dilations, share)
