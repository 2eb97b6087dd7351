"""Hold every notebook to the budget of a free Binder session: under 60 s and under 1 GB.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/notebook_budget.py
    python bench/notebook_budget.py --repeat 2 --markdown artifacts/notebook_budget.md
    python bench/notebook_budget.py solutions/03-conv-arithmetic/03-conv-arithmetic.ipynb

Executes each solution notebook (default: every ``solutions/*/*.ipynb``) top to bottom with
nbclient, in a fresh ``python3`` kernel started in the notebook's folder, the kernel pinned to
one thread (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` = 1 in its
environment, whatever this process has). For each notebook it measures

- wall time: from starting the kernel to the end of the last cell, what a student waits
  for after opening the notebook and pressing Run All;
- peak memory: the kernel process's peak resident set size (``VmHWM`` in
  ``/proc/<pid>/status``, read after the last cell, before the kernel shuts down).

It prints a Markdown table, one row per notebook and a course row (total time, largest peak),
and exits with status 1 if a notebook fails or is over budget. With ``--repeat N`` each
notebook runs N times: the table shows the fastest time (the least disturbed by other
processes) and the largest peak. This is a benchmark, not a timed test: run it on a quiet
machine (``make bench``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

REPO = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 60.0
BUDGET_BYTES = 1_000_000_000  # 1 GB
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CELL_TIMEOUT = 300  # seconds; a notebook this slow is far over budget anyway


@dataclass
class Run:
    """One notebook's measurements (the best of its repeats) and its first error, if any."""

    name: str
    seconds: float
    peak_bytes: int
    error: str | None = None

    @property
    def within_budget(self) -> bool:
        return self.error is None and self.seconds < BUDGET_SECONDS and self.peak_bytes < BUDGET_BYTES


def peak_rss(pid: int) -> int:
    """Peak resident set size of process ``pid`` in bytes (Linux: ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            assert unit == "kB", line
            return int(value) * 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def execute(path: Path) -> Run:
    """Run the notebook at ``path`` once in a fresh one-thread kernel; measure it."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.reset_execution_trackers()
    error, peak = None, 0
    start = time.perf_counter()
    with client.setup_kernel(env={**os.environ, **ONE_THREAD}):
        pid = client.km.provisioner.pid
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as failure:
            error = (str(failure).strip().splitlines() or [type(failure).__name__])[-1][:200]
        seconds = time.perf_counter() - start
        try:
            peak = peak_rss(pid)
        except FileNotFoundError:  # the kernel died (out of memory?): its peak is unknown
            error = error or "the kernel died"
    return Run(path.stem, seconds, peak, error)


def measure(path: Path, repeat: int) -> Run:
    runs = [execute(path) for _ in range(repeat)]
    failed = next((run for run in runs if run.error), None)
    return Run(
        path.stem,
        min(run.seconds for run in runs),
        max(run.peak_bytes for run in runs),
        failed.error if failed else None,
    )


def table(runs: list[Run]) -> str:
    rows = ["| notebook | wall time (s) | peak memory (MB) | within budget |", "|---|---:|---:|---|"]
    for run in runs:
        verdict = "yes" if run.within_budget else ("**error**: " + run.error if run.error else "**no**")
        rows.append(f"| {run.name} | {run.seconds:.1f} | {run.peak_bytes / 1e6:.0f} | {verdict} |")
    total = sum(run.seconds for run in runs)
    largest = max((run.peak_bytes for run in runs), default=0)
    rows.append(
        f"| **course** ({len(runs)} notebooks) | {total:.1f} in total | {largest / 1e6:.0f} at most | "
        f"{'yes' if all(run.within_budget for run in runs) else '**no**'} |"
    )
    return "\n".join(rows)


def machine() -> str:
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return (
        f"one thread per kernel; {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {numpy.__version__}; {time.strftime('%Y-%m-%d')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: solutions/*/*.ipynb")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (best time, largest peak)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    paths = args.notebooks or sorted((REPO / "solutions").glob("*/*.ipynb"))
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")

    runs = []
    for path in paths:
        run = measure(path.resolve(), args.repeat)
        print(
            f"{run.name}: {run.seconds:.1f} s, {run.peak_bytes / 1e6:.0f} MB"
            + (f", error: {run.error}" if run.error else ""),
            file=sys.stderr,
            flush=True,
        )
        runs.append(run)
    report = (
        f"{table(runs)}\n\nBudget per notebook: {BUDGET_SECONDS:.0f} s and {BUDGET_BYTES / 1e9:.0f} GB. "
        f"Measured with `make bench`: {machine()}."
    )
    print(report)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report + "\n")
    return 0 if all(run.within_budget for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
