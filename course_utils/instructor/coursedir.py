"""The grading course directory: where submissions, autograded notebooks, feedback and the gradebook live.

``course grade`` builds it in a folder the instructor names (default ``./course-dir``)::

    course-dir/
        nbgrader_config.py    loads the course's nbgrader settings (``instructor/nbgrader_config.py``),
                              then sets root, source, db_url
        gradebook.db          nbgrader's SQLite gradebook (unless --db-url points elsewhere)
        submitted/<student>/<assignment>/<notebook>.ipynb   the submissions, as received
        autograded/<student>/<assignment>/<notebook>.ipynb  executed and scored
        feedback/<student>/<assignment>/<notebook>.html     written by `course feedback`
        jupyter/kernels/course-grading/                     the resource-limited grading kernel
        state/                                              resume markers and source hashes

The source notebooks (with the hidden tests) are read from ``--source`` (default:
``solutions/`` in the working folder, i.e. run from the course's checkout); a graded
offering points it at a private copy. Nothing here depends on where the package is
installed: a wheel grades as well as a checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .jail import Limits
from .sandbox import install_kernelspec

CONFIG_NAME = "nbgrader_config.py"
# The course's nbgrader settings (course id, timeouts, IgnorePattern, feedback preprocessors): shipped
# with the package; the checkout's nbgrader_config.py loads them too.
COURSE_CONFIG = Path(__file__).resolve().with_name(CONFIG_NAME)
# Where the instructor's notebooks are when --source is not given: relative to the working folder.
DEFAULT_SOURCE = Path("solutions")

_TEMPLATE = '''\
"""Written by `course grade`: the course's nbgrader settings plus this course directory's."""
c = get_config()  # noqa: F821 (provided by nbgrader)
load_subconfig({course_config!r})  # noqa: F821

c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.db_url = {db_url!r}
c.Execute.timeout = {timeout!r}
{late}'''


class UsageError(Exception):
    """A problem with the instructor's input: ``course`` prints it as one line and exits non-zero."""


@dataclass
class CourseDir:
    """A grading course directory (see the module docstring)."""

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def jupyter_dir(self) -> Path:
        return self.root / "jupyter"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def folder(self, kind: str, student: str, assignment: str) -> Path:
        """``root/kind/student/assignment`` for kind in submitted, autograded, feedback."""
        return self.root / kind / student / assignment

    def config(self):
        """The merged traitlets config (repository settings + this directory's)."""
        from .execute import load_config

        if not self.config_file.is_file():
            raise UsageError(f"{self.root} is not a course directory (no {CONFIG_NAME}); run `course grade` first")
        return load_config(self.config_file)

    @property
    def db_url(self) -> str:
        return self.config().CourseDirectory.db_url

    @property
    def source(self) -> Path:
        return Path(self.config().CourseDirectory.source_directory)

    def env(self) -> dict[str, str]:
        """Environment for processes that start the grading kernel."""
        return {
            **os.environ,
            "JUPYTER_PATH": os.pathsep.join([str(self.jupyter_dir), *filter(None, [os.environ.get("JUPYTER_PATH")])]),
        }


def source_assignments(source: Path) -> list[str]:
    """Assignment folders (``NN-topic``) in a source directory, in course order."""
    return sorted(p.name for p in Path(source).iterdir() if p.is_dir() and p.name[:2].isdigit())


def setup(
    root: Path,
    *,
    source: Path | None = None,
    db_url: str | None = None,
    timeout: int = Limits.timeout,
    late_penalty: str | None = None,
) -> CourseDir:
    """Create or update the course directory at ``root``; return it.

    ``db_url`` defaults to the value already configured there, else ``sqlite:///root/gradebook.db``;
    ``late_penalty`` (nbgrader's ``LateSubmissionPlugin.penalty_method``: ``none`` or ``zero``)
    likewise defaults to the value already there, else to the repository's configuration.
    """
    root = Path(root).resolve()
    source = Path(source if source else DEFAULT_SOURCE).resolve()
    if not source.is_dir() or not source_assignments(source):
        raise UsageError(f"source folder {source} has no assignments (NN-topic folders)")
    course = CourseDir(root)
    if db_url is None:
        db_url = course.db_url if course.config_file.is_file() else f"sqlite:///{root / 'gradebook.db'}"
    if (
        late_penalty is None
        and course.config_file.is_file()
        and "LateSubmissionPlugin" in course.config_file.read_text()
    ):
        late_penalty = course.config().LateSubmissionPlugin.penalty_method
    root.mkdir(parents=True, exist_ok=True)
    course.state_dir.mkdir(exist_ok=True)
    text = _TEMPLATE.format(
        course_config=str(COURSE_CONFIG),
        root=str(root),
        source=str(source),
        db_url=db_url,
        timeout=timeout,
        late=f"c.LateSubmissionPlugin.penalty_method = {late_penalty!r}\n" if late_penalty else "",
    )
    if not course.config_file.is_file() or course.config_file.read_text() != text:
        tmp = course.config_file.with_name(f"{CONFIG_NAME}.{os.getpid()}.tmp")  # two graders may start at once
        tmp.write_text(text)
        os.replace(tmp, course.config_file)
    install_kernelspec(course.jupyter_dir)
    return course


@contextmanager
def locked(course: CourseDir):
    """Hold the course directory's lock (graders that share it set up the gradebook one at a time)."""
    import fcntl

    course.state_dir.mkdir(parents=True, exist_ok=True)
    with open(course.state_dir / "setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def ensure_assignments(course: CourseDir, assignments: list[str]) -> dict[str, str]:
    """Put each assignment's source into the gradebook (``nbgrader generate_assignment``) if it changed.

    Returns ``{assignment: digest of its source folder}``; the digests go into the resume
    markers, so a submission is regraded when its assignment's tests change.
    """
    from nbgrader.apps import NbGraderAPI

    known_file = course.state_dir / "sources.json"
    known = json.loads(known_file.read_text()) if known_file.is_file() else {}
    digests = {a: _digest(course.source / a) for a in assignments}
    stale = [a for a in assignments if known.get(a) != digests[a]]
    if stale:
        api = NbGraderAPI(config=course.config())
        for assignment in stale:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                error = (result.get("error") or result.get("log") or "unknown error").strip().splitlines()
                raise UsageError(f"nbgrader could not load assignment {assignment}: {error[-1]}")
            known[assignment] = digests[assignment]
        tmp = known_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
        os.replace(tmp, known_file)
    return digests
