"""Checks for the notebooks' graded test cells.

Every graded test follows the same order: type first, then shape, then values,
so an object that fakes ``__eq__`` or a list that happens to compare equal
earns nothing. Failure messages say what was expected and what came back,
with shapes, so the visible tests teach. Their first line is short (under 75
characters: "expected shape (2, 3), got (3, 2)"), so that it survives nbgrader's
Validate, which cuts every line at 90 columns; the call that was checked and the
details follow on the next lines; a large array is summarised (how many values are
wrong, where, the worst one), not printed. The checks' own frames are hidden from
tracebacks (IPython's ``__tracebackhide__``): the student sees their test cell.

The NumPy functions used here are bound when this module is imported (in a
notebook's first cell, before any student code runs), so a student cell that
monkeypatches ``np.allclose`` or ``np.testing`` does not change the verdict.

``forbidden`` switches off library calls that would answer an exercise
outright (``np.convolve``, ``scipy.signal``, ``course_utils.functional``) for
the duration of a test.
"""

from __future__ import annotations

import builtins
import importlib
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

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
_INTEGER_TYPES = frozenset(
    {
        int,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.intc,
        np.uintc,
        np.longlong,
        np.ulonglong,
    }
)
_FLOAT_TYPES = frozenset({float, np.float16, np.float32, np.float64, np.longdouble})


class CheckFailure(AssertionError):
    """A failed check, shown in a notebook without the course's own frames.

    IPython hides frames that set ``__tracebackhide__`` except the last one, the frame the error
    was raised in, which is always a check's. IPython asks an exception for its own traceback
    through ``_render_traceback_``: this one drops the trailing frames of the course's checking
    code, so the traceback ends at the student's test line. It keeps the name ``AssertionError``,
    which is what a failed test is called everywhere else (pytest, nbgrader's feedback).
    """

    def _render_traceback_(self) -> list[str]:
        from IPython import get_ipython  # only ever called by IPython

        tb, kept = self.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_globals.get("__name__") not in _COURSE_CHECKS:
                kept = tb
            tb = tb.tb_next
        if kept is not None:
            kept.tb_next = None
        return get_ipython().InteractiveTB.structured_traceback(_type(self), self, self.__traceback__)


CheckFailure.__name__ = CheckFailure.__qualname__ = "AssertionError"
# The modules whose frames a CheckFailure's traceback leaves out when they come last.
_COURSE_CHECKS = {__name__, "course_utils.gradcheck"}


class ForbiddenCallError(CheckFailure):
    """Raised when graded code calls a library function that the exercise forbids."""


# The public checks. The grader's guard (instructor/sandbox.py) restores exactly these names in a
# submission's namespace and the suspicious-code scan (instructor/suspicious.py) flags code that
# rebinds them: a new check added here is protected without a second list to update.
__all__ = ["ForbiddenCallError", "check_array", "check_raises", "check_scalar", "forbidden"]

# Arrays of at most this many elements are printed in full in a failure message; larger ones are summarised.
_PRINTED = 30
_LEADING = {2: "row", 3: "first index", 4: "(image, channel)"}


def _show(array: np.ndarray) -> str:
    return _array2string(array, precision=4, threshold=_PRINTED, separator=", ")


def _num(value: object) -> str:
    return format(value, ".6g") if _isinstance(value, (float, np.floating)) else repr(value)


def _brief(value: Any) -> str:
    """A short description of a returned value for a first line: an array by its shape, else its repr cut."""
    if _isinstance(value, _ndarray):
        return f"an array of shape {value.shape}"
    if _isinstance(value, (tuple, list, dict)):
        return f"a {_type(value).__name__} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _fail(first: str, name: str, *details: str) -> AssertionError:
    """The AssertionError of a check: a short first line, then the call, then the details."""
    return CheckFailure("\n".join([first, f"  in {name}", *details]))


