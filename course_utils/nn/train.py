"""Training loop helpers: ``fit``, ``evaluate``, ``predict`` and the ``History`` they record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from course_utils.functional import _args
from course_utils.nn.module import Module

if TYPE_CHECKING:  # matplotlib and tqdm load when a plot or a progress bar is asked for
    from matplotlib.figure import Figure

    from course_utils.nn.loss import CrossEntropyLoss
    from course_utils.nn.optim import Optimizer


@dataclass
class History:
    """Per-epoch metrics recorded by ``fit``: one entry per epoch in each list.

    ``train_loss`` and ``train_acc`` are averaged over the epoch's mini-batches as they were trained
    (training mode); ``val_loss`` and ``val_acc`` are measured after the epoch in evaluation mode
    (empty lists when ``fit`` had no validation set).

    Attributes
    ----------
    train_loss, train_acc, val_loss, val_acc : list of float

    Examples
    --------
    >>> from course_utils import nn
    >>> history = nn.History(train_loss=[1.2, 0.8], train_acc=[0.5, 0.75])
    >>> len(history.train_loss), history.val_acc
    (2, [])
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    def plot(self) -> Figure:
        """Loss (left) and accuracy (right) against epoch, training and validation curves.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.ticker import MaxNLocator

        from course_utils.plots import new_figure

        figure = new_figure(9, 3.2)
        ax_loss, ax_acc = figure.subplots(1, 2)
        for ax, metric, label in ((ax_loss, "loss", "cross-entropy loss"), (ax_acc, "acc", "accuracy")):
            for split, style in (("train", "o-"), ("val", "s--")):
                values = getattr(self, f"{split}_{metric}")
                if values:
                    ax.plot(range(1, len(values) + 1), values, style, label=split)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend()
        return figure


def _check_data(X: np.ndarray, y: np.ndarray, name: str) -> None:
    """Check that ``(X, y)`` are arrays ``(N, ...)`` and ``(N,)`` with ``N >= 1``; ``name`` goes in the message."""
    if not isinstance(X, np.ndarray) or not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a pair of numpy arrays (X, y), got ({type(X).__name__}, {type(y).__name__})")
    if X.ndim < 1 or y.ndim != 1 or len(X) != len(y) or len(y) == 0:
        raise ValueError(
            f"{name}: X (N, ...) and y (N,) must have the same length N >= 1, got shapes {X.shape} and {y.shape}"
        )


def _batches(n: int, batch_size: int) -> range:
    """The start of each mini-batch of ``range(n)``."""
    _args.positive_int(batch_size, "batch_size")
    return range(0, n, batch_size)


def predict(model: Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs (logits) for ``X``, computed in batches in evaluation mode.

    The model is left in evaluation mode.

    Parameters
    ----------
    model : Module
        Maps ``(B, ...)`` to ``(B, K)``.
    X : ndarray
        ``(N, ...)``.
    batch_size : int
        The number of examples per forward pass.

    Returns
    -------
    ndarray
        ``(N, K)``.

    Raises
    ------
    TypeError, ValueError
        If ``batch_size`` is not a positive int.

    Shape
    -----
    - Input (X): ``(N, *)``, what the model takes.
    - Output: ``(N, K)``

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    >>> nn.predict(model, np.ones((10, 3, 2, 2)), batch_size=4).shape
    (10, 5)
    """
    model.eval()
    return np.concatenate([model(X[i : i + batch_size]) for i in _batches(len(X), batch_size)])


