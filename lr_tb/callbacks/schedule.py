"""Apply a learning-rate schedule inside the compiled train step, and log it."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb.callbacks import _optimizer
from lr_tb.callbacks.base import LearningRateCallback
from lr_tb.schedules.base import evaluate


class ScheduleCallback(LearningRateCallback):
    """Applies any `LearningRateSchedule` during `fit` and writes every step's rate.

    The rate of step `s` is `schedule(s)`, computed inside the compiled train step (no Python
    call per batch), where `s` is the 0-based optimizer step: the optimizer's `iterations`,
    shifted to `initial_epoch * steps_per_epoch` when that is larger. With `log_dir`, every
    step's rate is written to TensorBoard run `<log_dir>/train`, tag `learning_rate` (see
    `LearningRateCallback` for when). After `fit`, the optimizer is as before, its
    `learning_rate` variable holding the rate of the last step.

    The optimizer must be compiled with a float `learning_rate` (the schedule replaces it).

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule`, lr_tb's or Keras' own.
        log_dir: TensorBoard log directory (the one given to `keras.callbacks.TensorBoard`),
            or None to keep `learning_rates` only.
        verbose: 0 silent; 1 prints the rates of each epoch where they change.
        flush_secs: also write and flush inside an epoch at most this many seconds apart
            (None: only at epoch end). A killed process loses at most this much.

    Raises:
        TypeError: `schedule` is not a `LearningRateSchedule`, or another argument has the
            wrong type; at train begin, the optimizer holds a schedule already.
        ValueError: an argument is out of range.

    Example:
        >>> callback = lr_tb.ScheduleCallback(
        ...     keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=1000), log_dir="runs/a")
        >>> model.fit(x, y, epochs=5, callbacks=[callback])
    """

    _changes_rate = True
    _fills_gaps = True  # the rate of any step is schedule(step)

    def __init__(
        self,
        schedule: keras.optimizers.schedules.LearningRateSchedule,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
    ) -> None:
        if type(self) is ScheduleCallback and not isinstance(
            schedule, keras.optimizers.schedules.LearningRateSchedule
        ):
            raise TypeError(
                "Argument `schedule` must be a keras.optimizers.schedules.LearningRateSchedule. "
                f"Received: schedule={schedule!r}"
            )
        super().__init__(log_dir=log_dir, verbose=verbose, flush_secs=flush_secs)
        self.schedule = schedule

    def _make_schedule(self) -> keras.optimizers.schedules.LearningRateSchedule:
        """The schedule for this fit (subclasses build it from the fit's length)."""
        return self.schedule

    def _begin(self) -> None:
        self.schedule = self._make_schedule()

        def rate_fn(iterations: Any) -> Any:
            # `self._offset` is fixed at the first epoch begin, before the step is traced.
            if self._offset == 0:
                return self.schedule(iterations)
            return self.schedule(ops.add(ops.cast(iterations, "int32"), self._offset))

        _optimizer.install(self._optimizer, self, rate_fn)

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        return evaluate(self.schedule, steps)

    def _end(self) -> None:
        last = self.learning_rates[-1] if self.learning_rates else None
        _optimizer.uninstall(self._optimizer, self, last)
