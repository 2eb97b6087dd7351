"""Drive JupyterLab in headless Chromium the way a student uses it (support for test_browser.py).

- ``LabServer``: JupyterLab started with the README's first command (``make lab``, taken
  verbatim from ``make -n``) on a free loopback port, with a token and throwaway runtime,
  config, settings and workspace folders; stopped by its process id.
- ``solved_copy``: a released notebook with the solutions filled in, for nbgrader's Validate.
- ``launch_chromium``: Debian's ``/usr/bin/chromium`` under Playwright (``playwright install``
  is never needed); a missing browser skips the suite locally and fails it when ``CI=true``.
- ``open_notebook``, ``run_all``, ``rendering_problems``, ``move_sliders``, ``screenshot``:
  what a student does and sees, read back from the page. The page is inspected through
  ``window.jupyterapp`` (JupyterLab's ``--expose-app-in-browser``, the hook JupyterLab's own
  UI tests use): cell outputs come from the notebook model, renderings from the DOM.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import REPO  # the checkout's root, found in one place

from course_utils.instructor import markers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# Scratch notebooks the browser may save (solved copies for Validate): inside the served
# root, so JupyterLab can open them, and git-ignored.
SCRATCH = REPO / "artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 900}
# Chromium renders at most 16384 px in one screenshot; a longer notebook is shot in slices.
MAX_SHOT_HEIGHT = 16000

# JupyterLab user settings for the test server only (its settings folder is temporary):
# no autosave, so running a notebook never writes its outputs into notebooks/ or solutions/;
# every cell attached to the DOM (no windowing), so every output can be inspected and
# screenshotted; no news pop-up and no requests to the internet.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none", "scrollPastEnd": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}


def require_chromium() -> Path:
    """Return Chromium's path; skip the test when it is missing, or fail if ``CI=true``."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true, so the browser tests may not be skipped", pytrace=False)
    pytest.skip(reason)