def _where(wrong: np.ndarray) -> str:
    """Which leading indices (images and channels for NCHW) hold the wrong values."""
    label = _LEADING.get(wrong.ndim, "first index")
    axes = 2 if wrong.ndim == 4 else 1
    flat = wrong.reshape(*wrong.shape[:axes], -1).any(axis=-1)
    places = [tuple(int(i) for i in index) if axes > 1 else int(index[0]) for index in np.argwhere(flat)]
    shown = ", ".join(str(place) for place in places[:8]) + (", ..." if len(places) > 8 else "")
    return f"  wrong in {label} {shown} ({len(places)} of {flat.size})"


def check_array(
    got: Any,
    expected: ArrayLike,
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
    __tracebackhide__ = True
    expected = _asarray(expected)
    if _type(got) is not _ndarray:
        raise _fail(
            f"expected an ndarray of shape {expected.shape}, got {_type(got).__name__}",
            name,
            *(["  hint: wrap it with np.array(...)"] if _isinstance(got, (list, tuple)) else []),
        ) from None
    if got.shape != expected.shape:
        raise _fail(f"expected shape {expected.shape}, got shape {got.shape}", name) from None
    if got.dtype.kind not in dtype_kind:
        kinds = {"f": "floats", "b": "booleans", "iu": "integers", "fiu": "real numbers"}.get(dtype_kind, dtype_kind)
        raise _fail(f"expected an array of {kinds}, got dtype {got.dtype}", name) from None
    if got.dtype.kind == "b" or expected.dtype.kind == "b":
        wrong = got != expected
    else:
        wrong = ~_isclose(got, expected, rtol=rtol, atol=atol, equal_nan=False)
    n_wrong = int(wrong.sum())
    if n_wrong:
        if got.ndim == 0:
            raise _fail(f"expected {_num(expected.item())}, got {_num(got.item())}", name) from None
        error = _abs(got.astype(np.float64) - expected.astype(np.float64))
        error[~_isfinite(error)] = np.inf
        worst = tuple(int(i) for i in _unravel(int(_argmax(error)), got.shape))
        first = (
            f"{n_wrong} of {got.size} values wrong; at {worst}: expected {_num(expected[worst].item())}, "
            f"got {_num(got[worst].item())}"
        )
        if len(first) > 74:
            first = (
                f"{n_wrong} of {got.size} values wrong; expected {_num(expected[worst].item())}, "
                f"got {_num(got[worst].item())}"
            )
        details = [f"  the worst at index {worst}, shape {got.shape}"]
        if got.size <= _PRINTED:
            details += [f"expected:\n{_show(expected)}", f"got:\n{_show(got)}"]
        elif got.ndim >= 2:
            details.append(_where(wrong))
        raise _fail(first, name, *details) from None


def check_scalar(got: Any, expected: float, *, name: str = "result", rtol: float = 1e-9, atol: float = 0.0) -> None:
    """Assert that ``got`` is a Python or NumPy number equal to ``expected``.

    An ``int`` is expected when ``expected`` is an ``int`` (a ``bool`` or ``float`` is
    refused); otherwise any real number is compared with the tolerances.
    """
    __tracebackhide__ = True
    integral = _isinstance(expected, (int, np.integer)) and not _isinstance(expected, bool)
    # Exact types: a subclass of float could override __float__ to return the expected value.
    accepted = _INTEGER_TYPES if integral else _INTEGER_TYPES | _FLOAT_TYPES
    if _type(got) not in accepted:
        kind = "an int" if integral else "a number"
        raise _fail(f"expected {kind} ({expected!r}), got {_type(got).__name__} {got!r:.30}", name) from None
    if integral:
        if int(got) != int(expected):
            raise _fail(f"expected {int(expected)}, got {int(got)}", name) from None
    elif not abs(float(got) - float(expected)) <= atol + rtol * abs(float(expected)):
        raise _fail(f"expected {float(expected)!r}, got {float(got)!r}", name) from None


def check_raises(
    exception: type[BaseException],
    func: Callable[..., object],
    *args: Any,
    name: str | None = None,
    mentions: tuple[str, ...] = (),
    **kwargs: Any,
) -> None:
    """Assert that ``func(*args, **kwargs)`` raises ``exception`` (or a subclass of it).

    ``mentions``: texts the error's message must contain (e.g. ``("3", "5")`` for lengths 3 and 5,
    ``("(2, 3)", "(3,)")`` for two shapes), where the exercise asks for a message that names them.
    """
    __tracebackhide__ = True
    label = name or str(getattr(func, "__name__", "the call"))
    try:
        result = func(*args, **kwargs)
    except exception as error:
        missing = [text for text in mentions if text not in str(error)]
        if missing:
            raise _fail(
                f"expected a message naming {' and '.join(mentions)}, got another",
                label,
                f"  the message: {str(error)!r:.200}",
            ) from None
        return
    except ForbiddenCallError:
        raise
    except Exception as error:
        raise _fail(
            f"expected {exception.__name__}, got {_type(error).__name__}", label, f"  {_type(error).__name__}: {error}"
        ) from None
    raise _fail(
        f"expected {exception.__name__} to be raised, got {_brief(result)}", label, f"  it returned {result!r:.200}"
    ) from None


def _raiser(qualified: str) -> Callable[..., object]:
    def forbidden_call(*args: object, **kwargs: object) -> object:
        __tracebackhide__ = True
        raise ForbiddenCallError(f"{qualified} is not allowed in this exercise: the point is to write it yourself")

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


def forbidden(*names: str) -> _Forbidden:
    """Make the named library functions raise ``ForbiddenCallError`` inside the block.

    ``names`` are dotted names of functions (``"numpy.convolve"``) or of whole modules
    (``"scipy.signal"``, ``"course_utils.functional"``). The functions are replaced in
    their modules and wherever the student's namespace (``__main__``) holds them under
    another name (``from numpy import convolve as conv``); everything is restored on exit.

    The block is where a test runs the student's code on input it must accept, so an error that
    code raises there (anything but a failed check, or the stub's ``NotImplementedError``) is
    reported as a failed check, ``expected a result, got ValueError``, chained to the student's
    own traceback, which is printed above it and points at their line.

    Example::

        with forbidden("numpy.convolve", "scipy.signal"):
            got = convolve1d(x, k)
    """
    return _Forbidden(names)


class _Forbidden:
    """The context manager ``forbidden`` returns (a class, so that its frame can hide itself)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names
        self._slots: list[tuple[object, str, object]] = []
        self._aliases: list[tuple[dict, str, object]] = []

    def __enter__(self) -> None:
        self._slots = [slot for qualified in self._names for slot in _resolve(qualified)]
        banned = {id(value): f"{getattr(owner, '__name__', owner)}.{attr}" for owner, attr, value in self._slots}
        main = vars(sys.modules["__main__"])
        self._aliases = [(main, key, value) for key, value in list(main.items()) if id(value) in banned]
        try:
            for owner, attr, value in self._slots:
                setattr(owner, attr, _raiser(banned[id(value)]))
            for namespace, key, value in self._aliases:
                namespace[key] = _raiser(banned[id(value)])
        except BaseException:
            self._restore()
            raise

    def _restore(self) -> None:
        for owner, attr, value in self._slots:
            setattr(owner, attr, value)
        for namespace, key, value in self._aliases:
            namespace[key] = value

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> Literal[False]:
        __tracebackhide__ = True
        self._restore()
        if _isinstance(error, Exception) and not _isinstance(error, (AssertionError, NotImplementedError)):
            raise _fail(
                f"expected a result, got {_type(error).__name__} from your code (traceback above)",
                "the with-block of this test",
                f"  {_type(error).__name__}: {str(error):.300}",
            ) from error
        return False
