"""The student's view: every notebook opened, run and checked in JupyterLab in a real browser.

One JupyterLab server (``make lab``'s command, on a free loopback port) and one headless
Chromium serve the whole module; each test opens its notebook in a fresh browser context
and workspace, and shuts its kernel down afterwards.

- every released notebook (``notebooks/*/*.ipynb``): Run All, carrying on past errors (see
  ``browser_support.run_all``); the only errors allowed are the exercise stubs'
  ``NotImplementedError`` (raised, or named in the traceback of a cell that called a stub)
  and failures of graded test cells; every graded test cell fails; every figure shows as a
  loaded image, every widget renders, and moving a slider redraws its figure;
- every solution notebook (``solutions/*/*.ipynb``): Run All, no error at all, same rendering
  checks;
- nbgrader's Validate button on a solved copy of a released notebook reports success (and
  on the untouched stub reports the failing test, so the success check can fail);
- a screenshot of each notebook goes to ``artifacts/screenshots/``;
- running a notebook in the browser never saves a file (autosave is off on the test server).

Skipped when ``/usr/bin/chromium`` is missing, unless ``CI=true`` (then they fail).
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from browser_support import (
    REPO,
    SCRATCH,
    SCREENSHOTS,
    VIEWPORT,
    LabServer,
    error_text,
    launch_chromium,
    move_sliders,
    notebook_cells,
    open_notebook,
    rendering_problems,
    require_chromium,
    run_all,
    screenshot,
    slider_count,
    solved_copy,
    unexpected_errors,
    wait_for_rendering,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RELEASED = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("*/*.ipynb"))
SOLUTIONS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "solutions").glob("*/*.ipynb"))
# The notebook that teaches the Validate button.
VALIDATED = "00-start-here"


def _ids(paths):
    return [path.split("/")[1] for path in paths]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_chromium()
    server = LabServer.start(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()
    assert server.process.returncode is not None, "JupyterLab did not stop"


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser, lab):
    """A fresh browser context (no cookies, no stored workspace) with one page.

    ``page.writes`` lists every request that would change a file in the repository (anything
    but GET on ``/api/contents``, except the checkpoint JupyterLab makes on opening a notebook,
    which the test server keeps in its scratch folder): running a notebook must never save it.
    """
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.writes = []

    def watch(request):
        url = request.url.split("?")[0]
        if (
            "/api/contents/" in url
            and request.method != "GET"
            and not (request.method == "POST" and url.endswith("/checkpoints"))
        ):
            page.writes.append(f"{request.method} {url}")

    page.on("request", watch)
    yield page
    context.close()
    lab.shutdown_kernels()


def _open_run_and_inspect(page, lab, path: str, shot: str):
    """Open, Run All (carrying on past errors), check renderings and sliders, screenshot."""
    open_notebook(page, lab, path)
    run_all(page)
    wait_for_rendering(page)
    cells = notebook_cells(page)
    problems = rendering_problems(cells) + move_sliders(page)
    screenshot(page, shot)
    return cells, problems


@pytest.mark.parametrize("path", RELEASED, ids=_ids(RELEASED))
def test_released_notebook_runs_in_lab(page, lab, path):
    cells, problems = _open_run_and_inspect(page, lab, path, "released-" + path.split("/")[1])

    unexpected = unexpected_errors(cells)
    assert unexpected == [], "errors other than the exercise stubs' NotImplementedError:\n" + "\n".join(unexpected)
    passing = [cell.label for cell in cells if cell.is_graded_test and not cell.errors]
    assert passing == [], f"graded test cells that pass on the released stub: {passing}"
    assert problems == [], "what the student does not see:\n" + "\n".join(problems)
    assert page.writes == [], f"running {path} in the browser wrote files: {page.writes}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_notebook_runs_clean_in_lab(page, lab, path):
    cells, problems = _open_run_and_inspect(page, lab, path, "solution-" + path.split("/")[1])

    errors = [f"{cell.label}: {error_text(error)}" for cell in cells for error in cell.errors]
    assert errors == [], "errors in the solution notebook:\n" + "\n".join(errors)
    assert problems == [], "what the student does not see:\n" + "\n".join(problems)
    assert page.writes == [], f"running {path} in the browser wrote files: {page.writes}"


def _press_validate(page, lab, path: str, shot: str) -> str:
    """Open ``path``, press the toolbar's Validate button, screenshot and return nbgrader's verdict."""
    open_notebook(page, lab, path)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(state="visible", timeout=300_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"))
    verdict = dialog.inner_text()
    for outcome in ("success", "failed", "passed", "changed", "type-changed"):
        if dialog.locator(f".validation-{outcome}").count():
            verdict = f"{outcome}: {verdict}"
    dialog.get_by_role("button", name="Ok").click()
    return verdict


def _released(name: str):
    path = REPO / "notebooks" / name / f"{name}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPO)} is not released yet (make release)")
    return path


def test_validate_button_reports_success_on_solved_copy(page, lab):
    released = _released(VALIDATED)
    target = solved_copy(
        released,
        REPO / "solutions" / VALIDATED / f"{VALIDATED}.ipynb",
        SCRATCH / "validate-solved" / VALIDATED / released.name,
    )
    verdict = _press_validate(page, lab, target.relative_to(REPO).as_posix(), f"validate-solved-{VALIDATED}")
    assert verdict.startswith("success:") and "Success! Your notebook passes all the tests." in verdict, verdict


def test_validate_button_reports_failure_on_stub(page, lab):
    released = _released(VALIDATED)
    target = SCRATCH / "validate-stub" / VALIDATED / released.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(released, target)
    verdict = _press_validate(page, lab, target.relative_to(REPO).as_posix(), f"validate-stub-{VALIDATED}")
    assert verdict.startswith("failed:") and "NotImplementedError" in verdict, verdict


# A tiny notebook with an InteractivePlot whose figure follows the slider, and one whose
# figure ignores it: the slider check must pass the first and catch the second.
_WIDGET_CHECK = """
import ipywidgets as widgets
import matplotlib.pyplot as plt
from course_utils.widgets import InteractivePlot

