"""The instructor's `course` command: collecting, scanning, scrubbing, bad arguments (fast tests).

The batch-grading test, which runs every hostile fixture, is in test_instructor_batch.py.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import REPO  # the checkout's root, found in one place

from course_utils.instructor import feedback, submissions, suspicious
from course_utils.instructor.coursedir import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "submissions"
SOURCE = REPO / "solutions"
ASSIGNMENTS = ["00-start-here", "01-conv1d"]
COURSE = [sys.executable, "-m", "course_utils.instructor.cli"]


def _notebook(path: Path, source: str = "x = 1") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return path


def test_collect_nested_folder_and_problems(tmp_path):
    _notebook(tmp_path / "ada" / "00-start-here" / "00-start-here.ipynb")
    _notebook(tmp_path / "bob" / "01-conv1d" / "01-conv1d.ipynb")
    _notebook(tmp_path / "bob" / "99-unknown" / "99-unknown.ipynb")
    (tmp_path / "cy" / "00-start-here").mkdir(parents=True)
    (tmp_path / "cy" / "00-start-here" / "00-start-here.ipynb").write_text("{not json")
    batch = submissions.collect(tmp_path, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.assignment) for s in batch.submissions] == [
        ("ada", "00-start-here"),
        ("bob", "01-conv1d"),
        ("cy", "00-start-here"),
    ]
    assert batch.submissions[2].error.startswith("00-start-here.ipynb is not valid JSON")
    assert any("unknown assignment '99-unknown'" in p for p in batch.problems)
    only = submissions.collect(tmp_path, ASSIGNMENTS, scratch=tmp_path / "scratch", only="01-conv1d")
    assert [s.student for s in only.submissions] == ["bob"]


def test_collect_zip_with_top_folder_and_flat_lms_zip(tmp_path):
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zf:
        zf.write(_notebook(tmp_path / "a.ipynb"), "export/ada/00-start-here/00-start-here.ipynb")
        zf.writestr("../../escape.ipynb", "{}")  # zip-slip: skipped
        zf.writestr("__MACOSX/ada/._x.ipynb", "junk")
    batch = submissions.collect(nested, ASSIGNMENTS, scratch=tmp_path / "u1")
    assert [(s.student, s.assignment, list(s.notebooks)) for s in batch.submissions] == [
        ("ada", "00-start-here", ["00-start-here"])
    ]
    assert not (tmp_path / "escape.ipynb").exists()

    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as zf:
        zf.write(tmp_path / "a.ipynb", "ada_00-start-here.ipynb")
        zf.write(tmp_path / "a.ipynb", "bob_12345_678_01-conv1d.ipynb")
        zf.write(tmp_path / "a.ipynb", "notes.ipynb")
    batch = submissions.collect(flat, ASSIGNMENTS, scratch=tmp_path / "u2")
    assert [(s.student, s.assignment, list(s.notebooks)) for s in batch.submissions] == [
        ("ada", "00-start-here", ["00-start-here"]),
        ("bob", "01-conv1d", ["01-conv1d"]),
    ]
    assert any("notes.ipynb" in p for p in batch.problems)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "submissions not found"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no notebooks"),
        (lambda p: (p / "x.txt").write_text("hi") and p / "x.txt", "neither a folder nor a .zip"),
        (lambda p: (p / "bad.zip").write_text("not a zip") and p / "bad.zip", "not a valid zip"),
    ],
)
def test_collect_refuses_bad_input(tmp_path, make, message):
    with pytest.raises(UsageError, match=message):
        submissions.collect(make(tmp_path), ASSIGNMENTS, scratch=tmp_path / "scratch")


@pytest.mark.parametrize(
    "args, message",
    [
        (["grade", "{tmp}/nowhere"], "submissions not found"),
        (["grade", str(FIXTURES), "--assignment", "99-nothing"], "unknown assignment '99-nothing'"),
        (["grade", "{tmp}/empty.zip"], "no notebooks"),
        (["grade", str(FIXTURES), "--workers", "0"], "--workers must be at least 1"),
        (["feedback"], "is not a course directory"),
        (["report", "--course-dir", "{tmp}/nothing"], "is not a course directory"),
        (["frobnicate"], "invalid choice"),
        (["release"], "has no solutions/ folder: run the release in the course's checkout"),
    ],
)
def test_bad_arguments_give_one_line_and_non_zero_exit(tmp_path, args, message):
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("readme.txt", "no notebooks here")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = subprocess.run(
        [*COURSE, *args, "--course-dir", str(tmp_path / "cd"), "--source", str(SOURCE)]
        if args[0] == "grade"
        else [*COURSE, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("course: error:") and message in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_grade_outside_a_checkout_asks_for_the_source(tmp_path):
    result = subprocess.run(
        [*COURSE, "grade", str(FIXTURES), "--course-dir", str(tmp_path / "cd")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"course: error: no --source given and {tmp_path / 'solutions'} has no "
        "assignments (NN-topic folders): pass --source DIR or run in the course's checkout"
    )


def test_scan_names_what_targets_the_grader():
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np")])
    submitted = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import numpy as np"),
            nbformat.v4.new_code_cell("np.allclose = lambda *a: True\nget_ipython().showtraceback = None"),
            nbformat.v4.new_code_cell("def weighted_sum(v, w):\n    return sum(a * b for a, b in zip(v, w))"),
        ]
    )
    code = suspicious.student_code(submitted, source)
    assert len(code) == 2
    labels = [hit.split(":")[0] for hit in suspicious.scan(code)]
    assert labels == ["patches numpy or the checks", "touches IPython or the kernel"]
    assert suspicious.scan([code[1]]) == []


def test_scrub_removes_hidden_lines_from_outputs():
    test_source = "check(f(1), 2)\n### BEGIN HIDDEN TESTS\ncheck(f(123456), 999)\n### END HIDDEN TESTS\n"
    traceback = ["Traceback", "----> 3 check(f(123456), 999)", "AssertionError: f(123456): expected 999"]
    cell = nbformat.v4.new_code_cell(
        test_source,
        outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="ok\nleak: check(f(123456), 999)\n"),
            nbformat.v4.new_output(
                "error", ename="AssertionError", evalue="f(123456): expected 999", traceback=traceback
            ),
            nbformat.v4.new_output("display_data", data={"text/plain": "### BEGIN HIDDEN TESTS"}),
        ],
    )
    nb = nbformat.v4.new_notebook(cells=[cell])
    scrubber = feedback.ScrubHiddenTests()
    nb, _ = scrubber.preprocess(nb, {})
    stream, error, display = nb.cells[0].outputs
    assert stream.text == f"ok\n{feedback.REMOVED}\n"
    assert error.traceback == [
        "AssertionError: f(123456): expected 999",
        "(raised in a hidden test: its code is not shown)",
    ]
    assert display.data["text/plain"] == feedback.REMOVED
    hidden = feedback.hidden_lines([test_source])
    assert feedback.leaks("<pre>check(f(123456), 999)</pre>", hidden) == ["check(f(123456), 999)"]
    assert feedback.leaks("<pre>check(f(1), 2)</pre>", hidden) == []


def test_guard_restores_monkeypatched_functions():
    code = """
