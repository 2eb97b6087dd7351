"""How fast is course_utils.functional? Forward + backward of conv2d and max_pool2d, float32,
against PyTorch on the CPU, at 1 and 2 threads.

For each thread count T, two worker processes run side by side, one after the other: ours
(course_utils.functional: what ``nn.Conv2d`` / ``nn.MaxPool2d`` run in training, the forward keeping
its columns / argmax for the backward, ``conv2d_saving`` + ``conv2d_backward_saved``; and, in the
column "stateless", ``conv2d`` + ``conv2d_backward``, which builds them again) and torch
(torch.nn.functional forward + autograd backward; skipped if PyTorch is not installed: the course
never needs it). Each worker limits NumPy's BLAS (and our data movement, which follows it) or torch
to T threads, warms up, and reports the median of ``--repeat`` timings of every config. Ours also
measures this machine's matrix-multiply throughput at T threads (a large float32 ``a @ b``): a
convolution is three matrix products (forward, weight gradient, input gradient) of ``2 * N * C_out *
H_out * W_out * C_in/G * kH * kW`` flops each, so ``flops / time / throughput`` is the fraction of
the machine's BLAS speed a config reaches, the limit a NumPy implementation can approach (pooling
does no products).

Run: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/conv_speed.py`` (OpenBLAS on its
native kernel; the table says which kernel ran) on a quiet machine. Options: ``--threads 1 2``,
``--repeat 7``. Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CONV_CONFIGS = [
    # label, (N, C_in, H, W), C_out, K, stride, padding, dilation
    ("c1 LeNet: N=64, 1x28x28 -> 8, K=5, pad 2", (64, 1, 28, 28), 8, 5, 1, 2, 1),
    ("c2: N=64, 16x14x14 -> 32, K=3, pad 1", (64, 16, 14, 14), 32, 3, 1, 1, 1),
    ("c3 CIFAR: N=128, 3x32x32 -> 32, K=3, pad 1", (128, 3, 32, 32), 32, 3, 1, 1, 1),
    ("c4: c2 with stride 2", (64, 16, 14, 14), 32, 3, 2, 1, 1),
    ("c5: c2 with dilation 2", (64, 16, 14, 14), 32, 3, 1, 1, 2),
]
POOL_SHAPE = (128, 32, 32, 32)
POOL_CONFIGS = [(2, 2), (2, 1), (3, 2), (3, 1)]  # kernel, stride
GEMM_SIZE = 1024


def conv_flops(shape, c_out, k, stride, pad, dil) -> float:
    """Flops of forward + backward: three products of the forward's size."""
    n, c_in, h, w = shape
    h_out = (h + 2 * pad - dil * (k - 1) - 1) // stride + 1
    w_out = (w + 2 * pad - dil * (k - 1) - 1) // stride + 1
    return 3 * 2.0 * n * c_out * h_out * w_out * c_in * k * k


def median_ms(fn, repeat: int) -> float:
    for _ in range(3):  # warm-up
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def pool_label(k: int, s: int) -> str:
    return f"max_pool2d {k}x{k} stride {s}, {POOL_SHAPE}"


def worker(side: str, threads: int, repeat: int) -> dict:
    """Time every config on one side at ``threads`` threads; return labels -> median ms."""
    import numpy as np

    rng = np.random.default_rng(0)
    result = {"times": {}, "stateless": {}}
    if side == "ours":
        from threadpoolctl import threadpool_info, threadpool_limits

        from course_utils import functional as F
        from course_utils.functional import conv as C
        from course_utils.functional import pool as P

        threadpool_limits(threads, user_api="blas")
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        result["blas"] = ", ".join(f"{i['internal_api']} {i['version']} ({i.get('architecture')} kernel)" for i in blas)
        a = rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
        result["gemm_gflops"] = 2 * GEMM_SIZE**3 / median_ms(lambda: a @ a, repeat) / 1e6
        result["numpy"] = np.__version__

        def conv(x, w, b, go, args):  # what nn.Conv2d runs in training, then the stateless API
            spare = []

            def layer():  # the last step's used-up columns lend their memory, as in nn.Conv2d
                out, saved = C.conv2d_saving(x, w, b, **args, spare=spare.pop() if spare else None)
                grads = C.conv2d_backward_saved(saved, go, x, w, b, **args)
                spare.append(saved)
                return grads

            return layer, lambda: (F.conv2d(x, w, b, **args), F.conv2d_backward(go, x, w, b, **args))

        def pool(x, go, k, s):
            def layer():
                out, saved = P.max_pool2d_saving(x, k, s)
                return P.max_pool2d_backward_saved(saved, go, x, k, s)

            return layer, lambda: (F.max_pool2d(x, k, s), F.max_pool2d_backward(go, x, k, s))
    else:
        import torch
        import torch.nn.functional as TF

        torch.set_num_threads(threads)
        result["torch"] = torch.__version__

        def tensors(*arrays):
            return [torch.from_numpy(a).requires_grad_(True) for a in arrays]

        def conv(x, w, b, go, args):
            tx, tw, tb = tensors(x, w, b)
            tgo = torch.from_numpy(go)
            return (lambda: torch.autograd.grad(TF.conv2d(tx, tw, tb, **args), (tx, tw, tb), tgo),)

        def pool(x, go, k, s):
            (tx,), tgo = tensors(x), torch.from_numpy(go)
            return (lambda: torch.autograd.grad(TF.max_pool2d(tx, k, s), (tx,), tgo),)

    def record(label, functions):
        result["times"][label] = median_ms(functions[0], repeat)
        if len(functions) > 1:
            result["stateless"][label] = median_ms(functions[1], repeat)

    for label, shape, c_out, k, stride, pad, dil in CONV_CONFIGS:
        x = rng.standard_normal(shape, dtype=np.float32)
        w = rng.standard_normal((c_out, shape[1], k, k), dtype=np.float32)
        b = rng.standard_normal(c_out, dtype=np.float32)
        h_out = (shape[2] + 2 * pad - dil * (k - 1) - 1) // stride + 1
        go = rng.standard_normal((shape[0], c_out, h_out, h_out), dtype=np.float32)
        args = dict(stride=stride, padding=pad, dilation=dil)
        record(label, conv(x, w, b, go, args))
    x = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    for k, s in POOL_CONFIGS:
        size = (POOL_SHAPE[2] - k) // s + 1
        go = rng.standard_normal((*POOL_SHAPE[:2], size, size), dtype=np.float32)
        record(pool_label(k, s), pool(x, go, k, s))
    return result


