"""Build and check the course website (Jupyter Book 1, offline).

    python tools/site.py build [--executed DIR] [--out DIR]
        Build the site into OUT/html (default artifacts/site/html). The pages show what a
        student sees: the released notebook's cells, with the outputs of the executed solution
        for every cell that is neither an exercise answer nor a test. DIR holds the executed
        solutions as DIR/NN-topic.ipynb; without it, each solution is executed here with
        nbclient, one after the other. Jupyter Book itself executes nothing.
    python tools/site.py check DIR [--strict-alt]
        Check a built site (DIR is the html folder); print every problem and exit 1 if any.

The book source is generated under OUT/source: ``site/`` (config, landing page template,
Sphinx extension) plus the student's view of each notebook at its repository path,
``notebooks/NN-topic/NN-topic.ipynb``, so the syllabus's links and the Binder and Colab launch
buttons point at the released notebooks. MathJax comes from ``site/node_modules`` (``npm ci`` in
``site/``), copied into the build: the site loads nothing from another host.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "site"
OUT = REPO / "artifacts" / "site"
MATHJAX = SITE / "node_modules" / "mathjax" / "es5"
# What the site needs of MathJax's es5 folder: the TeX-to-HTML entry point, the TeX extensions
# it loads on demand, its CommonHTML output with fonts, and the menu's accessibility parts.
MATHJAX_PARTS = ["tex-chtml.js", "input", "output/chtml.js", "output/chtml", "a11y", "sre", "ui", "adaptors"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The alt text of a figure whose output carries none yet (course_utils.plots.show(fig, alt=...)
# puts it in the output's metadata). `check --strict-alt` rejects it.
NO_ALT = "Figure (not described yet)"

sys.path.insert(0, str(REPO))
from tools import notebook as notebook_tool  # noqa: E402


def assignments(root: Path = REPO) -> list[str]:
    """The assignment names, ``NN-topic``, in course order."""
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())


def page_paths(root: Path = REPO) -> list[str]:
    """The pages the site must have, relative to its html folder."""
    return ["index.html"] + [f"notebooks/{name}/{name}.html" for name in assignments(root)]


# --- the pages' content ---------------------------------------------------------------------------


def readme_section(readme: str, heading: str) -> str:
    """The text under ``## heading`` in ``readme``, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if not match:
        raise ValueError(f"README.md has no '## {heading}' section")
    return match.group(1).strip()


