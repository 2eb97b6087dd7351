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
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    def plot(self) -> Figure:
        """Loss (left) and accuracy (right) against epoch, training and validation curves."""
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
    if not isinstance(X, np.ndarray) or not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a pair of numpy arrays (X, y), got ({type(X).__name__}, {type(y).__name__})")
    if X.ndim < 1 or y.ndim != 1 or len(X) != len(y) or len(y) == 0:
        raise ValueError(
            f"{name}: X (N, ...) and y (N,) must have the same length N >= 1, got shapes {X.shape} and {y.shape}"
        )


def _batches(n: int, batch_size: int) -> range:
    _args.positive_int(batch_size, "batch_size")
    return range(0, n, batch_size)


def predict(model: Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs (logits) for ``X`` ``(N, ...)``, computed in batches in evaluation mode.

    Returns an array of shape ``(N, K)``. The model is left in evaluation mode.
    """
    model.eval()
    return np.concatenate([model(X[i : i + batch_size]) for i in _batches(len(X), batch_size)])


def evaluate(
    model: Module, X: np.ndarray, y: np.ndarray, batch_size: int = 256, loss_fn: CrossEntropyLoss | None = None
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``X`` ``(N, ...)`` with labels ``y`` ``(N,)``, in evaluation mode.

    ``loss_fn`` defaults to ``CrossEntropyLoss()``. Returns ``(loss, accuracy)``, accuracy in [0, 1].
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
