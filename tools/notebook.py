"""Author and check the course's source notebooks.

    python tools/notebook.py from-py DRAFT.py solutions/NN-topic/NN-topic.ipynb
        Convert a jupytext percent-format draft (nbgrader metadata in the cell
        headers, ``# %% nbgrader={...}``) into a clean source notebook.
    python tools/notebook.py to-py solutions/NN-topic/NN-topic.ipynb DRAFT.py
        The reverse, for editing a notebook as text (the draft is not committed).
    python tools/notebook.py normalize [NOTEBOOK ...]
        Rewrite source notebooks in the canonical form (default: all of solutions/).
    python tools/notebook.py check [NOTEBOOK ...]
        Print every style problem (see ``problems``); exit 1 if there is any.

The canonical form: no outputs or execution counts, only nbgrader metadata on
cells, stable cell ids (the grade_id for graded cells), the python3 kernelspec,
an "Open in Colab" link under the title and the setup cell (``SETUP``) right
after the title cell: both are written here, from ``REPOSITORY`` and the package's
version in pyproject.toml, and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from course_utils.instructor import markers

REPO = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
# Where the course is published (README's Binder badge and Colab links use the same path).
REPOSITORY = "signals-to-convnets/course"
DISTRIBUTION = "signals-to-convnets"  # the package's name on PyPI (pyproject.toml's [project] name)
COLAB = "https://colab.research.google.com/github/{repository}/blob/main/notebooks/{name}/{name}.ipynb"
COLAB_LINE = "[Open in Colab]({url}) (the student release; its first code cell installs the course's package there)"
SETUP = """\
# Set-up. On Colab (or any Python without the course's package) this installs it, pinned to this
# release of the course; in JupyterLab, on Binder and under nbgrader it is already there and this
# does nothing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("course_utils") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "{distribution}=={version}"], check=True)
if "google.colab" in sys.modules:  # Colab renders ipywidgets 8 with its custom widget manager
    from google.colab import output
    output.enable_custom_widget_manager()"""


def version() -> str:
    """The package's version, from pyproject.toml (the one place it is written)."""
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def colab_url(name: str) -> str:
    """The Colab address of the student release of notebook ``name`` (``NN-topic``)."""
    return COLAB.format(repository=REPOSITORY, name=name)


def setup_source() -> str:
    return SETUP.format(distribution=DISTRIBUTION, version=version())


def _add_colab_and_setup(nb: nbformat.NotebookNode, name: str) -> None:
    """Put the Colab link on the title cell's second line and the setup cell right after the title."""
    title = nb.cells[0]
    lines = title.source.split("\n")
    link = COLAB_LINE.format(url=colab_url(name))
    if len(lines) > 2 and lines[2].startswith("[Open in Colab]"):
        lines[2] = link
    else:
        lines[1:1] = ["", link]
    title.source = "\n".join(lines)
    setups = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.startswith("# Set-up. On Colab")
    ]
    for i in reversed(setups):
        del nb.cells[i]
    nb.cells.insert(1, nbformat.v4.new_code_cell(setup_source()))


# Patterns that have no place in a notebook that must run offline, anywhere.
_ABSOLUTE_PATH = re.compile(r"""["'](/(home|root|work|tmp|Users|usr)/|[A-Za-z]:\\)""")
_DOWNLOAD = re.compile(
    r"urlretrieve|requests\.get|urlopen|wget |curl |fetch_openml|scipy\.datasets|torchvision\.datasets|download=True"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\t]")
_RANDOM = re.compile(
    r"np\.random\.(rand|randn|randint|normal|uniform|choice|shuffle|permutation|seed)\b|\brandom\.(random|randint|choice|shuffle)\("
)


