"""The warmup ⧺ hold ⧺ cosine piece every composite schedule is made of, in one place.

The piece is written as coefficients (computed once, from Python floats, NumPy arrays or
tensors) and an evaluation with `keras.ops` that runs in the compiled train step on every
backend. `WarmupCosineDecay` folds its coefficients into Python floats; `CosineRestarts`
keeps one row of coefficients per cycle and looks the row up per step. Few ops matter: on
TensorFlow's CPU graph executor every op costs microseconds at every train step, and a
1,000,000-step preview pays each op over the whole array.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from keras import ops

# Lengths are divided by max(length, _TINY): a zero-length piece is never selected, and this
# keeps the unselected branch of `ops.where` finite.
_TINY = 1e-12


def _positive(length: Any, ops: Any = ops) -> Any:
    if isinstance(length, (int, float)):
        return max(float(length), _TINY)
    if isinstance(length, np.ndarray):
        return np.maximum(length, _TINY)
    return ops.maximum(length, _TINY)


class Coefficients(NamedTuple):
    """warmup ⧺ hold ⧺ cosine as `t -> rate`; fields are floats, arrays or tensors alike."""

    warmup: Any  # t < warmup: linear
    linear0: Any  # rate at t = 0
    linear1: Any  # slope of the warmup
    cosine0: Any  # floor + half the amplitude
    cosine1: Any  # half the amplitude
    angle1: Any  # pi / cosine length
    decay_start: Any  # warmup + hold: where the cosine starts
    length: Any  # t >= length: floor
    floor: Any


def coefficients(
    peak: Any, length: Any, warmup_start: Any, warmup: Any, hold: Any, floor: Any, ops: Any = ops
) -> Coefficients:
    """The coefficients of

    ```
    t < warmup:          warmup_start + (peak - warmup_start) * t / warmup
    t < warmup + hold:   peak
    t < length:          floor + 0.5 * (peak - floor)
                             * (1 + cos(pi * (t - warmup - hold) / (length - warmup - hold)))
    t >= length:         floor
    ```
    The hold needs no branch of its own: the cosine's angle is clipped to [0, pi], and at
    angle 0 the cosine is the peak.
    """
    half = (peak - floor) * 0.5
    angle1 = math.pi / _positive(length - warmup - hold, ops)
    return Coefficients(
        warmup=warmup,
        linear0=warmup_start,
        linear1=(peak - warmup_start) / _positive(warmup, ops),
        cosine0=floor + half,
        cosine1=half,
        angle1=angle1,
        decay_start=warmup + hold,
        length=length,
        floor=floor,
    )


def rate_at(t: Any, c: Coefficients, ops: Any = ops) -> Any:
    """The rate at `t` (a float tensor, steps since the piece started), with `ops`."""
    # (t - decay_start) first: exact for whole steps, where `t * angle1 - decay_start *
    # angle1` would lose the angle's low bits to the cancellation (10 float32 ulps of the peak
    # for a 20-step cosine after 300 steps)
    angle = ops.clip((t - c.decay_start) * c.angle1, 0.0, math.pi)
    decayed = c.cosine0 + c.cosine1 * ops.cos(angle)
    rate = ops.where(t < c.warmup, c.linear0 + c.linear1 * t, decayed)
    # Only a zero-length cosine (warmup + hold == length) needs this: its clipped angle
    # can't tell t == length (floor) from t == warmup + hold (peak).
    return ops.where(t >= c.length, c.floor, rate)


def warmup_hold_cosine(
    t: Any,
    peak: Any,
    length: Any,
    warmup_start: Any,
    warmup: Any,
    hold: Any,
    floor: Any,
    ops: Any = ops,
) -> Any:
    """Linear warmup ⧺ hold at the peak ⧺ cosine from the peak to the floor ⧺ floor."""
    c = coefficients(peak, length, warmup_start, warmup, hold, floor, ops)
    return rate_at(t, c, ops)
