"""The operating-system sandbox around each grading kernel: a bubblewrap (``bwrap``) jail.

The grading worker (:mod:`course_utils.instructor.execute`) runs outside the jail, as the
grading user, with the gradebook. Each submission's kernel runs inside a jail that the
worker's kernel manager starts through this module's launcher (the ``course-grading``
kernelspec's command, ``python -m course_utils.instructor.jail -f CONNECTION_FILE``).
The connection file lies in the submission's *box*, a scratch folder that holds the
kernel's working directory and its Unix sockets: kernel and worker talk over Jupyter's
``ipc`` transport, so the kernel needs no network at all.

Inside the jail (:func:`command`):

- the filesystem is a new root that holds only, read-only, the system's ``/usr`` (with
  ``/bin``, ``/lib``... and a few files of ``/etc``), the Python environment
  (:func:`python_paths`: the interpreter's prefixes and ``sys.path``), the
  ``course_utils`` package (with its data); read-write, the box and a
  private ``/tmp``. The source notebooks, the course directory (gradebook, submissions,
  grades), the repository checkout and the grading user's home are not there at all;
- its own PID namespace: when the kernel ends, every process it started ends with it;
- its own network namespace (only its own loopback), IPC and UTS namespaces;
- an unprivileged identity with ``no_new_privs`` and no capabilities: uid 65534 inside a
  user namespace when the grader is an ordinary user; when the grader is root, bwrap runs
  without a user namespace and the kernel drops to :data:`ROOT_MODE_UID` + worker (a uid
  of no account, not root, not the grading user), before Python reads any file of the box;
- the resource limits of :mod:`course_utils.instructor.sandbox` (memory, CPU seconds,
  file size) plus a limit on the number of processes (``COURSE_MAX_PROCESSES``).

``COURSE_SANDBOX=off`` (``course grade --no-sandbox``) starts the kernel without the jail,
as before the jail existed. :func:`problem` says, in one line, why a jail cannot be built
on this machine (``course grade`` refuses to start then).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Environment variables the grader sets for the worker; the launcher reads them.
SANDBOX_ENV = "COURSE_SANDBOX"  # "off" disables the jail
UID_ENV = "COURSE_SANDBOX_UID"  # the kernel's uid when the grader is root
JAILED_ENV = "COURSE_JAILED"  # set inside the jail
HIDE_ENV = "COURSE_SANDBOX_HIDE"  # folders that must not be visible (os.pathsep-separated)
MAX_PROCESSES_ENV = "COURSE_MAX_PROCESSES"
MEMORY_ENV, CPU_ENV, FILE_ENV = "COURSE_MEMORY_MB", "COURSE_CPU_SECONDS", "COURSE_FILE_MB"
# Limits handed into the jail (read by course_utils.instructor.sandbox).
LIMIT_ENVS = (MEMORY_ENV, CPU_ENV, FILE_ENV, MAX_PROCESSES_ENV)
DEFAULT_MAX_PROCESSES = 128


@dataclass(frozen=True)
class Limits:
    """What a grading kernel may use; the one place where their defaults are written.

    ``timeout``: seconds per cell (nbgrader's ``Execute.timeout``); ``memory_mb``: the kernel's
    address space; ``cpu_seconds``: its CPU time; ``file_mb``: the largest file it may write;
    ``budget``: wall-clock seconds per submission; ``max_processes``: processes of the kernel's
    user; ``sandbox``: the jail on or off.
    """

    timeout: int = 120
    memory_mb: int = 2048
    cpu_seconds: int = 600
    file_mb: int = 64
    budget: int = 900
    max_processes: int = DEFAULT_MAX_PROCESSES
    sandbox: bool = True

    @classmethod
    def for_timeout(cls, timeout: int, **others: Any) -> Limits:
        """Limits for a per-cell ``timeout``: CPU seconds and the budget grow with it (5 and 8 times), never
        below their defaults."""
        return cls(
            timeout=timeout,
            cpu_seconds=max(cls.cpu_seconds, 5 * timeout),
            budget=max(cls.budget, 8 * timeout),
            **others,
        )

    def env(self) -> dict[str, str]:
        """The environment variables that hand these limits to the worker and into the jail."""
        return {
            MEMORY_ENV: str(self.memory_mb),
            CPU_ENV: str(self.cpu_seconds),
            FILE_ENV: str(self.file_mb),
            MAX_PROCESSES_ENV: str(self.max_processes),
            SANDBOX_ENV: "on" if self.sandbox else "off",
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """The memory, CPU and file limits that ``env()`` handed in; the defaults for any not set."""
        return cls(
            memory_mb=int(environ.get(MEMORY_ENV, cls.memory_mb)),
            cpu_seconds=int(environ.get(CPU_ENV, cls.cpu_seconds)),
            file_mb=int(environ.get(FILE_ENV, cls.file_mb)),
        )


# The kernel's uid inside a user namespace (ordinary grader): nobody.
NOBODY = 65534
# When the grader is root, worker n of `course grade` process p runs its kernels as
# ROOT_MODE_UID + 1000 * (p % 100000) + n: a uid of no account, its own process count.
ROOT_MODE_UID = 2_000_000_000
# Files of /etc a Python kernel needs (dynamic linker, users, time zone); nothing else of /etc.
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "localtime",
    "timezone",
    "fonts",
    "mime.types",
    "alternatives",
)
SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; see INSTRUCTORS.md), "
    "or grade without the sandbox with --no-sandbox"
)


def enabled() -> bool:
    return os.environ.get(SANDBOX_ENV, "on") != "off"


def python_paths() -> list[Path]:
    """The Python environment the kernel imports from: prefixes, ``sys.path`` and ``course_utils`` (with its data).

    Only folders that exist; the working directory's ``''`` entry is left out, and so is
    any folder that holds something hidden (the folders in ``COURSE_SANDBOX_HIDE``, the
    grading user's home, the repository checkout around ``course_utils``) or lies inside
    the course directory or the source: a ``sys.path`` entry like ``PYTHONPATH=~`` or
    ``PYTHONPATH=solutions/01-conv1d`` must not bring the source notebooks into the jail.
    """
    import course_utils

    paths = [
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        Path(sys.executable).parent,
        Path(os.path.realpath(sys.executable)).parent.parent,
        Path(course_utils.__file__).parent,
    ]
    paths += [Path(entry) for entry in sys.path if entry]
    package = Path(course_utils.__file__).resolve().parent
    # The course directory and the source: nothing at, above or below them.
    private = [Path(p).resolve() for p in os.environ.get(HIDE_ENV, "").split(os.pathsep) if p]
    # The home and the checkout: nothing at or above them (the Python environment may lie below).
    hidden = [*private, Path.home().resolve()]
    if any((package.parent / name).exists() for name in (".git", "solutions")):  # an editable checkout
        hidden.append(package.parent)

    def holds_hidden(path: Path) -> bool:
        return any(path == h or path in h.parents for h in hidden) or any(p in path.parents for p in private)

    found: list[Path] = []
    for path in paths:
        for candidate in (path.absolute(), path.resolve()):
            if candidate.is_dir() and candidate not in found and (candidate == package or not holds_hidden(candidate)):
                found.append(candidate)
    # Drop folders inside another listed folder (one bind covers them).
    return [p for p in found if not any(q != p and q in p.parents for q in found)]


def command(
    box: Path,
    inner: list[str],
    *,
    root_mode: bool | None = None,
    paths: list[Path] | None = None,
    env: dict[str, str] | None = None,
) -> list[str]:
    """The ``bwrap`` command line that runs ``inner`` jailed, with ``box`` as its only writable folder.

    ``root_mode`` (default: whether this process is root) chooses between bwrap without a
    user namespace plus a uid drop in the kernel (root) and an unprivileged user namespace
    with uid 65534 (anyone else). ``paths`` are the read-only folders (default
    :func:`python_paths`). The jail's environment is new: ``PATH``, ``HOME=/tmp``, the
    limits, ``PYTHONPATH`` if set, and ``env``; nothing else of the grader's.
    """
    box = Path(box).resolve()
    root_mode = os.geteuid() == 0 if root_mode is None else root_mode
    cmd = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "grading",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in SYSTEM_LINKS:
        host = Path("/") / name
        if host.is_symlink():
            cmd += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            cmd += ["--ro-bind", str(host), str(host)]
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    binds = [("--ro-bind", path) for path in (python_paths() if paths is None else paths)] + [("--bind", box)]
    made = {Path("/"), Path("/tmp")}
    for kind, path in binds:
        # The folders above a bind, enterable by the kernel's uid (bwrap would make them 0700).
        for parent in reversed(path.parents):
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += [kind, str(path), str(path)]
    cmd += ["--chdir", str(box)]
    if root_mode:
        # No user namespace (root's processes ignore RLIMIT_NPROC even inside one): the kernel
        # keeps only the capabilities to drop to its own uid, then has none.
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    cmd += [
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/local/bin:/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "USER",
        "grader",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        JAILED_ENV,
        "1",
    ]
    if root_mode:
        cmd += ["--setenv", UID_ENV, str(kernel_uid())]
    passed = {name: os.environ[name] for name in (*LIMIT_ENVS, "PYTHONPATH") if name in os.environ}
    for name, value in {**passed, **(env or {})}.items():
        cmd += ["--setenv", name, value]
    return [*cmd, "--", *inner]


def kernel_uid(worker: int | None = None) -> int:
    """The uid a root grader's kernels drop to.

    Worker ``worker`` of this process's uids, else the one set for this worker.
    """
    if worker is None and UID_ENV in os.environ:
        return int(os.environ[UID_ENV])
    return ROOT_MODE_UID + 1000 * (os.getpid() % 100_000) + (worker or 0)


def prepare_box(box: Path) -> None:
    """Give the box (and everything in it) to the kernel's uid when the grader is root.

    The box stays enterable (mode 0711) for bwrap, which runs as root without capabilities.
    """
    if os.geteuid() != 0:
        return
    uid = kernel_uid()
    for folder, dirs, files in os.walk(box):
        os.chown(folder, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
    os.chmod(box, 0o711)


def matplotlib_cache() -> list[Path]:
    """The grading user's matplotlib font lists (``fontlist-*.json``), if any (see :func:`main`)."""
    if os.environ.get("MPLCONFIGDIR"):
        folder = Path(os.environ["MPLCONFIGDIR"])
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib"
    return sorted(folder.glob("fontlist-*.json")) if folder.is_dir() else []


def problem() -> str | None:
    """None if a jail can be built here, else one line that says what is missing and how to install it."""
    if shutil.which("bwrap") is None:
        return f"the grading sandbox needs bubblewrap, and `bwrap` is not on PATH: {INSTALL_HINT}"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="course-sandbox-check-") as box:
        prepare_box(Path(box))
        probe = [sys.executable, "-P", "-m", "course_utils.instructor.sandbox", "--check"]
        try:
            result = subprocess.run(command(Path(box), probe), capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"the grading sandbox could not start ({error}): {INSTALL_HINT}"
    if result.returncode != 0 or "sandbox ok" not in result.stdout:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        hint = (
            "unprivileged user namespaces look disabled (Ubuntu: an AppArmor profile for bwrap, or "
            "sysctl kernel.apparmor_restrict_unprivileged_userns=0; see INSTRUCTORS.md)"
            if "namespace" in lines[-1].lower() or "permission" in lines[-1].lower()
            else INSTALL_HINT
        )
        return f"the grading sandbox does not work on this machine ({lines[-1].strip()}): {hint}"
    return None


def main(argv: list[str]) -> None:
    """Kernel launcher: ``-f CONNECTION_FILE`` (in the box) -> exec the jailed grading kernel."""
    connection_file = Path(argv[argv.index("-f") + 1]).resolve()
    inner = [sys.executable, "-P", "-m", "course_utils.instructor.sandbox", "-f", str(connection_file)]
    if not enabled():
        os.execv(sys.executable, inner)
    box = connection_file.parent
    # A copy of the grader's matplotlib font list: without it every kernel would spend
    # seconds rebuilding it (and calling fc-list, which finds no configuration in the jail).
    mpl = box / "mplconfig"
    mpl.mkdir(exist_ok=True)
    for font_list in matplotlib_cache():
        shutil.copyfile(font_list, mpl / font_list.name)
    prepare_box(box)
    cmd = command(box, inner, env={"MPLCONFIGDIR": str(mpl)})
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
