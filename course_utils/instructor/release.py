"""Regenerate the student release (``notebooks/``) from the instructor source (``solutions/``).

``python -m course_utils.instructor.release`` (or ``make release``, or ``course release``),
run in the course's checkout, runs ``nbgrader
generate_assignment`` for every assignment folder in ``solutions/``, into an
empty folder, so that the release has no stale files. Nothing is written to a
gradebook (``--no-db``). The drift test releases into a temporary folder with
the same function and compares the result with ``notebooks/`` byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def assignments(root: Path | None = None) -> list[str]:
    """The assignment names, ``NN-topic``, in course order (``root``: the checkout, default the working folder)."""
    root = Path.cwd() if root is None else Path(root)
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())


def release(root: Path | None = None, dest: Path | None = None) -> Path:
    """Write the student release of every assignment under ``dest`` (default ``root/notebooks``).

    ``dest`` is emptied first, so a notebook removed from ``solutions/`` disappears from
    the release too.
    """
    root = Path.cwd() if root is None else Path(root)
    if not (root / "solutions").is_dir():
        raise FileNotFoundError(f"{root} has no solutions/ folder: run the release in the course's checkout")
    dest = Path(dest) if dest is not None else root / "notebooks"
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    with tempfile.TemporaryDirectory() as scratch:
        staging = Path(scratch) / "release"
        for assignment in assignments(root):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nbgrader",
                    "generate_assignment",
                    assignment,
                    "--force",
                    "--no-db",
                    "--log-level=WARN",
                    f"--CourseDirectory.root={root}",
                    f"--CourseDirectory.release_directory={staging}",
                ],
                cwd=root,
                env=env,
                check=True,
            )
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(staging, dest)
    return dest


if __name__ == "__main__":
    print(f"released {', '.join(assignments())} into {release()}")
