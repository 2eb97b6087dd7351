"""Sanitize and execute one student's notebooks: the part of grading that runs student code.

``python -m course_utils.instructor.execute`` is a grading worker (:func:`serve`): it
imports nbgrader once, then runs one job after another, each in a scratch folder outside
the course directory. A job file names the course's nbgrader config, the assignment, the
student and the notebooks; the worker writes the executed notebooks and a JSON report,
and never writes to the gradebook (the parent process saves the grades, one writer for
the whole batch).

Sanitizing is nbgrader's own (``ClearOutput``, ``DeduplicateIds``, ``OverwriteKernelspec``,
``OverwriteCells`` with ``add_missing_cells``, ``CheckCellMetadata``): edited or deleted test
cells come back from the gradebook. :func:`describe_changes` says what was changed, so the
instructor reads it in ``grades.csv``.

Execution is :class:`GradingExecute`: nbgrader's ``Execute`` on the resource-limited
``course-grading`` kernel (see :mod:`course_utils.instructor.sandbox`), plus

- a guard before every graded test cell (:func:`course_utils.instructor.sandbox.restore`);
- a cap on each cell's output (``max_output_bytes``): a million printed lines or a 50 MB
  image leave a short note, never the bytes;
- a kernel that dies (``os._exit``, a segfault) ends the execution: the cell and every
  later code cell get a ``KernelDied`` error, so their tests score zero, and the earlier
  cells keep their results.

Then nbgrader's ``IgnorePattern`` (stderr never costs points) and ``LimitOutput`` run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
)
from traitlets import Integer
from traitlets.config.loader import PyFileConfigLoader

from . import markers
from .sandbox import KERNEL_NAME, die_with_parent

# Error names the grader writes into outputs; grade.py reads them back as statuses.
KERNEL_DIED = "KernelDied"
GUARD_FAILED = "GradingGuardError"
TRUNCATED_NOTE = "[output truncated by the grader]"
_GUARD_CODE = "__import__('course_utils.instructor.sandbox', fromlist=['restore']).restore()"


def _error(ename: str, evalue: str) -> NotebookNode:
    return from_dict({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]})


def _size(output: NotebookNode) -> int:
    if output.output_type == "stream":
        return len(output.get("text", ""))
    return sum(
        len(value) if isinstance(value, str) else len(json.dumps(value)) for value in output.get("data", {}).values()
    )


class GradingExecute(Execute):
    """nbgrader's ``Execute`` hardened for hostile submissions (see the module docstring)."""

    max_output_bytes = Integer(2_000_000, help="Largest total output kept per cell, in characters.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._dead = False
        self._used: dict[int, int] = {}
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._dead:
            cell.outputs = [_error(KERNEL_DIED, "not run: the kernel died in an earlier cell")]
            return cell, resources
        try:
            if utils.is_grade(cell) and not self._guard():
                cell.outputs = [_error(GUARD_FAILED, "the grading guard could not run before this test")]
                return cell, resources
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead = True
            cell.outputs.append(_error(KERNEL_DIED, "the kernel died while running this cell"))
            return cell, resources

    def _guard(self) -> bool:
        """Run the sandbox's ``restore()`` silently; True if it succeeded."""
        msg_id = self.kc.execute(_GUARD_CODE, silent=True, store_history=False, stop_on_error=False)
        reply = self.wait_for_reply(msg_id)
        return reply is not None and reply["content"]["status"] == "ok"

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or out.output_type == "error":
            return out
        used = self._used.get(cell_index, 0)
        if used > self.max_output_bytes:  # already truncated: drop silently
            outs.pop()
            return None
        used += _size(out)
        self._used[cell_index] = used
        if used > self.max_output_bytes:
            outs.pop()
            outs.append(
                from_dict(
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": f"\n{TRUNCATED_NOTE} more than {self.max_output_bytes} characters\n",
                    }
                )
            )
            return None
        return out


