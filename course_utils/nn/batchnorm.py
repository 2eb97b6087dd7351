"""Batch normalisation of 2-D feature maps: ``batch_norm2d``, ``batch_norm2d_backward`` and ``BatchNorm2d``.

Each channel is normalised over the batch and both spatial axes, then scaled and shifted
(Ioffe & Szegedy, 2015, "Batch normalization"). PyTorch's conventions: ``eps = 1e-5``; the
*biased* batch variance normalises, the *unbiased* one feeds the running estimate;
``running = (1 - momentum) * running + momentum * batch_statistic``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from course_utils.functional import _args
from course_utils.nn.module import Module, Parameter

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

_AXES = (0, 2, 3)  # everything but the channel axis of (N, C, H, W)


def _per_channel(v: np.ndarray) -> np.ndarray:
    """``(C,)`` -> ``(1, C, 1, 1)``, to broadcast against ``(N, C, H, W)``."""
    return v.reshape(1, -1, 1, 1)


def _statistics(x: np.ndarray, mean: np.ndarray | None, var: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(mean, var, training)``: the given running statistics, or the batch's when both are None."""
    if (mean is None) != (var is None):
        raise ValueError("mean and var must be given together (evaluation) or both be None (training)")
    if mean is None or var is None:  # both None (checked above): training mode
        return x.mean(axis=_AXES), x.var(axis=_AXES), True
    return mean, var, False


def batch_norm2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    mean: np.ndarray | None = None,
    var: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    """Normalise each channel of ``x``, then scale by ``weight`` and shift by ``bias``.

    ``y = weight * (x - mean) / sqrt(var + eps) + bias`` per channel ``c``.

    Parameters
    ----------
    x : ndarray, shape ``(N, C, H, W)``
    weight, bias : ndarray, shape ``(C,)``
        The scale gamma and shift beta.
    mean, var : ndarray, shape ``(C,)``, or None
        Statistics to normalise with (evaluation mode). None (training mode): the batch's own
        mean and biased variance over ``N, H, W``.
    eps : float

    Returns
    -------
    y : ndarray, shape ``(N, C, H, W)``

    Raises
    ------
    ValueError
        If ``x`` is not a 4-D array, or only one of ``mean`` and ``var`` is given.

    Shape
    -----
    - Input: ``(N, C, H, W)``
    - Weight, Bias, mean, var: ``(C,)``
    - Output: ``(N, C, H, W)``, the input's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> x = np.arange(16.0).reshape(2, 2, 2, 2)
    >>> y = nn.batch_norm2d(x, np.ones(2), np.zeros(2))  # training mode: the batch's statistics
    >>> y.shape, np.round(y.std(axis=(0, 2, 3)), 4)
    ((2, 2, 2, 2), array([1., 1.]))
    >>> y = nn.batch_norm2d(x, np.full(2, 2.0), np.ones(2), mean=np.array([1.0, 2.0]), var=np.full(2, 4.0), eps=0.0)
    >>> y[:, 1].ravel()  # 2 * (x - 2) / sqrt(4) + 1
    array([ 3.,  4.,  5.,  6., 11., 12., 13., 14.])
    """
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"x must be a 4-D array (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    mean, var, _ = _statistics(x, mean, var)
    x_hat = (x - _per_channel(mean)) / np.sqrt(_per_channel(var) + eps)
    return _per_channel(weight) * x_hat + _per_channel(bias)


