"""How fast is course_utils.functional? Forward + backward of conv2d and max_pool2d, float32.

Compares, in one run and with the same thread count:
- ours: course_utils.functional (im2col + one matrix product; col2im by slice additions);
- torch: torch.nn.functional on the CPU, forward + autograd backward (skipped if PyTorch is
  not installed: it is never needed by the course);
- naive: a direct loop over samples and output pixels (CS231n's ``conv_forward_naive`` style),
  timed on a few samples of the batch and scaled to the whole batch.

Each time is the best of several repetitions, ours and torch's interleaved so that both see
the same machine load. Prints a Markdown table for the README.

Run: ``python bench/conv_speed.py`` (or ``make bench``). Options: ``--threads N`` (both
libraries; needs threadpoolctl for NumPy's BLAS), ``--cpu-time`` (count CPU time instead of
wall time: steadier on a busy machine, meaningful with one thread only), ``--repeat R``.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from course_utils import functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # PyTorch is optional: only the comparison column needs it
    torch = None

NAIVE_SAMPLES = 2  # the naive loop runs on this many samples; its time is scaled to N
CONV_CONFIGS = [
    # label, (N, C_in, H, W), C_out, K, stride, padding, dilation
    ("1: N=64, 1x28x28 -> 8, K=5, pad 2", (64, 1, 28, 28), 8, 5, 1, 2, 1),
    ("2: N=64, 16x14x14 -> 32, K=3, pad 1", (64, 16, 14, 14), 32, 3, 1, 1, 1),
    ("3: N=128, 3x32x32 -> 32, K=3, pad 1", (128, 3, 32, 32), 32, 3, 1, 1, 1),
    ("4: config 2, stride 2", (64, 16, 14, 14), 32, 3, 2, 1, 1),
    ("5: config 2, dilation 2", (64, 16, 14, 14), 32, 3, 1, 1, 2),
]
POOL_SHAPE, POOL_K = (128, 32, 32, 32), 2


def set_threads(n: int | None) -> int:
    """Give NumPy's BLAS and torch ``n`` threads (default: what NumPy's BLAS uses now)."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # then NumPy keeps the thread count set by OPENBLAS_NUM_THREADS etc.
        threadpool_info = threadpool_limits = None
    if threadpool_limits is not None:
        if n is not None:
            threadpool_limits(n, user_api="blas")
        counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
        n = counts[0] if counts else n
    if n is None:
        env = [os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS") if os.environ.get(k)]
        n = int(env[0]) if env else os.cpu_count() or 1
    if torch is not None:
        torch.set_num_threads(n)
    return n


def best_ms(functions, repeat: int, clock=time.perf_counter) -> list[float]:
    """Best time of each function in ms, calling them in turn ``repeat`` times (after a warm-up)."""
    best = [float("inf")] * len(functions)
    for fn in functions:
        fn()
    for _ in range(repeat):
        for k, fn in enumerate(functions):
            start = clock()
            fn()
            best[k] = min(best[k], 1000 * (clock() - start))
    return best


def naive_conv_forward_backward(x, w, b, stride, pad, dil, grad_out):
    """Direct definition: one window at a time, looping over samples and output pixels."""
    n, _, h_out, w_out = grad_out.shape
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty(grad_out.shape, dtype=x.dtype)
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for r in range(h_out):
            for c in range(w_out):
                rows = slice(r * stride, r * stride + dil * (k - 1) + 1, dil)
                cols = slice(c * stride, c * stride + dil * (k - 1) + 1, dil)
                window = xp[i, :, rows, cols]
                out[i, :, r, c] = np.tensordot(w, window, axes=3) + b
                g = grad_out[i, :, r, c]
                gw += g[:, None, None, None] * window
                gxp[i, :, rows, cols] += np.tensordot(g, w, axes=1)
    return out, gxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], gw, grad_out.sum(axis=(0, 2, 3))