def launch_chromium(playwright):
    """Headless Chromium with a fresh profile (Playwright gives each launch a new user-data-dir)."""
    return playwright.chromium.launch(executable_path=str(require_chromium()), headless=True, args=CHROMIUM_ARGS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server on ``127.0.0.1:port``; ``url(path)`` adds the token."""

    process: subprocess.Popen
    port: int
    token: str
    log: Path

    @classmethod
    def start(cls, scratch: Path, timeout: float = 120.0) -> LabServer:
        """Start ``make lab`` (its command line, run directly so its pid is the server's)."""
        token, port = secrets.token_hex(16), _free_port()
        folders = {
            name: scratch / name for name in ("runtime", "config", "settings", "workspaces", "ipython", "checkpoints")
        }
        # Opening a notebook makes JupyterLab save a first checkpoint: keep those out of the
        # repository (FileCheckpoints mirrors the served tree under its own root_dir).
        flags = (
            f"--no-browser --ip=127.0.0.1 --IdentityProvider.token={token} --expose-app-in-browser "
            f"--FileCheckpoints.root_dir={folders['checkpoints']}"
        )
        venv = Path(sys.prefix)
        # -o: never rebuild the environment from inside a test; VENV: this interpreter's.
        dry_run = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-s",
                "-n",
                "-C",
                str(REPO),
                "-o",
                f"{venv}/.installed",
                "lab",
                f"VENV={venv}",
                f"PORT={port}",
                f"LAB_FLAGS={flags}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        lines = [line for line in dry_run.stdout.splitlines() if line.strip()]
        assert len(lines) == 1 and " lab " in lines[0], (
            f"expected one `jupyter lab` command from `make -n lab`:\n{dry_run.stdout}"
        )
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        for name, values in LAB_SETTINGS.items():
            path = folders["settings"] / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {
            **os.environ,
            "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
            "JUPYTER_CONFIG_DIR": str(folders["config"]),
            "JUPYTERLAB_SETTINGS_DIR": str(folders["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(folders["workspaces"]),
            "IPYTHONDIR": str(folders["ipython"]),
            "PATH": str(venv / "bin") + os.pathsep + os.environ.get("PATH", ""),
        }
        log = scratch / "jupyterlab.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                shlex.split(lines[0]), cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = cls(process, port, token, log)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                server.api("GET", "status")
                return server
            except (urllib.error.URLError, ConnectionError) as error:
                if time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError(
                        f"JupyterLab did not answer in {timeout} s:\n{log.read_text()[-3000:]}"
                    ) from error
                time.sleep(0.5)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        separator = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{separator}token={self.token}"

    def api(self, method: str, path: str):
        """Call the server's REST API; return the decoded JSON (or None)."""
        request = urllib.request.Request(
            f"{self.base}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel (a closed page leaves its kernel running)."""
        for kernel in self.api("GET", "kernels"):
            self.api("DELETE", f"kernels/{kernel['id']}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server by its process id: SIGTERM (it shuts its kernels down), then SIGKILL."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)


# --- the page -----------------------------------------------------------------------------

_PANEL = "window.jupyterapp.shell.currentWidget"

_READY = """path => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== path || !panel.context.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && panel.content.widgets.length > 0;
}"""

# Run All (the command behind Run > Run All Cells); resolve with its own promise (true when
# no cell failed), or reject after timeoutMs.
_RUN_ALL = """async timeoutMs => {
  const app = window.jupyterapp;
  const timer = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('Run All did not finish in ' + timeoutMs + ' ms')), timeoutMs));
  return await Promise.race([app.commands.execute('notebook:run-all-cells'), timer]);
}"""

# Run cells first..last one at a time (select the cell, "Run Selected Cell"), each to its end.
_RUN_EACH = """async ([first, timeoutMs]) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  for (let index = first; index < notebook.widgets.length; index++) {
    notebook.deselectAll();
    notebook.activeCellIndex = index;
    if (notebook.activeCellIndex !== index) throw new Error('could not select cell ' + index);
    const timer = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('cell ' + index + ' did not finish in ' + timeoutMs + ' ms')), timeoutMs));
    await Promise.race([app.commands.execute('notebook:run-cell'), timer]);
  }
}"""

# Each cell's execution count; -1 for cells that never get one (markdown, raw, empty code).
_EXECUTION_COUNTS = """() => window.jupyterapp.shell.currentWidget.content.widgets.map(
  cell => cell.model.type === 'code' && cell.model.sharedModel.getSource().trim() ? cell.model.executionCount : -1)"""

# Every cell: its type, nbgrader metadata, outputs (types, mime types, errors) from the
# model, and what the DOM shows: images (loaded or not), widget views, widget errors.
_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const node = cell.node;
    const outputs = model.type === 'code' ? model.outputs.toJSON().map(o => ({
      output_type: o.output_type, ename: o.ename || null, evalue: o.evalue || null,
      traceback: (o.traceback || []).join('\\n'), mimes: Object.keys(o.data || {}),
    })) : [];
    const images = Array.from(node.querySelectorAll('img')).map(img => ({
      loaded: img.complete && img.naturalWidth > 0,
      in_widget: !!img.closest('.jupyter-widgets'),
      in_output: !!img.closest('.jp-OutputArea'),
      src: (src => src.startsWith('data:') ? src.slice(0, 30) + '...' : src.split('?')[0].slice(-100))(
        img.getAttribute('src') || ''),
    }));
    const views = Array.from(node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]'));
    return {
      index, cell_type: model.type, outputs, images,
      nbgrader: model.getMetadata('nbgrader') || null,
      source: model.sharedModel.getSource().slice(0, 120),
      widget_views: views.length,
      widgets_rendered: views.filter(v => v.querySelector('.jupyter-widgets')).length,
      widget_errors: views.map(v => v.innerText).filter(t => /Error displaying widget|Loading widget/.test(t)),
    };
  });
}"""


@dataclass
class Cell:
    """One cell as the student's page shows it (see ``_CELLS``)."""

    index: int
    cell_type: str
    outputs: list
    images: list
    nbgrader: dict | None
    source: str
    widget_views: int
    widgets_rendered: int
    widget_errors: list

    @property
    def errors(self) -> list[dict]:
        return [o for o in self.outputs if o["output_type"] == "error"]

    @property
    def is_graded_test(self) -> bool:
        return bool(self.nbgrader and self.nbgrader.get("grade") and not self.nbgrader.get("solution"))

    @property
    def label(self) -> str:
        grade_id = (self.nbgrader or {}).get("grade_id")
        first_line = self.source.splitlines()[0] if self.source else ""
        return f"cell {self.index}" + (f" ({grade_id})" if grade_id else f" [{first_line[:60]}]")


def open_notebook(page, server: LabServer, path: str, timeout_ms: int = 90_000) -> None:
    """Open ``path`` (relative to the repository) in a fresh, empty workspace; wait for an idle kernel."""
    workspace = "test-" + secrets.token_hex(4)
    page.goto(server.url(f"lab/workspaces/{workspace}/tree/{path}?reset"))
    page.wait_for_function(_READY, arg=path, timeout=timeout_ms, polling=250)


def run_all(page, timeout_ms: int = 300_000) -> None:
    """Run All; if a cell fails, run every later cell one at a time, in order.

    JupyterLab's Run All stops at the first error (the kernel aborts the queued cells), so a
    released notebook stops at its first exercise stub. A student who reads the error and
    carries on runs the following cells; we run each of them once, in order, each to its end,
    so that every error of the notebook is seen (and attributed to the cell that raised it).
    """
    if not page.evaluate(_RUN_ALL, timeout_ms):
        counts = page.evaluate(_EXECUTION_COUNTS)
        ran = [index for index, count in enumerate(counts) if count is not None and count >= 0]
        page.evaluate(_RUN_EACH, [max(ran) + 1 if ran else 0, timeout_ms])
    never = [index for index, count in enumerate(page.evaluate(_EXECUTION_COUNTS)) if count is None]
    assert never == [], f"cells {never} never ran"


def notebook_cells(page) -> list[Cell]:
    return [Cell(**cell) for cell in page.evaluate(_CELLS)]


def wait_for_rendering(page, timeout_ms: int = 30_000) -> None:
    """Wait until every image has loaded and every widget view has rendered (or give up quietly)."""
    try:
        page.wait_for_function(
            f"""() => {{
          const node = {_PANEL}.content.node;
          const images = Array.from(node.querySelectorAll('img')).every(img => img.complete);
          const views = Array.from(node.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]'));
          return images && views.every(v => v.querySelector('.jupyter-widgets') && !/Loading widget/.test(v.innerText));
        }}""",
            timeout=timeout_ms,
            polling=250,
        )
    except Exception:
        pass


def rendering_problems(cells: list[Cell]) -> list[str]:
    """What a student would miss: figures that are not shown as images, widgets that did not render."""
    problems = []
    for cell in cells:
        for output in cell.outputs:
            mimes = output["mimes"]
            if "application/vnd.jupyter.widget-view+json" not in mimes and any(m.startswith("image/") for m in mimes):
                shown = [i for i in cell.images if i["in_output"] and not i["in_widget"] and i["loaded"]]
                if not shown:
                    problems.append(f"{cell.label}: a figure output is not shown as a loaded image")
        if cell.widgets_rendered < cell.widget_views:
            problems.append(f"{cell.label}: {cell.widget_views - cell.widgets_rendered} widget(s) did not render")
        problems += [f"{cell.label}: widget shows {text.strip()[:80]!r}" for text in cell.widget_errors]
        problems += [f"{cell.label}: image {i['src']!r} did not load" for i in cell.images if not i["loaded"]]
    return problems


# A slider's "figure": the images and Output widgets of the widget that holds the slider.
_SLIDER_VIEW = """([index]) => {
  const handles = Array.from(window.jupyterapp.shell.currentWidget.content.node.querySelectorAll(
    '.jupyter-widgets .widget-slider [role="slider"]'));
  const handle = handles[index];
  const view = handle.closest('.jp-OutputArea-output') || handle.closest('.jupyter-widgets');
  const outputs = Array.from(view.querySelectorAll('.widget-output'));
  return {
    value: handle.getAttribute('aria-valuenow'),
    has_output: outputs.length > 0,
    figure: outputs.map(o => Array.from(o.querySelectorAll('img')).map(i => i.src).join('|') + o.innerText).join('||'),
  };
}"""


# How many times the kernel has gone back to idle: a moved slider's message has been handled
# (and its redraw's output sent, IOPub keeps the order) once this count goes up.
_IDLE_COUNT = """() => {
  if (!window.__idleCount) {
    window.__idleCount = {n: 0};
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    kernel.statusChanged.connect((_, status) => { if (status === 'idle') window.__idleCount.n += 1; });
  }
  return window.__idleCount.n;
}"""


def move_sliders(page, timeout_ms: int = 30_000) -> list[str]:
    """Move every slider that drives an Output by one arrow-key step; return those whose figure did not change.

    Each slider is moved from the state the notebook left it in and then put back, so that
    sliders are judged one at a time. A slider may legitimately do nothing in one direction
    (at the end of its range, or when the figure clamps its value), so it passes if one step
    right or one step left redraws its figure.
    """
    handles = page.locator(".jp-Notebook .jupyter-widgets .widget-slider [role='slider']")
    same_figure = "([index, figure]) => (" + _SLIDER_VIEW + ")([index]).figure === figure"

    def step(handle, index: int, key: str, figure: str, back: bool) -> tuple[str, bool]:
        """Press ``key``; return the slider's value and, once the kernel has handled the
        change, whether the figure differs from ``figure``."""
        idle, value = page.evaluate(_IDLE_COUNT), page.evaluate(_SLIDER_VIEW, [index])["value"]
        handle.press(key)
        if page.evaluate(_SLIDER_VIEW, [index])["value"] == value:
            return value, False  # at the end of its range: nothing was sent to the kernel
        page.wait_for_function(f"n => ({_IDLE_COUNT})() > n", arg=idle, timeout=timeout_ms, polling=100)
        try:  # the new output is rendered a moment after the kernel's idle message arrives
            page.wait_for_function(
                same_figure if back else f"a => !({same_figure})(a)", arg=[index, figure], timeout=1_500, polling=100
            )
        except Exception:
            pass
        return page.evaluate(_SLIDER_VIEW, [index])["value"], not page.evaluate(same_figure, [index, figure])

    problems = []
    for index in range(handles.count()):
        before = page.evaluate(_SLIDER_VIEW, [index])
        if not before["has_output"]:
            continue  # a bare slider drives nothing that can be seen
        handle = handles.nth(index)
        handle.scroll_into_view_if_needed()
        values, redrawn = [], False
        for forward, back in (("ArrowRight", "ArrowLeft"), ("ArrowLeft", "ArrowRight")):
            value, redrawn = step(handle, index, forward, before["figure"], back=False)
            if value == before["value"]:
                continue  # at the end of its range
            values.append(value)
            step(handle, index, back, before["figure"], back=True)
            if redrawn:
                break
        if not values:
            problems.append(f"slider {index} does not move (value {before['value']})")
        elif not redrawn:
            problems.append(
                f"slider {index}: moved from {before['value']} to {' and '.join(values)} but its figure did not change"
            )
    return problems


def slider_count(page) -> int:
    return page.locator(".jp-Notebook .jupyter-widgets .widget-slider [role='slider']").count()


def screenshot(page, name: str) -> list[Path]:
    """Save the whole notebook as the student sees it to ``artifacts/screenshots/<name>.png``.

    The viewport is stretched to the notebook's full height (in slices ``<name>-2.png``...
    when it is taller than Chromium can shoot at once) and restored afterwards.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{name}*.png"):
        old.unlink()
    scroller = f"{_PANEL}.content.node.querySelector('.jp-WindowedPanel-outer')"
    overflow = f"() => {scroller}.scrollHeight - {scroller}.clientHeight"
    height = VIEWPORT["height"]
    for _ in range(5):  # grow the viewport until the notebook no longer scrolls (layout settles)
        extra = page.evaluate(overflow)
        if extra <= 0 or height >= MAX_SHOT_HEIGHT:
            break
        height = min(height + extra, MAX_SHOT_HEIGHT)
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(500)
    page.evaluate(f"() => {{ {scroller}.scrollTop = 0; }}")
    paths = []
    try:
        while True:
            page.wait_for_timeout(200)
            path = SCREENSHOTS / (f"{name}.png" if not paths else f"{name}-{len(paths) + 1}.png")
            page.screenshot(path=str(path))
            paths.append(path)
            done = page.evaluate(f"""() => {{ const s = {scroller};
              if (s.scrollTop + s.clientHeight >= s.scrollHeight - 2) return true;
              s.scrollTop += s.clientHeight - 100; return false; }}""")
            if done:
                return paths
    finally:
        page.set_viewport_size(VIEWPORT)


def error_text(output: dict) -> str:
    return f"{output['ename']}: {output['evalue']}"


def unexpected_errors(cells: list[Cell]) -> list[str]:
    """Errors of a released notebook other than its exercise stubs' and their tests'.

    Allowed: ``NotImplementedError`` anywhere, raised by a stub or named in the traceback
    (a cell that called a stub; ``check_raises`` reporting it), and any failure of a graded
    test cell (every one must fail on the stub). Anything else, a ``NameError`` in a later
    cell that needed a stub's result say, is a defect: later cells should use
    ``course_utils`` or code given in the text.
    """
    return [
        f"{cell.label}: {error_text(error)}"
        for cell in cells
        for error in cell.errors
        if not cell.is_graded_test and "NotImplementedError" not in error_text(error) + error["traceback"]
    ]


def solved_copy(released: Path, solution: Path, dest: Path) -> Path:
    """Write ``released`` with each solution cell's source taken from ``solution`` (markers removed)."""
    stub = nbformat.read(released, as_version=4)
    answers = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(solution, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in stub.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            assert meta["grade_id"] in answers, (
                f"{released} has solution cell {meta['grade_id']!r} that {solution} lacks: "
                "notebooks/ is stale, run `make release`"
            )
            cell.source = "\n".join(
                markers.lines(answers[meta["grade_id"]], markers.OUTSIDE, markers.INSIDE, kinds=(markers.SOLUTION,))
            )
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(stub, dest)
    return dest
