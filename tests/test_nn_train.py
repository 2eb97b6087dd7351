"""course_utils.nn.fit / evaluate / predict and History on a tiny fixed problem."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import nn


def blobs(n=120, seed=0):
    """Three Gaussian blobs in 4-D, labels 0, 1, 2."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = 3.0 * np.eye(3, 4)
    return (centres[y] + rng.standard_normal((n, 4))).astype(np.float32), y


def mlp():
    rng = np.random.default_rng(1)
    return nn.Sequential(nn.Linear(4, 16, rng=rng), nn.ReLU(), nn.Linear(16, 3, rng=rng))


def test_fit_reduces_the_loss_and_records_every_epoch():
    (X, y), val = blobs(), blobs(60, seed=1)
    model = mlp()
    history = nn.fit(
        model,
        nn.CrossEntropyLoss(),
        nn.SGD(model.parameters(), lr=0.1, momentum=0.9),
        (X, y),
        val,
        epochs=5,
        batch_size=16,
        progress=False,
    )
    assert [len(v) for v in (history.train_loss, history.train_acc, history.val_loss, history.val_acc)] == [5] * 4
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_acc[-1] > 0.85
    loss, acc = nn.evaluate(model, *val)
    assert loss == pytest.approx(history.val_loss[-1]) and acc == pytest.approx(history.val_acc[-1])
    assert not model.training


def test_fit_is_reproducible_and_seeded():
    runs = []
    for seed in (0, 0, 1):
        model = mlp()
        runs.append(
            nn.fit(
                model,
                nn.CrossEntropyLoss(),
                nn.Adam(model.parameters(), lr=1e-2),
                blobs(),
                epochs=2,
                batch_size=32,
                seed=seed,
                progress=False,
            ).train_loss
        )
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_fit_trains_batchnorm_in_training_mode_and_validates_in_eval_mode():
    X = np.random.default_rng(2).standard_normal((40, 1, 4, 4)).astype(np.float32) + 3.0
    y = np.arange(40) % 2
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, rng=np.random.default_rng(0)), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2)
    )
    nn.fit(
        model,
        nn.CrossEntropyLoss(),
        nn.SGD(model.parameters(), lr=0.0),
        (X, y),
        (X, y),
        epochs=1,
        batch_size=8,
        progress=False,
    )
    assert np.abs(model[1].running_mean).sum() > 0  # statistics were gathered while training
    assert not model[1].training


def test_predict_shapes_and_history_plot():
    model = mlp()
    X, y = blobs(10)
    assert nn.predict(model, X, batch_size=3).shape == (10, 3)
    history = nn.fit(
        model, nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=0.1), (X, y), epochs=2, batch_size=4, progress=True
    )
    figure = history.plot()
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    assert [ax.get_ylabel() for ax in figure.axes] == ["cross-entropy loss", "accuracy"]
    assert history.val_loss == [] and len(figure.axes[0].lines) == 1


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"train": (np.ones((4, 4)), np.zeros(3, dtype=int))}, ValueError, "same length"),
        ({"train": ([1.0], [0])}, TypeError, "pair of numpy arrays"),
        ({"train": (np.ones((0, 4)), np.zeros(0, dtype=int))}, ValueError, "N >= 1"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"epochs": -1}, ValueError, "epochs"),
    ],
)
def test_fit_bad_arguments(kwargs, error, match):
    model = mlp()
    args = {"train": blobs(12), "epochs": 1, "batch_size": 4, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        nn.fit(model, nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=0.1), **args)
