"""cross_entropy (softmax followed by the negative log-likelihood) and its backward pass."""

from __future__ import annotations

import numpy as np

from . import _args


def _setup(logits: np.ndarray, targets: np.ndarray) -> None:
    """Validate the arguments of :func:`cross_entropy` and :func:`cross_entropy_backward`."""
    _args.float_array(logits, "logits", ndim=2)
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu":
        kind = targets.dtype if isinstance(targets, np.ndarray) else type(targets).__name__
        raise TypeError(f"targets must be a numpy.ndarray of integer class indices, got {kind}")
    n, c = logits.shape
    if targets.shape != (n,):
        raise ValueError(f"targets must have shape ({n},) to match logits {logits.shape}, got {targets.shape}")
    if n == 0 or c == 0:
        raise ValueError(f"logits must have at least one row and one class, got shape {logits.shape}")
    if targets.min() < 0 or targets.max() >= c:
        raise ValueError(
            f"targets must lie in [0, {c}) for logits {logits.shape}, got values in [{targets.min()}, {targets.max()}]"
        )


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log softmax(logits)`` along axis 1, with each row's max subtracted first."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # exp never overflows
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> np.floating:
    """Mean cross-entropy of softmax(logits) against class indices, as ``torch.nn.functional.cross_entropy``.

    ``reduction="mean"``: ``loss = -1/N * sum_n log softmax(logits[n])[targets[n]]``, computed
    with the max subtracted first so that large logits neither overflow nor lose precision.

    Parameters
    ----------
    logits : ndarray, float32 or float64
        ``(N, C)``, unnormalised class scores.
    targets : ndarray of int
        ``(N,)``, class indices in ``[0, C)``.

    Returns
    -------
    loss : numpy.floating
        A NumPy scalar of logits' dtype.

    Raises
    ------
    TypeError
        If ``logits`` is not a float array or ``targets`` not an integer array.
    ValueError
        For shapes that do not fit, an empty batch or targets outside ``[0, C)``.

    Shape
    -----
    - Input (logits): ``(N, C)``
    - Target: ``(N,)``
    - Output: ``()``, a scalar (the mean over the batch).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> targets = np.array([0, 3, 9, 1])
    >>> round(float(F.cross_entropy(np.zeros((4, 10)), targets)), 4)  # uniform scores: log(10)
    2.3026
    >>> float(F.cross_entropy(np.array([[1000.0, 0.0]]), np.array([1])))  # no overflow
    1000.0
    """
    _setup(logits, targets)
    log_p = _log_softmax(logits)
    return -log_p[np.arange(len(targets)), targets].mean()


def cross_entropy_backward(
    grad_out: float | np.number | np.ndarray, logits: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Gradient of :func:`cross_entropy` with respect to ``logits``.

    ``grad_logits = grad_out * (softmax(logits) - one_hot(targets)) / N``.

    Parameters
    ----------
    grad_out : float, numpy number or 0-d ndarray
        The scalar upstream gradient (usually 1.0).
    logits, targets
        As given to :func:`cross_entropy`.

    Returns
    -------
    grad_logits : ndarray
        ``(N, C)``, logits' dtype.

    Raises
    ------
    TypeError
        As :func:`cross_entropy`, or if ``grad_out`` is not a real number.
    ValueError
        As :func:`cross_entropy`, or if ``grad_out`` is not a scalar.

    Shape
    -----
    - grad_out: ``()``, a scalar.
    - Input (logits): ``(N, C)``; Target: ``(N,)``.
    - Output (grad_logits): ``(N, C)``

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import functional as F
    >>> np.round(F.cross_entropy_backward(1.0, np.zeros((2, 4)), np.array([0, 3])), 4)  # (1/4 - one_hot) / 2
    array([[-0.375,  0.125,  0.125,  0.125],
           [ 0.125,  0.125,  0.125, -0.375]])
    """
    _setup(logits, targets)
    if isinstance(grad_out, (bool, np.bool_)) or not isinstance(grad_out, (int, float, np.number, np.ndarray)):
        raise TypeError(f"grad_out must be a number (the loss is a scalar), got {type(grad_out).__name__}")
    if np.shape(grad_out) != ():
        raise ValueError(f"grad_out must be a scalar (shape ()), got shape {np.shape(grad_out)}")
    if np.asarray(grad_out).dtype.kind not in "iuf":
        raise TypeError(f"grad_out must be a real number, got dtype {np.asarray(grad_out).dtype}")
    n = len(targets)
    grad = np.exp(_log_softmax(logits))
    grad[np.arange(n), targets] -= 1
    grad *= logits.dtype.type(float(grad_out) / n)
    return grad
