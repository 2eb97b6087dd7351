"""course_utils: the shared package of the course "From Signals to ConvNets".

Modules, one idea each:

- ``course_utils.data``: find and load the images and datasets shipped in ``data/``.
- ``course_utils.functional``: NumPy conv1d/conv2d/conv_transpose2d, pooling, relu, linear, cross_entropy and their backward passes.
- ``course_utils.grading``: checks used by the notebooks' graded test cells.
- ``course_utils.gradcheck``: central-difference gradients, relative error, ``check_gradients``.
- ``course_utils.nn``: layers with forward/backward, BatchNorm2d, loss, SGD/Adam, ``fit``.
- ``course_utils.plots``: figures of images, kernels, feature maps and filter grids.
- ``course_utils.release``: regenerate the student release ``notebooks/`` from ``solutions/``.
- ``course_utils.cli`` and ``course_utils.instructor``: the instructor's ``course`` command (release, grade, feedback, report).
"""

__version__ = "0.1.0"
