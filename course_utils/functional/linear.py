"""linear (a fully connected layer) and its backward pass."""

from __future__ import annotations

import numpy as np

from . import _args


def _setup(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> None:
    """Validate the arguments of :func:`linear` and :func:`linear_backward`."""
    _args.float_array(x, "x", min_ndim=1)
    _args.float_array(weight, "weight", ndim=2)
    if bias is not None:
        _args.float_array(bias, "bias", ndim=1)
    _args.same_dtype(x, "x", weight=weight, bias=bias)
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: x has {x.shape[-1]} features (shape {x.shape}) but weight {weight.shape} "
            f"expects {weight.shape[1]} (weight is (out_features, in_features))"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"bias must have shape ({weight.shape[0]},) to match weight {weight.shape}, got {bias.shape}")


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Affine map ``x @ weight.T + bias``, as ``torch.nn.functional.linear``.

    Parameters
    ----------
    x : ndarray, float32 or float64
        ``(*, in_features)`` (usually ``(N, in_features)``).
    weight : ndarray, x's dtype
        ``(out_features, in_features)``.
    bias : ndarray or None, optional
        ``(out_features,)``.

    Returns
    -------
    out : ndarray
        ``(*, out_features)``, x's dtype.

    Raises
    ------
    TypeError
        For non-float or mismatched dtypes.
    ValueError
        For shapes that do not fit together.

    Shape
    -----
    - Input: ``(*, in_features)``, where ``*`` is any number of leading dimensions.
    - Weight: ``(out_features, in_features)``
    - Bias: ``(out_features,)``
    - Output: ``(*, out_features)``

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> w, b = np.arange(6.0).reshape(2, 3), np.array([0.5, -0.5])
    >>> F.linear(np.ones((2, 3)), w, b)  # row sums of w, plus b
    array([[ 3.5, 11.5],
           [ 3.5, 11.5]])
    >>> F.linear(np.ones((5, 7, 3)), w).shape
    (5, 7, 2)
    """
    _setup(x, weight, bias)
    out = x @ weight.T
    if bias is not None:
        out += bias
    return out


def linear_backward(
    grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`linear` with respect to its array arguments.

    Parameters
    ----------
    grad_out : ndarray
        The upstream gradient, ``(*, out_features)``, x's dtype.
    x, weight, bias
        As given to :func:`linear`.

    Returns
    -------
    grad_x : ndarray
        ``(*, in_features)`` = ``grad_out @ weight``.
    grad_weight : ndarray
        ``(out_features, in_features)`` = sum over ``*`` of ``grad_out^T x``.
    grad_bias : ndarray or None
        ``(out_features,)``, or None when ``bias`` is None.

    Raises
    ------
    TypeError, ValueError
        As :func:`linear`, and when ``grad_out`` does not have the output's shape and x's dtype.

    Shape
    -----
    - grad_out: ``(*, out_features)``
    - Input, Weight, Bias: as :func:`linear`.
    - Output: ``grad_x`` ``(*, in_features)``, ``grad_weight`` ``(out_features, in_features)``,
      ``grad_bias`` ``(out_features,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x, w, b = np.arange(6.0).reshape(2, 3), np.ones((4, 3)), np.zeros(4)
    >>> grad_x, grad_w, grad_b = F.linear_backward(np.ones((2, 4)), x, w, b)
    >>> grad_x.shape, grad_w.shape, grad_b.shape
    ((2, 3), (4, 3), (4,))
    >>> grad_w[0], grad_b  # column sums of x; one per sample
    (array([3., 5., 7.]), array([2., 2., 2., 2.]))
    """
    _setup(x, weight, bias)
    _args.grad_out_array(grad_out, (*x.shape[:-1], weight.shape[0]), x)
    go = grad_out.reshape(-1, weight.shape[0])
    grad_weight = go.T @ x.reshape(-1, weight.shape[1])
    grad_bias = None if bias is None else go.sum(axis=0)
    return grad_out @ weight, grad_weight, grad_bias
