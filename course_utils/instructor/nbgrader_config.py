"""The course's nbgrader settings, shipped with the package.

Loaded by the checkout's ``nbgrader_config.py`` (which adds where ``solutions/`` and
``notebooks/`` are) and by every grading course directory that ``course grade`` writes
(which adds its root, source and gradebook). Settings about *how* the course is graded
live here, and only here.
"""

from course_utils.instructor.jail import Limits

c = globals()["get_config"]()  # put in this file's globals by traitlets' config loader

c.CourseDirectory.course_id = "signals-to-convnets"

# Each notebook runs in well under a minute; a cell that takes longer is stuck.
c.Execute.timeout = Limits.timeout
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
