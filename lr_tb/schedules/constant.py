"""A constant learning rate, as a schedule (the baseline of a schedule search)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule


@keras.saving.register_keras_serializable(package="lr_tb")
class Constant(StepSchedule):
    """The same rate at every step.

    ```
    rate(step) = learning_rate
    ```

    Args:
        learning_rate: the rate, a finite number > 0.

    Raises:
        TypeError / ValueError: `learning_rate` is not a finite number > 0.

    Example:
        >>> schedule = lr_tb.schedules.Constant(1e-3)
        >>> round(float(schedule(10)), 6)
        0.001
    """

    _config_keys = ("learning_rate",)

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = v.check_positive("learning_rate", learning_rate)

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        return ops.cast(self.learning_rate, dtype) + ops.zeros_like(step)

    @property
    def peak_learning_rate(self) -> float:
        return self.learning_rate

    @property
    def floor_learning_rate(self) -> float:
        return self.learning_rate