def naive_max_pool_forward_backward(x, k, grad_out):
    n, c, h_out, w_out = grad_out.shape
    out = np.empty(grad_out.shape, dtype=x.dtype)
    gx = np.zeros_like(x)
    for i in range(n):
        for r in range(h_out):
            for col in range(w_out):
                window = x[i, :, r * k : r * k + k, col * k : col * k + k].reshape(c, -1)
                first = window.argmax(axis=1)
                out[i, :, r, col] = window[np.arange(c), first]
                gx[i, np.arange(c), r * k + first // k, col * k + first % k] += grad_out[i, :, r, col]
    return out, gx


def torch_forward_backward(forward, *arrays):
    """A callable running ``forward`` on tensors sharing the arrays' memory, then autograd."""
    tensors = [torch.from_numpy(a).requires_grad_(True) for a in arrays]

    def run():
        out = forward(*tensors)
        torch.autograd.grad(out, tensors, torch.ones_like(out))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cpu-time", action="store_true")
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    threads = set_threads(options.threads)
    if options.cpu_time and threads != 1:
        parser.error("--cpu-time measures one thread's work: add --threads 1")
    clock = time.process_time if options.cpu_time else time.perf_counter
    rng = np.random.default_rng(0)
    rows = []
    for label, shape, c_out, k, stride, pad, dil in CONV_CONFIGS:
        x = rng.standard_normal(shape, dtype=np.float32)
        w = rng.standard_normal((c_out, shape[1], k, k), dtype=np.float32)
        b = rng.standard_normal(c_out, dtype=np.float32)
        args = dict(stride=stride, padding=pad, dilation=dil)
        y = F.conv2d(x, w, b, **args)
        go = rng.standard_normal(y.shape, dtype=np.float32)
        check = naive_conv_forward_backward(x[:1], w, b, stride, pad, dil, go[:1])
        assert np.allclose(check[0], y[:1], atol=1e-3)
        assert np.allclose(check[1], F.conv2d_backward(go[:1], x[:1], w, b, **args)[0], atol=1e-3)
        functions = [lambda: (F.conv2d(x, w, b, **args), F.conv2d_backward(go, x, w, b, **args))]
        if torch is not None:
            functions.append(torch_forward_backward(lambda tx, tw, tb: TF.conv2d(tx, tw, tb, **args), x, w, b))
        times = best_ms(functions, options.repeat, clock)
        m = NAIVE_SAMPLES
        naive = best_ms([lambda: naive_conv_forward_backward(x[:m], w, b, stride, pad, dil, go[:m])], 1, clock)[0]
        rows.append((f"conv2d {label}", times[0], times[1] if torch is not None else None, naive * shape[0] / m))
    x = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    go = rng.standard_normal((*POOL_SHAPE[:2], POOL_SHAPE[2] // POOL_K, POOL_SHAPE[3] // POOL_K), dtype=np.float32)
    check = naive_max_pool_forward_backward(x[:1], POOL_K, go[:1])
    assert np.array_equal(check[1], F.max_pool2d_backward(go[:1], x[:1], POOL_K))
    functions = [lambda: (F.max_pool2d(x, POOL_K), F.max_pool2d_backward(go, x, POOL_K))]
    if torch is not None:
        functions.append(torch_forward_backward(lambda tx: TF.max_pool2d(tx, POOL_K), x))
    times = best_ms(functions, options.repeat, clock)
    m = NAIVE_SAMPLES
    naive = best_ms([lambda: naive_max_pool_forward_backward(x[:m], POOL_K, go[:m])], 1, clock)[0]
    rows.append((f"max_pool2d 2x2, {POOL_SHAPE}", times[0], times[1] if torch is not None else None, naive * POOL_SHAPE[0] / m))

    version = f"PyTorch {torch.__version__}" if torch is not None else "PyTorch not installed"
    print(
        f"Forward + backward, float32, best of {options.repeat} ({'CPU' if options.cpu_time else 'wall'} time), "
        f"{threads} thread(s) for NumPy's BLAS and for torch; NumPy {np.__version__}, {version}.\n"
        f"The naive loop (per sample and output pixel) is timed on {NAIVE_SAMPLES} samples and scaled to the batch.\n"
    )
    print("| config | ours ms | torch ms | ratio ours/torch | naive ms |")
    print("|---|---:|---:|---:|---:|")
    for label, ours, ref, naive in rows:
        ref_text, ratio = ("n/a", "n/a") if ref is None else (f"{ref:.2f}", f"{ours / ref:.2f}")
        print(f"| {label} | {ours:.2f} | {ref_text} | {ratio} | {naive:.0f} |")


if __name__ == "__main__":
    main()
