"""Run pooling's element loops (comparisons, maxima, masks) on as many threads as NumPy's BLAS.

The matrix products of a convolution run on BLAS's threads; pooling has none, and NumPy's element
loops run on one core (releasing the GIL). Cutting the batch into one slice per thread and running
the slices on a small thread pool uses the other cores as BLAS does. (Plain copies, such as
im2col's, gained nothing from a second thread on the 2-core development machine: one core already
saturates its memory bandwidth, so convolutions do not use this.) The thread count is BLAS's:
``threadpoolctl``'s current limit when the caller uses threadpoolctl, else
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/ ``MKL_NUM_THREADS``, else the CPUs this process may
run on (what OpenBLAS itself starts with).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MIN_ELEMENTS = 1 << 16  # below this many elements moved, one thread is faster than a hand-off

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas: list[Any] | None = None  # threadpoolctl's BLAS controllers, found once


def _default_count() -> int:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_DEFAULT = _default_count()


def count() -> int:
    """The number of threads NumPy's BLAS runs on now."""
    global _blas
    threadpoolctl = sys.modules.get("threadpoolctl")
    if threadpoolctl is None:
        return _DEFAULT
    if _blas is None:
        _blas = [c for c in threadpoolctl.ThreadpoolController().lib_controllers if c.user_api == "blas"]
    return min((c.num_threads for c in _blas), default=_DEFAULT)


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def parallel(fn: Callable[[int, int], None], n: int, elements: int) -> None:
    """Call ``fn(lo, hi)`` on consecutive slices covering ``range(n)``, one per thread, when the op
    moves at least ``MIN_ELEMENTS`` ``elements``; otherwise call ``fn(0, n)``."""
    global _pool, _pool_size
    k = min(count(), n) if elements >= MIN_ELEMENTS else 1
    if k <= 1:
        fn(0, n)
        return
    if _pool is None or _pool_size < k - 1:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool, _pool_size = ThreadPoolExecutor(max_workers=k - 1, thread_name_prefix="course_utils"), k - 1
    bounds = [n * i // k for i in range(k + 1)]
    futures = [_pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, k)]
    fn(bounds[0], bounds[1])
    for future in futures:
        future.result()
