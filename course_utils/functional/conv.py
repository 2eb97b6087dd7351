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
    """Cut ``range(n)`` into consecutive ``(lo, hi)`` blocks of equal size, at most ``CHUNK_BYTES`` each.

    Parameters
    ----------
    n : int
        The number of samples.
    bytes_per_sample : int
        The memory one sample's columns and products take.

    Returns
    -------
    list of (int, int)
        The blocks ``(lo, hi)``, covering ``0 ... n - 1`` in order; their sizes differ by at most 1.

    Examples
    --------
    >>> from course_utils.functional.conv import CHUNK_BYTES, chunks
    >>> chunks(10, CHUNK_BYTES // 4)
    [(0, 3), (3, 6), (6, 10)]
    >>> chunks(10, 1)
    [(0, 10)]
    """
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
    in ``buffer``, which the next forward pass of the same shape may fill again (``spare``).

    Parameters
    ----------
    geometry : Geometry
        Kernel, stride, dilation, padding and sizes of the convolution.
    columns : ndarray or None
        The im2col columns of the forward pass, ``(C_in, kH * kW, N, H_out * Wq)``, or None.

    Attributes
    ----------
    geometry : Geometry
    columns : ndarray or None
        None once the backward pass has used them (or when none were kept).
    buffer : ndarray or None
        The memory of used-up columns, for the next forward pass.
    """

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
    """:func:`conv2d` that also returns what its backward pass needs: ``(out, saved)``.

    Then ``conv2d_backward_saved(saved, grad_out, x, weight, bias, ..., groups)`` reuses the
    columns instead of building them again (what ``nn.Conv2d`` does in training).

    Parameters
    ----------
    x, weight, bias, stride, padding, dilation, groups
        As for :func:`conv2d`.
    spare : Saved or None, optional
        A used ``saved`` of an earlier step, which lends its memory to the new columns.

    Returns
    -------
    out : ndarray
        ``(N, C_out, H_out, W_out)``, as :func:`conv2d` returns.
    saved : Saved
        The geometry and the im2col columns, for :func:`conv2d_backward_saved`.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv2d`.

    Shape
    -----
    As :func:`conv2d`; ``saved.columns`` is ``(C_in, kH * kW, N, H_out * Wq)``, where ``Wq``
    is the column layout's row width (``Geometry.width``, see ``_im2col``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils.functional.conv import conv2d_backward_saved, conv2d_saving
    >>> x, w = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))
    >>> out, saved = conv2d_saving(x, w, padding=1)
    >>> out.shape
    (2, 4, 5, 5)
    >>> grad_x, grad_w, grad_b = conv2d_backward_saved(saved, np.ones_like(out), x, w, padding=1)
    >>> grad_x.shape, grad_w.shape, grad_b, saved.columns
    ((2, 3, 5, 5), (4, 3, 3, 3), None, None)
    """
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
    """:func:`conv2d_backward` from the ``saved`` of :func:`conv2d_saving`.

    ``saved`` must come from :func:`conv2d_saving` with the same arguments; it is used once (the
    columns are released into ``saved.buffer``).

    Parameters
    ----------
    saved : Saved
        What :func:`conv2d_saving` returned with ``out``.
    grad_out, x, weight, bias, stride, padding, dilation, groups
        As for :func:`conv2d_backward`.

    Returns
    -------
    grad_x, grad_weight, grad_bias : ndarray, ndarray, ndarray or None
        As :func:`conv2d_backward` returns.

    Raises
    ------
    TypeError, ValueError
        If ``grad_out`` is not a float array of the forward output's shape and ``x``'s dtype.

    Shape
    -----
    As :func:`conv2d_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils.functional.conv import conv2d_backward_saved, conv2d_saving
    >>> x, w, b = np.ones((1, 2, 4, 4)), np.ones((3, 2, 3, 3)), np.zeros(3)
    >>> out, saved = conv2d_saving(x, w, b)
    >>> [g.shape for g in conv2d_backward_saved(saved, np.ones_like(out), x, w, b)]
    [(1, 2, 4, 4), (3, 2, 3, 3), (3,)]
    """
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

    Parameters
    ----------
    x : ndarray, float32 or float64
        The batch of images, ``(N, C_in, H, W)``.
    weight : ndarray, x's dtype
        The kernels, ``(C_out, C_in / groups, kH, kW)``.
    bias : ndarray or None, optional
        ``(C_out,)``, x's dtype.
    stride, dilation : int or (int, int), optional
        ``(sH, sW)`` / ``(dH, dW)``, positive.
    padding : int, (int, int), "valid" or "same", optional
        ``(pH, pW)``; ``"valid"`` is 0; ``"same"`` makes the output size the input size (stride 1
        only; an odd total ``d*(k-1)`` puts the extra row/column at the bottom/right).
    groups : int, optional
        Divides ``C_in`` and ``C_out``; group g sees input channels ``g*C_in/G ... (g+1)*C_in/G - 1``
        and makes output channels ``g*C_out/G ...``.

    Returns
    -------
    out : ndarray
        ``(N, C_out, H_out, W_out)``, x's dtype.

    Raises
    ------
    TypeError
        For non-float or mismatched dtypes, or a stride, padding, dilation or groups of the wrong kind.
    ValueError
        For wrong shapes or argument values (each message names the argument and the shapes).

    Shape
    -----
    - Input: ``(N, C_in, H, W)``
    - Weight: ``(C_out, C_in / groups, kH, kW)``
    - Bias: ``(C_out,)``
    - Output: ``(N, C_out, H_out, W_out)``, where
      ``H_out = floor((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1`` (likewise ``W_out``).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x, w = np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3))
    >>> F.conv2d(x, w, padding=1).shape
    (1, 2, 5, 5)
    >>> F.conv2d(x, w, stride=2).shape  # floor((5 - 2*1 - 1) / 2) + 1 = 2
    (1, 2, 2, 2)
    >>> F.conv2d(x, w, padding=1)[0, 0]  # 9 ones under the kernel inside, fewer at the zero-padded border
    array([[4., 6., 6., 6., 4.],
           [6., 9., 9., 9., 6.],
           [6., 9., 9., 9., 6.],
           [6., 9., 9., 9., 6.],
           [4., 6., 6., 6., 4.]])
    >>> F.conv2d(np.ones((1, 4, 6, 6)), np.ones((6, 2, 3, 3)), groups=2, padding="same").shape
    (1, 6, 6, 6)
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

    Parameters
    ----------
    grad_out : ndarray
        The upstream gradient, ``(N, C_out, H_out, W_out)``, x's dtype.
    x, weight, bias, stride, padding, dilation, groups
        Exactly as given to :func:`conv2d`.

    Returns
    -------
    grad_x : ndarray
        ``(N, C_in, H, W)``.
    grad_weight : ndarray
        ``(C_out, C_in / groups, kH, kW)``.
    grad_bias : ndarray or None
        ``(C_out,)``, or None when ``bias`` is None.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv2d`, and when ``grad_out`` does not have the output's shape and x's dtype.

    Shape
    -----
    - grad_out: ``(N, C_out, H_out, W_out)``, the shape :func:`conv2d` returns.
    - Input, Weight, Bias: as :func:`conv2d`.
    - Output: ``grad_x`` ``(N, C_in, H, W)``, ``grad_weight`` ``(C_out, C_in / groups, kH, kW)``,
      ``grad_bias`` ``(C_out,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x, w, b = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.zeros(4)
    >>> out = F.conv2d(x, w, b, padding=1)
    >>> grad_x, grad_w, grad_b = F.conv2d_backward(np.ones_like(out), x, w, b, padding=1)
    >>> grad_x.shape, grad_w.shape, grad_b.shape
    ((2, 3, 5, 5), (4, 3, 3, 3), (4,))
    >>> grad_b  # grad_out summed over N, H_out and W_out: 2 * 5 * 5
    array([50., 50., 50., 50.])
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

    It is :func:`conv2d` on a height-1 view of the signals.

    Parameters
    ----------
    x : ndarray, float32 or float64
        The batch of signals, ``(N, C_in, L)``.
    weight : ndarray, x's dtype
        ``(C_out, C_in / groups, K)``.
    bias : ndarray or None, optional
        ``(C_out,)``.
    stride, dilation : int or (int,), optional
        Positive.
    padding : int, (int,), "valid" or "same", optional
    groups : int, optional
        Divides ``C_in`` and ``C_out``.

    Returns
    -------
    out : ndarray
        ``(N, C_out, L_out)``, x's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv2d`.

    Shape
    -----
    - Input: ``(N, C_in, L)``
    - Weight: ``(C_out, C_in / groups, K)``
    - Bias: ``(C_out,)``
    - Output: ``(N, C_out, L_out)``, where ``L_out = floor((L + 2*P - D*(K - 1) - 1) / S) + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> F.conv1d(np.ones((2, 3, 10)), np.ones((4, 3, 3)), stride=2).shape  # floor((10 - 2 - 1) / 2) + 1 = 4
    (2, 4, 4)
    >>> F.conv1d(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 2)))  # sums of neighbours
    array([[[1., 3., 5., 7.]]])
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

    Parameters
    ----------
    grad_out : ndarray
        The upstream gradient, ``(N, C_out, L_out)``, x's dtype.
    x, weight, bias, stride, padding, dilation, groups
        Exactly as given to :func:`conv1d`.

    Returns
    -------
    grad_x : ndarray
        ``(N, C_in, L)``.
    grad_weight : ndarray
        ``(C_out, C_in / groups, K)``.
    grad_bias : ndarray or None
        ``(C_out,)``, or None when ``bias`` is None.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv1d`, and when ``grad_out`` does not have the output's shape and x's dtype.

    Shape
    -----
    - grad_out: ``(N, C_out, L_out)``, the shape :func:`conv1d` returns.
    - Input, Weight, Bias: as :func:`conv1d`.
    - Output: ``grad_x`` ``(N, C_in, L)``, ``grad_weight`` ``(C_out, C_in / groups, K)``, ``grad_bias`` ``(C_out,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x, w = np.ones((2, 3, 10)), np.ones((4, 3, 3))
    >>> grad_out = np.ones((2, 4, 8))  # L_out = 10 - 3 + 1
    >>> grad_x, grad_w, grad_b = F.conv1d_backward(grad_out, x, w)
    >>> grad_x.shape, grad_w.shape, grad_b
    ((2, 3, 10), (4, 3, 3), None)
    >>> grad_x[0, 0]  # how many output positions each input position feeds, times C_out = 4
    array([ 4.,  8., 12., 12., 12., 12., 12., 12.,  8.,  4.])
    """
    strides, pads, dilations, out_shape = _args.conv_shapes(
        x, weight, bias, stride, padding, dilation, groups, 1, "conv1d_backward"
    )
    _args.grad_out_array(grad_out, out_shape, x)
    x2, w2, strides, pads, dilations = _lift_1d(x, weight, strides, pads, dilations)
    g = Geometry(w2.shape[2:], strides, dilations, pads, x2.shape[2:], (1, out_shape[2]))
    grad_x, grad_weight, grad_bias = _conv2d_backward(grad_out[:, :, None, :], x2, w2, bias, groups, Saved(g, None))
    return grad_x[:, :, 0, :], grad_weight[:, :, 0, :], grad_bias