def landing_page(root: Path = REPO) -> str:
    """``site/index.md`` with README.md's first paragraph and its syllabus filled in."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    # The first paragraph under the title (not a line of badges: their images live on other hosts).
    intro = next(p.strip() for p in readme.split("\n\n")[1:] if not p.lstrip().startswith(("[![", "<")))
    template = (root / "site" / "index.md").read_text(encoding="utf-8")
    template = re.sub(r"<!--.*?-->\n*", "", template, flags=re.S)
    return template.replace("{{README:intro}}", intro).replace(
        "{{README:syllabus}}", readme_section(readme, "Syllabus")
    )


def _is_exercise(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade"))


def _static_output(output) -> dict:
    """``output`` without widget views (their PNG fallback stays) and with alt text on each PNG."""
    output = nbformat.from_dict(json.loads(json.dumps(output)))
    data = output.get("data")
    if data is None:
        return output
    data.pop(WIDGET_VIEW, None)
    if "image/png" in data:
        meta = output.setdefault("metadata", {})
        png = meta.setdefault("image/png", {})
        if not str(png.get("alt", "")).strip():
            png["alt"] = NO_ALT
    return output


def student_view(
    release: nbformat.NotebookNode,
    executed: nbformat.NotebookNode,
    solution: nbformat.NotebookNode | None = None,
    name: str = "",
) -> nbformat.NotebookNode:
    """The released notebook with the executed solution's outputs on every non-exercise cell.

    Cells are matched by id; releases, solutions and executed solutions must have the same
    cells in the same order (and the executed one the solution's sources, when ``solution`` is
    given: an executed copy of an older solution is refused). Exercise answers and test cells
    (nbgrader ``solution`` or ``grade``) keep the release's source and get no output.
    """
    ids, ran_ids = [cell.id for cell in release.cells], [cell.id for cell in executed.cells]
    if ran_ids != ids:
        at = next((i for i, pair in enumerate(zip(ids, ran_ids)) if pair[0] != pair[1]), min(len(ids), len(ran_ids)))
        raise ValueError(
            f"{name}: the release and the executed solution differ from cell {at} on "
            f"(ids {ids[at : at + 1]} and {ran_ids[at : at + 1]}; {len(ids)} and {len(ran_ids)} cells): "
            "notebooks/ is stale (run `make release`) or the executed copy is"
        )
    if solution is not None:
        stale = [cell.id for cell, ran in zip(solution.cells, executed.cells) if cell.source != ran.source]
        if [cell.id for cell in solution.cells] != ids or stale:
            raise ValueError(
                f"{name}: the executed notebook is not the current solution "
                f"(cells that differ: {stale[:5]}); execute it again"
            )
    view = nbformat.v4.new_notebook(
        metadata={key: release.metadata[key] for key in ("kernelspec", "language_info") if key in release.metadata}
    )
    for cell, ran in zip(release.cells, executed.cells):
        new = nbformat.from_dict({key: value for key, value in cell.items() if key != "metadata"})
        new.metadata = {}
        if cell.cell_type == "code":
            exercise = _is_exercise(cell)
            new.outputs = [] if exercise else [_static_output(output) for output in ran.get("outputs", [])]
            new.execution_count = None if exercise else ran.get("execution_count")
        view.cells.append(new)
    nbformat.validate(view)
    return view


# --- executing the solutions ----------------------------------------------------------------------


def execute_solutions(dest: Path, root: Path = REPO, names: list[str] | None = None, timeout: int = 600) -> Path:
    """Execute each solution notebook (cwd: its folder, kernel python3) into ``dest/NN-topic.ipynb``."""
    from nbclient import NotebookClient

    dest.mkdir(parents=True, exist_ok=True)
    for name in names or assignments(root):
        source = root / "solutions" / name / f"{name}.ipynb"
        nb = nbformat.read(source, as_version=4)
        started = time.monotonic()
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}
        ).execute()
        nbformat.write(nb, dest / f"{name}.ipynb")
        print(f"executed {name} in {time.monotonic() - started:.1f} s", flush=True)
    return dest


# --- building -------------------------------------------------------------------------------------


def _toc(names: list[str]) -> str:
    lines = ["# Generated by tools/site.py", "format: jb-book", "root: index", "chapters:"]
    lines += [f"  - file: notebooks/{name}/{name}.ipynb" for name in names]
    return "\n".join(lines) + "\n"


def prepare(source: Path, executed: Path, root: Path = REPO) -> dict[str, int]:
    """Write the book source into ``source``; return the undescribed figures per notebook."""
    if not MATHJAX.is_dir():
        raise FileNotFoundError(f"{MATHJAX} is missing: run `npm ci` in site/ (make site does)")
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(
        root / "site",
        source,
        ignore=shutil.ignore_patterns("node_modules", "package*.json", "index.md", "__pycache__", ".gitignore"),
    )
    (source / "index.md").write_text(landing_page(root), encoding="utf-8")
    names = assignments(root)
    (source / "_toc.yml").write_text(_toc(names), encoding="utf-8")
    undescribed = {}
    for name in names:
        path = executed / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the executed solution of {name}")
        release, run, solution = (
            nbformat.read(p, as_version=4)
            for p in (root / "notebooks" / name / f"{name}.ipynb", path, root / "solutions" / name / f"{name}.ipynb")
        )
        view = student_view(release, run, solution, name)
        target = source / "notebooks" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True)
        undescribed[name] = sum(
            1
            for cell in view.cells
            for output in cell.get("outputs", [])
            if output.get("metadata", {}).get("image/png", {}).get("alt") == NO_ALT
        )
        nbformat.write(view, target)
    static = source / "_vendor" / "mathjax"  # published as _static/mathjax (site/_config.yml)
    for part in MATHJAX_PARTS:
        src, dst = MATHJAX / part, static / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    return undescribed


def build(executed: Path | None = None, out: Path = OUT, root: Path = REPO) -> Path:
    """Build the site into ``out/html`` and return that folder.

    ``executed``: a folder of executed solutions (``NN-topic.ipynb``); None executes them here
    into ``out/executed``.
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if executed is None:
        executed = execute_solutions(out / "executed", root)
    undescribed = prepare(out / "source", Path(executed), root)
    missing = {name: n for name, n in undescribed.items() if n}
    if missing:
        print(f"warning: figures without alt text (shown as {NO_ALT!r}): {missing}", file=sys.stderr)
    work = out / "build"
    if work.exists():
        shutil.rmtree(work)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [
            str(jupyter_book),
            "build",
            str(out / "source"),
            "--path-output",
            str(work),
            "--builder",
            "html",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
    )
    (out / "build.log").write_text(result.stdout + result.stderr)
    if result.returncode:
        raise RuntimeError(
            f"jupyter-book build failed ({out / 'build.log'}):\n{(result.stdout + result.stderr)[-4000:]}"
        )
    html_dir = out / "html"
    if html_dir.exists():
        shutil.rmtree(html_dir)
    shutil.move(str(work / "_build" / "html"), str(html_dir))
    shutil.rmtree(work)
    print(f"built {html_dir} in {time.monotonic() - started:.0f} s", flush=True)
    return html_dir


# --- checking -------------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The tags with a URL, the ids and the images of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, dict]] = []  # (tag, url, attrs)
        self.ids: set[str] = set()
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key):
                self.urls.append((tag, attrs[key], attrs))
        if tag == "img":
            self.images.append(attrs)

    handle_startendtag = handle_starttag


def _external(url: str) -> bool:
    return url.startswith("//") or urlsplit(url).scheme in ("http", "https")


# Lines too generic to betray a solution even though one contains them.
_TRIVIAL = re.compile(r"^(pass|return|return \w+|else:|try:|break|continue|[\s()\[\]{},:;.]*)$")


