"""A constant rate after a linear warmup from 0: transformers'
`get_constant_schedule_with_warmup`."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule


def check_constant_with_warmup_args(learning_rate_base: Any, warmup_steps: Any) -> dict[str, Any]:
    """Validate `ConstantWithWarmup`'s arguments; returns the checked values by name."""
    return {
        "learning_rate_base": v.check_positive("learning_rate_base", learning_rate_base),
        "warmup_steps": v.check_int("warmup_steps", warmup_steps, 0),
    }


@keras.saving.register_keras_serializable(package="lr_tb")
class ConstantWithWarmup(StepSchedule):
    """A linear warmup from 0, then the same rate at every step.

    With `W = warmup_steps` (transformers' `get_constant_schedule_with_warmup`, whose factor
    multiplies the optimizer's rate, here `learning_rate_base`):
    ```
    step < W:    learning_rate_base * step / max(1, W)
    otherwise:   learning_rate_base
    ```
    The rate is 0 at step 0 when `W > 0` (the first update does nothing, as in transformers).

    Args:
        learning_rate_base: the rate after the warmup, > 0.
        warmup_steps: steps of linear warmup, >= 0.

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.ConstantWithWarmup(1e-3, warmup_steps=100)
        >>> optimizer = keras.optimizers.AdamW(learning_rate=schedule)
    """

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_constant_with_warmup_args)
    _config_keys = ("learning_rate_base", "warmup_steps")

    def __init__(self, learning_rate_base: float, warmup_steps: int = 0) -> None:
        self._set_args(check_constant_with_warmup_args(learning_rate_base, warmup_steps))

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        warmup = float(self.warmup_steps)
        factor = ops.where(step < warmup, step / max(1.0, warmup), 1.0)
        return self.learning_rate_base * factor

    @property
    def floor_learning_rate(self) -> float:
        return 0.0 if self.warmup_steps else self.learning_rate_base
