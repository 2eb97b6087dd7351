"""cross_entropy (softmax followed by the negative log-likelihood) and its backward pass."""

from __future__ import annotations

import numpy as np

from . import _args


def _setup(logits: np.ndarray, targets: np.ndarray) -> None:
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
    shifted = logits - logits.max(axis=1, keepdims=True)  # exp never overflows
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> np.floating:
    """Mean cross-entropy of softmax(logits) against class indices, as
    ``torch.nn.functional.cross_entropy`` (``reduction="mean"``).

    ``loss = -1/N * sum_n log softmax(logits[n])[targets[n]]``, computed with the max
    subtracted first so that large logits neither overflow nor lose precision.

    Inputs:
    - logits: ``(N, C)`` float32 or float64, unnormalised class scores.
    - targets: ``(N,)`` integer class indices in ``[0, C)``.

    Returns:
    - loss: a NumPy scalar of logits' dtype.
    """
    _setup(logits, targets)
    log_p = _log_softmax(logits)
    return -log_p[np.arange(len(targets)), targets].mean()


def cross_entropy_backward(
    grad_out: float | np.number | np.ndarray, logits: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Gradient of :func:`cross_entropy` with respect to ``logits``:
    ``grad_out * (softmax(logits) - one_hot(targets)) / N``.

    Inputs:
    - grad_out: the scalar upstream gradient (usually 1.0): a Python or NumPy number or a
      0-d array.
    - logits, targets: as given to :func:`cross_entropy`.

    Returns:
    - grad_logits: ``(N, C)``, logits' dtype.
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
