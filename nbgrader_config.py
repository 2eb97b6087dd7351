"""nbgrader configuration for the course (read by `nbgrader` and by course_utils).

Instructors' source notebooks live in ``solutions/``; the student release that
``make release`` writes lives in ``notebooks/``.
"""
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "signals-to-convnets"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Each notebook runs in well under a minute; a cell that takes longer is stuck.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# A correct answer that prints a warning to stderr must not score zero:
# drop every stderr stream from graded cells before scoring.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s).*"

# A student who deletes a graded cell gets it back from the gradebook.
c.OverwriteCells.add_missing_cells = True

# Feedback never shows hidden tests: their lines are scrubbed from every output (tracebacks
# included), then ClearHiddenTests removes them from the source.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course_utils.instructor.feedback.ScrubHiddenTests",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.ClearHiddenTests.enforce_metadata = False
