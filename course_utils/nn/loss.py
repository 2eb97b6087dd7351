"""``CrossEntropyLoss``: softmax and negative log-likelihood, averaged over the batch."""

from __future__ import annotations

import numpy as np

from course_utils import functional as F
from course_utils.nn.module import Module


class CrossEntropyLoss(Module):
    """Mean cross-entropy of class scores against integer labels, as ``torch.nn.CrossEntropyLoss()``.

    ``loss = mean_i( -log softmax(logits_i)[targets_i] )``.

    ``forward(logits, targets)`` (also ``loss_fn(logits, targets)``) returns the loss and caches its
    inputs; ``backward()`` then returns the gradient with respect to ``logits``, which is
    ``(softmax(logits) - one_hot(targets)) / N``.

    Raises
    ------
    TypeError, ValueError
        In ``forward``, as ``course_utils.functional.cross_entropy``: logits not a float ``(N, K)``
        array, targets not integers ``(N,)`` in ``[0, K)``.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input (logits): ``(N, K)``, float.
    - Target: ``(N,)``, int in ``[0, K)``.
    - Output: a Python float (the loss); ``backward()`` returns grad_logits ``(N, K)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> loss_fn = nn.CrossEntropyLoss()
    >>> round(loss_fn(np.zeros((4, 10)), np.array([0, 3, 9, 1])), 4)  # uniform scores: log(10)
    2.3026
    >>> loss_fn.backward().shape
    (4, 10)
    """

    def __init__(self) -> None:
        super().__init__()
        self.logits: np.ndarray | None = None
        self.targets: np.ndarray | None = None

    # A loss takes the targets too and returns a number, unlike a layer's forward(x) and backward(grad_out)
    # (as torch.nn.CrossEntropyLoss does): it ends a model and never sits inside a Sequential.
    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:  # type: ignore[override]
        """``logits`` ``(N, K)`` and ``targets`` ``(N,)`` -> the mean loss, a float; caches both."""
        self.logits, self.targets = logits, targets
        return float(F.cross_entropy(logits, targets))

    def backward(self, grad_out: float = 1.0) -> np.ndarray:  # type: ignore[override]
        """``grad_out`` (the gradient of the final objective with respect to the loss, 1 by default) -> ``(N, K)``."""
        return F.cross_entropy_backward(grad_out, self._cached("logits"), self._cached("targets"))
