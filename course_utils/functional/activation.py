"""relu and its backward pass."""

from __future__ import annotations

import numpy as np

from . import _args


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit, elementwise: ``max(x, 0)``, as ``torch.nn.functional.relu``.

    Inputs:
    - x: float array of any shape.

    Returns:
    - out: same shape and dtype as ``x``.
    """
    _args.float_array(x, "x")
    return np.maximum(x, 0)


def relu_backward(grad_out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of :func:`relu`: ``grad_out`` where ``x > 0``, else 0 (also at ``x == 0``,
    as in PyTorch).

    Inputs:
    - grad_out: same shape as ``x``.
    - x: the input given to :func:`relu`.

    Returns:
    - grad_x: same shape and dtype as ``x``.
    """
    _args.float_array(x, "x")
    _args.grad_out_array(grad_out, x.shape, x)
    return np.where(x > 0, grad_out, 0)
