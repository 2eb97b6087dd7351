"""course_utils: the shared package of the course "From Signals to ConvNets".

Modules, one idea each:

- ``course_utils.data``: load the images and datasets shipped inside the package (``course_utils/data/``).
- ``course_utils.functional``: NumPy conv1d/conv2d/conv_transpose2d, pooling, relu, linear, cross_entropy
  and their backward passes.
- ``course_utils.grading``: checks used by the notebooks' graded test cells.
- ``course_utils.gradcheck``: central-difference gradients, relative error, ``check_gradients``.
- ``course_utils.nn``: layers with forward/backward, BatchNorm2d, loss, SGD/Adam, ``fit``.
- ``course_utils.plots``: figures of images, kernels, feature maps and filter grids.
- ``course_utils.instructor``: the instructor's ``course`` command (release, grade, feedback, report,
  export); it needs the ``instructor`` extra (``pip install signals-to-convnets[instructor]``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("signals-to-convnets")  # pyproject.toml's, the one place it is written
except PackageNotFoundError:  # imported from a folder, not installed
    __version__ = "unknown"
