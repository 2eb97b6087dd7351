"""How long does `course grade` take for the whole course, and what does grading add?

    python bench/grading_speed.py [--students K] [--assignments 00-start-here 01-conv1d ...]

For every assignment in solutions/ (or the ones named), K students submit the solution
notebook. The script times

1. executing each solution notebook once with plain nbclient (the floor);
2. `course grade` of the whole batch with 1 worker, then with 2 workers, each into a
   fresh course directory;

and prints seconds per submission for each, and the grading overhead per notebook
(1 worker, per submission, minus the plain execution time): starting the worker process,
sanitizing, the resource-limited kernel and the guard, saving to the gradebook.
A benchmark, not a test: the numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.release import assignments as all_assignments  # noqa: E402


def execute_once(notebook: Path) -> float:
    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return time.perf_counter() - start


def grade(batch: Path, course_dir: Path, workers: int) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "course_utils.cli", "grade", str(batch), "--course-dir",
                             str(course_dir), "--workers", str(workers), "--no-progress"],
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"course grade failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--assignments", nargs="*", default=all_assignments())
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
        timing = {w: grade(batch, scratch / f"course-{w}", w) / n for w in (1, 2)}
    plain = sum(floor.values()) / len(floor)
    print(f"{n} submissions ({args.students} students x {len(args.assignments)} assignments: "
          f"{', '.join(args.assignments)})")
    print("| | seconds per submission |\n|---|---|")
    print(f"| executing the notebook once (nbclient, mean over assignments) | {plain:.1f} |")
    print(f"| `course grade --workers 1` | {timing[1]:.1f} |")
    print(f"| `course grade --workers 2` | {timing[2]:.1f} |")
    print(f"| grading overhead per notebook (1 worker minus plain execution) | {timing[1] - plain:.1f} |")
    for assignment, seconds in floor.items():
        print(f"  plain execution of {assignment}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
