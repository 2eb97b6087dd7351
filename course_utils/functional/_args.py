"""Argument normalisation and validation shared by every op in ``course_utils.functional`` and
every layer in ``course_utils.nn`` (which checks its arguments here when it is built).

An integer is a Python or NumPy integer, never a ``bool`` or a float (notebook 00's rule); a size
argument is one integer or a tuple of one per spatial dimension, PyTorch's ``_pair``. Every check
raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong
shape or value) with a message that names the argument and the shapes involved. Nothing is
broadcast or cast silently: float32 stays float32, float64 stays float64, and mixing them is
an error, as in PyTorch.
"""

from __future__ import annotations

import numbers

import numpy as np

Ints = tuple[int, ...]  # normalised stride, dilation, kernel or shape: one int per dimension
Pads = tuple[tuple[int, int], ...]  # normalised padding: one (before, after) pair per spatial dimension


def float_array(value: np.ndarray, name: str, ndim: int | None = None, min_ndim: int | None = None) -> np.ndarray:
    """Return ``value`` if it is a floating-point ``ndarray`` with the right number of dimensions."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype.kind != "f":
        raise TypeError(f"{name} must have a floating-point dtype (float32 or float64), got dtype {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension{'s' * (ndim != 1)}, got shape {value.shape}")
    if min_ndim is not None and value.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension{'s' * (min_ndim != 1)}, got shape {value.shape}"
        )
    return value


def same_dtype(reference: np.ndarray, reference_name: str, **others: np.ndarray | None) -> None:
    """Raise TypeError unless every array in ``others`` has ``reference``'s dtype (``None`` is skipped)."""
    for name, array in others.items():
        if array is not None and array.dtype != reference.dtype:
            raise TypeError(
                f"{name} has dtype {array.dtype} but {reference_name} has dtype {reference.dtype}: "
                "they must match (cast one of them with .astype)"
            )


def int_tuple(value: int | tuple[int, ...] | list[int], name: str, n: int, minimum: int) -> Ints:
    """Expand an int or a length-``n`` tuple/list of ints to a tuple, each at least ``minimum``."""
    items = (value,) * n if isinstance(value, numbers.Integral) else value
    if (
        not isinstance(items, (tuple, list))
        or len(items) != n
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items)
    ):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in items):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return tuple(int(v) for v in items)


def positive_int(value: int, name: str) -> int:
    """Return ``value`` as an int if it is a positive int (a Python or NumPy integer, not a bool)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


def conv_padding(padding: int | tuple[int, ...] | str, kernel: Ints, stride: Ints, dilation: Ints) -> Pads:
    """Normalise a convolution's ``padding`` to one ``(before, after)`` pair per spatial dimension.

    ``padding`` is an int, a tuple of ints, ``"valid"`` (no padding) or ``"same"`` (output as
    large as the input; only with stride 1). With ``"same"`` the total padding of a dimension
    is ``dilation * (kernel - 1)``; when it is odd the extra row/column goes after (bottom,
    right), as in PyTorch.
    """
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"padding='same' needs stride 1 (as in PyTorch), got stride={stride}")
            pairs = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ValueError(f"padding must be an int, a tuple of ints, 'valid' or 'same', got {padding!r}")
    return tuple((p, p) for p in int_tuple(padding, "padding", n, 0))


def out_size(size: int, kernel: int, stride: int, before: int, after: int, dilation: int) -> int:
    """``floor((size + before + after - dilation * (kernel - 1) - 1) / stride) + 1``."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def conv_shapes(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: int | tuple[int, ...],
    padding: int | tuple[int, ...] | str,
    dilation: int | tuple[int, ...],
    groups: int,
    nd: int,
    op: str,
) -> tuple[Ints, Pads, Ints, Ints]:
    """Validate a convolution's arguments; return the normalised ones and the output shape.

    ``x`` is ``(N, C_in, *spatial)`` and ``weight`` ``(C_out, C_in / groups, *kernel)`` with
    ``nd`` spatial dimensions. Returns ``(stride, pads, dilation, out_shape)`` where ``pads``
    holds one ``(before, after)`` pair per spatial dimension.
    """
    float_array(x, "x", ndim=nd + 2)
    float_array(weight, "weight", ndim=nd + 2)
    if bias is not None:
        float_array(bias, "bias", ndim=1)
    same_dtype(x, "x", weight=weight, bias=bias)
    groups = positive_int(groups, "groups")
    n, c_in = x.shape[:2]
    c_out, c_in_g = weight.shape[:2]
    kernel = weight.shape[2:]
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must divide both the input channels (x.shape[1] = {c_in}) "
            f"and the output channels (weight.shape[0] = {c_out})"
        )
    if c_in_g * groups != c_in:
        raise ValueError(
            f"{op}: x has {c_in} channels (shape {x.shape}) but weight {weight.shape} with groups={groups} "
            f"expects {c_in_g * groups} (weight.shape[1] * groups)"
        )
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},) to match weight {weight.shape}, got {bias.shape}")
    stride = int_tuple(stride, "stride", nd, 1)
    dilation = int_tuple(dilation, "dilation", nd, 1)
    pads = conv_padding(padding, kernel, stride, dilation)
    if 0 in x.shape or 0 in kernel:
        raise ValueError(f"{op}: empty input: x {x.shape}, weight {weight.shape}")
    out = []
    for size, k, s, (lo, hi), d in zip(x.shape[2:], kernel, stride, pads, dilation):
        if size + lo + hi < d * (k - 1) + 1:
            raise ValueError(
                f"{op}: the kernel (weight {weight.shape}, dilation {dilation}, effective size "
                f"{tuple(dd * (kk - 1) + 1 for kk, dd in zip(kernel, dilation))}) is larger than the padded "
                f"input (x {x.shape}, padding {padding!r})"
            )
        out.append(out_size(size, k, s, lo, hi, d))
    return stride, pads, dilation, (n, c_out, *out)


def grad_out_array(
    grad_out: np.ndarray, expected_shape: Ints, reference: np.ndarray, reference_name: str = "x"
) -> np.ndarray:
    """Check that ``grad_out`` is a float array of the forward output's shape and dtype."""
    float_array(grad_out, "grad_out")
    if grad_out.shape != tuple(expected_shape):
        raise ValueError(f"grad_out must have the forward output's shape {tuple(expected_shape)}, got {grad_out.shape}")
    same_dtype(reference, reference_name, grad_out=grad_out)
    return grad_out
