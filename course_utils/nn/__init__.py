"""``course_utils.nn``: layers, losses, optimisers and a training loop, PyTorch-style, in NumPy.

Every layer is a ``Module`` with ``forward(x)`` and a hand-written ``backward(grad_out)``;
its computation goes through ``course_utils.functional``. ::

    model = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 4 * 4, 10))
    history = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-2), (X, y), epochs=5)
    history.plot()

Modules, one concept each: ``module`` (Parameter, Module, Sequential), ``layers``, ``batchnorm``,
``loss``, ``optim``, ``train`` (fit, evaluate, predict, History).
"""

from course_utils.nn.batchnorm import BatchNorm2d, batch_norm2d, batch_norm2d_backward
from course_utils.nn.layers import AvgPool2d, Conv2d, ConvTranspose2d, Flatten, Linear, MaxPool2d, ReLU
from course_utils.nn.loss import CrossEntropyLoss
from course_utils.nn.module import Module, Parameter, Sequential
from course_utils.nn.optim import SGD, Adam, Optimizer
from course_utils.nn.train import History, evaluate, fit, predict

__all__ = [
    "Adam",
    "AvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Flatten",
    "History",
    "Linear",
    "MaxPool2d",
    "Module",
    "Optimizer",
    "Parameter",
    "ReLU",
    "SGD",
    "Sequential",
    "batch_norm2d",
    "batch_norm2d_backward",
    "evaluate",
    "fit",
    "predict",
]