def secret_lines(root: Path = REPO) -> dict[str, str]:
    """Solution and hidden-test lines of every solution notebook: ``{line: "NN-topic/grade_id"}``.

    The lines of ``tools/notebook.py``'s ``secret_lines`` (inside BEGIN/END SOLUTION and HIDDEN
    TESTS, not also outside them in the cell), less trivial ones and any line that the release
    of any notebook shows anyway.
    """
    public = set()
    for path in sorted((root / "notebooks").glob("*/*.ipynb")):
        public |= {
            line.strip() for cell in nbformat.read(path, as_version=4).cells for line in cell.source.splitlines()
        }
    found: dict[str, str] = {}
    for name in assignments(root):
        for cell in nbformat.read(root / "solutions" / name / f"{name}.ipynb", as_version=4).cells:
            for line in notebook_tool.secret_lines(cell.source) - public:
                if not _TRIVIAL.match(line):
                    found.setdefault(line, f"{name}/{cell.metadata.get('nbgrader', {}).get('grade_id', cell.id)}")
    return found


def _text_lines(path: Path) -> set[str]:
    """The stripped lines of text a reader can see in a file of the site."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        nb = json.loads(text)
        text = "\n".join("".join(cell.get("source", "")) for cell in nb.get("cells", []))
        text += "\n" + "\n".join(
            "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            for cell in nb.get("cells", [])
            for output in cell.get("outputs", [])
        )
    elif path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)))
    return {line.strip() for line in text.splitlines()}


def check(site: Path, root: Path = REPO, strict_alt: bool = False) -> list[str]:
    """Every problem of the built site in ``site`` (its html folder); an empty list if none.

    Missing pages; broken local links, images, scripts and stylesheets (and anchors);
    external scripts, stylesheets, fonts or images (HTML and CSS); images without alt text
    (or with a file name for one; with ``strict_alt`` also the placeholder of an undescribed
    figure); and any solution or hidden-test line anywhere in the site's text.
    """
    site = Path(site)
    problems = [f"missing page: {page}" for page in page_paths(root) if not (site / page).is_file()]
    pages: dict[Path, _Page] = {}

    def parsed(path: Path) -> _Page:
        if path not in pages:
            pages[path] = _Page()
            pages[path].feed(path.read_text(encoding="utf-8", errors="replace"))
        return pages[path]

    # The pages; _static/ holds assets only (and two Jinja macro files the themes ship there).
    html_files = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    for path in html_files:
        rel = path.relative_to(site)
        page = parsed(path)
        for tag, url, attrs in page.urls:
            if _external(url):
                rel_kind = attrs.get("rel", "")
                if tag in ("script", "img", "iframe", "source", "video", "audio") or (
                    tag == "link" and re.search(r"stylesheet|preload|icon|font|prefetch|preconnect", rel_kind)
                ):
                    problems.append(f"{rel}: <{tag}> loads an external URL {url}")
                continue
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("mailto:", "data:", "javascript:")):
                continue
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if parts.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: broken link <{tag}> {url}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in parsed(target).ids:
                problems.append(f"{rel}: broken anchor <{tag}> {url}")
        for image in page.images:
            alt, src = image.get("alt", "").strip(), image.get("src", "")
            if not alt:
                problems.append(f"{rel}: <img src={src!r}> has no alt text")
            elif alt == src or re.search(r"\.(png|jpe?g|gif|svg|webp)$", alt, re.I):
                problems.append(f"{rel}: <img src={src!r}> has a file name for alt text: {alt!r}")
            elif strict_alt and alt == NO_ALT:
                problems.append(f"{rel}: <img src={src!r}> is a figure without alt text in its notebook output")
    for path in sorted(site.rglob("*.css")):
        for url in re.findall(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", path.read_text(errors="replace")):
            if _external(url):
                problems.append(f"{path.relative_to(site)}: loads an external URL {url}")
    secrets = secret_lines(root)
    for path in sorted(p for p in site.rglob("*") if p.suffix in (".html", ".ipynb", ".md", ".txt", ".py")):
        for line in sorted(_text_lines(path) & secrets.keys()):
            problems.append(
                f"{path.relative_to(site)}: shows a line of {secrets[line]}'s solution or hidden tests: {line!r}"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the site")
    build_cmd.add_argument("--executed", type=Path, help="folder of executed solutions, NN-topic.ipynb")
    build_cmd.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT.relative_to(REPO)})")
    check_cmd = commands.add_parser("check", help="check a built site (its html folder)")
    check_cmd.add_argument("site", type=Path)
    check_cmd.add_argument("--strict-alt", action="store_true", help="also reject figures without their own alt text")
    args = parser.parse_args(argv)
    if args.command == "build":
        html_dir = build(args.executed, args.out)
        print(f"open {html_dir / 'index.html'}")
        return 0
    problems = check(args.site, strict_alt=args.strict_alt)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {args.site}" if problems else f"{args.site}: the site is complete and clean")
    return int(bool(problems))


if __name__ == "__main__":
    sys.exit(main())