def draw(width, follow=True):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar([0], [width if follow else 1.0])
    ax.set_ylim(0, 5)
    return fig
"""


def _widget_notebook(name: str, follow: bool) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(_WIDGET_CHECK),
        nbformat.v4.new_code_cell(
            f"InteractivePlot(lambda width: draw(width, follow={follow}), "
            "{'width': widgets.IntSlider(2, min=1, max=4)}, alt=lambda width: f'A line of width {width}.')"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    path = SCRATCH / "widget-check" / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path.relative_to(REPO).as_posix()


def test_slider_check_sees_redraws_and_missing_redraws(page, lab):
    open_notebook(page, lab, _widget_notebook("follows", follow=True))
    run_all(page)
    wait_for_rendering(page)
    assert rendering_problems(notebook_cells(page)) == []
    assert slider_count(page) == 1
    assert move_sliders(page) == []

    open_notebook(page, lab, _widget_notebook("ignores", follow=False))
    run_all(page)
    wait_for_rendering(page)
    assert slider_count(page) == 1
    problems = move_sliders(page)
    assert len(problems) == 1 and "did not change" in problems[0], problems


def test_checks_see_unexpected_errors_and_broken_images(page, lab):
    """The checks above can fail: a stray NameError and a missing picture are caught."""
    nb = nbformat.v4.new_notebook()
    test_cell = nbformat.v4.new_code_cell("assert double(2) == 4")
    test_cell.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "points": 1,
        "grade_id": "double_tests",
        "schema_version": 3,
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A stub\n\n![a picture that is not there](missing.png)"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n\ndef double(x):\n    raise NotImplementedError()"),
        test_cell,
        nbformat.v4.new_code_cell("four = double(2)"),
        nbformat.v4.new_code_cell("print(four)"),
        nbformat.v4.new_code_cell("plt.plot([0, 1], [1, 0])\nplt.show()"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    path = SCRATCH / "error-check" / "error-check.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)

    open_notebook(page, lab, path.relative_to(REPO).as_posix())
    run_all(page)  # Run All stops at the test cell; the cells after it still run, one by one
    wait_for_rendering(page)
    cells = notebook_cells(page)
    assert [cell.index for cell in cells if cell.errors] == [2, 3, 4]
    assert unexpected_errors(cells) == ["cell 4 [print(four)]: NameError: name 'four' is not defined"]
    problems = rendering_problems(cells)
    assert len(problems) == 1 and "missing.png" in problems[0], problems
