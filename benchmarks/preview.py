"""How fast a 1,000,000-step preview is computed, and how big its event file is.

For each schedule: the median time (of 7, after a warm-up call) to compute every step's rate
in one vectorized call, then the time to decimate and encode, and the event file's size with
every point, with the lossless decimation, and with the default 1,000-point cap.

    python benchmarks/preview.py [--steps 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from lr_tb import preview  # noqa: E402
from lr_tb import schedules as S  # noqa: E402


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def size_of(points: preview.Curve) -> int:
    with tempfile.TemporaryDirectory() as directory:
        return os.path.getsize(preview.write(points, directory))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    n = args.steps
    cases = {
        "exponential": S.ExponentialDecay(
            1e-3, 0.9, steps_per_epoch=n // 100, min_learning_rate=1e-6
        ),
        "warmup_cosine": S.WarmupCosineDecay(1e-3, n, 1e-5, n // 20, n // 50, 1e-6),
        "cosine_restarts": S.CosineRestarts(
            1e-3, n, restarts=[0.05, 0.15, 0.30, 0.50], warmup_fraction=0.1, min_learning_rate=1e-6
        ),
        "sgdr": S.CosineRestarts(1e-3, n, first_cycle_steps=n // 100, t_mul=2.0, m_mul=0.8),
        "constant": S.Constant(1e-3),
    }
    print(f"keras {keras.__version__} on {keras.backend.backend()}; {n:,} steps")
    header = (
        f"{'schedule':<16}{'compute ms':>11}{'all points':>12}{'lossless':>16}"
        f"{'max 1000':>18}{'decimate+write ms':>19}"
    )
    print(header)
    for name, schedule in cases.items():
        preview.curve(schedule, 10)  # warm-up
        compute, full = timed(lambda s=schedule: preview.curve(s, n), args.repeats)
        lossless = preview.decimate(full)
        start = time.perf_counter()
        capped = preview.decimate(full, max_points=1000)
        with tempfile.TemporaryDirectory() as directory:
            preview.write(capped, directory)
        decimate_write = time.perf_counter() - start
        print(
            f"{name:<16}{compute * 1000:>11.1f}{size_of(full) / 1e6:>10.1f}MB"
            f"{size_of(lossless) / 1e6:>9.2f} MB/{lossless.steps.size:<6}"
            f"{size_of(capped) / 1e3:>8.1f} kB/{capped.steps.size:<5}"
            f"{decimate_write * 1000:>12.0f}"
        )
    print(
        "sizes: event file; after '/': points kept. compute: one vectorized call for all "
        "steps (median, after a warm-up)."
    )


if __name__ == "__main__":
    main()
