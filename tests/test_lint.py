"""Lint, format and types: ruff and mypy over the repository, with their configuration in pyproject.toml.

ruff checks the Python files and the solution notebooks (the release is generated from them) and
formats the Python files; mypy checks ``course_utils`` and ``tools``, and requires every function
of the public API (``functional``, ``nn``, ``gradcheck``, ``grading``) to be typed. Each prints
what it found, file and line, in the failure.
"""

import subprocess
import sys

from conftest import REPO


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, f"ruff check:\n{result.stdout}{result.stderr}"


def test_the_python_files_are_formatted():
    result = run("ruff", "format", "--no-cache", "--check", ".")
    assert result.returncode == 0, f"ruff format --check (run `ruff format` to fix):\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing(tmp_path):
    result = run("mypy", "--cache-dir", str(tmp_path / "mypy-cache"))
    assert result.returncode == 0, f"mypy:\n{result.stdout}{result.stderr}"