def batch_norm2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    mean: np.ndarray | None = None,
    var: np.ndarray | None = None,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``batch_norm2d`` (same arguments, after ``grad_out``).

    With ``mean`` and ``var`` given they are constants and ``grad_x = grad_out * weight / sqrt(var + eps)``.
    Without, they are the batch's statistics and depend on ``x``; with ``m = N * H * W`` and
    ``g = grad_out * weight`` per channel,
    ``grad_x = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps)``.

    Parameters
    ----------
    grad_out : ndarray, shape ``(N, C, H, W)``
    x, weight, bias, mean, var, eps : as in ``batch_norm2d``

    Returns
    -------
    grad_x : ndarray, shape ``(N, C, H, W)``
    grad_weight, grad_bias : ndarray, shape ``(C,)``

    Raises
    ------
    ValueError
        If ``grad_out`` does not have ``x``'s shape, or only one of ``mean`` and ``var`` is given.

    Shape
    -----
    - grad_out: ``(N, C, H, W)``
    - Input: ``(N, C, H, W)``; Weight, Bias, mean, var: ``(C,)``
    - Output: ``grad_x`` ``(N, C, H, W)``, ``grad_weight`` and ``grad_bias`` ``(C,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> x = np.arange(16.0).reshape(2, 2, 2, 2)
    >>> grad_x, grad_w, grad_b = nn.batch_norm2d_backward(np.ones_like(x), x, np.ones(2), np.zeros(2))
    >>> grad_x.shape, grad_w.shape, grad_b  # grad_b: grad_out summed over N, H, W
    ((2, 2, 2, 2), (2,), array([8., 8.]))
    >>> weight, mean, var = np.full(2, 3.0), np.zeros(2), np.full(2, 4.0)
    >>> grad_x = nn.batch_norm2d_backward(np.ones_like(x), x, weight, np.zeros(2), mean, var, eps=0.0)[0]
    >>> grad_x[0, 0]  # evaluation mode: grad_out * weight / sqrt(var + eps)
    array([[1.5, 1.5],
           [1.5, 1.5]])
    """
    if grad_out.shape != x.shape:
        raise ValueError(f"grad_out must have x's shape {x.shape}, got {grad_out.shape}")
    mean, var, training = _statistics(x, mean, var)
    inv_std = 1.0 / np.sqrt(_per_channel(var) + eps)
    x_hat = (x - _per_channel(mean)) * inv_std
    grad_weight = (grad_out * x_hat).sum(axis=_AXES)
    grad_bias = grad_out.sum(axis=_AXES)
    g = grad_out * _per_channel(weight)
    if training:
        g = g - g.mean(axis=_AXES, keepdims=True) - x_hat * (g * x_hat).mean(axis=_AXES, keepdims=True)
    return g * inv_std, grad_weight, grad_bias


class BatchNorm2d(Module):
    """Batch normalisation layer for ``(N, C, H, W)`` feature maps.

    In training mode (``model.train()``) it normalises with the batch's statistics and updates
    ``running_mean`` and ``running_var``; in evaluation mode (``model.eval()``) it normalises
    with those running estimates, so one image's output no longer depends on its batch.

    Parameters
    ----------
    num_features : int
        ``C``.
    eps : float
    momentum : float
        Weight of the new batch in the running averages (PyTorch's convention, default 0.1).
    dtype : numpy dtype
        float32 (default) or float64.

    Attributes
    ----------
    weight, bias : Parameter, shape ``(C,)``
        Start at ones and zeros.
    running_mean, running_var : ndarray, shape ``(C,)``
        Start at zeros and ones; not parameters (no gradient).

    Raises
    ------
    TypeError
        If ``num_features`` is not an int, or ``forward`` is given something other than an ndarray.
    ValueError
        If ``num_features`` is not positive or ``momentum`` not in [0, 1]; in ``forward``, if ``x``
        is not ``(N, C, H, W)`` or, in training mode, has one value per channel.
    RuntimeError
        If ``backward`` is called before ``forward``.

    Shape
    -----
    - Input: ``(N, C, H, W)``
    - Output: ``(N, C, H, W)``, the input's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> bn = nn.BatchNorm2d(3, dtype=np.float64)
    >>> bn
    BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    >>> x = np.arange(24.0).reshape(2, 3, 2, 2)
    >>> y = bn(x)
    >>> y.shape, np.round(y.std(axis=(0, 2, 3)), 4)
    ((2, 3, 2, 2), array([1., 1., 1.]))
    >>> np.round(bn.running_mean, 4)  # 0.9 * 0 + 0.1 * the channels' means 7.5, 11.5, 15.5
    array([0.75, 1.15, 1.55])
    >>> bn.backward(np.ones_like(y)).shape
    (2, 3, 2, 2)
    >>> bn.eval()(x).shape  # evaluation mode: normalised with the running estimates
    (2, 3, 2, 2)
    """

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *, dtype: DTypeLike = np.float32
    ) -> None:
        super().__init__()
        _args.positive_int(num_features, "num_features")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.weight = Parameter(np.ones(num_features, dtype=dtype))
        self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.x: np.ndarray | None = None
        # the (mean, var) that forward normalised with: (None, None) for the batch's own (training mode)
        self.stats: tuple[np.ndarray | None, np.ndarray | None] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, C, H, W)`` -> ``(N, C, H, W)``."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"BatchNorm2d: x must be a numpy.ndarray, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: x must have shape (N, {self.num_features}, H, W), got {x.shape}")
        self.x = x.astype(self.weight.data.dtype, copy=False)
        if self.training:
            m = x.shape[0] * x.shape[2] * x.shape[3]
            if m < 2:
                raise ValueError(f"BatchNorm2d: training needs more than 1 value per channel, got x of shape {x.shape}")
            mean, var = self.x.mean(axis=_AXES), self.x.var(axis=_AXES)
            self.running_mean[:] = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var[:] = (1 - self.momentum) * self.running_var + self.momentum * var * m / (m - 1)
            self.stats = (None, None)
        else:
            self.stats = (self.running_mean.copy(), self.running_var.copy())
        mean, var = self.stats
        return batch_norm2d(self.x, self.weight.data, self.bias.data, mean, var, eps=self.eps)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` ``(N, C, H, W)`` -> ``grad_x`` ``(N, C, H, W)``; accumulates weight/bias grads."""
        x, (mean, var) = self._cached("x"), self._cached("stats")
        grad_x, grad_weight, grad_bias = batch_norm2d_backward(
            grad_out, x, self.weight.data, self.bias.data, mean, var, eps=self.eps
        )
        self.weight.accumulate(grad_weight)
        self.bias.accumulate(grad_bias)
        return grad_x

    def extra_repr(self) -> str:
        """PyTorch's arguments: ``C, eps=..., momentum=..., affine=True, track_running_stats=True``."""
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine=True, track_running_stats=True"
