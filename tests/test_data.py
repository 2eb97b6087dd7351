"""course_utils.data loads its package data from anywhere and lists what exists; its README lists every file."""

import re

import numpy as np
import pytest

from course_utils import data


def test_images_load_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data.image_names() == ["astronaut", "camera", "chelsea", "coins"]
    camera = data.load_image("camera")
    assert camera.shape == (256, 256) and camera.dtype == np.float64
    assert 0.0 <= camera.min() and camera.max() <= 1.0
    assert data.load_image("chelsea").shape == (300, 451, 3)
    assert data.load_image("chelsea", gray=True).shape == (300, 451)


def test_digits():
    digits = data.load_dataset("digits")
    assert digits["images"].shape == (1797, 8, 8) and digits["labels"].shape == (1797,)
    assert set(np.unique(digits["labels"])) == set(range(10))


def test_unknown_names_list_what_exists():
    with pytest.raises(ValueError, match="available: astronaut, camera, chelsea, coins"):
        data.load_image("lena")
    with pytest.raises(ValueError, match="available: digits"):
        data.load_dataset("mnist")
    with pytest.raises(TypeError, match="name must be a str"):
        data.load_image(3)


def test_every_data_file_is_listed_with_source_and_licence():
    folder = data.data_dir()
    readme = (folder / "README.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", readme, re.M)}
    files = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ("README.md", "__init__.py") and "__pycache__" not in p.parts
    }
    assert files == set(rows)
    for row in rows.values():
        assert row.count("|") >= 5, f"row needs what, source and licence: {row}"