def evaluate(
    model: Module, X: np.ndarray, y: np.ndarray, batch_size: int = 256, loss_fn: CrossEntropyLoss | None = None
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``X`` with labels ``y``, in evaluation mode.

    Parameters
    ----------
    model : Module
        Maps ``(B, ...)`` to logits ``(B, K)``.
    X : ndarray
        ``(N, ...)``.
    y : ndarray of int
        ``(N,)``.
    batch_size : int
    loss_fn : CrossEntropyLoss or None
        Defaults to ``CrossEntropyLoss()``.

    Returns
    -------
    loss : float
    accuracy : float
        In [0, 1].

    Raises
    ------
    TypeError, ValueError
        If ``X`` and ``y`` are not arrays ``(N, ...)`` and ``(N,)`` with ``N >= 1``.

    Shape
    -----
    - Input (X): ``(N, *)``; Target (y): ``(N,)``.
    - Output: two Python floats.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> model = nn.Linear(4, 2)
    >>> model.weight.data[:] = 0  # logits all 0: loss log(2); argmax 0 everywhere
    >>> loss, accuracy = nn.evaluate(model, np.ones((4, 4)), np.array([0, 0, 1, 0]))
    >>> round(loss, 4), accuracy
    (0.6931, 0.75)
    """
    from course_utils.nn.loss import CrossEntropyLoss

    _check_data(X, y, "evaluate")
    logits = predict(model, X, batch_size)
    loss = (loss_fn or CrossEntropyLoss())(logits, y)
    return float(loss), float(np.mean(logits.argmax(axis=1) == y))


def fit(
    model: Module,
    loss_fn: CrossEntropyLoss,
    optimizer: Optimizer,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` with mini-batch gradient descent and return its ``History``.

    Each epoch: the model is put in training mode; the training set is shuffled (a generator
    seeded with ``seed``, so a run is reproducible); for each mini-batch of ``batch_size``
    examples: ``zero_grad``, forward, loss, backward, ``optimizer.step()``. Then, with a
    validation set, the model is put in evaluation mode and measured on it with ``evaluate``.

    Parameters
    ----------
    model : Module
        Maps ``X[batch]`` ``(B, ...)`` to logits ``(B, K)``.
    loss_fn : CrossEntropyLoss (or any object with the same ``forward``/``backward``)
    optimizer : SGD, Adam
        Built on ``model.parameters()``.
    train : (X, y)
        ``X`` ``(N, ...)``, ``y`` ``(N,)`` integer labels.
    val : (X, y) or None
    epochs, batch_size, seed : int
    progress : bool
        Show a tqdm progress bar (one tick per mini-batch, metrics in its postfix).

    Returns
    -------
    History

    Raises
    ------
    TypeError, ValueError
        If ``train`` or ``val`` is not a pair of arrays ``(N, ...)`` and ``(N,)`` with ``N >= 1``,
        ``epochs`` is not a non-negative int or ``batch_size`` not a positive int.

    Shape
    -----
    - Input (X of train and val): ``(N, *)``, what the model takes.
    - Target (y of train and val): ``(N,)``
    - Output: a ``History``, one entry per epoch in each list.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils import nn
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((32, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> optimizer = nn.Adam(model.parameters(), lr=1e-2)
    >>> loss_fn = nn.CrossEntropyLoss()
    >>> history = nn.fit(model, loss_fn, optimizer, (X, y), (X, y), epochs=2, batch_size=16, progress=False)
    >>> len(history.train_loss), len(history.val_acc), model.training
    (2, 2, False)
    """
    X, y = train
    _check_data(X, y, "train")
    if val is not None:
        _check_data(*val, "val")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    starts = _batches(len(X), batch_size)
    rng = np.random.default_rng(seed)
    history = History()
    from tqdm.auto import tqdm

    with tqdm(total=epochs * len(starts), disable=not progress, unit="batch") as bar:
        for epoch in range(epochs):
            bar.set_description(f"epoch {epoch + 1}/{epochs}")
            model.train()
            order = rng.permutation(len(X))
            total_loss = correct = 0.0
            for start in starts:
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                logits = model(X[batch])
                loss = loss_fn(logits, y[batch])
                model.backward(loss_fn.backward())
                optimizer.step()
                total_loss += loss * len(batch)
                correct += np.sum(logits.argmax(axis=1) == y[batch])
                bar.update()
            history.train_loss.append(total_loss / len(X))
            history.train_acc.append(float(correct) / len(X))
            metrics = {"loss": f"{history.train_loss[-1]:.4f}", "acc": f"{history.train_acc[-1]:.3f}"}
            if val is not None:
                val_loss, val_acc = evaluate(model, *val, batch_size=max(batch_size, 256), loss_fn=loss_fn)
                history.val_loss.append(val_loss)
                history.val_acc.append(val_acc)
                metrics.update(val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.3f}")
            bar.set_postfix(metrics)
    return history
