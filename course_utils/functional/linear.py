"""linear (a fully connected layer) and its backward pass."""

from __future__ import annotations

import numpy as np

from . import _args


def _setup(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> None:
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

    Inputs:
    - x: ``(*, in_features)`` float32 or float64 (usually ``(N, in_features)``).
    - weight: ``(out_features, in_features)``, same dtype.
    - bias: ``(out_features,)`` or None.

    Returns:
    - out: ``(*, out_features)``.
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

    Inputs:
    - grad_out: ``(*, out_features)``.
    - x, weight, bias: as given to :func:`linear`.

    Returns ``(grad_x, grad_weight, grad_bias)``:
    - grad_x: ``(*, in_features)`` = ``grad_out @ weight``.
    - grad_weight: ``(out_features, in_features)`` = sum over ``*`` of ``grad_out^T x``.
    - grad_bias: ``(out_features,)``, or None when ``bias`` is None.
    """
    _setup(x, weight, bias)
    _args.grad_out_array(grad_out, (*x.shape[:-1], weight.shape[0]), x)
    go = grad_out.reshape(-1, weight.shape[0])
    grad_weight = go.T @ x.reshape(-1, weight.shape[1])
    grad_bias = None if bias is None else go.sum(axis=0)
    return grad_out @ weight, grad_weight, grad_bias
