"""relu and its backward pass."""

from __future__ import annotations

import numpy as np

from . import _args


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit, elementwise: ``max(x, 0)``, as ``torch.nn.functional.relu``.

    Parameters
    ----------
    x : ndarray, float32 or float64
        Any shape.

    Returns
    -------
    out : ndarray
        Same shape and dtype as ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a float array.

    Shape
    -----
    - Input: ``(*)``, any number of dimensions.
    - Output: ``(*)``, the input's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> F.relu(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    >>> F.relu(np.ones((2, 3, 4, 4), dtype=np.float32)).shape
    (2, 3, 4, 4)
    """
    _args.float_array(x, "x")
    return np.maximum(x, 0)


def relu_backward(grad_out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of :func:`relu`: ``grad_out`` where ``x > 0``, else 0.

    The gradient is 0 at ``x == 0`` too, as in PyTorch.

    Parameters
    ----------
    grad_out : ndarray
        The upstream gradient, same shape and dtype as ``x``.
    x : ndarray
        The input given to :func:`relu`.

    Returns
    -------
    grad_x : ndarray
        Same shape and dtype as ``x``.

    Raises
    ------
    TypeError
        If ``x`` or ``grad_out`` is not a float array, or their dtypes differ.
    ValueError
        If ``grad_out`` does not have ``x``'s shape.

    Shape
    -----
    - grad_out: ``(*)``, the shape of ``x``.
    - x: ``(*)``, any number of dimensions.
    - Output (grad_x): ``(*)``, the shape of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> x = np.array([-2.0, 0.0, 3.0])
    >>> F.relu_backward(np.array([10.0, 20.0, 30.0]), x)
    array([ 0.,  0., 30.])
    """
    _args.float_array(x, "x")
    _args.grad_out_array(grad_out, x.shape, x)
    return np.where(x > 0, grad_out, 0)
