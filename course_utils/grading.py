"""Checks for the notebooks' graded test cells.

Every graded test follows the same order: type first, then shape, then values,
so an object that fakes ``__eq__`` or a list that happens to compare equal
earns nothing. Failure messages say what was expected and what came back,
with shapes, so the visible tests teach.

The NumPy functions used here are bound when this module is imported (in a
notebook's first cell, before any student code runs), so a student cell that
monkeypatches ``np.allclose`` or ``np.testing`` does not change the verdict.

``forbidden`` switches off library calls that would answer an exercise
outright (``np.convolve``, ``scipy.signal``, ``course_utils.functional``) for
the duration of a test.
"""
from __future__ import annotations

import builtins
import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator

import numpy as np

# Bound at import time: see the module docstring.
_ndarray = np.ndarray
_asarray = np.asarray
_isclose = np.isclose
_isfinite = np.isfinite
_abs = np.abs
_argmax = np.argmax
_unravel = np.unravel_index
_array2string = np.array2string
_issubdtype = np.issubdtype
_type = builtins.type
_isinstance = builtins.isinstance
_INTEGER_TYPES = frozenset({int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                            np.intc, np.uintc, np.longlong, np.ulonglong})
_FLOAT_TYPES = frozenset({float, np.float16, np.float32, np.float64, np.longdouble})


class ForbiddenCallError(AssertionError):
    """Raised when graded code calls a library function that the exercise forbids."""


def _show(array: np.ndarray) -> str:
    return _array2string(array, precision=4, threshold=40, edgeitems=3, separator=", ")


def check_array(
    got,
    expected,
    *,
    name: str = "result",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    dtype_kind: str = "f",
) -> None:
    """Assert that ``got`` is an ``ndarray`` with ``expected``'s shape and values.

    Parameters
    ----------
    got : object
        What the student's code returned.
    expected : array_like
        The right answer.
    name : str
        How to describe ``got`` in a failure message, e.g. ``"convolve1d(x, k, 'valid')"``.
    rtol, atol : float
        Tolerances of the elementwise comparison ``|got - expected| <= atol + rtol * |expected|``.
    dtype_kind : str
        Accepted ``dtype.kind`` letters: ``"f"`` floats (default), ``"fiu"`` any real number,
        ``"b"`` booleans, ``"iu"`` integers.

    Raises
    ------
    AssertionError
        With a message naming the first thing that is wrong: the type, the shape, the
        dtype or the values (the number of wrong elements and the worst one).
    """
    expected = _asarray(expected)
    if _type(got) is not _ndarray:
        raise AssertionError(
            f"{name}: expected a numpy.ndarray of shape {expected.shape}, got {_type(got).__name__}"
            + (" (hint: wrap it with np.array(...))" if _isinstance(got, (list, tuple)) else "")
        )
    if got.shape != expected.shape:
        raise AssertionError(f"{name}: expected shape {expected.shape}, got shape {got.shape}")
    if got.dtype.kind not in dtype_kind:
        raise AssertionError(f"{name}: expected a dtype of kind {dtype_kind!r}, got dtype {got.dtype}")
    if got.dtype.kind == "b" or expected.dtype.kind == "b":
        wrong = got != expected
    else:
        wrong = ~_isclose(got, expected, rtol=rtol, atol=atol, equal_nan=False)
    n_wrong = int(wrong.sum())
    if n_wrong:
        if got.ndim == 0:
            raise AssertionError(f"{name}: expected {expected.item()!r}, got {got.item()!r}")
        error = _abs(got.astype(np.float64) - expected.astype(np.float64))
        error[~_isfinite(error)] = np.inf
        worst = _unravel(int(_argmax(error)), got.shape)
        raise AssertionError(
            f"{name}: {n_wrong} of {got.size} elements differ (shape {got.shape}); "
            f"worst at index {tuple(int(i) for i in worst)}: expected {expected[worst].item()}, got {got[worst].item()}\n"
            f"expected:\n{_show(expected)}\ngot:\n{_show(got)}"
        )