from course_utils.instructor import sandbox
sandbox.snapshot()
import builtins, numpy, __main__
import course_utils.grading as grading
real_isclose, real_check, real_abs = numpy.isclose, grading.check_scalar, builtins.abs
numpy.isclose = grading.check_scalar = builtins.abs = lambda *a, **k: True
__main__.check_scalar = lambda *a, **k: None
__main__.np = None
sandbox.restore()
assert numpy.isclose is real_isclose and grading.check_scalar is real_check and builtins.abs is real_abs
assert __main__.check_scalar is real_check and __main__.np is numpy
print("restored")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "restored", result.stderr


def test_release_command_calls_release(monkeypatch, tmp_path, capsys):
    import course_utils.instructor.release
    from course_utils.instructor import cli

    called = {}
    monkeypatch.setattr(
        course_utils.instructor.release, "release", lambda dest=None: called.setdefault("dest", dest) or dest
    )
    assert cli.main(["release", "--dest", str(tmp_path)]) == 0
    assert called["dest"] == tmp_path


def test_course_dir_config_keeps_the_gradebook_url(tmp_path):
    from course_utils.instructor import coursedir

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    course = coursedir.setup(tmp_path / "cd", db_url=url, timeout=30)
    assert course.db_url == url and course.config().Execute.timeout == 30
    assert coursedir.setup(tmp_path / "cd").db_url == url  # remembered when --db-url is not given again
    assert "course_utils.instructor.feedback.ScrubHiddenTests" in course.config().GenerateFeedback.preprocessors
    kernel = tmp_path / "cd" / "jupyter" / "kernels" / "course-grading" / "kernel.json"
    assert "course_utils.instructor.jail" in kernel.read_text()  # the kernel starts in the sandbox


def test_fixtures_match_the_release():
    released = nbformat.read(REPO / "notebooks" / "00-start-here" / "00-start-here.ipynb", as_version=4)
    fixture = nbformat.read(FIXTURES / "blank" / "00-start-here" / "00-start-here.ipynb", as_version=4)
    assert fixture == released, "the release changed: run python tests/fixtures/make_submissions.py"


def test_results_rewritten_after_grading_are_rejected(tmp_path):
    import hashlib
    import json

    from course_utils.instructor.grade import _read_results

    out = tmp_path / "nb.ipynb"
    data = nbformat.writes(nbformat.v4.new_notebook()).encode()
    out.write_bytes(data)
    report = json.dumps(
        {"notebooks": {"nb": {"notes": [], "review": [], "sha256": hashlib.sha256(data).hexdigest()}}}
    ).encode()
    (tmp_path / "report.json").write_bytes(report)
    job = {"report": str(tmp_path / "report.json"), "notebooks": [{"id": "nb", "out": str(out)}]}
    answer = hashlib.sha256(report).hexdigest()
    assert _read_results(job, answer) is not None
    out.write_bytes(data.replace(b'"cells": []', b'"cells": [] '))  # a left-over process edits the result
    assert _read_results(job, answer) is None
    assert _read_results(job, "0" * 64) is None


def test_the_guard_and_the_scan_protect_every_public_check():
    # One list, grading.__all__: a check added there is restored by the guard and flagged when rebound.
    from course_utils import grading
    from course_utils.instructor import sandbox, suspicious

    assert set(sandbox._GRADING_NAMES) == set(grading.__all__) and all(hasattr(grading, n) for n in grading.__all__)
    for name in grading.__all__:
        assert suspicious.scan([f"{name} = lambda *args, **kwargs: None"]), name
