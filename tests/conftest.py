"""Shared fixtures: the repository's paths and one nbgrader round trip per assignment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.instructor.release import assignments

# The checkout's root: the one place the tests find it (the other modules import it from here).
REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = assignments(REPO)

sys.path.insert(0, str(REPO))

BIN = str(Path(sys.executable).parent)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` keep each ``xdist_group`` on one worker under pytest 9.

    pytest-xdist 3.8 tags a test with its group by rewriting ``item._nodeid`` (``nodeid@group``),
    which pytest 9 no longer reads (the node id lives in ``item._id``): the groups were silently
    spread over the workers, and every worker built the shared fixtures (an assignment's nbgrader
    round trip, the Colab run) again. This sets the same ``@group`` suffix where pytest reads it.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        groups = "_".join(
            sorted(
                {
                    str(mark.args[0]) if mark.args else str(mark.kwargs.get("name", "default"))
                    for mark in item.iter_markers("xdist_group")
                }
            )
        )
        if groups and not item.nodeid.endswith(f"@{groups}"):
            item._id = coerce_node_id(f"{item.nodeid}@{groups}")


def per_assignment(names=ASSIGNMENTS):
    """Parametrize over assignments, keeping each assignment's tests on one xdist worker."""
    return pytest.mark.parametrize(
        "assignment", [pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in names]
    )


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run an nbgrader command with the environment's bin/ first on PATH (it calls alembic)."""
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class RoundTrip:
    """A temporary nbgrader course in which one assignment was released and autograded.

    Student ``solution`` submitted the instructor's solution notebook; student ``stub``
    submitted the untouched release.
    """

    assignment: str
    course: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.course / 'gradebook.db'}"

    @property
    def notebook(self) -> str:
        return self.assignment  # one notebook per assignment, named after it

    def released(self) -> Path:
        return self.course / "release" / self.assignment / f"{self.notebook}.ipynb"

    def autograded(self, student: str) -> nbformat.NotebookNode:
        path = self.course / "autograded" / student / self.assignment / f"{self.notebook}.ipynb"
        return nbformat.read(path, as_version=4)

    def grades(self, student: str) -> dict[str, tuple[float, float]]:
        """grade_id -> (score, max_score) of every graded cell, read from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gradebook:
            submission = gradebook.find_submission_notebook(self.notebook, self.assignment, student)
            return {grade.name: (grade.score, grade.max_score) for grade in submission.grades}


def make_roundtrip(assignment: str, root: Path, solutions: Path = REPO / "solutions") -> RoundTrip:
    """Release ``solutions/<assignment>`` in a new course under ``root`` and autograde two students."""
    course = root / "course"
    shutil.copytree(solutions / assignment, course / "source" / assignment)
    (course / "nbgrader_config.py").write_text(
        f"load_subconfig({str(REPO / 'nbgrader_config.py')!r})\n"
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'\n"
    )
    roundtrip = RoundTrip(assignment, course)
    nbgrader("generate_assignment", assignment, "--force", cwd=course)
    for student, notebook in [
        ("solution", course / "source" / assignment / f"{assignment}.ipynb"),
        ("stub", roundtrip.released()),
    ]:
        target = course / "submitted" / student / assignment
        target.mkdir(parents=True)
        shutil.copy(notebook, target)
    nbgrader("autograde", assignment, "--force", "--create", cwd=course)
    return roundtrip


_roundtrips: dict[str, RoundTrip] = {}


@pytest.fixture
def roundtrip(assignment: str, tmp_path_factory: pytest.TempPathFactory) -> RoundTrip:
    """The assignment's round trip, made once per test session (per xdist worker)."""
    if assignment not in _roundtrips:
        _roundtrips[assignment] = make_roundtrip(assignment, tmp_path_factory.mktemp(assignment))
    return _roundtrips[assignment]


@dataclass
class ColabRun:
    """Every notebook run the Colab way (see ``colab_support``): released stubs, then solutions.

    ``before``: where ``course_utils`` imported from in the clean virtualenv before any notebook
    ran (None: not installed). ``executed``: a folder of the executed solutions, ``NN-topic.ipynb``,
    which the course website is built from (``tests/test_site.py``).
    """

    python: Path
    wheel: Path
    before: str | None
    releases: dict[str, nbformat.NotebookNode]
    solutions: dict[str, nbformat.NotebookNode]
    executed: Path


@pytest.fixture(scope="session")
def colab_run(tmp_path_factory: pytest.TempPathFactory) -> ColabRun:
    """The Colab run, made once per test session (per xdist worker: keep its users in xdist_group "colab")."""
    import colab_support

    scratch = tmp_path_factory.mktemp("colab")
    wheel = colab_support.build_wheel(scratch)
    python = colab_support.colab_like_venv(scratch, wheel)
    before = colab_support.where_is(python, "course_utils")
    releases = {
        name: colab_support.run_notebook(REPO / "notebooks" / name / f"{name}.ipynb", scratch, scratch / "releases")
        for name in ASSIGNMENTS
    }
    solutions = {
        name: colab_support.run_notebook(REPO / "solutions" / name / f"{name}.ipynb", scratch, scratch / "solutions")
        for name in ASSIGNMENTS
    }
    executed = scratch / "executed"
    executed.mkdir()
    for name, nb in solutions.items():
        nbformat.write(nb, executed / f"{name}.ipynb")
    return ColabRun(python, wheel, before, releases, solutions, executed)


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's own name: its data do not depend on which tests ran before it
    on its worker (tinygrad style, each test seeds its own)."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
