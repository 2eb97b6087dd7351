"""course_utils.data finds data/ from anywhere and lists what exists; data/README lists every file."""
import re

import numpy as np
import pytest

from course_utils import data
from course_utils.release import REPO


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


def test_environment_variable_overrides(tmp_path, monkeypatch):
    (tmp_path / "README.md").write_text("test data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert data.data_dir() == tmp_path


def test_every_data_file_is_listed_with_source_and_licence():
    readme = (REPO / "data" / "README.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", readme, re.M)}
    files = {p.relative_to(REPO / "data").as_posix() for p in (REPO / "data").rglob("*")
             if p.is_file() and p.name != "README.md"}
    assert files == set(rows)
    for row in rows.values():
        assert row.count("|") >= 5, f"row needs what, source and licence: {row}"
