"""A whole term on a real hub: JupyterHub + nbgrader's exchange + a PostgreSQL gradebook.

The hub is ``hub/run.py`` (``make hub``), started once for this module in a temporary folder and
always stopped at the end. On it:

1. the instructor generates 01-conv1d from a private copy of ``solutions/`` and releases it
   through the exchange;
2. four students, each as their own hub user, press Fetch in their server's Assignments tab
   (nbgrader's assignment-list API), save their work through Jupyter's contents API and press
   Submit: ``ada`` the solutions (full marks), ``bo`` two exercises of four (partial), ``dee``
   the solutions plus a cell that attacks the grader (hostile), and ``cy`` the solutions after
   the deadline (late);
3. the instructor collects; ``course grade`` grades the collected folder into the PostgreSQL
   gradebook with a deadline and the zero late penalty; ``course feedback``; ``nbgrader
   release_feedback``; every student presses Fetch Feedback and gets a page with their own
   results and no hidden test; ``course export --format canvas`` writes the LMS's CSV;
4. two graders grade the two halves of the class at the same time into one gradebook;
5. a student in Chromium (Playwright) logs in, fetches, opens the notebook, validates,
   submits, and later fetches the feedback.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from browser_support import solved_copy
from hub_support import REPO, Hub, running_hub

from course_utils.instructor import markers
from tools import notebook as notebook_tool  # the checkout is on sys.path (conftest)

pytestmark = [pytest.mark.hub, pytest.mark.xdist_group("hub")]

ASSIGNMENT = "01-conv1d"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
SOURCE = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
POINTS = 10.0
# the exercises bo answers (2 + 3 points of 10)
PARTIAL = {"conv_output_length", "convolve1d"}
ON_TIME = ["ada", "bo", "dee"]
LATE = "cy"
STUDENTS = [*ON_TIME, LATE]
EXPECTED = {"ada": 10.0, "bo": 5.0, "dee": 10.0, "cy": 10.0}  # before the late penalty
COURSE_CLI = str(Path(sys.executable).parent / "course")
COURSE = "course"  # the instructor's course folder, in the instructor's home


def hidden_lines() -> list[str]:
    """Every line of the hidden tests of 01-conv1d that is long enough to be recognised and that the
    visible tests do not also show (tools/notebook.py's ``secret_lines``, as the release test uses)."""
    lines = [
        line
        for cell in nbformat.read(SOURCE, as_version=4).cells
        for line in sorted(notebook_tool.secret_lines(cell.source, (markers.HIDDEN,)))
        if len(line) >= 25
    ]
    assert len(lines) > 5
    return lines


def answers(released: nbformat.NotebookNode, scratch: Path, only: set[str] | None = None) -> nbformat.NotebookNode:
    """The released notebook with the solution's answers (all, or the exercises in ``only``)."""
    stub = scratch / "stub.ipynb"
    nbformat.write(released, stub)
    solved = nbformat.read(solved_copy(stub, SOURCE, scratch / "solved.ipynb"), as_version=4)
    if only is not None:
        for cell, original in zip(solved.cells, released.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and grade_id not in only:
                cell.source = original.source
    return solved


def hostile(notebook: nbformat.NotebookNode, hub: Hub) -> nbformat.NotebookNode:
    """The solutions, plus a cell that knows every real path and secret of the hub and attacks with them."""
    attack = f"""
import os, socket
stolen = []
for path in [{str(hub.root / "state.json")!r}, {str(hub.exchange)!r}, {str(REPO / "solutions")!r}]:
    try:
        stolen.append((path, os.listdir(path) if os.path.isdir(path) else open(path).read()[:200]))
    except OSError as error:
        stolen.append((path, type(error).__name__))
try:  # the gradebook itself, with its real password: set everyone's score to zero
    import psycopg
    with psycopg.connect({hub.db_url!r}, connect_timeout=3) as connection:
        connection.execute("UPDATE grade SET manual_score = 0")
    stolen.append(("gradebook", "ZEROED"))
except Exception as error:
    stolen.append(("gradebook", type(error).__name__))
print(stolen)
"""
    notebook.cells.append(nbformat.v4.new_code_cell(attack))
    return notebook


def graded_scores(db_url: str) -> dict[str, tuple[float, float]]:
    """student -> (score, late penalty) of 01-conv1d in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        return {
            s.student.id: (float(s.score), float(s.late_submission_penalty or 0.0))
            for s in gradebook.assignment_submissions(ASSIGNMENT)
        }


def page_text(path: Path) -> str:
    """A feedback page's text, tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def course_cmd(hub: Hub, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return hub.run_as(
        hub.state["instructor"], [COURSE_CLI, *args], cwd=cwd, check=check, extra_env={"COURSE_DEBUG": "1"}
    )


# --- the script ------------------------------------------------------------------------------------


def listening(pids: set[int]) -> list[str]:
    """Local addresses of the TCP sockets on which these processes listen (``ss -ltnp``)."""
    found = []
    for line in subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines():
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.append(line.split()[3])
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_hub_listens_on_loopback_only_and_stops_when_a_test_fails(tmp_path):
    """hub/run.py: every service on 127.0.0.1; a failing test still stops everything, by process id."""
    with pytest.raises(RuntimeError, match="a failing test"):
        with running_hub(tmp_path / "hub") as hub:
            hub.start_servers("ada")
            pids = {*hub.state["pids"].values(), hub.hub_api("GET", "users/ada")["servers"][""]["state"]["pid"]}
            assert len(pids) == 4 and all(running(pid) for pid in pids)
            addresses = listening(pids)
            postgres = hub.state["postgres"]["folder"]
            raise RuntimeError("a failing test")
    assert len(addresses) >= 5, addresses  # PostgreSQL, the proxy and its API, the hub, ada's server
    assert all(address.startswith("127.0.0.1:") for address in addresses), addresses
    assert not [pid for pid in pids if running(pid)]
    assert not Path(postgres).exists()


# --- the term -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


@pytest.fixture(scope="module")
def course(hub: Hub) -> Path:
    """The instructor generates 01-conv1d from a private copy of the solutions and releases it."""
    folder = hub.home(hub.state["instructor"]) / COURSE
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, folder / "source" / ASSIGNMENT)
    (folder / "nbgrader_config.py").write_text(
        f"load_subconfig({str(REPO / 'nbgrader_config.py')!r})\n"
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(folder)!r}\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
    )
    hub.nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=folder)
    hub.nbgrader("release_assignment", ASSIGNMENT, cwd=folder)
    return folder


