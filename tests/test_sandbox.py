"""The grading sandbox: hostile *students*, each attack aimed at the machine, graded by `course grade`.

One batch holds three honest students and one student per attack; each attacker also
answers the exercise correctly, and its code knows the real paths (source notebooks,
gradebook, grades.csv, the package, the other students' submissions) and the port of a
loopback listener that this test opens. The same honest students are graded alone into
another course directory: the honest rows, their gradebook scores and the package must
come out the same, and nothing the attackers started may be alive once `course grade`
has returned. Every attack prints ``ATTACK <name> ran`` first, so a test whose attack
never ran fails too.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
from conftest import REPO  # the checkout's root, found in one place

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from make_submissions import ASSIGNMENT, SOLVED, answered

import course_utils
from course_utils.instructor import jail
from course_utils.instructor.feedback import hidden_lines, leaks

pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("sandbox")]

RELEASED = REPO / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOURCE = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
PACKAGE = Path(course_utils.__file__).resolve().parent
COURSE = [sys.executable, "-m", "course_utils.instructor.cli"]
OPTIONS = [
    "--source",
    str(REPO / "solutions"),
    "--assignment",
    ASSIGNMENT,
    "--workers",
    "2",
    "--timeout",
    "30",
    "--no-progress",
]
MARK = f"sbx{os.getpid()}"  # in the command line of every process an attacker starts
SLEEP = f"{700 + os.getpid() % 97}.{os.getpid()}"  # the argument of the attackers' `sleep`s
HONEST = {
    "honest-full": SOLVED,
    "honest-partial": SOLVED.replace("zip(values, weights)", "zip(values[:3], weights[:3])"),
    "honest-secret": SOLVED + f"\n# a line only this student wrote: secret-{MARK}\n",
}

ATTACKS = {
    "read-source": """
import os, pathlib
import course_utils
found = []
for target in [{source!r}, *(str(p / "solutions") for p in pathlib.Path(course_utils.__file__).resolve().parents)]:
    path = pathlib.Path(target)
    try:
        notebooks = list(path.rglob("*.ipynb")) if path.is_dir() else [path]
        found += [(nb, nb.read_text()) for nb in notebooks]
    except OSError as error:
        print("no", target, type(error).__name__)
for pid in filter(str.isdigit, os.listdir("/proc")):  # the working folders of every visible process
    try:
        cwd = pathlib.Path(os.readlink(f"/proc/{{pid}}/cwd"))
        found += [(nb, nb.read_text()) for nb in cwd.parent.rglob("*.ipynb")]
    except OSError:
        pass
for top in ("/work", "/root", "/home", "/srv", "/opt", "/tmp", "/usr/local"):  # everything a search can see
    for folder, _, files in os.walk(top):
        found += [(pathlib.Path(folder, f), pathlib.Path(folder, f).read_text(errors="replace"))
                  for f in files if f.endswith(".ipynb")]
for nb, text in found:
    print("read", nb)
    if nb.name.startswith("{assignment}"):
        print(text)
""",
    "gradebook": """
import sqlite3
try:
    print(open({gradebook!r}, "rb").read(100))
    db = sqlite3.connect({gradebook!r})
    db.execute("UPDATE grade SET auto_score = 0")
    db.commit()
    print("gradebook zeroed")
except Exception as error:
    print("gradebook:", type(error).__name__)
""",
    "write-outside": """
for path in [{outside!r}, {home_file!r}, {repo_file!r}, "/usr/pwned-{mark}"]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print("wrote", path)
    except OSError as error:
        print("could not write", path, type(error).__name__)
""",
    "rewrite-package": """
import course_utils.grading
try:
    with open(course_utils.grading.__file__, "a") as f:
        f.write("\\ncheck_scalar = lambda *args, **kwargs: None\\n")
    print("package rewritten")
except OSError as error:
    print("package:", type(error).__name__)
""",
    "daemon": '''
import os, subprocess, sys
code = """
import os, sys, time
if os.fork():
    os._exit(0)
