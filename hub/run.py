"""A local JupyterHub for the course's tests and demos: ``python hub/run.py start|stop|status``.

``start`` creates a temporary folder (or uses ``--root DIR``) and starts there, on loopback only:

- PostgreSQL, the nbgrader gradebook: a throwaway cluster made by Debian's ``initdb`` in
  ``ROOT/postgres``, listening on ``127.0.0.1`` on a free port (its Unix socket in the same
  folder), with a role and database ``nbgrader`` (password in the state file). PostgreSQL
  refuses to run as root, so as root it runs as the system user ``course-hub-pg`` (created
  with ``useradd --system`` when missing) through ``setpriv``;
- configurable-http-proxy (``hub/node_modules``, ``npm ci`` in ``hub/``; Debian's ``nodejs``);
- JupyterHub with ``hub/jupyterhub_config.py``: one instructor and five students, each
  logging in with a shared password and getting a single-user JupyterLab (with nbgrader's
  Assignments tab and Validate button) whose home is ``ROOT/home/<user>``; nbgrader's exchange
  is ``ROOT/exchange``; the single-user servers read ``hub/jupyter/nbgrader_config.py``.

It writes ``ROOT/state.json`` (mode 600): process ids, URLs, the gradebook's URL, the
password and an admin API token. ``stop`` stops, by process id, every single-user server, the
hub, the proxy and PostgreSQL, then removes ROOT if ``start`` created it. Without ``--root``,
``start`` records ROOT in ``artifacts/hub.json`` so that a bare ``stop``/``status`` finds it.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HUB_DIR = Path(__file__).resolve().parent
REPO = HUB_DIR.parent
POINTER = REPO / "artifacts" / "hub.json"
PG_USER = "course-hub-pg"
CHP = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE_ID = "signals-to-convnets"
INSTRUCTOR = "instructor"
STUDENTS = ["ada", "bo", "cy", "dee", "eve"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own exited child) counts as stopped
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid: int | None, name: str, timeout: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to ``pid``; SIGKILL it if it is still alive after ``timeout`` seconds."""
    if not alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if alive(pid):
        print(f"hub: {name} (pid {pid}) ignored signal {sig}; killing it", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _reap(pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{process.args[0]} exited with {process.returncode}:\n" + (log.read_text()[-3000:] if log else "")
            )
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return  # it answers (a 4xx: it wants a token)
            failure = error
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            failure = error
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{url} did not answer in {timeout} s ({failure})" + (":\n" + log.read_text()[-3000:] if log else "")
            )
        time.sleep(0.3)


# --- PostgreSQL -----------------------------------------------------------------------------


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(
            f"hub: {name} not found under /usr/lib/postgresql: install Debian's postgresql (apt-get install postgresql)"
        )
    return found[-1]