def run_worker(script: str, side: str, threads: int, *arguments: str) -> dict | None:
    """Run ``script --worker side --threads T arguments`` in its own process with T threads; return
    the JSON it prints (None when the side is torch and PyTorch is not installed)."""
    env = dict(
        os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads)
    )
    command = [sys.executable, script, "--worker", side, "--threads", str(threads), *arguments]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        if side == "torch" and "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"{side} worker failed:\n{done.stderr}")
    return json.loads(done.stdout)


def merge(results: list[dict | None]) -> dict | None:
    """One worker result from several rounds: every time (and the matmul throughput) their median."""
    if results[0] is None:
        return None
    merged = dict(results[0])
    for key in ("times", "stateless"):
        merged[key] = {label: statistics.median(r[key][label] for r in results) for label in results[0][key]}
    if "gemm_gflops" in merged:
        merged["gemm_gflops"] = statistics.median(r["gemm_gflops"] for r in results)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the pair of workers this many times; report each time's median over the rounds",
    )
    parser.add_argument("--worker", choices=["ours", "torch"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        print(json.dumps(worker(options.worker, options.threads[0], options.repeat)))
        return
    load_before = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    repeat = ("--repeat", str(options.repeat))
    rounds = [
        {
            t: (run_worker(__file__, "ours", t, *repeat), run_worker(__file__, "torch", t, *repeat))
            for t in options.threads
        }
        for _ in range(options.rounds)
    ]
    runs = {t: tuple(merge([r[t][side] for r in rounds]) for side in (0, 1)) for t in options.threads}
    load_after = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    ours_any, torch_any = runs[options.threads[0]]
    flops = {label: conv_flops(shape, c_out, k, s, p, d) for label, shape, c_out, k, s, p, d in CONV_CONFIGS}
    print(
        f"Forward + backward, float32, median of {options.repeat} after warm-up"
        f"{f' (then the median over {options.rounds} rounds)' if options.rounds > 1 else ''}, "
        "each side in its own process; "
        f"NumPy {ours_any['numpy']} with {ours_any['blas']}; "
        f"{'PyTorch ' + torch_any['torch'] if torch_any else 'PyTorch not installed'}; "
        f"{os.cpu_count()} CPUs; load average {' '.join(load_before)} before, {' '.join(load_after)} after.\n"
        "Matrix-multiply throughput measured here (float32 1024x1024 @ 1024x1024): "
        + ", ".join(f"{runs[t][0]['gemm_gflops']:.0f} GFLOP/s at {t} thread(s)" for t in options.threads)
        + ". '% of matmul' is the convolution's flops / time / that throughput.\n"
    )
    head = "| config |" + "".join(
        f" ours ms ({t}T) | torch ms ({t}T) | ratio ({t}T) | % of matmul ({t}T) | stateless ms ({t}T) |"
        for t in options.threads
    )
    print(head)
    print("|---|" + "---:|" * 5 * len(options.threads))
    labels = list(ours_any["times"])
    for label in labels:
        row = f"| {label} |"
        for t in options.threads:
            ours, ref = runs[t]
            mine = ours["times"][label]
            other = ref["times"][label] if ref else None
            ratio = "n/a" if other is None else f"{mine / other:.2f}"
            share = (
                f"{100 * flops[label] / (mine / 1000) / (ours['gemm_gflops'] * 1e9):.0f}%" if label in flops else "n/a"
            )
            row += (
                f" {mine:.2f} | {'n/a' if other is None else f'{other:.2f}'} | {ratio} | {share} "
                f"| {ours['stateless'][label]:.2f} |"
            )
        print(row)
    for t in options.threads:
        ours, ref = runs[t]
        if ref:
            ratios = sorted(ours["times"][k] / ref["times"][k] for k in labels if k in flops)
            print(
                f"\n{t} thread(s): convolution ratios median {statistics.median(ratios):.2f}, max {ratios[-1]:.2f}; "
                f"pooling max {max(ours['times'][k] / ref['times'][k] for k in labels if k not in flops):.2f}"
            )


if __name__ == "__main__":
    main()
