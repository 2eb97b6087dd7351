"""Run the course the way Colab and a pip-installing self-learner do (support for test_colab.py, test_site.py).

Colab cannot be reached from here, so the tests rebuild its situation on this machine:

- ``build_wheel``: the package's wheel, built from a copy of only what the wheel is made of
  (``pyproject.toml``, ``README.md``, ``LICENSE``, ``course_utils/``), so that nothing else of the
  checkout can leak into it;
- ``colab_like_venv``: a clean virtualenv holding only what Colab has preinstalled that the
  course uses (NumPy, SciPy, Matplotlib, ipywidgets, tqdm, ipykernel, at the versions pinned in
  ``requirements.txt``) and *not* the course's package;
- ``run_notebook``: executes a notebook in that virtualenv's kernel (a kernelspec in the
  temporary folder), from a copy in a folder of its own, with pip pointed at the locally built
  wheel (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``): the notebook's own set-up cell, unchanged, is what
  installs ``signals-to-convnets`` there, exactly as it does on Colab from PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from conftest import REPO  # the checkout's root, found in one place
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

WHEEL_PARTS = ["pyproject.toml", "README.md", "LICENSE", "course_utils"]
# What Colab preinstalls that the course's notebooks use (Colab also has pandas, torch, ...).
COLAB_PREINSTALLED = ["numpy", "scipy", "matplotlib", "ipywidgets", "tqdm", "ipykernel"]
KERNEL = "colab-like"


def pins(names: list[str]) -> list[str]:
    """``name==version`` for each name, from requirements.txt (the single source of versions)."""
    from test_environment import requirements  # the one parser of requirements.txt's pins

    pinned = requirements()
    return [f"{name}=={pinned[name]}" for name in names]


def pip(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args], capture_output=True, text=True, timeout=1200
    )
    if result.returncode:
        raise AssertionError(f"pip {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def build_wheel(scratch: Path) -> Path:
    """Build the package's wheel into ``scratch/dist``; return its path."""
    source = scratch / "source"
    source.mkdir(parents=True)
    for part in WHEEL_PARTS:
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / part, source / part)
    pip(Path(sys.executable), "wheel", "--no-deps", "--quiet", "-w", str(scratch / "dist"), str(source))
    (wheel,) = (scratch / "dist").glob("signals_to_convnets-*.whl")
    return wheel


def make_venv(folder: Path, *requirements: str) -> Path:
    """A new virtualenv at ``folder`` with ``requirements`` installed; return its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    python = folder / "bin" / "python"
    if requirements:
        pip(python, "install", "--quiet", *requirements)
    return python


def installed(python: Path) -> dict[str, str]:
    """The distributions installed in ``python``'s environment, name -> version."""
    result = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return {entry["name"].lower(): entry["version"] for entry in json.loads(result.stdout)}


def where_is(python: Path, module: str) -> str | None:
    """The file ``module`` imports from in ``python``'s environment (run outside the checkout), or None."""
    result = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": "", "PYTHONNOUSERSITE": "1"},
    )
    return result.stdout.strip() if result.returncode == 0 else None


def colab_like_venv(folder: Path, wheel: Path) -> Path:
    """The clean virtualenv and a kernelspec for it that installs from ``wheel``'s folder; return its python."""
    python = make_venv(folder / "venv", *pins(COLAB_PREINSTALLED))
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Colab-like",
                "language": "python",
                "env": {
                    "PIP_NO_INDEX": "1",
                    "PIP_FIND_LINKS": str(wheel.parent),
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                    "PYTHONPATH": "",
                    "PYTHONNOUSERSITE": "1",
                    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                },
            }
        )
    )
    return python


def run_notebook(notebook: Path, folder: Path, scratch: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute a copy of ``notebook`` (with its folder's files) under ``scratch`` in the Colab-like kernel.

    Errors stay in the outputs (``allow_errors``): the caller decides which are expected.
    """
    work = scratch / notebook.parent.name
    shutil.copytree(notebook.parent, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = nbformat.read(work / notebook.name, as_version=4)
    manager = AsyncKernelManager(
        kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    )
    client = NotebookClient(
        nb, km=manager, timeout=timeout, allow_errors=True, resources={"metadata": {"path": str(work)}}
    )
    try:
        client.execute()
    finally:  # nbclient does not shut down a kernel whose manager it did not create
        if manager.has_kernel:
            run_sync(manager.shutdown_kernel)(now=True)
    return nb


def errors(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode, str, str]]:
    """(index, cell, ename, evalue) of every error output."""
    return [
        (index, cell, output.ename, output.evalue)
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
