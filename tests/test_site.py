"""The course website (``tools/site.py``, ``make site``): built offline with Jupyter Book 1, checked.

- every page is built (the landing page and one page per notebook), and ``tools/site.py check``
  finds nothing: no broken local link, image or anchor, no external script, stylesheet, font
  or image, every image with alt text, and no solution or hidden-test line anywhere;
- each notebook page is the student's view: the release's cells, exercise answers and tests
  without output, widgets as their static PNG, a figure's alt text on its ``<img>``;
- in headless Chromium, served over loopback HTTP, on every page: every formula is typeset by
  the vendored MathJax without a TeX error, every image loads and no request leaves the machine
  (screenshots of the landing page and notebook 02 in ``artifacts/screenshots/site-*.png``);
- the checker itself fails on a crafted folder with each kind of defect.
"""

from __future__ import annotations

import html
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser_support import SCREENSHOTS, launch_chromium
from conftest import REPO  # also puts the checkout on sys.path, for tools.*

from tools import site as site_tool

# One worker with the Colab run (tests/test_colab.py), whose executed solutions the site is built from.
pytestmark = [pytest.mark.site, pytest.mark.xdist_group("colab")]
NOTEBOOK_PAGE = "02-image-filtering"
TEST_ALT = "Test alt text: the first figure of notebook 02, put here by tests/test_site.py."


@pytest.fixture(scope="module")
def executed_solutions(colab_run) -> Path:
    """Every solution notebook, executed (``DIR/NN-topic.ipynb``): the Colab run's, executed once for both."""
    return colab_run.executed


@pytest.fixture(scope="module")
def built_site(executed_solutions, tmp_path_factory) -> Path:
    """The site, built once from (a copy of) the executed solutions; returns its html folder.

    The first figure of notebook 02 gets the alt text ``TEST_ALT``, so that the way from an
    output's metadata to its ``<img alt>`` is tested with a text known here.
    """
    if not site_tool.MATHJAX.is_dir():
        pytest.fail(f"{site_tool.MATHJAX} is missing: run `npm ci` in site/ (.ci/run and make site do)", pytrace=False)
    executed = tmp_path_factory.mktemp("executed-copy")
    for path in executed_solutions.glob("*.ipynb"):
        shutil.copy(path, executed)
    nb = nbformat.read(executed / f"{NOTEBOOK_PAGE}.ipynb", as_version=4)
    release = nbformat.read(REPO / "notebooks" / NOTEBOOK_PAGE / f"{NOTEBOOK_PAGE}.ipynb", as_version=4)
    exercises = {cell.id for cell in release.cells if site_tool._is_exercise(cell)}
    figure = next(
        output
        for cell in nb.cells
        if cell.id not in exercises
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )
    figure.setdefault("metadata", {})["image/png"] = {"alt": TEST_ALT}
    nbformat.write(nb, executed / f"{NOTEBOOK_PAGE}.ipynb")
    return site_tool.build(executed, tmp_path_factory.mktemp("site"))


def test_every_page_is_built(built_site):
    missing = [page for page in site_tool.page_paths() if not (built_site / page).is_file()]
    assert missing == []
    assert len(site_tool.page_paths()) == 1 + len(site_tool.assignments()) == 10


def test_the_site_passes_its_check(built_site):
    problems = site_tool.check(built_site)
    assert problems == [], f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])


def test_landing_page_has_the_readme_syllabus(built_site):
    page = html.unescape((built_site / "index.html").read_text())
    syllabus = site_tool.readme_section((REPO / "README.md").read_text(), "Syllabus")
    for name in site_tool.assignments():
        assert f'href="notebooks/{name}/{name}.html"' in page, f"the landing page does not link to {name}"
    for row in (line for line in syllabus.splitlines() if line.startswith("| [")):
        title = re.match(r"\| \[([^\]]+)\]", row).group(1)
        assert title in page, f"the syllabus row {title!r} is not on the landing page"