os.setsid()
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with open({grades!r}, "a") as f:
            f.write("mallory,{assignment},1,1,ok,,\\\\n")
    except OSError:
        pass
    time.sleep(0.2)
"""
subprocess.Popen([sys.executable, "-c", code, "{mark}-daemon"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait()
print("daemon started")
''',
    "sleepers": """
import subprocess
started = 0
for _ in range(100):
    try:
        subprocess.Popen(["sleep", "{sleep}"], start_new_session=True)
        started += 1
    except OSError as error:
        print("sleep:", type(error).__name__)
        break
print("sleepers started", started)
""",
    "fork-bomb": """
import os, signal, time
children = []
try:
    for _ in range(2000):  # bounded: at most 2000 children, each gone within 60 s
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as error:
    print("fork refused:", type(error).__name__)
print("forks", len(children))
for pid in children:  # the kernel carries on with the exercise
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
""",
    "kill-worker": """
import os, signal
print("my parent is", os.getppid(), "")
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
            print("killed", pid)
        except OSError as error:
            print("could not kill", pid, type(error).__name__)
""",
    "read-other": """
import pathlib
for target in [{other_submitted!r}, {other_input!r}, {course_dir!r}]:
    path = pathlib.Path(target)
    try:
        for nb in (path.rglob("*.ipynb") if path.is_dir() else [path]):
            print("read", nb, nb.read_text())
    except OSError as error:
        print("no", target, type(error).__name__)
""",
    "connect": """
import socket
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as s:
        s.sendall(b"pwned by {mark}")
    print("connected")
except OSError as error:
    print("connect:", type(error).__name__)
""",
}


def _notebook(code: str) -> nbformat.NotebookNode:
    return answered(nbformat.read(RELEASED, as_version=4), code)


def _rows(path: Path) -> dict[str, str]:
    """student -> the row's line in grades.csv (byte for byte)."""
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    return {line.split(",")[0]: line for line in lines[1:]}


def _scores(db: Path, students) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {
            s: {
                g.name: (g.auto_score, g.max_score)
                for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).grades
            }
            for s in students
        }


def _package_digest() -> str:
    """The digest of what the attacker rewrites (the whole package changes while developers work)."""
    return hashlib.sha256((PACKAGE / "grading.py").read_bytes()).hexdigest()


def _alive(marker: str) -> list[str]:
    """Command lines of the processes on this machine that contain ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and int(pid) != os.getpid():
            found.append(f"{pid}: {cmdline[:120]}")
    return found


class _Listener:
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port, self.accepted, self._stop = self.sock.getsockname()[1], [], False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn.recv(100))
            conn.close()

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()


def _grade(root: Path, batch: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COURSE, "grade", str(batch), *OPTIONS], cwd=root, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the honest batch, then the honest students with every attacker; return what was seen."""
    root = tmp_path_factory.mktemp("sandbox")
    honest_root, attack_root = root / "honest", root / "attacked"
    for student, code in HONEST.items():
        for batch_root in (honest_root, attack_root):
            folder = batch_root / "batch" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(_notebook(code), folder / f"{ASSIGNMENT}.ipynb")
    listener = _Listener()
    course_dir = attack_root / "course-dir"
    paths = dict(
        source=str(SOURCE),
        gradebook=str(course_dir / "gradebook.db"),
        grades=str(course_dir / "grades.csv"),
        outside=str(root / "outside.txt"),
        home_file=str(Path.home() / f"pwned-{MARK}"),
        repo_file=str(REPO / f"pwned-{MARK}"),
        mark=MARK,
        sleep=SLEEP,
        port=listener.port,
        assignment=ASSIGNMENT,
        course_dir=str(course_dir),
        other_submitted=str(course_dir / "submitted" / "honest-secret"),
        other_input=str(attack_root / "batch" / "honest-secret"),
    )
    for name, code in ATTACKS.items():
        folder = attack_root / "batch" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(
            _notebook(SOLVED + f'\nprint("ATTACK {name} ran")\n' + code.format(**paths)), folder / f"{ASSIGNMENT}.ipynb"
        )
    package_before = _package_digest()
    try:
        honest = _grade(honest_root, honest_root / "batch")
        attacked = _grade(attack_root, attack_root / "batch")
        grades_after_return = (course_dir / "grades.csv").read_bytes()
        alive_at_return = _alive(MARK) + _alive(SLEEP)
        time.sleep(3)  # a daemon that outlived the batch would have written by now
    finally:
        listener.close()
    return dict(
        root=root,
        honest=honest,
        attacked=attacked,
        course_dir=course_dir,
        listener=listener,
        grades_after_return=grades_after_return,
        alive_at_return=alive_at_return,
        package_before=package_before,
        package_after=_package_digest(),
    )


