"""Binder runs what the local set-up runs.

- ``environment.yml`` (Binder) pins exactly what ``requirements.txt`` (``make``) pins, and
  nothing else: Python 3.11 and pip from conda-forge, every other package from PyPI;
- the environment running these tests has those versions installed;
- ``postBuild`` installs ``course_utils`` without pulling unpinned dependencies, and every
  dependency ``course_utils`` declares is pinned;
- the README's Binder badge opens JupyterLab at the notebook ``make lab`` opens.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from conftest import REPO  # the checkout's root, found in one place

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")
BINDER_LINK = re.compile(r"https://mybinder\.org/v2/gh/[^\s)\]\"']+")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str], where: str) -> dict[str, str]:
    """``name -> version`` of ``name==version`` lines; anything else (but comments) is an error."""
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"{where}: {line!r} is not pinned as name==version"
        name = _canonical(match[1])
        assert name not in pins, f"{where}: {match[1]} is pinned twice"
        pins[name] = match[2]
    return pins


def requirements() -> dict[str, str]:
    return _pins((REPO / "requirements.txt").read_text().splitlines(), "requirements.txt")


def environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def _environment_parts() -> tuple[list[str], dict[str, str]]:
    conda, pip = [], []
    for dependency in environment()["dependencies"]:
        if isinstance(dependency, dict):
            assert set(dependency) == {"pip"}, f"environment.yml: unexpected {dependency}"
            pip += dependency["pip"]
        else:
            conda.append(dependency)
    return conda, _pins(pip, "environment.yml (pip)")


def test_environment_pins_equal_requirements():
    conda, pip = _environment_parts()
    expected = requirements()
    assert pip == expected, "environment.yml's pip pins differ from requirements.txt; they should read:\n" + "\n".join(
        f"      - {name}=={pin}" for name, pin in expected.items()
    )
    assert sorted(conda) == ["pip", "python=3.11"], (
        f"environment.yml should install only python=3.11 and pip from conda, got {conda}"
    )
    assert environment()["channels"] == ["conda-forge"]


def test_environment_python_satisfies_the_package():
    conda, _ = _environment_parts()
    binder = next(dep.split("=", 1)[1] for dep in conda if dep.startswith("python="))
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = re.fullmatch(r">=\s*(\d+)\.(\d+)", requires)
    assert minimum, f"pyproject.toml's requires-python {requires!r} is not of the form >=X.Y"
    assert tuple(map(int, binder.split("."))) >= (int(minimum[1]), int(minimum[2])), (
        f"Binder's python={binder} does not satisfy requires-python {requires}"
    )


def test_installed_versions_are_the_pins():
    installed = {}
    for name in requirements():
        try:
            installed[name] = version(name)
        except PackageNotFoundError:
            installed[name] = None
    stale = {name: (pin, installed[name]) for name, pin in requirements().items() if installed[name] != pin}
    assert stale == {}, f"installed versions differ from requirements.txt (pinned, installed): {stale}; run `make env`"


def test_postbuild_installs_course_utils_without_unpinned_dependencies():
    script = REPO / "postBuild"
    assert os.access(script, os.X_OK), "postBuild must be executable (Binder runs it directly)"
    text = script.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    commands = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    installs = [line for line in commands if "pip install" in line]
    assert installs and all("--no-deps" in line and line.rstrip().endswith("-e .") for line in installs), installs

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {_canonical(re.split(r"[<>=!~;\[ ]", dependency, maxsplit=1)[0]) for dependency in declared}
    unpinned = sorted(names - set(requirements()))
    assert unpinned == [], f"course_utils depends on {unpinned}, which requirements.txt does not pin"


@pytest.fixture
def readme() -> str:
    path = REPO / "README.md"
    if not path.is_file():
        pytest.fail("README.md is missing")
    return path.read_text()


def test_binder_badge_opens_the_first_notebook_in_jupyterlab(readme):
    links = BINDER_LINK.findall(readme)
    assert links, (
        "README.md has no Binder link; add the badge: [![Binder](https://mybinder.org/badge_logo.svg)]"
        "(https://mybinder.org/v2/gh/ORG/REPO/HEAD?urlpath=lab/tree/notebooks/00-start-here/00-start-here.ipynb)"
    )
    start = re.search(r"^START\s*:?=\s*(\S+)", (REPO / "Makefile").read_text(), re.M)[1]
    for link in links:
        url = urlparse(link)
        assert re.fullmatch(r"/v2/gh/[\w.-]+/[\w.-]+/[\w./-]+", url.path), f"{link}: not a GitHub Binder link"
        urlpath = parse_qs(url.query).get("urlpath", [""])[0]
        assert urlpath.startswith("lab/tree/"), f"{link}: should open JupyterLab (urlpath=lab/tree/...)"
        target = urlpath.removeprefix("lab/tree/")
        assert target == start, f"{link} opens {target}, `make lab` opens {start}"
        assert (REPO / target).is_file(), f"{link} opens {target}, which does not exist"


def _budget_module():
    """bench/notebook_budget.py, imported from its path (bench/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_budget", REPO / "bench" / "notebook_budget.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_budget_benchmark_measures_a_notebook_and_flags_overruns(tmp_path, capsys):
    import nbformat

    budget = _budget_module()
    path = tmp_path / "tiny.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import os\nassert os.environ['OMP_NUM_THREADS'] == '1'\nblock = bytearray(200_000_000)"
            )
        ]
    )
    nbformat.write(nb, path)

    assert budget.main([str(path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| tiny |"))
    seconds, megabytes, verdict = [cell.strip() for cell in row.strip("|").split("|")][1:]
    assert 0 < float(seconds) < budget.BUDGET_SECONDS and verdict == "yes", row
    assert float(megabytes) > 200, f"the kernel's peak should include the 200 MB it allocated: {row}"

    budget.BUDGET_BYTES = 100_000_000  # the same notebook, over a smaller budget
    assert budget.main([str(path)]) == 1
    assert "| tiny |" in capsys.readouterr().out
