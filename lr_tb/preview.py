"""See a schedule without training: its whole curve to TensorBoard, and optionally a PNG.

A schedule is a pure function of the step, so the curve of a million steps is one vectorized
call. Written one point per step it is ~53 bytes a point (53 MB for 1,000,000 steps), so
`decimate` thins it first:

* lossless (`tolerance=0`, the default): drops only points that lie exactly on the straight
  line through their two neighbours (inside a constant stretch such as a hold, a floor or an
  epoch of exponential decay, or inside a linear warmup). Every change point stays, so
  TensorBoard draws exactly the same curve.
* lossy (`tolerance > 0`, or more points than `max_points`): keeps the points that matter
  most (Ramer-Douglas-Peucker, measured vertically, worst segment first) until the line
  TensorBoard draws stays within `tolerance * (max - min)` of the true rate at every step,
  or `max_points` are kept. Jumps (restarts, epoch edges) are the first points kept.

Why `max_points`: TensorBoard keeps a *sample* of each scalar, 1,000 points by default
(`--samples_per_plugin scalars=1000`, reservoir sampling), so a longer series shows a random
subset, which can miss a restart. The preview's default of 1,000 points is drawn exactly as
written.
"""

from __future__ import annotations

import heapq
import inspect
import os
import textwrap
import time
from dataclasses import dataclass

import numpy as np

from lr_tb import tags
from lr_tb.event_writer import EventWriter
from lr_tb.schedules import evaluate, registry


@dataclass
class Curve:
    steps: np.ndarray  # int64, the steps kept
    values: np.ndarray  # float32, the rate at each kept step
    total: int  # how many steps the curve covers
    max_error: float = 0.0  # the largest vertical miss of the drawn line (0: lossless)


def curve(schedule, steps: int) -> Curve:
    """The rate at every step `0 .. steps-1`."""
    evaluate(schedule, [0])  # the backend's first call pays one-off set-up: keep it out
    all_steps = np.arange(steps, dtype=np.int64)
    return Curve(all_steps, evaluate(schedule, all_steps), steps)


def _lossless_keep(values: np.ndarray) -> np.ndarray:
    """Mask of the points that are not exactly on the line through their neighbours."""
    keep = np.ones(values.shape, dtype=bool)
    if values.size > 2:
        v = values.astype(np.float64)
        keep[1:-1] = (v[2:] - v[1:-1]) != (v[1:-1] - v[:-2])
    return keep


def _rdp_keep(
    steps: np.ndarray, values: np.ndarray, tolerance: float, max_points: int | None
) -> tuple[np.ndarray, float]:
    """Ramer-Douglas-Peucker with vertical distance, worst segment first: keep splitting the
    segment whose straight line misses the curve most, until every miss is <= `tolerance` or
    `max_points` are kept. Returns the mask and the largest miss left."""
    x = steps.astype(np.float64)
    y = values.astype(np.float64)
    keep = np.zeros(values.shape, dtype=bool)
    keep[0] = keep[-1] = True
    heap: list[tuple[float, int, int, int]] = []

    def push(a: int, b: int) -> None:
        if b - a < 2:
            return
        line = y[a] + (y[b] - y[a]) * (x[a + 1 : b] - x[a]) / (x[b] - x[a])
        error = np.abs(y[a + 1 : b] - line)
        worst = int(np.argmax(error))
        heapq.heappush(heap, (-float(error[worst]), a, b, a + 1 + worst))

    push(0, len(values) - 1)
    kept = 2
    while heap and -heap[0][0] > tolerance and (max_points is None or kept < max_points):
        _, a, b, mid = heapq.heappop(heap)
        keep[mid] = True
        kept += 1
        push(a, mid)
        push(mid, b)
    return keep, (-heap[0][0] if heap else 0.0)


def decimate(full: Curve, tolerance: float = 0.0, max_points: int | None = None) -> Curve:
    """Thin a curve (see the module docstring). `tolerance` is relative to max - min;
    `max_points` caps the points kept (the most significant first). The returned curve's
    `max_error` is the largest vertical miss of the drawn line, in rate units."""
    if not (tolerance >= 0 and np.isfinite(tolerance)):
        raise ValueError(f"Argument `tolerance` must be >= 0. Received: tolerance={tolerance!r}")
    if max_points is not None and max_points < 2:
        raise ValueError(f"Argument `max_points` must be >= 2. Received: max_points={max_points}")
    keep = _lossless_keep(full.values)
    steps, values = full.steps[keep], full.values[keep]
    error = 0.0
    too_many = max_points is not None and values.size > max_points
    if (tolerance > 0 or too_many) and values.size > 2:
        span = float(values.max() - values.min())
        keep, error = _rdp_keep(steps, values, tolerance * span, max_points)
        steps, values = steps[keep], values[keep]
        error = _drawn_error(full, steps, values) if error else 0.0
    return Curve(steps, values, full.total, error)


def _drawn_error(full: Curve, steps: np.ndarray, values: np.ndarray) -> float:
    """The largest vertical miss, at any step, of the line through the kept points."""
    drawn = np.interp(full.steps, steps, values.astype(np.float64))
    return float(np.max(np.abs(drawn - full.values.astype(np.float64))))


def write(points: Curve, run_dir: str, tag: str = tags.LEARNING_RATE) -> str:
    """Write the points to a new event file in `run_dir`; returns its path."""
    writer = EventWriter(run_dir)
    now = time.time()
    writer.write(tag, points.steps, points.values, np.full(points.steps.shape, now))
    writer.close()
    return writer.path


def title(schedule) -> str:
    """`Name(arg=value, ...)` with only the arguments that differ from their defaults."""
    defaults = {
        p.name: p.default for p in inspect.signature(type(schedule).__init__).parameters.values()
    }
    args = [f"{k}={v!r}" for k, v in schedule.get_config().items() if defaults.get(k) != v]
    return textwrap.fill(f"{type(schedule).__name__}({', '.join(args)})", width=90)


def save_png(points: Curve, path: str, title: str) -> None:
    """A matplotlib figure like the article's: x = step, y = learning rate."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("--png needs matplotlib: pip install 'lr_tb[plot]'") from error
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
    ax.plot(points.steps, points.values, linewidth=1.4)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title, fontsize=8)
    ax.grid(alpha=0.3)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def parameters(name: str) -> list[tuple[str, str, object]]:
    """(name, annotation, default) of each constructor argument of a named schedule; the
    default is `inspect.Parameter.empty` for required ones."""
    signature = inspect.signature(registry.schedule_class(name).__init__)
    out = []
    for param in list(signature.parameters.values())[1:]:
        annotation = (
            param.annotation if isinstance(param.annotation, str) else str(param.annotation)
        )
        out.append((param.name, annotation, param.default))
    return out