def normalize(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Return ``nb``, the notebook ``NN-topic``, in the canonical form described in the module docstring."""
    if nb.cells and nb.cells[0].cell_type == "markdown":
        _add_colab_and_setup(nb, name)
    seen: set[str] = set()
    for cell in nb.cells:
        nbgrader = cell.metadata.get("nbgrader")
        cell.metadata = {"nbgrader": nbgrader} if nbgrader else {}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
        base = nbgrader["grade_id"] if nbgrader else "cell-" + hashlib.sha1(cell.source.encode()).hexdigest()[:8]
        cell_id, n = base, 1
        while cell_id in seen:
            n += 1
            cell_id = f"{base}-{n}"
        seen.add(cell_id)
        cell.id = cell_id
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def secret_lines(source: str, kinds: Sequence[str] = markers.BOTH) -> set[str]:
    """Stripped lines inside a cell's BEGIN/END blocks of ``kinds`` that do not also stand outside them.

    Lines of three characters or fewer are dropped. The release test checks with it that a
    released cell shows none of its solution's secret lines; ``tools/site.py`` that the
    course website shows none.
    """
    secret = {line.strip() for line in markers.lines(source, markers.INSIDE, kinds=kinds)}
    public = {line.strip() for line in markers.lines(source, markers.OUTSIDE, kinds=kinds)}
    return {line for line in secret - public if len(line) > 3}


def exercises(nb: nbformat.NotebookNode) -> list[tuple[int, list[int]]]:
    """The graded exercises of ``nb``, in order: (index of the solution cell, indices of its graded cells).

    An exercise is a solution cell (nbgrader ``solution`` and not ``grade``) and the graded cells
    that follow it up to the next solution cell.
    """
    found: list[tuple[int, list[int]]] = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution") and not meta.get("grade"):
            found.append((index, []))
        elif meta.get("grade") and found:
            found[-1][1].append(index)
    return found


def _numbering_problems(nb: nbformat.NotebookNode, number: int) -> list[str]:
    """Exercise headings ("Exercise N.k ... (P points)") and header counts against the graded cells."""
    points = [sum(nb.cells[i].metadata["nbgrader"].get("points", 0) for i in tests) for _, tests in exercises(nb)]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    headings = re.findall(r"Exercise (\d+)\.(\d+)\b[^\n]{0,120}?\((\d+) points?\)", markdown)
    found = []
    if [(int(n), int(k)) for n, k, _ in headings] != [(number, k) for k in range(1, len(points) + 1)]:
        found.append(
            f"exercise headings {[f'{n}.{k}' for n, k, _ in headings]} are not {number}.1 to "
            f"{number}.{len(points)}, one per graded exercise"
        )
    elif [int(p) for _, _, p in headings] != [int(p) for p in points]:
        found.append(
            f"exercise headings state points {[int(p) for _, _, p in headings]}, "
            f"the graded cells give {[int(p) for p in points]}"
        )
    header = nb.cells[0].source
    if (count := re.search(r"Graded exercises: (\d+)", header)) and int(count.group(1)) != len(points):
        found.append(f"the header says {count.group(1)} graded exercises, the notebook has {len(points)}")
    listed = re.findall(r"(\d+)\.(\d+) `\w+` \((\d+)\)", header)
    if listed and [int(p) for _, _, p in listed] != [int(p) for p in points]:
        found.append(
            f"the header lists points {[int(p) for _, _, p in listed]}, the graded cells give "
            f"{[int(p) for p in points]}"
        )
    return found


def source_notebooks() -> list[Path]:
    return sorted((REPO / "solutions").glob("*/*.ipynb"))


def problems(path: Path) -> list[str]:
    """Style problems of one source notebook (the course-wide style guide, enforced)."""
    nb = nbformat.read(path, as_version=4)
    found = []
    if normalize(nbformat.from_dict(json.loads(json.dumps(nb))), path.stem) != nb:
        found.append("not in canonical form (run: python tools/notebook.py normalize)")
    if path.stem != path.parent.name:
        found.append(f"notebook {path.name} must be named after its folder {path.parent.name}")
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if not markdown or not markdown[0].lstrip().startswith("# "):
        found.append("the first cell must be a markdown title ('# ...')")
    if not any(re.search(r"learning goals", m, re.I) for m in markdown[:3]):
        found.append("learning goals must come in the first three markdown cells")
    if not re.search(r"^## Summary", "\n".join(markdown[-3:]), re.M):
        found.append("a '## Summary' section must come in the last three markdown cells")
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    if not graded or not all(c.metadata["nbgrader"].get("points", 0) > 0 for c in graded):
        found.append("needs at least one graded test cell, each with points > 0")
    for i, text in enumerate(markdown):
        if bad := _CONTROL.search(text):  # a LaTeX escape eaten by a Python string: \top -> TAB
            found.append(f"markdown cell {i} holds the control character {bad.group()!r} (write the LaTeX with \\)")
    if any("shared/seeds" in cell.source for cell in nb.cells):
        found.append("cites a shared/seeds/ path, which is not in the repository: cite the deck by author and title")
    found += _numbering_problems(nb, int(path.stem[:2])) if path.stem[:2].isdigit() else []
    points = sum(c.metadata["nbgrader"].get("points", 0) for c in graded)
    stated = re.search(r"worth (\d+) points?", markdown[0]) if markdown else None
    if stated and int(stated.group(1)) != points:
        found.append(f"the header says {stated.group(1)} points but the graded cells are worth {points:g}")
    if _ABSOLUTE_PATH.search(code):
        found.append("contains an absolute path")
    if _DOWNLOAD.search(code):
        found.append("downloads something")
    if _RANDOM.search(code):
        found.append("uses the global random state: use np.random.default_rng(seed)")
    return found


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] in ("from-py", "to-py"):
        import jupytext

        src, dst = Path(argv[1]), Path(argv[2])
        if argv[0] == "from-py":
            write(normalize(jupytext.read(src, fmt="py:percent"), dst.stem), dst)
        else:
            jupytext.write(nbformat.read(src, as_version=4), dst, fmt="py:percent")
        return 0
    if argv and argv[0] in ("normalize", "check"):
        paths = [Path(p) for p in argv[1:]] or source_notebooks()
        if argv[0] == "normalize":
            for path in paths:
                write(normalize(nbformat.read(path, as_version=4), path.stem), path)
            return 0
        failed = False
        for path in paths:
            for problem in problems(path):
                failed = True
                print(f"{path}: {problem}")
        return int(failed)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