def _outputs(course_dir: Path, student: str) -> str:
    nb = nbformat.read(course_dir / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return "\n".join(
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )


def test_both_batches_grade(graded):
    for result in (graded["honest"], graded["attacked"]):
        assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(graded["course_dir"] / "grades.csv")
    assert set(rows) == {*HONEST, *ATTACKS}, rows
    failed = {s: line for s, line in rows.items() if "grading failed" in line or "tampering" in line}
    assert failed == {}, failed


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_every_attack_ran_and_scored_like_an_honest_answer(graded, attack):
    text = _outputs(graded["course_dir"], attack)
    assert f"ATTACK {attack} ran" in text, text[-2000:]
    # Each attacker also answered correctly; its attack cost the grader nothing.
    row = _rows(graded["course_dir"] / "grades.csv")[attack]
    assert row.split(",")[2] == "1", row


def test_honest_students_lose_nothing(graded):
    honest_rows = _rows(graded["root"] / "honest" / "course-dir" / "grades.csv")
    attacked_rows = _rows(graded["course_dir"] / "grades.csv")
    assert {s: attacked_rows[s] for s in HONEST} == honest_rows
    assert honest_rows["honest-full"].split(",")[2] == "1" and honest_rows["honest-partial"].split(",")[2] == "0"
    assert _scores(graded["course_dir"] / "gradebook.db", HONEST) == _scores(
        graded["root"] / "honest" / "course-dir" / "gradebook.db", HONEST
    )


def test_no_source_gradebook_or_other_submission_is_readable(graded):
    source = nbformat.read(SOURCE, as_version=4)
    hidden = hidden_lines([cell.source for cell in source.cells])
    assert hidden
    for attack in ("read-source", "read-other", "gradebook"):
        text = _outputs(graded["course_dir"], attack)
        assert leaks(text, hidden) == [], f"{attack} read a hidden test"
        assert f"secret-{MARK}" not in text, f"{attack} read another student's submission"
        assert "SQLite format" not in text and "gradebook zeroed" not in text, text
    assert "read " not in _outputs(graded["course_dir"], "read-other")


def test_nothing_outside_the_box_was_written(graded):
    text = _outputs(graded["course_dir"], "write-outside")
    assert not (graded["root"] / "outside.txt").exists()
    assert not (Path.home() / f"pwned-{MARK}").exists() and not (REPO / f"pwned-{MARK}").exists()
    assert not Path(f"/usr/pwned-{MARK}").exists()
    assert "could not write" in text
    assert graded["package_after"] == graded["package_before"], "the installed package was changed"
    assert "package rewritten" not in _outputs(graded["course_dir"], "rewrite-package")


def test_nothing_survives_the_batch(graded):
    assert graded["alive_at_return"] == []
    assert _alive(MARK) + _alive(SLEEP) == []
    assert "daemon started" in _outputs(graded["course_dir"], "daemon")
    assert "sleepers started 100" in _outputs(graded["course_dir"], "sleepers")
    grades = (graded["course_dir"] / "grades.csv").read_bytes()
    assert grades == graded["grades_after_return"] and b"mallory" not in grades


def test_a_fork_bomb_meets_the_process_limit(graded):
    text = _outputs(graded["course_dir"], "fork-bomb")
    assert "fork refused" in text, text
    forks = int(text.split("forks ")[1].split()[0])
    assert forks < jail.DEFAULT_MAX_PROCESSES, forks


def test_the_worker_is_out_of_reach(graded):
    text = _outputs(graded["course_dir"], "kill-worker")
    # The kernel's parent is the jail's init (pid 1), which ignores the signal: the worker, which
    # started the jail, is not even visible, and the batch was graded (test_both_batches_grade).
    assert "my parent is 1 " in text, text


def test_no_network_not_even_loopback(graded):
    assert graded["listener"].accepted == []
    assert "connect: " in _outputs(graded["course_dir"], "connect")


def test_grade_refuses_without_a_usable_sandbox(tmp_path):
    # A PATH without bwrap: `course grade` stops before grading anything.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run(
        [*COURSE, "grade", str(REPO / "tests" / "fixtures" / "submissions"), *OPTIONS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("course: error: the grading sandbox needs bubblewrap"), lines
    assert "apt-get install bubblewrap" in lines[0] and "--no-sandbox" in lines[0]
    assert not (tmp_path / "course-dir").exists()


def test_no_sandbox_warns_and_marks_every_row(tmp_path):
    batch = tmp_path / "batch" / "honest-full" / ASSIGNMENT
    batch.mkdir(parents=True)
    nbformat.write(_notebook(SOLVED), batch / f"{ASSIGNMENT}.ipynb")
    result = subprocess.run(
        [*COURSE, "grade", str(tmp_path / "batch"), *OPTIONS, "--no-sandbox"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "course: warning: grading WITHOUT the sandbox" in result.stderr
    with open(tmp_path / "course-dir" / "grades.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["score"] == "1" and row["status"] == "ok; sandbox: off", row


def test_the_jail_hides_the_course_and_keeps_the_environment(monkeypatch):
    # PYTHONPATH-like entries at, above and below the hidden folders are left out.
    monkeypatch.setenv(jail.HIDE_ENV, str(REPO / "solutions"))
    for entry in (REPO, REPO / "solutions", REPO / "solutions" / ASSIGNMENT, Path.home()):
        monkeypatch.syspath_prepend(str(entry))
    paths = jail.python_paths()
    assert not [p for p in paths if p == REPO / "solutions" or REPO / "solutions" in p.parents], paths
    assert PACKAGE in paths
    for path in paths:
        assert not (path == REPO or path in REPO.parents), f"{path} would show the repository"
    cmd = jail.command(Path("/tmp/box"), ["true"])
    assert str(REPO / "solutions") not in " ".join(cmd)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv", "--new-session"):
        assert flag in cmd


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root to become an ordinary user (as an ordinary user, the batch tests "
    "above already run the jail in an unprivileged user namespace)",
)
def test_an_ordinary_user_can_build_the_jail():
    """The jail of an ordinary user (unprivileged user namespaces), with the system's shell inside."""
    box = Path(tempfile.mkdtemp(prefix="course-jail-user-"))  # in /tmp, which the user can reach
    try:
        os.chown(box, jail.NOBODY, jail.NOBODY)
        script = (
            "id -u; ls /proc | grep -c '^[0-9]'; cat /proc/net/dev | tail -n +3 | cut -d: -f1; "
            "ls /work /root 2>&1; true"
        )
        cmd = jail.command(box, ["/bin/sh", "-c", script], root_mode=False, paths=[])
        result = subprocess.run(
            ["setpriv", "--reuid", str(jail.NOBODY), "--regid", str(jail.NOBODY), "--clear-groups", *cmd],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(box)
    assert result.returncode == 0, result.stderr
    uid, processes, *rest = result.stdout.split()
    assert uid == str(jail.NOBODY)
    assert int(processes) <= 4  # the jail's init, the shell and its pipeline: no other process is visible
    assert rest[0] == "lo" and "No such file" in result.stdout  # loopback only; no /work, no /root
