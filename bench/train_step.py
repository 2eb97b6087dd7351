"""One training step of notebook 07's CNN, course_utils.nn against the same network in PyTorch.

The network is notebook 07's ``make_cnn``: (conv 3x3 pad 1 - ReLU - max-pool 2) x 2 (1 -> 16 -> 32
channels) - flatten - linear 128 -> 10, on the course's 8x8 digits, float32, Adam (lr 3e-3). A step
is what notebook 07's ``train_step`` does: zero the gradients, forward, cross-entropy loss,
backward, optimiser step.

For each thread count, ours and torch each run in their own process (side by side, one after the
other), warm up, and report the median time of ``--steps`` steps. Ours also reports the peak
memory of a step (``tracemalloc``, which sees NumPy's arrays): all that the network, its layers
and the optimiser hold, plus the step's temporaries, measured on a second network after the
timing (the data set is not counted).

Run: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/train_step.py`` (options:
``--threads 1 2``, ``--batch 32``, ``--steps 200``). ``PYTHONPATH=<older checkout>`` measures an
older course_utils the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import tracemalloc

from conv_speed import run_worker  # bench/ is on sys.path when this file runs as a script


def batches(batch: int, count: int):
    """``count`` mini-batches of the digits, as float32 ``(batch, 1, 8, 8)`` images and int labels."""
    import numpy as np

    from course_utils.data import load_dataset

    digits = load_dataset("digits")
    images = (digits["images"] / 16.0).astype(np.float32)[:, None]
    labels = digits["labels"].astype(np.int64)
    rng = np.random.default_rng(0)
    for _ in range(count):
        pick = rng.choice(len(images), batch, replace=False)
        yield np.ascontiguousarray(images[pick]), labels[pick]


def ours(threads: int, batch: int, steps: int) -> dict:
    from threadpoolctl import threadpool_limits

    from course_utils import nn

    threadpool_limits(threads, user_api="blas")

    def network():
        r = __import__("numpy").random.default_rng(0)
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, rng=r),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, rng=r),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 10, rng=r),
        )
        loss_fn, optimizer = nn.CrossEntropyLoss(), nn.Adam(model.parameters(), lr=3e-3)

        def step(X, y):
            optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            model.backward(loss_fn.backward())
            optimizer.step()
            return float(loss)

        return step

    data = list(batches(batch, steps + 20))
    step, times = network(), []
    for k, (X, y) in enumerate(data):
        start = time.perf_counter()
        step(X, y)
        if k >= 20:
            times.append(1000 * (time.perf_counter() - start))
    # Peak memory: everything the network, its layers and the optimiser hold, plus the step's
    # temporaries (tracemalloc sees NumPy's arrays; the data set is not counted), in a second
    # network so that tracing does not slow the timed steps.
    tracemalloc.start()
    step = network()
    for X, y in data[:5]:
        step(X, y)
    tracemalloc.reset_peak()
    step(*data[5])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"ms": statistics.median(times), "peak_kib": peak / 1024}


def torch_side(threads: int, batch: int, steps: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tn = torch.nn
    model = tn.Sequential(
        tn.Conv2d(1, 16, 3, padding=1),
        tn.ReLU(),
        tn.MaxPool2d(2),
        tn.Conv2d(16, 32, 3, padding=1),
        tn.ReLU(),
        tn.MaxPool2d(2),
        tn.Flatten(),
        tn.Linear(32 * 2 * 2, 10),
    )
    loss_fn, optimizer = tn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=3e-3)

    def step(X, y):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        return float(loss)

    data = [(torch.from_numpy(X), torch.from_numpy(y)) for X, y in batches(batch, steps + 20)]
    times = []
    for k, (X, y) in enumerate(data):
        start = time.perf_counter()
        step(X, y)
        if k >= 20:
            times.append(1000 * (time.perf_counter() - start))
    return {"ms": statistics.median(times), "torch": torch.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--worker", choices=["ours", "torch"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        side = ours if options.worker == "ours" else torch_side
        print(json.dumps(side(options.threads[0], options.batch, options.steps)))
        return
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    print(
        f"Notebook 07's CNN, one training step (Adam), batch {options.batch}, float32, median of "
        f"{options.steps} steps after 20; load average {' '.join(load)}.\n"
    )
    print("| threads | ours ms | torch ms | ratio | ours peak memory of a step (KiB) |")
    print("|---:|---:|---:|---:|---:|")
    sizes = ("--batch", str(options.batch), "--steps", str(options.steps))
    for t in options.threads:
        mine, theirs = run_worker(__file__, "ours", t, *sizes), run_worker(__file__, "torch", t, *sizes)
        ref = "n/a" if theirs is None else f"{theirs['ms']:.3f}"
        ratio = "n/a" if theirs is None else f"{mine['ms'] / theirs['ms']:.2f}"
        print(f"| {t} | {mine['ms']:.3f} | {ref} | {ratio} | {mine['peak_kib']:.0f} |")


if __name__ == "__main__":
    main()