def test_pages_are_the_students_view(built_site):
    """Release sources; no output on exercises and tests; widget views replaced by their PNG."""
    source = built_site.parent / "source"
    for name in site_tool.assignments():
        release = nbformat.read(REPO / "notebooks" / name / f"{name}.ipynb", as_version=4)
        shown = nbformat.read(source / "notebooks" / name / f"{name}.ipynb", as_version=4)
        assert [c.source for c in shown.cells] == [c.source for c in release.cells], name
        for cell, released in zip(shown.cells, release.cells):
            if site_tool._is_exercise(released):
                assert cell.outputs == [], f"{name} {cell.id}: an exercise or test cell shows output"
            for output in cell.get("outputs", []):
                assert site_tool.WIDGET_VIEW not in output.get("data", {}), f"{name} {cell.id}: a widget view"
        page = (built_site / "notebooks" / name / f"{name}.html").read_text()
        assert "YOUR CODE HERE" in page and "NotImplementedError" in page, f"{name}: no exercise stub shown"
        assert site_tool.WIDGET_VIEW not in page, f"{name}: a widget view reached the page"
        pngs = sum(
            1 for cell in shown.cells for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
        )
        images = len(re.findall(r'<img [^>]*src="[^"]*_images/[0-9a-f]{64}\.png"', page))
        assert images == pngs, f"{name}: {pngs} figures in the notebook, {images} on the page"


def test_alt_text_of_an_output_reaches_its_img(built_site):
    page = html.unescape((built_site / "notebooks" / NOTEBOOK_PAGE / f"{NOTEBOOK_PAGE}.html").read_text())
    assert f'alt="{TEST_ALT}"' in page


def test_every_figure_is_described(built_site):
    """Strict: no figure falls back to the placeholder alt text (once the notebooks give alt text)."""
    if not any("alt=" in path.read_text() for path in (REPO / "solutions").glob("*/*.ipynb")):
        pytest.skip("no solution notebook gives its figures alt text yet (course_utils.plots.show(fig, alt=...))")
    problems = [p for p in site_tool.check(built_site, strict_alt=True) if "without alt text in its notebook" in p]
    assert problems == [], "\n".join(problems)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served_site(built_site):
    """The built site on a loopback HTTP server (python -m http.server), stopped by its pid."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(built_site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/index.html", timeout=2).close()
                break
            except OSError as error:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the site's HTTP server did not start") from error
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_LOAD_IMAGES = """async () => {
  for (const img of document.images) img.loading = 'eager';
  await Promise.all(Array.from(document.images).map(img => img.decode().catch(() => null)));
  return Array.from(document.images).map(img => ({src: img.getAttribute('src'), width: img.naturalWidth}));
}"""
# After MathJax's first typesetting pass: how many formulas it rendered, those it left as TeX
# (a .math element without an mjx-container) and its TeX errors.
_MATHS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const maths = Array.from(document.querySelectorAll('.math'));
  return {rendered: document.querySelectorAll('mjx-container').length,
          raw: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
          errors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent)};
}"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


def _visit(browser, base: str, page_path: str, shot: str | None = None) -> dict:
    """Open a page; return its maths, its images and every URL it requested outside ``base``."""
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{base}/{page_path}", wait_until="load")
        page.wait_for_function(
            "() => !document.querySelector('.math') || (window.MathJax && MathJax.startup && MathJax.startup.promise)",
            timeout=30_000,
        )
        found = {"maths": page.evaluate(_MATHS), "images": page.evaluate(_LOAD_IMAGES)}
        if shot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            height = min(page.evaluate("() => document.documentElement.scrollHeight"), 16000)
            page.screenshot(
                path=str(SCREENSHOTS / f"{shot}.png"),
                full_page=True,
                clip={"x": 0, "y": 0, "width": 1280, "height": height},
            )
    finally:
        page.close()
    found["outside"] = sorted({url for url in requests if not url.startswith((base, "data:", "blob:", "about:"))})
    return found


def _problems(page_path: str, found: dict) -> list[str]:
    maths = found["maths"]
    return (
        ([f"{page_path}: formulas left as TeX: {maths['raw'][:3]}"] if maths["raw"] else [])
        + [f"{page_path}: TeX error {error!r}" for error in maths["errors"]]
        + [f"{page_path}: image {image['src']} did not load" for image in found["images"] if image["width"] == 0]
        + [f"{page_path}: requested {url}, outside the site" for url in found["outside"]]
    )


@pytest.mark.parametrize(
    "page_path, shot",
    [
        ("index.html", "site-index"),
        (f"notebooks/{NOTEBOOK_PAGE}/{NOTEBOOK_PAGE}.html", f"site-{NOTEBOOK_PAGE}"),
    ],
)
def test_page_in_chromium(served_site, browser, page_path, shot):
    """Screenshots of the landing page and one notebook page, with its maths and figures."""
    found = _visit(browser, served_site, page_path, shot)
    assert _problems(page_path, found) == []
    if page_path != "index.html":
        assert found["maths"]["rendered"] > 10, f"MathJax typeset {found['maths']['rendered']} formulas on {page_path}"
        assert len(found["images"]) > 5, f"only {len(found['images'])} images on {page_path}"


def test_every_notebook_page_renders_in_chromium(served_site, browser):
    """Every formula typeset without a TeX error, every image loaded, nothing fetched from elsewhere."""
    problems = []
    for name in site_tool.assignments():
        page_path = f"notebooks/{name}/{name}.html"
        problems += _problems(page_path, _visit(browser, served_site, page_path))
    assert problems == [], "\n".join(problems)


def test_the_check_catches_each_kind_of_defect(tmp_path):
    """A crafted site: a broken link and anchor, an image without alt, a solution line, CDN loads."""
    secret = next(iter(site_tool.secret_lines()))
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "style.css").write_text("@font-face { src: url(https://fonts.example.org/f.woff2); }\n")
    (tmp_path / "index.html").write_text(f"""<html><head>