def pg_account() -> tuple[list[str], int, int]:
    """The command prefix that runs a program as PostgreSQL's unprivileged user, and its uid/gid."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER], check=True)
        entry = pwd.getpwnam(PG_USER)
    prefix = [
        "setpriv",
        f"--reuid={entry.pw_uid}",
        f"--regid={entry.pw_gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--",
    ]
    return prefix, entry.pw_uid, entry.pw_gid


def start_postgres(root: Path, state: dict) -> None:
    prefix, uid, gid = pg_account()
    # A folder of its own under /tmp, owned by PostgreSQL's user (ROOT may sit in a folder that
    # only root can enter, such as pytest's); removed by stop.
    folder = Path(tempfile.mkdtemp(prefix="course-hub-pg-"))
    state["postgres"] = {"folder": str(folder)}
    write_state(root, state)
    data = folder / "data"
    os.chown(folder, uid, gid)
    superuser_password = secrets.token_hex(16)
    password_file = folder / "superuser-password"
    password_file.write_text(superuser_password + "\n")
    os.chown(password_file, uid, gid)
    os.chmod(password_file, 0o600)
    made = subprocess.run(
        [
            *prefix,
            pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--pwfile",
            str(password_file),
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ],
        capture_output=True,
        text=True,
        cwd="/",
    )
    if made.returncode:
        raise RuntimeError(f"initdb failed ({made.returncode}):\n{made.stdout}\n{made.stderr}")
    password_file.unlink()
    port = free_port()
    log = folder / "postgres.log"
    log.touch()
    os.chown(log, uid, gid)
    with log.open("a") as sink:
        process = subprocess.Popen(
            [
                *prefix,
                pg_bin("postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(folder),
                "-c",
                "max_connections=60",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
        )
    # setpriv execs postgres: the pid is the postmaster's
    state["pids"]["postgres"] = process.pid
    write_state(root, state)
    env = {**os.environ, "PGPASSWORD": superuser_password}
    deadline = time.monotonic() + 60
    while subprocess.run(
        [pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"], capture_output=True
    ).returncode:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    password = secrets.token_hex(16)
    psql = [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
    subprocess.run([*psql, "-c", f"CREATE ROLE nbgrader LOGIN CREATEDB PASSWORD '{password}'"], env=env, check=True)
    subprocess.run([*psql, "-c", "CREATE DATABASE gradebook OWNER nbgrader"], env=env, check=True)
    state["postgres"].update(port=port, data=str(data), log=str(log))
    state["db_url"] = f"postgresql://nbgrader:{password}@127.0.0.1:{port}/gradebook"
    write_state(root, state)


# --- proxy and hub --------------------------------------------------------------------------


def start_proxy(root: Path, state: dict) -> None:
    if not CHP.exists():
        raise SystemExit(f"hub: {CHP} is missing: run `npm ci` in {HUB_DIR}")
    port, api_port = free_port(), free_port()
    state["proxy"] = {"port": port, "api_port": api_port, "auth_token": secrets.token_hex(32)}
    state["hub_port"] = free_port()
    log = root / "proxy.log"
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": state["proxy"]["auth_token"]}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                str(CHP),
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--api-ip",
                "127.0.0.1",
                "--api-port",
                str(api_port),
                "--default-target",
                f"http://127.0.0.1:{state['hub_port']}",
                "--error-target",
                f"http://127.0.0.1:{state['hub_port']}/hub/error",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=root,
        )
    state["pids"]["proxy"] = process.pid
    state["url"] = f"http://127.0.0.1:{port}"
    write_state(root, state)
    wait_http(f"http://127.0.0.1:{api_port}/api/routes", 30, process, log)


def hub_env(root: Path, state: dict) -> dict:
    """What hub/jupyterhub_config.py reads."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "COURSE_HUB_ROOT": str(root),
        "COURSE_HUB_PORT": str(state["hub_port"]),
        "COURSE_HUB_PROXY_PORT": str(state["proxy"]["port"]),
        "COURSE_HUB_PROXY_API_PORT": str(state["proxy"]["api_port"]),
        "CONFIGPROXY_AUTH_TOKEN": state["proxy"]["auth_token"],
        "COURSE_HUB_PASSWORD": state["password"],
        "COURSE_HUB_ADMIN_TOKEN": state["admin_token"],
        "COURSE_HUB_PYTHON": sys.executable,
    }


def start_hub(root: Path, state: dict) -> None:
    log = root / "jupyterhub.log"
    (root / "hub").mkdir()
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HUB_DIR / "jupyterhub_config.py")],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=hub_env(root, state),
            cwd=root / "hub",
            start_new_session=True,
        )
    state["pids"]["jupyterhub"] = process.pid
    write_state(root, state)
    wait_http(f"{state['url']}/hub/api/", 120, process, log)  # through the proxy: it routes /hub


# --- state ----------------------------------------------------------------------------------


def write_state(root: Path, state: dict) -> None:
    path = root / "state.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(state, indent=2) + "\n")


def read_state(root: Path) -> dict:
    return json.loads((root / "state.json").read_text())


def default_root() -> Path:
    if not POINTER.exists():
        raise SystemExit(f"hub: no hub recorded in {POINTER}: start one with `python hub/run.py start`")
    return Path(json.loads(POINTER.read_text())["root"])


