"""The course from its wheel: lean without the extra, every notebook the Colab way, graded with the extra.

Colab cannot be reached from here; ``colab_support`` rebuilds its situation (a clean virtualenv
with only Colab's preinstalled scientific packages, pip pointed at the locally built wheel) and
``conftest.colab_run`` runs every released notebook and every solution there, once per session.
"""

from __future__ import annotations

import csv
import os
import subprocess
import zipfile
from pathlib import Path

import colab_support
import pytest
from conftest import ASSIGNMENTS, REPO

from tools import notebook as notebook_tool  # the checkout is on sys.path (conftest)

pytestmark = [pytest.mark.colab, pytest.mark.xdist_group("colab")]

# Packages of the instructor's side and of JupyterLab: none may come with the student's install.
NOT_FOR_STUDENTS = [
    "nbgrader",
    "nbclient",
    "nbconvert",
    "jupyterlab",
    "jupyter-server",
    "alembic",
    "sqlalchemy",
    "notebook",
    "jupyterhub",
]


def test_the_wheel_carries_its_data_and_settings(tmp_path):
    wheel = colab_support.build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in [
        "course_utils/data/README.md",
        "course_utils/data/images/camera.png",
        "course_utils/data/datasets/digits.npz",
        "course_utils/instructor/nbgrader_config.py",
    ]:
        assert shipped in names, f"{shipped} is not in {wheel.name}"
    assert not [n for n in names if n.startswith(("solutions/", "notebooks/", "tests/"))], (
        "the wheel holds the course source"
    )


def test_the_setup_cell_installs_the_pinned_package_where_it_is_missing(colab_run):
    assert colab_run.before is None, f"the clean virtualenv already had course_utils: {colab_run.before}"
    after = colab_support.where_is(colab_run.python, "course_utils")
    assert after and Path(after).is_relative_to(colab_run.python.parent.parent), after
    assert colab_support.installed(colab_run.python)["signals-to-convnets"] == notebook_tool.version()
    for name, nb in colab_run.releases.items():
        setup = nb.cells[1]
        assert setup.source == notebook_tool.setup_source(), f"{name}: the first code cell is not the set-up cell"
        assert not [o for o in setup.outputs if o.output_type == "error"], f"{name}: the set-up cell failed"


def test_a_student_install_brings_no_instructor_package(colab_run):
    packages = colab_support.installed(colab_run.python)
    brought = [name for name in NOT_FOR_STUDENTS if name in packages]
    assert not brought, f"pip install signals-to-convnets brought the instructor's packages: {brought}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_solution_runs_from_the_wheel(colab_run, assignment):
    found = colab_support.errors(colab_run.solutions[assignment])
    assert not found, f"{assignment} failed in the Colab-like environment:\n" + "\n".join(
        f"cell {index}: {ename}: {evalue[:200]}" for index, _, ename, evalue in found
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_release_fails_only_where_work_is_missing(colab_run, assignment):
    found = colab_support.errors(colab_run.releases[assignment])
    graded = [(index, ename) for index, cell, ename, _ in found if cell.metadata.get("nbgrader", {}).get("grade")]
    assert graded, f"no test cell of the released {assignment} failed on the stubs"
    unexpected = [
        f"cell {index}: {ename}: {evalue[:200]}"
        for index, cell, ename, evalue in found
        if ename != "NotImplementedError" and not cell.metadata.get("nbgrader", {}).get("grade")
    ]
    assert not unexpected, (
        f"cells of the released {assignment} that fail for another reason than an "
        "unsolved exercise:\n" + "\n".join(unexpected)
    )


@pytest.mark.xdist_group("wheel-instructor")
def test_course_grade_runs_from_the_wheel_with_the_instructor_extra(tmp_path):
    wheel = colab_support.build_wheel(tmp_path)
    python = colab_support.make_venv(tmp_path / "venv", f"{wheel}[instructor]", "-c", str(REPO / "requirements.txt"))
    assert "nbgrader" in colab_support.installed(python)
    batch = tmp_path / "batch"
    for student in ["honest-full", "honest-partial", "blank"]:
        (batch / student).mkdir(parents=True)
        subprocess.run(
            [
                "cp",
                "-r",
                str(REPO / "tests" / "fixtures" / "submissions" / student / "00-start-here"),
                str(batch / student),
            ],
            check=True,
        )
    bindir = str(python.parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"], "PYTHONPATH": "", "VIRTUAL_ENV": bindir[:-4]}
    result = subprocess.run(
        [
            f"{bindir}/course",
            "grade",
            str(batch),
            "--source",
            str(REPO / "solutions"),
            "--course-dir",
            str(tmp_path / "cd"),
            "--workers",
            "2",
            "--timeout",
            "60",
            "--no-progress",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with open(tmp_path / "cd" / "grades.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert {student: float(rows[student]["score"]) for student in rows} == {
        "honest-full": 1.0,
        "honest-partial": 0.0,
        "blank": 0.0,
    }, rows
    config = (tmp_path / "cd" / "nbgrader_config.py").read_text()
    (loaded,) = [line for line in config.splitlines() if line.startswith("load_subconfig(")]
    assert str(python.parent.parent) in loaded and str(REPO) not in loaded, f"settings not from the wheel: {loaded}"
