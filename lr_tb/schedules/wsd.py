"""Warmup-stable-decay: transformers' `get_wsd_schedule` (MiniCPM; Hägele et al. 2024)."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule

SHAPES = ("linear", "cosine", "1-sqrt")


def check_wsd_args(
    learning_rate_base: Any,
    decay_steps: Any,
    total_steps: Any,
    warmup_steps: Any,
    stable_steps: Any,
    warmup_type: Any,
    decay_type: Any,
    min_lr_ratio: Any,
    num_cycles: Any,
) -> dict[str, Any]:
    """Validate `WarmupStableDecay`'s arguments; `decay_steps` and `total_steps` may be None
    (not known yet). Returns the checked values by argument name."""
    base = v.check_positive("learning_rate_base", learning_rate_base)
    decay = v.check_optional_int("decay_steps", decay_steps, 0)
    total = v.check_optional_int("total_steps", total_steps, 1)
    warmup = v.check_int("warmup_steps", warmup_steps, 0)
    stable = v.check_optional_int("stable_steps", stable_steps, 0)
    if total is not None and stable is not None:
        raise ValueError(
            "Give `total_steps` or `stable_steps`, not both (the stable phase is total_steps - "
            f"warmup_steps - decay_steps). Received: total_steps={total_steps!r}, "
            f"stable_steps={stable_steps!r}"
        )
    warm_shape = v.check_choice("warmup_type", warmup_type, SHAPES)
    decay_shape = v.check_choice("decay_type", decay_type, SHAPES)
    ratio = v.check_in_range("min_lr_ratio", min_lr_ratio, 0.0, 1.0)
    cycles = v.check_positive("num_cycles", num_cycles)
    if total is not None and decay is not None and warmup + decay > total:
        raise ValueError(
            "Arguments `warmup_steps` + `decay_steps` must be <= total_steps. Received: "
            f"warmup_steps={warmup}, decay_steps={decay}, total_steps={total}"
        )
    return {
        "learning_rate_base": base,
        "decay_steps": decay,
        "total_steps": total,
        "warmup_steps": warmup,
        "stable_steps": stable,
        "warmup_type": warm_shape,
        "decay_type": decay_shape,
        "min_lr_ratio": ratio,
        "num_cycles": cycles,
    }


def _rise(shape: str, p: Any, ops: Any = ops) -> Any:
    """The warmup's factor at progress `p` in [0, 1]."""
    if shape == "linear":
        return p
    if shape == "cosine":
        return 0.5 * (1.0 - ops.cos(math.pi * p))
    return 1.0 - ops.sqrt(1.0 - p)


def _fall(shape: str, p: Any, num_cycles: float, ops: Any = ops) -> Any:
    """The decay's factor at progress `p` in [0, 1]."""
    if shape == "linear":
        return 1.0 - p
    if shape == "cosine":
        return 0.5 * (1.0 + ops.cos((math.pi * num_cycles * 2.0) * p))
    return 1.0 - ops.sqrt(p)


@keras.saving.register_keras_serializable(package="lr_tb")
class WarmupStableDecay(StepSchedule):
    """Warmup, a long stable phase at the peak, then a decay to a floor (WSD).

    With `W = warmup_steps`, `S = stable_steps` (default `total_steps - W - D`),
    `D = decay_steps`, `m = min_lr_ratio`, `B = learning_rate_base`, exactly transformers'
    `get_wsd_schedule` (its factor multiplies the optimizer's rate, here `B`):
    ```
    step < W:            p = step / max(1, W)
                         B * max(0, rise(p) * (1 - m) + m)
    step < W + S:        B
    step < W + S + D:    p = (step - W - S) / max(1, D)
                         B * max(0, fall(p) * (1 - m) + m)
    otherwise:           B * m
    ```
    with `rise(p)` = `p` ("linear"), `0.5 * (1 - cos(pi * p))` ("cosine") or
    `1 - sqrt(1 - p)` ("1-sqrt"), and `fall(p)` = `1 - p` ("linear"),
    `0.5 * (1 + cos(2 * pi * num_cycles * p))` ("cosine") or `1 - sqrt(p)` ("1-sqrt",
    Hägele et al. 2024's cooldown). The warmup starts at `B * m`, not 0.

    Args:
        learning_rate_base: the rate of the stable phase, > 0.
        decay_steps: steps of the decay phase, >= 0.
        total_steps: the whole schedule (warmup + stable + decay), >= warmup_steps +
            decay_steps; give it or `stable_steps`, not both.
        warmup_steps: steps of warmup, >= 0.
        stable_steps: steps of the stable phase, >= 0, instead of `total_steps`.
        warmup_type: the warmup's shape: "linear" (default), "cosine" or "1-sqrt".
        decay_type: the decay's shape: "cosine" (default), "linear" or "1-sqrt".
        min_lr_ratio: the floor as a fraction of `learning_rate_base`, in [0, 1].
        num_cycles: cosine waves of the "cosine" decay, > 0 (0.5: one half-cosine down).

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.WarmupStableDecay(
        ...     3e-4, decay_steps=2000, total_steps=10_000, warmup_steps=500,
        ...     decay_type="1-sqrt")
    """

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_wsd_args)
    _config_keys = (
        "learning_rate_base",
        "decay_steps",
        "total_steps",
        "warmup_steps",
        "stable_steps",
        "warmup_type",
        "decay_type",
        "min_lr_ratio",
        "num_cycles",
    )

    def __init__(
        self,
        learning_rate_base: float,
        decay_steps: int,
        total_steps: int | None = None,
        warmup_steps: int = 0,
        stable_steps: int | None = None,
        warmup_type: str = "linear",
        decay_type: str = "cosine",
        min_lr_ratio: float = 0.0,
        num_cycles: float = 0.5,
    ) -> None:
        if decay_steps is None:
            v.check_int("decay_steps", decay_steps, 0)
        if total_steps is None and stable_steps is None:
            raise ValueError(
                "One of the arguments `total_steps` and `stable_steps` must be given. "
                "Received: total_steps=None, stable_steps=None"
            )
        self._set_args(
            check_wsd_args(
                learning_rate_base,
                decay_steps,
                total_steps,
                warmup_steps,
                stable_steps,
                warmup_type,
                decay_type,
                min_lr_ratio,
                num_cycles,
            )
        )

    @property
    def stable_length(self) -> int:
        """The stable phase's length in steps."""
        if self.stable_steps is not None:
            return self.stable_steps
        return self.total_steps - self.warmup_steps - self.decay_steps

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        m = self.min_lr_ratio
        warmup, decay = float(self.warmup_steps), float(self.decay_steps)
        decay_start = warmup + float(self.stable_length)
        up = ops.clip(step / max(1.0, warmup), 0.0, 1.0)
        up = ops.maximum(_rise(self.warmup_type, up, ops) * (1.0 - m) + m, 0.0)
        down = ops.clip((step - decay_start) / max(1.0, decay), 0.0, 1.0)
        down = ops.maximum(_fall(self.decay_type, down, self.num_cycles, ops) * (1.0 - m) + m, 0.0)
        factor = ops.where(step < decay_start + decay, down, m)
        factor = ops.where(step < decay_start, 1.0, factor)
        factor = ops.where(step < warmup, up, factor)
        return self.learning_rate_base * factor

    @property
    def floor_learning_rate(self) -> float:
        return self.learning_rate_base * self.min_lr_ratio