@pytest.fixture(scope="module")
def term(hub: Hub, course: Path, tmp_path_factory) -> dict:
    """Every student fetches, works and submits (``cy`` after the deadline); the instructor collects."""
    scratch = tmp_path_factory.mktemp("work")
    hub.start_servers(*STUDENTS)
    released = None
    for student in STUDENTS:
        listed = hub.assignment_action(student, "fetch", ASSIGNMENT)
        mine = [a for a in listed if a["assignment_id"] == ASSIGNMENT and a["status"] == "fetched"]
        assert mine, f"{student} fetched nothing: {listed}"
        released = hub.read_notebook(student, NOTEBOOK)
    work = {
        "ada": answers(released, scratch),
        "bo": answers(released, scratch, only=PARTIAL),
        "dee": hostile(answers(released, scratch), hub),
        "cy": answers(released, scratch),
    }
    submitted_at = {}
    for student in ON_TIME:
        hub.save_notebook(student, NOTEBOOK, work[student])
        hub.assignment_action(student, "submit", ASSIGNMENT)
        submitted_at[student] = dt.datetime.now(dt.UTC)
    time.sleep(1.5)
    duedate = dt.datetime.now(dt.UTC)
    time.sleep(1.5)
    hub.save_notebook(LATE, NOTEBOOK, work[LATE])
    hub.assignment_action(LATE, "submit", ASSIGNMENT)
    for student in STUDENTS:  # the Assignments tab lists the submission, as this student's
        submitted = [a for a in hub.assignments(student) if a["status"] == "submitted"]
        assert [a["student_id"] for a in submitted] == [student], submitted
    hub.nbgrader("collect", ASSIGNMENT, cwd=course)
    return {"duedate": duedate, "work": work}