def _canonical(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def load_config(config_file: Path):
    """The traitlets config of an nbgrader_config.py file."""
    config_file = Path(config_file)
    return PyFileConfigLoader(config_file.name, str(config_file.parent)).load_config()


def describe_changes(nb: NotebookNode, db_url: str, assignment: str, notebook_id: str) -> tuple[list[str], list[str]]:
    """Compare a submitted notebook with its source in the gradebook.

    Returns ``(notes, review)``: what sanitizing will repair (a deleted, edited or
    unmarked test cell, a changed kernelspec) and what needs a person (cells out of order).
    """
    notes: list[str] = []
    review: list[str] = []
    with Gradebook(db_url) as gb:
        source = gb.find_notebook(notebook_id, assignment)
        graded = {cell.name for cell in source.grade_cells}
        cells = {cell.name: cell for cell in source.source_cells}
        order = [cell.name for cell in source.source_cells]
        kernelspec = json.loads(source.kernelspec) if source.kernelspec else None
    if kernelspec and nb.metadata.get("kernelspec", {}).get("name") != kernelspec.get("name"):
        notes.append(f"kernelspec changed to {nb.metadata.get('kernelspec', {}).get('name')!r} (reset)")
    seen = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id not in cells:
            notes.append(f"unknown nbgrader cell {grade_id!r} (ignored)")
            continue
        seen.append(grade_id)
        original = cells[grade_id].source
        if (
            grade_id in graded
            and cells[grade_id].locked
            and _canonical(cell.source) not in (_canonical(original), _canonical(markers.without(original)))
        ):
            notes.append(f"test cell {grade_id} edited (restored)")
    for grade_id in sorted(graded - set(seen)):
        notes.append(f"test cell {grade_id} deleted or unmarked (restored)")
    kept = [name for name in order if name in seen]
    if [name for name in seen if name in kept] != kept or len(set(seen)) != len(seen):
        review.append("graded cells reordered or duplicated")
    return notes, review


def restore_metadata(nb: NotebookNode, released: Path) -> bool:
    """Give a notebook whose nbgrader metadata was stripped that of the release, cell by cell.

    Only when no cell has nbgrader metadata and the cells match the release's in number
    and type; returns whether it did. (Otherwise sanitizing fails and a person reviews it.)
    """
    if any("nbgrader" in cell.metadata for cell in nb.cells) or not released.is_file():
        return False
    release = nbformat.read(released, as_version=4)
    if [c.cell_type for c in nb.cells] != [c.cell_type for c in release.cells]:
        return False
    for cell, original in zip(nb.cells, release.cells):
        if "nbgrader" in original.metadata:
            cell.metadata["nbgrader"] = original.metadata["nbgrader"]
    return True


def sanitize(nb: NotebookNode, resources: dict, config) -> NotebookNode:
    """nbgrader's autograde sanitizing: restore test cells, kernelspec and metadata from the gradebook."""
    for pp in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        nb, resources = pp(config=config).preprocess(nb, resources)
    return nb


def execute(nb: NotebookNode, resources: dict, config, workdir: Path, name: str = "kernel") -> NotebookNode:
    """Run ``nb`` on the grading kernel in ``workdir``, then drop stderr and limit outputs.

    The kernel's connection file and Unix sockets (Jupyter's ``ipc`` transport) lie in
    ``workdir``'s parent, the box that the jail makes visible (see :mod:`.jail`): the
    kernel needs no network to talk to this process.
    """
    resources = {**resources, "metadata": {"path": str(workdir)}}
    executor = GradingExecute(config=config)
    executor.kernel_name = KERNEL_NAME
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME, transport="ipc", connection_file=str(Path(workdir).parent / f"{name}.json")
    )
    try:
        nb, resources = executor.preprocess(nb, resources, km=km)
    finally:  # nbclient leaves a kernel it did not start running: end the jail, and all it holds, now
        if executor.kc is not None:
            executor.kc.stop_channels()
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    for pp in (IgnorePattern, LimitOutput):
        nb, resources = pp(config=config).preprocess(nb, resources)
    return nb


def run_job(job: dict) -> dict:
    """Sanitize and execute every notebook of one (student, assignment); return the report."""
    config = load_config(Path(job["config"]))
    report: dict = {"notebooks": {}}
    for item in job["notebooks"]:
        resources = {
            "nbgrader": {
                "notebook": item["id"],
                "assignment": job["assignment"],
                "student": job["student"],
                "db_url": job["db_url"],
            }
        }
        nb = nbformat.read(item["src"], as_version=4)
        stripped = restore_metadata(nb, Path(item["release"]))
        notes, review = describe_changes(nb, job["db_url"], job["assignment"], item["id"])
        if stripped:
            notes.insert(0, "cell metadata stripped (restored from the release)")
        try:
            nb = sanitize(nb, resources, config)
        except Exception as error:
            raise SystemExit(
                f"nbgrader could not restore the graded cells of {item['id']}.ipynb "
                f"(is its cell metadata stripped?): {type(error).__name__}: {error}"
            ) from None
        executed = execute(nb, resources, config, Path(job["workdir"]), name=f"kernel-{len(report['notebooks'])}")
        data = nbformat.writes(executed).encode()
        Path(item["out"]).write_bytes(data)
        report["notebooks"][item["id"]] = {"notes": notes, "review": review, "sha256": hashlib.sha256(data).hexdigest()}
    return report


def run_file(job_file: Path) -> str:
    """Run the job in ``job_file`` and write its report (or ``{"error": ...}``); return the report's SHA-256.

    The job file is deleted once read (it names the course directory). The report holds
    the SHA-256 of every executed notebook (of the text in memory, not of the file), and
    the answer the report's: the parent rejects files that a process left behind by a
    submission rewrote afterwards.
    """
    job = json.loads(Path(job_file).read_text())
    Path(job_file).unlink()
    try:
        report = run_job(job)
    except NoSuchKernel as error:  # a setup problem, not the student's
        report = {"error": f"grading kernel missing: {error}"}
    except (Exception, SystemExit) as error:
        report = {"error": str(error) or type(error).__name__}
    data = json.dumps(report, indent=1).encode()
    Path(job["report"]).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def serve() -> None:
    """Worker loop: read ``JOB_FILE NONCE`` lines, answer ``NONCE REPORT_SHA256`` for each job.

    Commands and answers travel on private copies of stdin and stdout; the real file
    descriptors 0 and 1, which the kernels inherit, point to ``/dev/null``, so student
    code cannot read the queue or forge an answer.
    """
    die_with_parent()  # a `course grade` killed by a signal takes its workers (and their jails) with it
    commands = os.fdopen(os.dup(0), "r")
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    for line in commands:
        job_file, nonce = line.split()
        answers.write(f"{nonce} {run_file(Path(job_file))}\n")


if __name__ == "__main__":
    serve()