def start(root: Path | None) -> dict:
    created = root is None
    if created:
        root = Path(tempfile.mkdtemp(prefix="course-hub-"))
    root.mkdir(parents=True, exist_ok=True)
    for name in ("home", "exchange"):
        (root / name).mkdir()
    os.chmod(root / "exchange", 0o777)
    state = {
        "root": str(root),
        "remove_root": created,
        "course_id": COURSE_ID,
        "instructor": INSTRUCTOR,
        "students": STUDENTS,
        "exchange": str(root / "exchange"),
        "home": str(root / "home"),
        "password": secrets.token_urlsafe(12),
        "admin_token": secrets.token_hex(32),
        "pids": {},
    }
    write_state(root, state)
    try:
        start_postgres(root, state)
        start_proxy(root, state)
        start_hub(root, state)
    except BaseException:
        stop(root)
        raise
    if created:
        POINTER.parent.mkdir(parents=True, exist_ok=True)
        POINTER.write_text(json.dumps({"root": str(root)}) + "\n")
    return state


def single_user_pids(root: Path) -> dict[str, int]:
    """The pid of every single-user server, from the hub's own database (spawner state)."""
    database = root / "hub" / "jupyterhub.sqlite"
    if not database.exists():
        return {}
    pids = {}
    try:
        with sqlite3.connect(database) as db:
            rows = db.execute(
                "SELECT users.name, spawners.state FROM spawners JOIN users ON spawners.user_id = users.id"
            ).fetchall()
    except sqlite3.Error:
        return {}
    for name, blob in rows:
        try:
            pid = json.loads(blob or "{}").get("pid")
        except (TypeError, ValueError):
            continue
        if pid:
            pids[name] = pid
    return pids


def stop(root: Path) -> None:
    """Stop, by process id, the single-user servers, the hub, the proxy, PostgreSQL."""
    state = read_state(root)
    servers = single_user_pids(root)
    stop_pid(state["pids"].get("jupyterhub"), "jupyterhub", timeout=30)  # it stops its servers first
    for name, pid in servers.items():
        stop_pid(pid, f"single-user server of {name}")
    stop_pid(state["pids"].get("proxy"), "configurable-http-proxy")
    # PostgreSQL's "fast" shutdown is SIGINT; it stops its own backends
    stop_pid(state["pids"].get("postgres"), "postgres", sig=signal.SIGINT, timeout=30)
    if state.get("postgres", {}).get("folder"):
        shutil.rmtree(state["postgres"]["folder"], ignore_errors=True)
    if state.get("remove_root"):
        shutil.rmtree(root, ignore_errors=True)
        if POINTER.exists() and json.loads(POINTER.read_text()).get("root") == str(root):
            POINTER.unlink()


def status(root: Path) -> dict:
    state = read_state(root)
    report = {name: alive(pid) for name, pid in state["pids"].items()}
    report.update({f"server:{name}": alive(pid) for name, pid in single_user_pids(root).items()})
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--root", type=Path, help="the hub's folder (default: a new temporary folder)")
    args = parser.parse_args(argv)
    if args.command == "start":
        state = start(args.root.resolve() if args.root else None)
        print(
            f"hub: {state['url']}/hub/login (users {INSTRUCTOR}, {', '.join(STUDENTS)}; password {state['password']})"
        )
        print(f"hub: gradebook {state['db_url']}")
        stop_command = "python hub/run.py stop" + (f" --root {state['root']}" if args.root else "")
        print(f"hub: state in {state['root']}/state.json; stop with `{stop_command}` (or `make hub HUB=stop`)")
        return 0
    root = args.root.resolve() if args.root else default_root()
    if args.command == "stop":
        stop(root)
        print(f"hub: stopped ({root})")
        return 0
    report = status(root)
    for name, up in report.items():
        print(f"{name}: {'running' if up else 'stopped'}")
    return 0 if report and all(report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
