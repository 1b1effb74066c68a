"""Log whatever learning rate the optimizer has, without changing it."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _validation as v
from lr_tb.callbacks import _optimizer
from lr_tb.callbacks.base import LearningRateCallback
from lr_tb.schedules.base import evaluate


class LearningRateLogger(LearningRateCallback):
    """Writes the rate of every `every_n_steps`-th optimizer step to TensorBoard.

    Where the rate comes from:

    * a `LearningRateSchedule` in the optimizer (Keras' or lr_tb's), or an lr_tb scheduler
      applying one: the schedule is evaluated for all steps at once at each flush point;
      nothing runs per batch.
    * a float rate (a variable that other callbacks may change between batches, like Keras'
      `LearningRateScheduler`) or a callable: read once before each train-function call
      (each batch, or each `steps_per_execution` batches), the only moments Python can
      change it.

    A `LossScaleOptimizer` is looked through. Steps are 0-based optimizer steps, shifted to
    `initial_epoch * steps_per_epoch` when that is larger, as for every lr_tb callback.

    Args:
        log_dir: TensorBoard log directory; points go to run `<log_dir>/train`, tag
            `learning_rate`.
        every_n_steps: log the steps that are multiples of this, >= 1.
        verbose: 0 silent; 1 prints the rates of each epoch where they change.
        flush_secs: as for `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it).

    Example:
        >>> model.compile(optimizer=keras.optimizers.Adam(
        ...     keras.optimizers.schedules.CosineDecay(1e-3, 1000)), loss="mse")
        >>> model.fit(x, y, callbacks=[lr_tb.LearningRateLogger("runs/a")])
    """

    def __init__(
        self,
        log_dir: str,
        every_n_steps: int = 1,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
    ) -> None:
        if log_dir is None:
            raise TypeError("Argument `log_dir` must be a string path. Received: log_dir=None")
        super().__init__(log_dir=log_dir, verbose=verbose, flush_secs=flush_secs)
        self.every_n_steps = v.check_int("every_n_steps", every_n_steps, 1)

    def _begin(self) -> None:
        # Change points of a rate sampled per batch: (first step, rate) pairs.
        self._segments: list[tuple[int, float]] = []

    def _schedule_source(self) -> tuple[Any, int] | None:
        """(schedule, shift from our steps to the schedule's input), or None if sampled."""
        applier = _optimizer.owner(self._optimizer)
        if applier is not None:  # an lr_tb scheduler applies schedule(iterations + its offset)
            return applier.schedule, applier._offset - self._offset
        held = self._optimizer._learning_rate
        if isinstance(held, keras.optimizers.schedules.LearningRateSchedule):
            return held, -self._offset  # Keras applies schedule(iterations)
        return None

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        super().on_train_batch_begin(batch, logs)
        if self._schedule_source() is not None:
            return
        held = self._optimizer._learning_rate
        if isinstance(held, keras.Variable):
            _optimizer.sync_state(self.model)  # a JAX epoch keeps the value elsewhere
            rate = held
        else:
            rate = held()
        rate = float(ops.convert_to_numpy(rate))
        if not self._segments or self._segments[-1][1] != rate:
            self._segments.append((self._position(), rate))

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        source = self._schedule_source()
        if source is not None:
            schedule, shift = source
            return evaluate(schedule, steps + shift)
        starts = np.asarray([s for s, _ in self._segments], dtype=np.int64)
        values = np.asarray([r for _, r in self._segments], dtype=np.float32)
        index = np.searchsorted(starts, steps, side="right") - 1
        return values[np.clip(index, 0, len(values) - 1)]

    def _keep_step(self, steps: np.ndarray) -> np.ndarray:
        return steps % self.every_n_steps == 0
