"""The simple curve pieces the composite schedules are joined from.

Each function is element-wise over float tensors (any shape, broadcastable arguments), written
with `keras.ops` so it runs in the compiled train step on every backend. `t` is the step
relative to the start of the piece.
"""

from __future__ import annotations

import math
from typing import Any

from keras import ops

# Lengths are divided by max(length, _TINY): a zero-length piece is never selected, and this
# keeps the unselected branch of `ops.where` finite.
_TINY = 1e-12


def linear(t: Any, start: Any, end: Any, length: Any) -> Any:
    """`start + (end - start) * t / length`: `start` at t=0, `end` at t=length."""
    return start + (end - start) * t / ops.maximum(length, _TINY)


def cosine(t: Any, start: Any, end: Any, length: Any) -> Any:
    """`end + 0.5 * (start - end) * (1 + cos(pi * t / length))`, t clipped to [0, length].

    `start` at t=0, the midpoint at t=length/2, `end` at t=length and after.
    """
    progress = ops.clip(t / ops.maximum(length, _TINY), 0.0, 1.0)
    return end + 0.5 * (start - end) * (1.0 + ops.cos(math.pi * progress))


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
    """
    decay_start = warmup + hold
    rate = ops.where(
        t < warmup,
        linear(t, warmup_start, peak, warmup),
        ops.where(
            t < decay_start,
            peak + ops.zeros_like(t),
            cosine(t - decay_start, peak, floor, length - decay_start),
        ),
    )
    return ops.where(t >= length, floor + ops.zeros_like(t), rate)
