"""The instructor's side of the course: the ``course`` command and what it is built from.

- ``cli``: ``course release | grade | feedback | report | export`` (the console script).
- ``release``: regenerate the student release ``notebooks/`` from ``solutions/`` (``make release``).
- ``nbgrader_config.py``: the course's nbgrader settings (not a module: nbgrader loads it by path).
- ``coursedir``: the grading course directory and its nbgrader config.
- ``submissions``: collect a batch from a folder or zip (nested or flat LMS layout).
- ``sandbox``: the resource-limited grading kernel and its guard against monkeypatching.
- ``execute``: sanitize and execute one submission (runs in a worker process).
- ``grade``: grade a batch with workers, resume, and ``grades.csv``.
- ``suspicious``: list code that targets the grader.
- ``feedback``: HTML feedback with hidden tests removed from sources and outputs.
- ``report``: per-exercise statistics and a figure of score distributions.
"""