<script src="https://cdn.example.org/lib.js"></script>
<link rel="stylesheet" href="https://cdn.example.org/lib.css">
<link rel="stylesheet" href="style.css"></head><body id="top">
<a href="notebooks/missing.html">gone</a> <a href="index.html#nowhere">no anchor</a> <a href="#top">fine</a>
<a href="https://github.com/signals-to-convnets/course">a link out is fine</a>
<img src="a.png"> <img src="a.png" alt="a.png"> <img src="a.png" alt="A described figure.">
<pre>{html.escape(secret)}</pre>
</body></html>""")
    problems = site_tool.check(tmp_path)
    expected = {
        "a missing notebook page": "missing page: notebooks/00-start-here/00-start-here.html",
        "a broken link": "broken link <a> notebooks/missing.html",
        "a broken anchor": "broken anchor <a> index.html#nowhere",
        "an image without alt": "<img src='a.png'> has no alt text",
        "a file name for alt": "has a file name for alt text",
        "an external script": "<script> loads an external URL https://cdn.example.org/lib.js",
        "an external stylesheet": "<link> loads an external URL https://cdn.example.org/lib.css",
        "an external font": "style.css: loads an external URL https://fonts.example.org/f.woff2",
        "a solution line": f"solution or hidden tests: {secret!r}",
    }
    missed = [kind for kind, text in expected.items() if not any(text in problem for problem in problems)]
    assert missed == [], f"the check missed {missed}; it said:\n" + "\n".join(problems)
    assert not any("#top" in problem or "github.com" in problem or "A described" in problem for problem in problems), (
        problems
    )
    assert (
        subprocess.run(
            [sys.executable, str(REPO / "tools" / "site.py"), "check", str(tmp_path)], capture_output=True
        ).returncode
        == 1
    )
