"""A linear warmup in front of any schedule, lr_tb's or Keras' own."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.composite import CompositeSchedule, bounds, check_schedule, rate_of


@keras.saving.register_keras_serializable(package="lr_tb")
class Warmup(CompositeSchedule):
    """A linear warmup, then `schedule` from its own step 0.

    With `W = warmup_steps`, `S0 = warmup_learning_rate`:
    ```
    step < W:    S0 + (schedule(0) - S0) * step / W
    otherwise:   schedule(step - W)
    ```
    So the rate rises in a straight line to the wrapped schedule's first rate and the wrapped
    schedule then runs as if the warmup were not there (as optax's `join_schedules` starts
    each schedule at its own step 0): a `keras.optimizers.schedules.CosineDecay(1e-3,
    decay_steps=900)` behind a 100-step warmup ends at step 1000.

    Args:
        schedule: any `keras.optimizers.schedules.LearningRateSchedule` (lr_tb's or Keras').
        warmup_steps: steps of warmup, an integer >= 0.
        warmup_learning_rate: the rate at step 0, >= 0.

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.Warmup(
        ...     keras.optimizers.schedules.ExponentialDecay(1e-3, 1000, 0.5), warmup_steps=200)
        >>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
    """

    _config_keys = ("schedule", "warmup_steps", "warmup_learning_rate")
    _schedule_keys = ("schedule",)

    def __init__(
        self,
        schedule: keras.optimizers.schedules.LearningRateSchedule,
        warmup_steps: int,
        warmup_learning_rate: float = 0.0,
    ) -> None:
        self.schedule = check_schedule("schedule", schedule)
        self.warmup_steps = v.check_int("warmup_steps", warmup_steps, 0)
        self.warmup_learning_rate = v.check_non_negative(
            "warmup_learning_rate", warmup_learning_rate
        )

    def parts(self) -> list[Any]:
        return [self.schedule]

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        warmup = float(self.warmup_steps)
        after = rate_of(self.schedule, ops.maximum(step - warmup, 0.0), dtype, ops)
        if not self.warmup_steps:
            return after
        start = self.warmup_learning_rate
        target = rate_of(self.schedule, ops.zeros((), dtype=dtype), dtype, ops)
        return ops.where(step < warmup, start + (target - start) * (step / warmup), after)

    def __repr__(self) -> str:
        return (
            f"Warmup({self.schedule!r}, warmup_steps={self.warmup_steps!r}, "
            f"warmup_learning_rate={self.warmup_learning_rate!r})"
        )

    @property
    def peak_learning_rate(self) -> float:
        peak, _ = bounds(self.schedule, "Warmup")
        return max(peak, self.warmup_learning_rate) if self.warmup_steps else peak

    @property
    def floor_learning_rate(self) -> float:
        _, floor = bounds(self.schedule, "Warmup")
        return min(floor, self.warmup_learning_rate) if self.warmup_steps else floor
