"""Regenerate the files in course_utils/data/ (see course_utils/data/README.md for sources and licences).

Needs scikit-image and scikit-learn, which the course itself does not install:
    pip install scikit-image scikit-learn && python tools/make_data.py
"""

from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image
from sklearn.datasets import load_digits

DATA = Path(__file__).resolve().parent.parent / "course_utils" / "data"


def half(image: np.ndarray) -> np.ndarray:
    """Downsample by two with a 2x2 mean (keeps files small and notebooks fast)."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    image = image[:h, :w].astype(np.float64)
    return image.reshape(h // 2, 2, w // 2, 2, *image.shape[2:]).mean(axis=(1, 3))


def main() -> None:
    images = {
        "camera": half(skimage.data.camera()),
        "coins": skimage.data.coins(),
        "astronaut": half(skimage.data.astronaut()),
        "chelsea": skimage.data.chelsea(),
    }
    (DATA / "images").mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        Image.fromarray(np.round(image).astype(np.uint8)).save(DATA / "images" / f"{name}.png", optimize=True)
    digits = load_digits()
    (DATA / "datasets").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        DATA / "datasets" / "digits.npz",
        images=digits.images.astype(np.float64),
        labels=digits.target.astype(np.int64),
    )


if __name__ == "__main__":
    main()
