"""How long does `course grade` take for the whole course, and what does grading add?

    python bench/grading_speed.py [--students K] [--assignments 00-start-here 01-conv1d ...]

For every assignment in solutions/ (or the ones named), K students submit the solution
notebook. The script times

1. executing each solution notebook once with plain nbclient (the floor);
2. `course grade` of the whole batch with 1 worker without the sandbox (`--no-sandbox`),
   with 1 worker in the sandbox, and with 2 workers in the sandbox, each into a fresh course
   directory;

and prints seconds per submission for each, the grading overhead per notebook (1 worker
without the sandbox, per submission, minus the plain execution time: starting the worker
process, sanitizing, the resource-limited kernel and the guard, saving to the gradebook), and
the sandbox's own cost per notebook (1 worker with minus without it: building the bubblewrap
jail, copying the font cache, the kernel's start inside it). Because whole batches are noisy on
a shared machine, it also times the sandbox alone: K kernel round trips (start the grading
kernel, run one cell that imports NumPy and matplotlib, shut it down), alternating jailed and
not jailed, and prints the median of each and their difference.
A benchmark, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.instructor.release import assignments as all_assignments  # noqa: E402


def execute_once(notebook: Path) -> float:
    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}}
    ).execute()
    return time.perf_counter() - start


def grade(batch: Path, course_dir: Path, workers: int, sandbox: bool = True) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "course_utils.instructor.cli",
            "grade",
            str(batch),
            "--source",
            str(REPO / "solutions"),
            "--course-dir",
            str(course_dir),
            "--workers",
            str(workers),
            "--no-progress",
            *([] if sandbox else ["--no-sandbox"]),
        ],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"course grade failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def kernel_roundtrip(jupyter_dir: Path, box: Path, sandbox: bool) -> float:
    """Seconds to start the grading kernel (jailed or not), run one cell and shut it down."""
    from jupyter_client.manager import KernelManager

    from course_utils.instructor.jail import SANDBOX_ENV
    from course_utils.instructor.sandbox import KERNEL_NAME

    os.environ["JUPYTER_PATH"] = str(jupyter_dir)
    os.environ[SANDBOX_ENV] = "on" if sandbox else "off"
    work = box / "work"
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc", connection_file=str(box / "kernel.json"))
    km.start_kernel(cwd=str(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive("import numpy, matplotlib.pyplot", timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return time.perf_counter() - start


def sandbox_cost(scratch: Path, repeat: int) -> dict[str, float]:
    """Median kernel round trip without and with the jail, alternating, ``repeat`` times each."""
    from course_utils.instructor.sandbox import install_kernelspec

    jupyter_dir = scratch / "jupyter"
    install_kernelspec(jupyter_dir)
    times: dict[str, list[float]] = {"off": [], "on": []}
    for i in range(repeat):
        for mode in ("off", "on"):
            box = scratch / f"box-{mode}-{i}"
            times[mode].append(kernel_roundtrip(jupyter_dir, box, mode == "on"))
    return {mode: statistics.median(values) for mode, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--assignments", nargs="*", default=all_assignments(REPO))
    parser.add_argument(
        "--kernel-starts", type=int, default=10, help="kernel round trips per mode for the sandbox's own cost (0: skip)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-speed-") as scratch:
        scratch = Path(scratch)
        batch = scratch / "batch"
        floor = {}
        for assignment in args.assignments:
            source = REPO / "solutions" / assignment / f"{assignment}.ipynb"
            floor[assignment] = execute_once(source)
            for k in range(args.students):
                target = batch / f"student{k}" / assignment
                target.mkdir(parents=True)
                shutil.copy(source, target / f"{assignment}.ipynb")
        n = args.students * len(args.assignments)
        cost = sandbox_cost(scratch, args.kernel_starts) if args.kernel_starts else None
        timing = {"off": grade(batch, scratch / "course-off", 1, sandbox=False) / n}
        timing.update({w: grade(batch, scratch / f"course-{w}", w) / n for w in (1, 2)})
    plain = sum(floor.values()) / len(floor)
    print(
        f"{n} submissions ({args.students} students x {len(args.assignments)} assignments: "
        f"{', '.join(args.assignments)})"
    )
    print("| | seconds per submission |\n|---|---|")
    print(f"| executing the notebook once (nbclient, mean over assignments) | {plain:.1f} |")
    print(f"| `course grade --workers 1 --no-sandbox` | {timing['off']:.1f} |")
    print(f"| `course grade --workers 1` (sandbox) | {timing[1]:.1f} |")
    print(f"| `course grade --workers 2` (sandbox) | {timing[2]:.1f} |")
    print(
        f"| grading overhead per notebook (1 worker, no sandbox, minus plain execution) | {timing['off'] - plain:.1f} |"
    )
    print(f"| the sandbox's cost per notebook (1 worker, sandbox minus no sandbox) | {timing[1] - timing['off']:.2f} |")
    if cost:
        print(
            f"\nkernel round trip (start, one cell importing NumPy and matplotlib, shutdown), median of "
            f"{args.kernel_starts}, alternating: {cost['off']:.2f} s without the sandbox, {cost['on']:.2f} s "
            f"in it: the sandbox adds {cost['on'] - cost['off']:.2f} s per notebook"
        )
    for assignment, seconds in floor.items():
        print(f"  plain execution of {assignment}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
