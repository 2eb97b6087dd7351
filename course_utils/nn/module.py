"""The building blocks of every layer: ``Parameter``, ``Module`` and ``Sequential``.

A ``Module`` works like a ``torch.nn.Module`` whose autograd is written by hand:
``forward(x)`` computes the output and caches what the gradient needs;
``backward(grad_out)`` returns the gradient with respect to the input and *adds*
the gradients of the module's parameters to their ``.grad`` (so, as in PyTorch,
call ``zero_grad()`` before each backward pass).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


class Parameter:
    """A trainable array: its value ``data`` and the gradient ``grad`` of the loss with respect to it.

    Parameters
    ----------
    data : ndarray
        The value; its shape and dtype are kept by every update (optimisers write into it in place).
    requires_grad : bool
        False freezes the parameter: backward passes leave its ``grad`` alone and optimisers skip
        it (the gradient still flows through the layer to its input).

    Attributes
    ----------
    grad : ndarray of ``data.shape`` or None
        The accumulated gradient; None until the first backward pass and after ``zero_grad()``.

    Raises
    ------
    TypeError
        If ``data`` is not an ndarray.

    Shape
    -----
    - data: any shape.
    - grad: ``data.shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> p = nn.Parameter(np.zeros((2, 3)))
    >>> p
    Parameter(shape=(2, 3), dtype=float64)
    >>> p.accumulate(np.ones((2, 3)))
    >>> p.accumulate(np.ones((2, 3)))
    >>> p.grad  # gradients add up until zero_grad()
    array([[2., 2., 2.],
           [2., 2., 2.]])
    """

    def __init__(self, data: np.ndarray, requires_grad: bool = True) -> None:
        if not isinstance(data, np.ndarray):
            raise TypeError(f"data must be a numpy.ndarray, got {type(data).__name__}")
        self.data = data
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)

    @property
    def shape(self) -> tuple[int, ...]:
        """``data.shape``."""
        return self.data.shape

    def accumulate(self, grad: np.ndarray) -> None:
        """Add ``grad`` (shape ``data.shape``) to ``self.grad``; do nothing if the parameter is frozen."""
        if not self.requires_grad:
            return
        if grad.shape != self.data.shape:
            raise ValueError(f"grad must have shape {self.data.shape}, got {grad.shape}")
        grad = grad.astype(self.data.dtype, copy=False)
        self.grad = grad.copy() if self.grad is None else self.grad + grad

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}{frozen})"


class Module:
    """Base class of layers and networks.

    Subclasses set their ``Parameter`` s and sub-modules as attributes in ``__init__`` (after
    ``super().__init__()``) and implement ``forward(x)`` and ``backward(grad_out)``.
    ``parameters()``, ``named_parameters()``, ``zero_grad()``, ``train()``, ``eval()`` and
    ``repr`` find them by walking the attributes in the order they were set.

    Raises
    ------
    NotImplementedError
        From ``forward`` and ``backward`` when a subclass does not implement them.
    RuntimeError
        From ``_cached`` (used by ``backward``) when ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``forward(x)`` takes what the subclass defines, e.g. ``(N, *)``.
    - Output: ``backward(grad_out)`` takes the output's shape and returns the input's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> class Scale(nn.Module):
    ...     def __init__(self, features):
    ...         super().__init__()
    ...         self.a = nn.Parameter(np.ones(features))
    ...
    ...     def forward(self, x):
    ...         self.x = x
    ...         return self.a.data * x
    ...
    ...     def backward(self, grad_out):
    ...         self.a.accumulate((grad_out * self._cached("x")).sum(axis=0))
    ...         return grad_out * self.a.data
    >>> layer = Scale(3)
    >>> layer(np.arange(6.0).reshape(2, 3)).shape
    (2, 3)
    >>> layer.backward(np.ones((2, 3))).shape, layer.a.grad
    ((2, 3), array([3., 5., 7.]))
    >>> [name for name, _ in layer.named_parameters()], layer.eval().training
    (['a'], False)
    """

    def __init__(self) -> None:
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output and cache what ``backward`` needs; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return the gradient with respect to the input and add the parameters' gradients; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``module(x)`` is ``module.forward(x)``."""
        return self.forward(*args, **kwargs)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """Every parameter of this module and its sub-modules with its dotted name, e.g. ``"0.weight"``."""
        named = [(prefix + name, value) for name, value in vars(self).items() if isinstance(value, Parameter)]
        for child_name, child in self.named_children():
            named += child.named_parameters(prefix=f"{prefix}{child_name}.")
        return named

    def parameters(self) -> list[Parameter]:
        """Every parameter of this module and its sub-modules (what an optimiser takes)."""
        return [parameter for _, parameter in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget the accumulated gradients (set every ``grad`` to None, as PyTorch does)."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode here and in every sub-module."""
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (BatchNorm then uses its running statistics); same as ``train(False)``."""
        return self.train(False)

    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of ``repr``; layers override it."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"

    def _cached(self, name: str) -> Any:
        """The value that the last ``forward`` cached under ``name``; raise if there was none."""
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return value


class Sequential(Module):
    """A chain of modules: ``forward`` runs them in order, ``backward`` in reverse order.

    Sub-modules are named ``"0"``, ``"1"``, ... (so parameters are ``"0.weight"``, ``"0.bias"``, ...)
    and can be indexed: ``model[0]``, ``len(model)``.

    Parameters
    ----------
    *modules : Module
        The chain, first to last.

    Raises
    ------
    TypeError
        If an argument is not a Module.

    Shape
    -----
    - Input: what the first module takes.
    - Output: what the last module returns; ``backward`` maps the output's shape back to the input's.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> model = nn.Sequential(
    ...     nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10)
    ... )
    >>> model
    Sequential(
      (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
      (1): ReLU()
      (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)
      (3): Flatten(start_dim=1, end_dim=-1)
      (4): Linear(in_features=64, out_features=10, bias=True)
    )
    >>> y = model(np.ones((2, 1, 8, 8), dtype=np.float32))
    >>> y.shape
    (2, 10)
    >>> model.backward(np.ones_like(y)).shape
    (2, 1, 8, 8)
    >>> [name for name, _ in model.named_parameters()], len(model)
    (['0.weight', '0.bias', '4.weight', '4.bias'], 5)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules; argument {index} is a {type(module).__name__}")
        self.modules = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The modules with their names ``"0"``, ``"1"``, ..."""
        for index, module in enumerate(self.modules):
            yield str(index), module

    def __getitem__(self, index: int) -> Module:
        """The module at ``index``."""
        return self.modules[index]

    def __len__(self) -> int:
        """The number of modules."""
        return len(self.modules)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Run the modules in order."""
        for module in self.modules:
            x = module(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Run the modules' backward passes in reverse order; return the gradient with respect to the input."""
        for module in reversed(self.modules):
            grad_out = module.backward(grad_out)
        return grad_out
