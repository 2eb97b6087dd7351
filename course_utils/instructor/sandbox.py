"""The grading kernel: an IPython kernel started under resource limits, with a guard.

``python -m course_utils.instructor.sandbox -f CONNECTION_FILE`` is the command of the
``course-grading`` kernelspec that :func:`install_kernelspec` writes. Before IPython
starts it

1. sets resource limits (POSIX ``setrlimit``): ``RLIMIT_AS`` (address space, so a cell
   that allocates without bound gets a ``MemoryError``), ``RLIMIT_CPU`` (total CPU
   seconds of the kernel: a backstop, the per-cell wall-clock limit is nbgrader's
   ``Execute.timeout``), ``RLIMIT_FSIZE`` (largest file written) and ``RLIMIT_CORE = 0``;
   the limits come from the environment variables ``COURSE_MEMORY_MB``,
   ``COURSE_CPU_SECONDS`` and ``COURSE_FILE_MB``;
2. pins BLAS to one thread and matplotlib to the Agg backend;
3. imports the modules the graded tests rely on (``builtins``, ``math``, NumPy,
   ``numpy.testing``, ``course_utils.grading``) and snapshots their namespaces.

:func:`restore` puts the snapshot back. The grader runs it (silently) before every graded
test cell, so a submission that rebinds ``np.allclose``, ``numpy.testing.assert_allclose``,
``check_array``, ``builtins.isinstance`` or IPython's ``showtraceback`` before a test
runs the test against the genuine functions.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from types import ModuleType

from .. import grading
from .jail import JAILED_ENV, MAX_PROCESSES_ENV, UID_ENV, Limits

# The checks the graded tests call, restored in the student's namespace before each test.
_GRADING_NAMES = tuple(grading.__all__)

KERNEL_NAME = "course-grading"

# The modules whose namespaces the graded tests rely on.
GUARDED_MODULES = ("builtins", "math", "numpy", "numpy.testing", "numpy.linalg", "numpy.fft", "course_utils.grading")
# Names that IPython itself swaps in and out of builtins around every cell.
_IPYTHON_BUILTINS = {
    "exit",
    "quit",
    "get_ipython",
    "display",
    "_",
    "__IPYTHON__",
    "help",
    "copyright",
    "credits",
    "license",
    "dreload",
}
# Shell methods a submission could replace on the instance to hide a failing test.
_SHELL_METHODS = (
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "run_cell",
    "run_cell_async",
    "run_code",
    "run_ast_nodes",
    "should_run_async",
    "transform_cell",
)

_snapshots: dict[str, tuple[ModuleType, dict[str, object]]] = {}


def set_limits(memory_mb: int, cpu_seconds: int, file_mb: int, max_processes: int = 0) -> None:
    """Apply the resource limits to this process and its children (0 leaves a limit unchanged).

    Soft and hard limits are both set, so student code cannot raise them again.
    ``max_processes`` (``RLIMIT_NPROC``) counts the processes and threads of this uid: the
    jail sets it (see :mod:`course_utils.instructor.jail`), where that uid is the kernel's own.
    """
    import resource

    def limit(kind: int, value: int) -> None:
        hard = resource.getrlimit(kind)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))

    if memory_mb:
        limit(resource.RLIMIT_AS, memory_mb * 2**20)
    if cpu_seconds:
        limit(resource.RLIMIT_CPU, cpu_seconds)
    if file_mb:
        limit(resource.RLIMIT_FSIZE, file_mb * 2**20)
    if max_processes:
        limit(resource.RLIMIT_NPROC, max_processes)
    limit(resource.RLIMIT_CORE, 0)


def drop_privileges() -> None:
    """Inside the jail of a root grader: become ``COURSE_SANDBOX_UID`` (no account, no capabilities)."""
    if os.geteuid() != 0 or not os.environ.get(JAILED_ENV):
        return
    uid = int(os.environ.get(UID_ENV, "0"))
    if uid <= 0:
        raise SystemExit("course_utils.instructor.sandbox: refusing to run a grading kernel as root in the jail")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def snapshot() -> None:
    """Record the namespaces of :data:`GUARDED_MODULES` (called before any student code)."""
    for name in GUARDED_MODULES:
        module = importlib.import_module(name)
        _snapshots[name] = (module, dict(vars(module)))


def restore() -> None:
    """Undo every rebinding of a snapshotted name, in the modules and in ``__main__``.

    Names that a submission added are left alone; only names that existed at kernel start
    and now point elsewhere are put back. In ``__main__``, ``np``/``numpy`` and the
    ``course_utils.grading`` helpers are reset if the notebook has them.
    """
    missing = object()
    for name, (module, saved) in _snapshots.items():
        sys.modules[name] = module
        namespace = vars(module)
        for key, value in saved.items():
            if name == "builtins" and key in _IPYTHON_BUILTINS:
                continue
            if namespace.get(key, missing) is not value:
                namespace[key] = value
    main = vars(sys.modules["__main__"])
    numpy = _snapshots["numpy"][0]
    grading = _snapshots["course_utils.grading"][1]
    for key in ("np", "numpy"):
        if key in main:
            main[key] = numpy
    for key in _GRADING_NAMES:
        if key in main:
            main[key] = grading[key]
    sys.settrace(None)
    sys.setprofile(None)
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None:
        for method in _SHELL_METHODS:
            shell.__dict__.pop(method, None)
        shell.custom_exceptions = ()


def install_kernelspec(jupyter_dir: Path) -> Path:
    """Write the ``course-grading`` kernelspec under ``jupyter_dir/kernels/`` and return its folder.

    Put ``jupyter_dir`` on ``JUPYTER_PATH`` for the grading process to find it.
    """
    folder = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-P", "-m", "course_utils.instructor.jail", "-f", "{connection_file}"],
        "display_name": "Python 3 (course grading, jailed and resource-limited)",
        "language": "python",
        # The kernel runs in the jail's own session: interrupt it with a message, not a signal.
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder


def die_with_parent() -> None:
    """On Linux, have this process killed when the process that started it dies."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main(argv: list[str]) -> None:
    """Drop privileges, limit, snapshot, then become an IPython kernel (``ipykernel_launcher`` arguments).

    ``--check`` instead prints ``sandbox ok`` and the identity it ended with (the grader's
    probe that a jail can be built).
    """
    drop_privileges()
    set_limits(
        (limits := Limits.from_env()).memory_mb,
        limits.cpu_seconds,
        limits.file_mb,
        int(os.environ.get(MAX_PROCESSES_ENV, "0")),
    )
    if argv == ["--check"]:
        print(f"sandbox ok uid={os.getuid()} euid={os.geteuid()}")
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["MPLBACKEND"] = "Agg"
    die_with_parent()
    # Run as __main__ (python -m); the grader's guard imports this module by name.
    importlib.import_module("course_utils.instructor.sandbox").snapshot()
    from ipykernel import kernelapp

    sys.argv = [sys.argv[0], *argv]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main(sys.argv[1:])