def test_release_fetch_submit_collect_as_hub_users(hub: Hub, course: Path, term: dict):
    """nbgrader's exchange knows each student by their hub user, not the Unix user every server runs as."""
    inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / hub.state["course_id"] / "inbound").iterdir())
    assert inbound == sorted(STUDENTS)
    for student in STUDENTS:
        folder = course / "submitted" / student / ASSIGNMENT
        assert (folder / f"{ASSIGNMENT}.ipynb").is_file()
        assert (folder / "timestamp.txt").is_file() and (folder / "submission_secret.txt").is_file()
        got = nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)
        assert [c.source for c in got.cells] == [c.source for c in term["work"][student].cells]
    stamp = (course / "submitted" / LATE / ASSIGNMENT / "timestamp.txt").read_text()
    from nbgrader.utils import parse_utc

    assert parse_utc(stamp) > term["duedate"].replace(tzinfo=None)
    for student in ON_TIME:
        stamp = (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").read_text()
        assert parse_utc(stamp) < term["duedate"].replace(tzinfo=None)


@pytest.fixture(scope="module")
def graded(hub: Hub, course: Path, term: dict) -> dict:
    """``course grade`` of the collected folder into the PostgreSQL gradebook, with the deadline and
    the zero late penalty."""
    grading = hub.home(hub.state["instructor"]) / "grading"
    args = [
        "grade",
        str(course / "submitted"),
        "--course-dir",
        str(grading),
        "--db-url",
        hub.db_url,
        "--source",
        str(course / "source"),
        "--assignment",
        ASSIGNMENT,
        "--workers",
        "2",
        "--timeout",
        "60",
        "--no-progress",
        "--duedate",
        term["duedate"].isoformat(),
        "--late-penalty",
        "zero",
    ]
    started = time.monotonic()
    result = course_cmd(hub, *args, cwd=hub.home(hub.state["instructor"]), check=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"course grade exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    print(
        f"course grade: {len(STUDENTS)} submissions of {ASSIGNMENT} in {elapsed:.1f} s "
        f"({elapsed / len(STUDENTS):.1f} s each, 2 workers)"
    )
    return {"grading": grading, "seconds": elapsed, "output": result.stdout}


def test_course_grade_into_postgresql(hub: Hub, graded: dict):
    """Every submission is graded into the PostgreSQL gradebook; the hostile one reaches nothing."""
    assert hub.db_url.startswith("postgresql://")
    scores = graded_scores(hub.db_url)
    assert {student: score for student, (score, _) in scores.items()} == EXPECTED
    with open(graded["grading"] / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(STUDENTS)
    for student in ["ada", "bo", "dee"]:
        assert float(rows[student]["score"]) == EXPECTED[student], rows[student]
    # dee's attack: the state file, the exchange and the solutions are out of sight, the gradebook
    # out of reach (the sandbox has no network), and its scores are those of an honest batch
    executed = nbformat.read(
        graded["grading"] / "autograded" / "dee" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    printed = "".join(o.get("text", "") for o in executed.cells[-1].get("outputs", []))
    assert "ZEROED" not in printed and hub.state["admin_token"] not in printed
    assert "'gradebook'" in printed, executed.cells[-1].get("outputs")


def test_late_penalty_from_duedate(hub: Hub, graded: dict):
    """``cy`` submitted after the deadline: with ``--late-penalty zero`` the late submission scores 0."""
    scores = graded_scores(hub.db_url)
    assert scores[LATE] == (10.0, 10.0)
    assert all(scores[s][1] == 0.0 for s in ON_TIME)
    with open(graded["grading"] / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert float(rows[LATE]["score"]) == 0.0 and "late" in rows[LATE]["status"], rows[LATE]
    from nbgrader.api import Gradebook

    with Gradebook(hub.db_url) as gradebook:
        late = gradebook.find_submission(ASSIGNMENT, LATE)
        assert late.total_seconds_late > 0
        assert all(gradebook.find_submission(ASSIGNMENT, s).total_seconds_late == 0 for s in ON_TIME)


@pytest.fixture(scope="module")
def feedback(hub: Hub, graded: dict) -> dict:
    """``course feedback``; ``nbgrader release_feedback``; every student presses Fetch Feedback."""
    grading = graded["grading"]
    made = course_cmd(
        hub, "feedback", "--assignment", ASSIGNMENT, "--course-dir", str(grading), cwd=grading, check=False
    )
    released = hub.nbgrader(
        "release_feedback", ASSIGNMENT, f"--CourseDirectory.root={grading}", cwd=grading, check=False
    )
    fetched = {}
    for student in STUDENTS:
        hub.assignment_action(student, "fetch_feedback", ASSIGNMENT)
        fetched[student] = sorted((hub.home(student) / ASSIGNMENT / "feedback").glob("*/*.html"))
    return {"made": made, "released": released, "fetched": fetched}


def test_feedback_returned_through_the_exchange(hub: Hub, graded: dict, feedback: dict):
    """Every student gets a page, through the exchange, with their own results and no hidden test."""
    assert feedback["made"].returncode == 0, feedback["made"].stdout + feedback["made"].stderr
    assert feedback["released"].returncode == 0, feedback["released"].stdout + feedback["released"].stderr
    hidden = hidden_lines()
    scores = graded_scores(hub.db_url)
    for student in STUDENTS:
        pages = feedback["fetched"][student]
        assert len(pages) == 1, f"{student} fetched {pages}"
        text = page_text(pages[0])
        own = "\n".join(c.source for c in feedback_work(graded, student).cells)
        leaked = [line for line in hidden if line in text and line not in own]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:3]}"
        score, penalty = scores[student]
        assert f"Score: {score - penalty:g}" in text.replace(".0 ", " ").replace(".0\n", "\n") or re.search(
            rf"Score:\s*{score - penalty:.1f}", text
        ), f"{student}'s page does not show their score"
        listed = [a for a in hub.assignments(student) if a["status"] == "submitted"]
        assert any(s.get("has_local_feedback") for a in listed for s in a.get("submissions", [])), listed


def feedback_work(graded: dict, student: str) -> nbformat.NotebookNode:
    return nbformat.read(graded["grading"] / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def test_export_canvas(hub: Hub, graded: dict):
    """The final grades leave as Canvas's gradebook CSV (Grades -> Import)."""
    grading = graded["grading"]
    output = grading / "canvas.csv"
    result = course_cmd(
        hub,
        "export",
        "--format",
        "canvas",
        "--course-dir",
        str(grading),
        "--output",
        str(output),
        cwd=grading,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with open(output, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    column = next(i for i, name in enumerate(header) if name.startswith(ASSIGNMENT))
    students = {row[3]: row[column] for row in rows[1:] if row[0] and "Points Possible" not in row[0]}
    expected = {**EXPECTED, LATE: 0.0}
    assert {s: float(v) for s, v in students.items()} == expected


def test_two_graders_one_gradebook(hub: Hub, course: Path, term: dict, tmp_path):
    """Two ``course grade`` processes at once, on the two halves of the class (``--students``), with one
    course directory and one new PostgreSQL gradebook: every student graded once, as alone."""
    import psycopg

    with psycopg.connect(hub.db_url, autocommit=True) as connection:
        connection.execute("CREATE DATABASE gradebook_two")
    db_url = hub.db_url.rsplit("/", 1)[0] + "/gradebook_two"
    grading = tmp_path / "grading"
    halves = [STUDENTS[:2], STUDENTS[2:]]
    for index, half in enumerate(halves):
        (tmp_path / f"half-{index}.txt").write_text("\n".join(half) + "\n")
    results = [None, None]

    def grade(index: int) -> None:
        results[index] = course_cmd(
            hub,
            "grade",
            str(course / "submitted"),
            "--course-dir",
            str(grading),
            "--db-url",
            db_url,
            "--source",
            str(course / "source"),
            "--assignment",
            ASSIGNMENT,
            "--students",
            str(tmp_path / f"half-{index}.txt"),
            "--workers",
            "1",
            "--timeout",
            "60",
            "--no-progress",
            cwd=tmp_path,
            check=False,
        )

    threads = [threading.Thread(target=grade, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, result in enumerate(results):
        assert result.returncode == 0, f"grader {index}:\n{result.stdout}\n{result.stderr}"
        assert f"graded {len(halves[index])} submission(s) now" in result.stdout, result.stdout
    with open(grading / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert {s: (float(r["score"]), r["status"]) for s, r in rows.items()} == {
        s: (score, "ok") for s, score in EXPECTED.items()
    }
    assert {s: score for s, (score, _) in graded_scores(db_url).items()} == EXPECTED


# --- the student's side in a real browser ---------------------------------------------------------

BROWSER_STUDENT = "eve"


def open_assignment_list(page) -> None:
    """Nbgrader > Assignment List, JupyterLab's menu (nbgrader's Assignments tab)."""
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Assignment List").click()
    page.locator("#released_assignments_list").wait_for()


@pytest.mark.browser
def test_student_in_the_browser(hub: Hub, course: Path, graded: dict, tmp_path):
    """Chromium through the hub: log in, Assignments tab, Fetch, open the notebook, Validate, Submit;
    after grading, Fetch Feedback and read the page."""
    from browser_support import SCREENSHOTS, launch_chromium
    from playwright.sync_api import sync_playwright

    student = BROWSER_STUDENT
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", student)
            page.fill("#password_input", hub.state["password"])
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{student}/lab**", timeout=180_000)
            page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)

            open_assignment_list(page)
            released = page.locator("#released_assignments_list")
            released.get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / "hub-1-released.png"))
            released.get_by_role("button", name="Fetch").click()
            fetched = page.locator("#fetched_assignments_list")
            fetched.locator("a.assignment-notebooks-link", has_text=ASSIGNMENT).wait_for(timeout=60_000)
            assert (hub.home(student) / NOTEBOOK).is_file()

            # the student's work, saved as the editor saves it; then opened from the Assignments tab
            hub.save_notebook(student, NOTEBOOK, answers(hub.read_notebook(student, NOTEBOOK), tmp_path))
            fetched.locator("a.assignment-notebooks-link", has_text=ASSIGNMENT).click()
            fetched.locator(".nested_list_item a", has_text=ASSIGNMENT).click()
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
            validate = page.locator(".jp-NotebookPanel .validate-button").first
            validate.wait_for(timeout=60_000)
            validate.click()
            dialog = page.locator(".jp-Dialog")
            dialog.wait_for(timeout=180_000)
            text = dialog.inner_text()
            page.screenshot(path=str(SCREENSHOTS / "hub-2-validated.png"))
            assert "Success! Your notebook passes all the tests." in text, text
            dialog.get_by_role("button", name="Ok").click()

            open_assignment_list(page)
            page.locator("#fetched_assignments_list").get_by_role("button", name="Submit").click()
            submitted = page.locator("#submitted_assignments_list")
            submitted.get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / "hub-3-submitted.png"))

            # the instructor collects, grades, writes and releases the feedback
            grading = graded["grading"]
            hub.nbgrader("collect", ASSIGNMENT, f"--student={student}", cwd=course)
            course_cmd(
                hub,
                "grade",
                str(course / "submitted"),
                "--course-dir",
                str(grading),
                "--db-url",
                hub.db_url,
                "--source",
                str(course / "source"),
                "--assignment",
                ASSIGNMENT,
                "--students",
                student,
                "--timeout",
                "60",
                "--no-progress",
                cwd=grading,
            )
            course_cmd(hub, "feedback", "--assignment", ASSIGNMENT, "--course-dir", str(grading), cwd=grading)
            hub.nbgrader(
                "release_feedback", ASSIGNMENT, f"--student={student}", f"--CourseDirectory.root={grading}", cwd=grading
            )

            page.reload()
            page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
            open_assignment_list(page)
            submitted = page.locator("#submitted_assignments_list")
            submitted.get_by_role("button", name="Fetch Feedback").click(timeout=60_000)
            submitted.get_by_text("(view feedback)").wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / "hub-4-feedback.png"))
            pages = sorted((hub.home(student) / ASSIGNMENT / "feedback").glob("*/*.html"))
            assert len(pages) == 1, pages
            relative = pages[0].relative_to(hub.home(student)).as_posix()
            page.goto(f"{hub.url}/user/{student}/files/{relative}")
            shown = page.locator("body").inner_text()
            page.screenshot(path=str(SCREENSHOTS / "hub-5-feedback-page.png"))
            assert "Score" in shown and "conv_matrix" in shown, shown[:2000]
            leaked = [line for line in hidden_lines() if line in shown]
            assert not leaked, f"the feedback page shows hidden tests: {leaked[:3]}"
        finally:
            browser.close()
