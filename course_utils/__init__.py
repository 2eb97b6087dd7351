"""course_utils: the shared package of the course "From Signals to ConvNets".

Modules, one idea each:

- ``course_utils.data``: find and load the images and datasets shipped in ``data/``.
- ``course_utils.grading``: checks used by the notebooks' graded test cells.
- ``course_utils.release``: regenerate the student release ``notebooks/`` from ``solutions/``.
"""

__version__ = "0.1.0"
