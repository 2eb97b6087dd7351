"""Optimisers ``SGD`` and ``Adam`` with PyTorch's update rules.

An optimiser holds a list of ``Parameter`` s; ``step()`` updates every parameter that requires a
gradient and has one (``grad`` not None), in place, and ``zero_grad()`` forgets the gradients.
Weight decay ``wd`` is L2 regularisation added to the gradient, ``g = grad + wd * p``, as in
``torch.optim.SGD`` and ``torch.optim.Adam`` (not AdamW's decoupled decay).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from course_utils.nn.module import Parameter


class Optimizer:
    """Base class: keeps the parameters and a state dict per parameter.

    A subclass implements ``_update(grad, state)``, the amount to subtract from a parameter whose
    (decayed) gradient is ``grad``; ``state`` is that parameter's dict, kept between steps.

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``.
    lr : float
        The learning rate, >= 0.
    weight_decay : float
        L2 regularisation, >= 0: ``g = grad + weight_decay * p``.

    Attributes
    ----------
    params : list of Parameter
    state : list of dict
        One per parameter.

    Raises
    ------
    TypeError
        If an element of ``params`` is not a Parameter.
    ValueError
        If ``params`` is empty, or ``lr`` or ``weight_decay`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> class SignSGD(nn.Optimizer):
    ...     def _update(self, grad, state):
    ...         return self.lr * np.sign(grad)
    >>> p = nn.Parameter(np.zeros(3))
    >>> optimizer = SignSGD([p], lr=0.5, weight_decay=0.0)
    >>> p.grad = np.array([-2.0, 0.0, 5.0])
    >>> optimizer.step()
    >>> p.data
    array([ 0.5,  0. , -0.5])
    >>> optimizer.zero_grad()
    >>> p.grad is None
    True
    """

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float) -> None:
        self.params = list(params)
        for index, parameter in enumerate(self.params):
            if not isinstance(parameter, Parameter):
                raise TypeError(f"params[{index}] must be a Parameter, got {type(parameter).__name__}")
        if not self.params:
            raise ValueError("params is empty: pass model.parameters()")
        if lr < 0:
            raise ValueError(f"lr must be >= 0, got {lr!r}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.lr = lr
        self.weight_decay = weight_decay
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to None."""
        for parameter in self.params:
            parameter.grad = None

    def step(self) -> None:
        """Update every trainable parameter that has a gradient."""
        for parameter, state in zip(self.params, self.state):
            if parameter.requires_grad and parameter.grad is not None:
                grad = parameter.grad + self.weight_decay * parameter.data if self.weight_decay else parameter.grad
                parameter.data -= self._update(grad, state).astype(parameter.data.dtype, copy=False)

    def _update(self, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """The amount to subtract from a parameter whose (decayed) gradient is ``grad``."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's form, no dampening).

    ``b = g`` at the first step, then ``b = momentum * b + g``; ``p = p - lr * b``
    (``b = g`` throughout when ``momentum = 0``).

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
    momentum : float in [0, 1)
    weight_decay : float

    Raises
    ------
    TypeError, ValueError
        As :class:`Optimizer`, and ValueError if ``momentum`` is not in [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> p = nn.Parameter(np.array([1.0, -2.0]))
    >>> optimizer = nn.SGD([p], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     p.grad = np.array([1.0, 1.0])
    ...     optimizer.step()
    >>> np.round(p.data, 4)  # steps of 0.1 * 1, then 0.1 * (0.9 * 1 + 1)
    array([ 0.71, -2.29])
    """

    def __init__(
        self, params: Iterable[Parameter], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum

    def _update(self, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        if self.momentum:
            state["momentum_buffer"] = (
                grad.copy() if "momentum_buffer" not in state else self.momentum * state["momentum_buffer"] + grad
            )
            grad = state["momentum_buffer"]
        return self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): steps scaled by running estimates of the gradient's moments.

    At step ``t`` (counted per parameter, from 1):
    ``m = b1 * m + (1 - b1) * g``; ``v = b2 * v + (1 - b2) * g**2``;
    ``p = p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
    betas : (float, float)
        ``(b1, b2)``, each in [0, 1).
    eps : float
    weight_decay : float

    Raises
    ------
    TypeError, ValueError
        As :class:`Optimizer`, and ValueError if ``betas`` are not two numbers in [0, 1) or ``eps < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> p = nn.Parameter(np.array([1.0, -2.0]))
    >>> optimizer = nn.Adam([p], lr=0.1)
    >>> p.grad = np.array([2.0, -0.5])
    >>> optimizer.step()
    >>> np.round(p.data, 4)  # the first step moves each entry by lr, whatever the gradient's size
    array([ 0.9, -1.9])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        self.betas = tuple(betas)
        self.eps = eps

    def _update(self, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        b1, b2 = self.betas
        if not state:
            state.update(step=0, m=np.zeros_like(grad), v=np.zeros_like(grad))
        state["step"] += 1
        state["m"] = b1 * state["m"] + (1 - b1) * grad
        state["v"] = b2 * state["v"] + (1 - b2) * grad * grad
        m_hat = state["m"] / (1 - b1 ** state["step"])
        v_hat = state["v"] / (1 - b2 ** state["step"])
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
