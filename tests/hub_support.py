"""The course's local JupyterHub in tests (support for test_hub.py).

``running_hub(root)`` starts it with ``hub/run.py start --root ROOT`` (the script of ``make hub``)
and always stops it with ``hub/run.py stop`` (a finalizer: also when a test fails). ``Hub`` talks
to it as its users do: the hub's REST API (an admin service token makes a token per user and
starts their servers), each user's single-user server through the proxy (nbgrader's
assignment-list API: ``/user/<name>/assignments/fetch|submit|fetch_feedback``; Jupyter's
contents API to save a notebook, as the editor does), and nbgrader commands run as the
instructor in the instructor's home, with the environment a server of the hub gives them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from conftest import REPO  # the checkout's root, found in one place

HUB_DIR = REPO / "hub"
RUN = HUB_DIR / "run.py"
BIN = str(Path(sys.executable).parent)


class HubError(AssertionError):
    pass


@dataclass
class Hub:
    root: Path
    state: dict
    tokens: dict = field(default_factory=dict)

    # --- the hub's REST API -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.state["url"]

    @property
    def db_url(self) -> str:
        return self.state["db_url"]

    @property
    def exchange(self) -> Path:
        return Path(self.state["exchange"])

    def home(self, user: str) -> Path:
        return Path(self.state["home"]) / user

    def request(self, method: str, url: str, token: str, body=None, timeout: float = 120):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise HubError(f"{method} {url}: HTTP {error.code}: {error.read()[:2000]!r}") from None
        return json.loads(payload) if payload else None

    def hub_api(self, method: str, path: str, body=None):
        return self.request(method, f"{self.url}/hub/api/{path}", self.state["admin_token"], body)

    def token(self, user: str) -> str:
        """An API token of ``user`` (made by the admin service), as the user's browser session would hold."""
        if user not in self.tokens:
            self.tokens[user] = self.hub_api("POST", f"users/{user}/tokens", {"note": "course tests"})["token"]
        return self.tokens[user]

    def start_servers(self, *users: str, timeout: float = 180) -> None:
        """Start these users' single-user servers (as the hub's Start button does), all at once;
        wait until every one is ready."""
        for user in users:
            server = self.hub_api("GET", f"users/{user}")["servers"].get("", {})
            if not server.get("ready") and not server.get("pending"):
                self.hub_api("POST", f"users/{user}/server")
        deadline = time.monotonic() + timeout
        for user in users:
            while not self.hub_api("GET", f"users/{user}")["servers"].get("", {}).get("ready"):
                if time.monotonic() > deadline:
                    raise HubError(f"{user}'s server did not start in {timeout} s:\n{self.log()[-3000:]}")
                time.sleep(0.5)

    # --- a user's single-user server --------------------------------------------------------
    def user_api(self, user: str, method: str, path: str, body=None, **params):
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        return self.request(method, f"{self.url}/user/{user}/{path}{query}", self.token(user), body, timeout=300)

    def assignments(self, user: str) -> list[dict]:
        """nbgrader's Assignments tab: the student's view of the course's assignments."""
        answer = self.user_api(user, "GET", "assignments", course_id=self.state["course_id"])
        assert answer["success"], answer
        return answer["value"]

    def assignment_action(self, user: str, action: str, assignment: str) -> list[dict]:
        """Press Fetch / Submit / Fetch Feedback in the Assignments tab."""
        answer = self.user_api(
            user, "POST", f"assignments/{action}", {"course_id": self.state["course_id"], "assignment_id": assignment}
        )
        if not answer.get("success"):
            raise HubError(f"{action} {assignment} as {user} failed: {answer.get('value')}")
        return answer["value"]

    def read_notebook(self, user: str, path: str) -> nbformat.NotebookNode:
        model = self.user_api(user, "GET", f"api/contents/{urllib.parse.quote(path)}", content=1)
        return nbformat.from_dict(model["content"])

    def save_notebook(self, user: str, path: str, notebook: nbformat.NotebookNode) -> None:
        """Save ``notebook`` at ``path`` in ``user``'s home through Jupyter's contents API (the editor's Save)."""
        self.user_api(
            user,
            "PUT",
            f"api/contents/{urllib.parse.quote(path)}",
            {"type": "notebook", "format": "json", "content": notebook},
        )

    # --- the instructor's terminal --------------------------------------------------------------
    def user_env(self, user: str) -> dict:
        """The environment a terminal of ``user``'s server has (what the hub's spawner sets)."""
        return {
            **os.environ,
            "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
            "HOME": str(self.home(user)),
            "USER": user,
            "JUPYTERHUB_USER": user,
            "JUPYTER_CONFIG_PATH": str(HUB_DIR / "jupyter"),
            "NBGRADER_EXCHANGE_ROOT": str(self.exchange),
            "COURSE_INSTRUCTOR": self.state["instructor"],
        }

    def run_as(
        self,
        user: str,
        args: list[str],
        cwd: Path,
        check: bool = True,
        extra_env: dict | None = None,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            args,
            cwd=cwd,
            env={**self.user_env(user), **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode:
            raise HubError(
                f"{' '.join(map(str, args))} as {user} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def nbgrader(self, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
        """An nbgrader command in the instructor's terminal."""
        return self.run_as(self.state["instructor"], [sys.executable, "-m", "nbgrader", *args], cwd=cwd, check=check)

    def log(self) -> str:
        path = self.root / "jupyterhub.log"
        return path.read_text() if path.exists() else ""


def _run(command: str, root: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run(
        [sys.executable, str(RUN), command, "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def require_hub_prerequisites() -> None:
    """PostgreSQL's ``initdb``, Node.js, and configurable-http-proxy (``npm ci`` in hub/ when npm is there).

    Missing ones skip the hub tests locally and fail them when ``CI=true`` (``.ci/run`` installs them).
    """
    import glob
    import shutil

    missing = []
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("PostgreSQL (apt-get install postgresql)")
    if not shutil.which("node"):
        missing.append("Node.js (apt-get install nodejs)")
    proxy = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists() and shutil.which("npm") and shutil.which("node"):
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HUB_DIR, capture_output=True, timeout=600
        )
    if not proxy.exists():
        missing.append("configurable-http-proxy (npm ci in hub/)")
    if missing:
        reason = "the local hub needs " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true, so the hub tests may not be skipped", pytrace=False)
        pytest.skip(reason)


@contextlib.contextmanager
def running_hub(root: Path):
    """Start the hub in ``root`` with ``hub/run.py``; yield a :class:`Hub`; always stop it."""
    require_hub_prerequisites()
    started = None
    try:
        started = _run("start", root, timeout=300)
        if started.returncode:
            raise HubError(f"hub/run.py start failed ({started.returncode}):\n{started.stdout}\n{started.stderr}")
        yield Hub(root, json.loads((root / "state.json").read_text()))
    finally:
        if (root / "state.json").exists():
            stopped = _run("stop", root, timeout=180)
            assert stopped.returncode == 0, f"hub/run.py stop failed:\n{stopped.stdout}\n{stopped.stderr}"
