"""Load the images and datasets that ship inside this package (``course_utils/data/``).

Nothing is ever downloaded. The files are package data: they load the same from a
wheel, an editable install, Colab or nbgrader's ``autograded/<student>/<assignment>/``
folder, whatever the working directory. ``README.md`` beside this module lists every
file with its source and licence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_DIR = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The folder of the shipped files (``images/``, ``datasets/``, ``README.md``)."""
    return _DIR


def _available(folder: Path, suffix: str) -> list[str]:
    return sorted(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}"))


def _find(subfolder: str, name: str, suffix: str) -> Path:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    folder = data_dir() / subfolder
    path = folder / f"{name}{suffix}"
    if not path.is_file():
        raise ValueError(f"unknown {subfolder[:-1]} name {name!r}; available: {', '.join(_available(folder, suffix))}")
    return path


def image_names() -> list[str]:
    """The names that ``load_image`` accepts."""
    return _available(data_dir() / "images", ".png")


def load_image(name: str, *, gray: bool = False) -> np.ndarray:
    """Load one of the shipped images as float64 in [0, 1].

    Parameters
    ----------
    name : str
        One of ``image_names()``, e.g. ``"camera"``, ``"coins"``, ``"chelsea"``.
    gray : bool
        If True, a colour image is converted to luminance (ITU-R BT.601 weights).

    Returns
    -------
    image : ndarray, float64
        Shape ``(H, W)`` for a grey image (or ``gray=True``), ``(H, W, 3)`` for a colour one.
    """
    import matplotlib.image

    image = np.asarray(matplotlib.image.imread(_find("images", name, ".png")), dtype=np.float64)
    if image.ndim == 3:
        image = image[..., :3]
        if gray:
            image = image @ np.array([0.299, 0.587, 0.114])
    return image


def dataset_names() -> list[str]:
    """The names that ``load_dataset`` accepts."""
    return _available(data_dir() / "datasets", ".npz")


def load_dataset(name: str) -> dict[str, np.ndarray]:
    """Load one of the shipped datasets (an ``.npz`` file) as a dict of arrays.

    ``load_dataset("digits")`` returns ``images`` (1797, 8, 8) float64 in [0, 16]
    and ``labels`` (1797,) int64 (scikit-learn's copy of the UCI optical digits).
    """
    with np.load(_find("datasets", name, ".npz")) as archive:
        return {key: archive[key] for key in archive.files}
