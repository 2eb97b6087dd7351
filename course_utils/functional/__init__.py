"""course_utils.functional: the network operations of the course, NumPy in, NumPy out.

Names, arguments, defaults and results are those of ``torch.nn.functional``; layouts are
NCL (1-D) and NCHW (2-D); float32 and float64 are both kept (the output's dtype is the
input's). Each op ``f(...)`` has a backward pass ``f_backward(grad_out, <f's own arguments>)``
returning the gradients with respect to f's array arguments.

Ops and shapes (G = groups):

- ``conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)``:
  x ``(N, C_in, L)``, weight ``(C_out, C_in/G, K)``, bias ``(C_out,)`` -> ``(N, C_out, L_out)``.
- ``conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)``:
  x ``(N, C_in, H, W)``, weight ``(C_out, C_in/G, kH, kW)`` -> ``(N, C_out, H_out, W_out)``.
- ``conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
  dilation=1)``: x ``(N, C_in, H, W)``, weight ``(C_in, C_out/G, kH, kW)`` -> ``(N, C_out, H_out, W_out)``.
- ``max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1)`` and
  ``avg_pool2d(x, kernel_size, stride=None, padding=0)``: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``.
- ``relu(x)``: any shape -> the same shape.
- ``linear(x, weight, bias=None)``: x ``(*, in)``, weight ``(out, in)`` -> ``(*, out)``.
- ``cross_entropy(logits, targets)``: logits ``(N, C)``, integer targets ``(N,)`` -> a scalar
  (the mean over the batch).

Output sizes: convolution and pooling ``H_out = floor((H + 2P - D(K - 1) - 1) / S) + 1``;
transposed convolution ``H_out = (H - 1)S - 2P + D(K - 1) + output_padding + 1``.

Backward passes: ``conv1d_backward``, ``conv2d_backward`` and ``conv_transpose2d_backward``
return ``(grad_x, grad_weight, grad_bias)``, ``linear_backward`` likewise (``grad_bias`` is
None when ``bias`` is None); ``max_pool2d_backward``, ``avg_pool2d_backward`` and
``relu_backward`` return ``grad_x``; ``cross_entropy_backward(grad_out, logits, targets)``
returns ``grad_logits``.

Implementation (see ``_im2col``): a convolution is im2col (one block copy per kernel offset,
from the padded input's stride phases, whole rows at a time) and ONE matrix product per group
for a block of samples of a few MB (the whole batch when it is small); its backward pass takes
the weight gradient from the same columns (``conv.conv2d_saving`` keeps them from the forward
pass, as ``nn.Conv2d`` does in training; the stateless ``conv2d_backward`` builds them again)
and scatters ``weight^T @ grad_out`` back with col2im. Max pooling takes elementwise maxima of
the windows' sub-grids and remembers the offset of each maximum for its backward pass
(``pool.max_pool2d_saving``, used by ``nn.MaxPool2d``). The copies and maxima of pooling run on
as many threads as NumPy's BLAS (``_threads``).
Bad input raises TypeError or ValueError naming the argument and the shapes; nothing is
broadcast or cast silently.
"""

from .activation import relu, relu_backward
from .conv import conv1d, conv1d_backward, conv2d, conv2d_backward
from .conv_transpose import conv_transpose2d, conv_transpose2d_backward
from .linear import linear, linear_backward
from .loss import cross_entropy, cross_entropy_backward
from .pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "linear",
    "linear_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "relu",
    "relu_backward",
]
