"""nbgrader configuration of this checkout: the course's settings plus where its notebooks are.

Instructors' source notebooks live in ``solutions/``; the student release that ``make release``
writes lives in ``notebooks/``. How the course is graded (course id, timeouts, IgnorePattern,
feedback without hidden tests) is set in the package, ``course_utils/instructor/nbgrader_config.py``,
which ``course grade`` loads too.
"""

from pathlib import Path

import course_utils.instructor

c = get_config()  # noqa: F821 (provided by nbgrader)
load_subconfig(str(Path(course_utils.instructor.__file__).with_name("nbgrader_config.py")))  # noqa: F821

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
