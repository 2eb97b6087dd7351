"""The student release in notebooks/ is exactly what `make release` makes from solutions/."""

import filecmp
from pathlib import Path

from conftest import REPO

from course_utils.instructor.release import assignments, release


def _differences(left: Path, right: Path, comparison: filecmp.dircmp | None = None) -> list[str]:
    comparison = comparison or filecmp.dircmp(left, right, ignore=["__pycache__", ".ipynb_checkpoints"])
    found = [f"only in {comparison.left}: {name}" for name in comparison.left_only]
    found += [f"only in {comparison.right}: {name}" for name in comparison.right_only]
    _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files, shallow=False)
    found += [f"differs: {Path(comparison.left, name)}" for name in mismatch + errors]
    for sub in comparison.subdirs.values():
        found += _differences(left, right, sub)
    return found


def test_notebooks_folder_is_the_release_of_solutions(tmp_path):
    fresh = release(REPO, dest=tmp_path / "notebooks")
    problems = _differences(REPO / "notebooks", fresh)
    assert problems == [], "notebooks/ is out of date; run `make release`:\n" + "\n".join(problems)


def test_every_assignment_is_released_under_its_own_name():
    for name in assignments(REPO):
        assert (REPO / "solutions" / name / f"{name}.ipynb").is_file()
        assert (REPO / "notebooks" / name / f"{name}.ipynb").is_file()