def check_scalar(got, expected, *, name: str = "result", rtol: float = 1e-9, atol: float = 0.0) -> None:
    """Assert that ``got`` is a Python or NumPy number equal to ``expected``.

    An ``int`` is expected when ``expected`` is an ``int`` (a ``bool`` or ``float`` is
    refused); otherwise any real number is compared with the tolerances.
    """
    integral = _isinstance(expected, (int, np.integer)) and not _isinstance(expected, bool)
    # Exact types: a subclass of float could override __float__ to return the expected value.
    accepted = _INTEGER_TYPES if integral else _INTEGER_TYPES | _FLOAT_TYPES
    if _type(got) not in accepted:
        kind = "an int" if integral else "a number"
        raise AssertionError(f"{name}: expected {kind} ({expected!r}), got {_type(got).__name__} {got!r}")
    if integral:
        if int(got) != int(expected):
            raise AssertionError(f"{name}: expected {int(expected)}, got {int(got)}")
    elif not abs(float(got) - float(expected)) <= atol + rtol * abs(float(expected)):
        raise AssertionError(f"{name}: expected {float(expected)!r}, got {float(got)!r}")


def check_raises(exception: type[BaseException], func: Callable, *args, name: str | None = None, **kwargs) -> None:
    """Assert that ``func(*args, **kwargs)`` raises ``exception`` (or a subclass of it)."""
    label = name or getattr(func, "__name__", "the call")
    try:
        result = func(*args, **kwargs)
    except exception:
        return
    except ForbiddenCallError:
        raise
    except Exception as error:  # noqa: BLE001 (the message names what was raised instead)
        raise AssertionError(
            f"{label}: expected {exception.__name__}, got {_type(error).__name__}: {error}"
        ) from None
    raise AssertionError(f"{label}: expected {exception.__name__} to be raised, but it returned {result!r}")


def _raiser(qualified: str) -> Callable:
    def forbidden_call(*args, **kwargs):
        raise ForbiddenCallError(
            f"{qualified} is not allowed in this exercise: the point is to write it yourself"
        )

    return forbidden_call


def _resolve(qualified: str) -> list[tuple[object, str, object]]:
    """Return the (owner, attribute, value) slots that ``qualified`` names.

    ``"numpy.convolve"`` names one function; ``"scipy.signal"`` names every public
    callable of the module (the module is imported first so that a later
    ``import`` inside student code finds the patched module in ``sys.modules``).
    """
    try:
        module = importlib.import_module(qualified)
    except ImportError:
        module = None
    if module is not None:
        return [
            (module, attr, value)
            for attr, value in vars(module).items()
            if not attr.startswith("_") and callable(value) and not _isinstance(value, type)
        ]
    owner_name, _, attr = qualified.rpartition(".")
    try:
        owner = importlib.import_module(owner_name)
    except ImportError:
        return []
    return [(owner, attr, getattr(owner, attr))] if hasattr(owner, attr) else []


@contextlib.contextmanager
def forbidden(*names: str) -> Iterator[None]:
    """Make the named library functions raise ``ForbiddenCallError`` inside the block.

    ``names`` are dotted names of functions (``"numpy.convolve"``) or of whole modules
    (``"scipy.signal"``, ``"course_utils.functional"``). The functions are replaced in
    their modules and wherever the student's namespace (``__main__``) holds them under
    another name (``from numpy import convolve as conv``); everything is restored on exit.
    """
    slots = [slot for qualified in names for slot in _resolve(qualified)]
    banned = {id(value): f"{getattr(owner, '__name__', owner)}.{attr}" for owner, attr, value in slots}
    main = vars(sys.modules["__main__"])
    aliases = [(main, key, value) for key, value in list(main.items()) if id(value) in banned]
    try:
        for owner, attr, value in slots:
            setattr(owner, attr, _raiser(banned[id(value)]))
        for namespace, key, value in aliases:
            namespace[key] = _raiser(banned[id(value)])
        yield
    finally:
        for owner, attr, value in slots:
            setattr(owner, attr, value)
        for namespace, key, value in aliases:
            namespace[key] = value
