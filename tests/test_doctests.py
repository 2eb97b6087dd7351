"""The docstrings of the public API run: every example of ``functional``, ``nn`` and ``gradcheck`` passes.

One docstring format (issue #18): numpydoc, with a ``Shape`` section as ``torch.nn.Conv2d`` has
wherever arrays go in or out, and an ``Examples`` section per public op. Each module's examples run
with ``doctest.testmod`` (the modules are found by walking the packages, so a new module is
included); each public name (``functional.__all__``, ``nn.__all__``, the public functions and
classes defined in ``gradcheck``) must have an example, and a ``Shape`` section unless it takes no
arrays (``NO_ARRAYS``).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import course_utils.functional
import course_utils.gradcheck
import course_utils.nn

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["course_utils.gradcheck"]
    for package in (course_utils.functional, course_utils.nn):
        names.append(package.__name__)
        names += [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    return sorted(names)


def _public() -> dict[str, object]:
    names = {f"F.{name}": getattr(course_utils.functional, name) for name in course_utils.functional.__all__}
    names.update({f"nn.{name}": getattr(course_utils.nn, name) for name in course_utils.nn.__all__})
    gradcheck = course_utils.gradcheck
    names.update(
        {
            f"gradcheck.{name}": value
            for name, value in vars(gradcheck).items()
            if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == gradcheck.__name__
        }
    )
    return names


PUBLIC = _public()
# The public names that take and return no arrays: no Shape section needed.
NO_ARRAYS = {"nn.Optimizer", "nn.SGD", "nn.Adam", "nn.History", "gradcheck.GradientReport"}
SHAPE = re.compile(r"^Shape\n-----$", re.MULTILINE)
OLD_FORMATS = re.compile(r"^(Inputs:|Shapes\n------$)", re.MULTILINE)


@pytest.mark.parametrize("name", _modules())
def test_the_examples_of_each_module_pass(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples of {name} failed (above)"


def test_the_public_names_are_found() -> None:
    assert {"F.conv2d", "nn.Conv2d", "nn.BatchNorm2d", "gradcheck.check_gradients"} <= PUBLIC.keys()
    assert NO_ARRAYS <= PUBLIC.keys()


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_name_has_an_example_and_a_shape_section(name: str) -> None:
    obj = PUBLIC[name]
    doc = inspect.getdoc(obj) or ""
    tests = doctest.DocTestFinder().find(obj, name)
    assert any(test.examples for test in tests), f"{name}: no doctest example (>>> lines) in its Examples section"
    assert not OLD_FORMATS.search(doc), f"{name}: an 'Inputs:' or 'Shapes' section: convert it to numpydoc"
    if name not in NO_ARRAYS:
        assert SHAPE.search(doc), f"{name}: no 'Shape' section (PyTorch style: '- Input: (N, C_in, H, W)')"
