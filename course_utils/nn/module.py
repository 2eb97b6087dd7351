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
    """

    def __init__(self, data: np.ndarray, requires_grad: bool = True) -> None:
        if not isinstance(data, np.ndarray):
            raise TypeError(f"data must be a numpy.ndarray, got {type(data).__name__}")
        self.data = data
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)

    @property
    def shape(self) -> tuple[int, ...]:
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
    """

    def __init__(self) -> None:
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
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
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules; argument {index} is a {type(module).__name__}")
        self.modules = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self.modules):
            yield str(index), module

    def __getitem__(self, index: int) -> Module:
        return self.modules[index]

    def __len__(self) -> int:
        return len(self.modules)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for module in self.modules:
            x = module(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for module in reversed(self.modules):
            grad_out = module.backward(grad_out)
        return grad_out
