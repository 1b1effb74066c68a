"""Exponential decay, once per epoch, with a floor: the article's second schedule."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule


def check_exponential_args(
    learning_rate_base: Any, decay_rate: Any, steps_per_epoch: Any, min_learning_rate: Any
) -> dict[str, Any]:
    """Validate `ExponentialDecay`'s arguments; `steps_per_epoch` may be None (not known yet).

    Returns the checked values by argument name."""
    base = v.check_positive("learning_rate_base", learning_rate_base)
    rate = v.check_in_range("decay_rate", decay_rate, 0.0, 1.0, low_open=True)
    spe = v.check_optional_int("steps_per_epoch", steps_per_epoch, 1)
    floor = v.check_non_negative("min_learning_rate", min_learning_rate)
    v.check_le("min_learning_rate", floor, "learning_rate_base", base)
    return {
        "learning_rate_base": base,
        "decay_rate": rate,
        "steps_per_epoch": spe,
        "min_learning_rate": floor,
    }


@keras.saving.register_keras_serializable(package="lr_tb")
class ExponentialDecay(StepSchedule):
    """Exponential decay by whole epochs, never below a floor.

    ```
    epoch = step // steps_per_epoch
    rate(step) = max(learning_rate_base * decay_rate ** epoch, min_learning_rate)
    ```

    At step 0 the rate is `learning_rate_base`; it changes only at multiples of
    `steps_per_epoch`. With `steps_per_epoch=1` it decays every step. This is the article's
    per-epoch decay; its `global_epoch_init` is the position a run starts at, which lr_tb's
    callbacks take from `fit(initial_epoch=...)`.

    Unlike `keras.optimizers.schedules.ExponentialDecay(initial, decay_steps, rate,
    staircase=True)`, which is the same curve without the floor, this one has
    `min_learning_rate`.

    Args:
        learning_rate_base: the rate of the first epoch, > 0.
        decay_rate: the factor per epoch, in (0, 1].
        steps_per_epoch: optimizer steps per epoch, an integer >= 1.
        min_learning_rate: the floor, in [0, learning_rate_base].

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.ExponentialDecay(1e-3, 0.9, steps_per_epoch=100,
        ...                                             min_learning_rate=1e-6)
        >>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
    """

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_exponential_args)
    _config_keys = ("learning_rate_base", "decay_rate", "steps_per_epoch", "min_learning_rate")

    def __init__(
        self,
        learning_rate_base: float,
        decay_rate: float,
        steps_per_epoch: int = 1,
        min_learning_rate: float = 0.0,
    ) -> None:
        if steps_per_epoch is None:
            v.check_int("steps_per_epoch", steps_per_epoch, 1)
        self._set_args(
            check_exponential_args(
                learning_rate_base, decay_rate, steps_per_epoch, min_learning_rate
            )
        )

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        epoch = ops.floor_divide(ops.cast(step, "int32"), self.steps_per_epoch)
        decayed = self.learning_rate_base * ops.power(
            ops.cast(self.decay_rate, dtype), ops.cast(epoch, dtype)
        )
        return ops.maximum(decayed, ops.cast(self.min_learning_rate, dtype))

    @property
    def floor_learning_rate(self) -> float:
        return self.min_learning_rate
