"""What `Warmup` and `Sequence` share: schedules made of other schedules, lr_tb's or Keras'.

A part is evaluated on a float tensor of steps since it started: an lr_tb schedule through its
element-wise `_rate`, any other `LearningRateSchedule` by calling it on integer steps. Many
steps at once (`values`) are one vectorized call, Keras' scalar-step schedules included (their
`ops.cond` selects element-wise, `_keras_private.vectorized_cond`); a part that still fails is
evaluated one step at a time, as `lr_tb.schedules.evaluate` does.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _keras_private
from lr_tb.schedules import _host
from lr_tb.schedules.base import StepSchedule, per_step


def check_schedule(name: str, value: Any) -> Any:
    """A `LearningRateSchedule` (a serialized one, a dict, is rebuilt)."""
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if not isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        raise TypeError(
            f"Argument `{name}` must be a keras.optimizers.schedules.LearningRateSchedule. "
            f"Received: {name}={value!r}"
        )
    return value


def rate_of(schedule: Any, t: Any, dtype: str, ops: Any = ops) -> Any:
    """`schedule` at `t` (a float tensor of steps since it started, >= 0), in `dtype`, with
    the namespace `ops` (NumPy on the host only when every part is lr_tb's: `values`)."""
    if isinstance(schedule, StepSchedule):
        if _host.takes_ops(type(schedule)._rate):
            return ops.cast(schedule._rate(t, dtype, ops=ops), dtype)
        return ops.cast(schedule._rate(t, dtype), dtype)
    return ops.cast(schedule(ops.cast(t, "int32")), dtype)


def has_foreign(schedule: Any) -> bool:
    """Whether a schedule that is not lr_tb's is inside (it needs `vectorized_cond`)."""
    if isinstance(schedule, CompositeSchedule):
        return any(has_foreign(part) for part in schedule.parts())
    return not isinstance(schedule, StepSchedule)


def bounds(schedule: Any, owner: str) -> tuple[float, float]:
    """(peak, floor) of an lr_tb schedule; not known for another kind."""
    if not isinstance(schedule, StepSchedule):
        raise NotImplementedError(
            f"{owner}: the peak and floor of {type(schedule).__name__} (not an lr_tb schedule) "
            "are not known; evaluate the schedule (lr_tb.schedules.evaluate) instead."
        )
    return schedule.peak_learning_rate, schedule.floor_learning_rate


class CompositeSchedule(StepSchedule):
    """A schedule made of other schedules (`parts()`), serialized with Keras' own
    `serialize_keras_object`, so that `model.save` / `keras.saving.load_model` rebuild them."""

    _schedule_keys: tuple[str, ...] = ()  # config keys holding one schedule or a list of them

    def parts(self) -> list[Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in self._schedule_keys:
            value = getattr(self, key)
            if isinstance(value, (list, tuple)):
                config[key] = [keras.saving.serialize_keras_object(s) for s in value]
            else:
                config[key] = keras.saving.serialize_keras_object(value)
        return config

    def _takes_ops(self) -> bool:
        # every part too: NumPy evaluates a composite only if it evaluates all of it
        return super()._takes_ops() and all(
            isinstance(part, StepSchedule) and part._takes_ops() for part in self.parts()
        )

    def values(self, steps: np.ndarray) -> np.ndarray:
        if not has_foreign(self):
            return super().values(steps)
        flat = steps.reshape(-1)
        try:
            with _keras_private.vectorized_cond():
                out = super().values(flat)
            return out.reshape(steps.shape)
        except Exception:  # noqa: BLE001 - any failure means "not vectorizable"
            pass
        return per_step(self, flat).reshape(steps.shape)
