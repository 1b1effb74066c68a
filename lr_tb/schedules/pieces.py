"""The simple curve pieces the composite schedules are joined from.

Each function is element-wise over float tensors (any shape, broadcastable arguments), written
with `keras.ops` so it runs in the compiled train step on every backend. `t` is the step
relative to the start of the piece. Arguments may also be Python floats: then the constant
parts are folded in Python, which keeps the per-step graph small (on TensorFlow's CPU graph
executor every op costs microseconds, at every step).
"""

from __future__ import annotations

import math
from typing import Any

from keras import ops

# Lengths are divided by max(length, _TINY): a zero-length piece is never selected, and this
# keeps the unselected branch of `ops.where` finite.
_TINY = 1e-12


def _positive(length: Any) -> Any:
    if isinstance(length, (int, float)):
        return max(float(length), _TINY)
    return ops.maximum(length, _TINY)


def linear(t: Any, start: Any, end: Any, length: Any) -> Any:
    """`start + (end - start) * t / length`: `start` at t=0, `end` at t=length."""
    return start + t * ((end - start) / _positive(length))


def cosine(t: Any, start: Any, end: Any, length: Any) -> Any:
    """`end + 0.5 * (start - end) * (1 + cos(pi * t / length))`, t clipped to [0, length].

    `start` at t <= 0, the midpoint at t=length/2, `end` at t >= length.
    """
    progress = ops.clip(t * (math.pi / _positive(length)), 0.0, math.pi)
    half = (start - end) * 0.5
    return (end + half) + half * ops.cos(progress)


def warmup_hold_cosine(
    t: Any, peak: Any, length: Any, warmup_start: Any, warmup: Any, hold: Any, floor: Any
) -> Any:
    """Linear warmup ⧺ hold at the peak ⧺ cosine from the peak to the floor ⧺ floor.

    ```
    t < warmup:                  linear(t, warmup_start, peak, warmup)
    t < warmup + hold:           peak
    t < length:                  cosine(t - warmup - hold, peak, floor, length - warmup - hold)
    t >= length:                 floor
    ```
    The hold needs no branch of its own: the cosine piece is clipped at its start, where it
    equals the peak.
    """
    decay_start = warmup + hold
    decayed = cosine(t - decay_start, peak, floor, length - decay_start)
    rate = ops.where(t < warmup, linear(t, warmup_start, peak, warmup), decayed)
    # Only a zero-length cosine (decay_start == length) needs this: its clip can't tell
    # t == length (floor) from t == decay_start (peak).
    return ops.where(t >= length, floor, rate)
