"""Apply a learning-rate schedule inside the compiled train step, and log it."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np

from lr_tb import _keras_private as P
from lr_tb._slot import OFF
from lr_tb.callbacks._held_rate import HeldRateMixin
from lr_tb.callbacks.base import LearningRateCallback
from lr_tb.schedules.base import evaluate


class ScheduleCallback(HeldRateMixin, LearningRateCallback):
    """Applies any `LearningRateSchedule` during `fit` and writes every step's rate.

    The rate of step `s` is `schedule(s)`, where `s` is the 0-based optimizer update (see
    `LearningRateCallback` for where a fit starts). The schedule is evaluated on the host, in
    bulk (a window of 4,096 steps at a time), into a table the compiled train step reads, so
    the same compiled step serves every fit and every schedule; what each update used is
    recorded in the step and written to TensorBoard run `<log_dir>/train`, tag
    `batch_learning_rate`, bit for bit. After `fit`, the optimizer applies its own rate again, its
    `learning_rate` variable holding the rate of the last step.

    The optimizer must be compiled with a float `learning_rate` (the schedule replaces it).
    Keras' own rate callbacks (`LearningRateScheduler`, `ReduceLROnPlateau`) in the same fit
    are refused; anything else that sets the optimizer's rate during the fit is ignored, with
    a warning at the next epoch boundary.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule`, lr_tb's or Keras' own.
        log_dir: TensorBoard log directory (the one given to `keras.callbacks.TensorBoard`),
            or None to keep `learning_rates` only.
        verbose: 0 silent; 1 prints the rates of each epoch where they change.
        flush_secs: also write and flush inside an epoch at most this many seconds apart
            (None: only at epoch end and every 2,048 steps). A killed process loses at most
            this much.
        log_momentum: also write the momentum (SGD, tag `batch_momentum`) or `beta_1`
            (Adam, AdamW, Adamax, Nadam, tag `batch_beta_1`) each update applied, recorded in
            the step.
            Other optimizers are refused at train begin (TypeError).
        log_weight_decay: also write each update's effective weight decay,
            `weight_decay * learning_rate`, tag `batch_effective_weight_decay`.
        optimizer: the optimizer to schedule, or the name of the model attribute holding it
            (keyword only; a model whose own `train_step` applies optimizers of its own, as
            Keras' GAN examples: `optimizer="g_optimizer"`); None: `model.optimizer`. On a
            model holding several, the tags are `batch_learning_rate/<attribute>`.

    Raises:
        TypeError: `schedule` is not a `LearningRateSchedule`, or another argument has the
            wrong type; at train begin, the optimizer holds a schedule already, or another
            callback of the fit sets the rate too.
        ValueError: an argument is out of range.

    Example:
        >>> callback = lr_tb.ScheduleCallback(
        ...     keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=1000), log_dir="runs/a")
        >>> history = model.fit(x, y, epochs=5, callbacks=[callback])
    """

    _changes_rate = True

    def __init__(
        self,
        schedule: keras.optimizers.schedules.LearningRateSchedule,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        *,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        if type(self) is ScheduleCallback and not isinstance(
            schedule, keras.optimizers.schedules.LearningRateSchedule
        ):
            raise TypeError(
                "Argument `schedule` must be a keras.optimizers.schedules.LearningRateSchedule. "
                f"Received: schedule={schedule!r}"
            )
        super().__init__(log_dir, verbose, flush_secs, log_momentum=log_momentum,
                         log_weight_decay=log_weight_decay, optimizer=optimizer)  # fmt: skip
        self.schedule = schedule

    # -- what the fit-length schedulers override ------------------------------------------
    def _make_schedule(self) -> keras.optimizers.schedules.LearningRateSchedule:
        """The schedule for this fit (subclasses build it from the fit's length)."""
        return self.schedule

    def _origin(self, start: int, first_epoch: int) -> int:
        """The absolute step the schedule's step 0 is at (0: the schedule is absolute)."""
        return 0

    # -- lifecycle -----------------------------------------------------------------------
    def _begin(self) -> None:
        held = P.held_rate(self._fit.optimizer)
        if not P.holds_variable(self._fit.optimizer):
            raise TypeError(
                f"{type(self).__name__} applies its own schedule, so the optimizer must be "
                "compiled with a float `learning_rate`, not a `LearningRateSchedule` or a "
                f"callable. Received: learning_rate={held!r}"
            )
        self.schedule = self._make_schedule()  # raises here when the fit is too short
        self._origin_step = 0

    def _rates_at(self, steps: np.ndarray) -> np.ndarray:
        return evaluate(self.schedule, steps - self._origin_step)

    def _start(self, start: int, first_epoch: int) -> None:
        self._origin_step = self._origin(start, first_epoch)
        end = getattr(self.schedule, "total_steps", None)
        if isinstance(end, int) and start - self._origin_step >= end:
            warnings.warn(
                f"{type(self).__name__}: this fit starts at step {start}, at or past the end of "
                f"its schedule (total_steps={end}): every step gets the final rate "
                f"{float(self._rates_at(np.array([start]))[0]):.6g}. Pass a larger "
                "`total_steps`, or leave it out to span this fit.",
                RuntimeWarning,
                stacklevel=2,
            )
        # (`base` turns the table on; a cycled momentum's table has a switch of its own)
        switch = [(self._fit.momentum_slot.mode, 1)] if self._cycles_momentum() else []
        self._fill_table(start, switch)
        self._fit.slot.owner = self._fit
        self._expected_rate = self._rate_variable_now()  # (read with the step counter)

    def _fill_table(self, start: int, also: list | None = None) -> None:
        """The table from step `start` on, and `base` placing it there (with the variable
        assignments `also`, in the same transfer)."""
        slot = self._fit.slot
        steps = start + np.arange(slot.size, dtype=np.int64)
        pairs = [(slot.table, self._rates_at(steps).astype(np.float32))]
        if self._cycles_momentum():
            momenta = self._momentum_at(steps).astype(np.float32)
            pairs.append((self._fit.momentum_slot.table, momenta))
        pairs += [*(also or []), (slot.base, start - self._fit.offset)]
        P.assign_all(self._model, pairs)

    def _window_moved(self) -> None:
        self._fill_table(self._fit.position())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)  # (reads the rate variable beside the records)
        # A change made since the last epoch end (another callback's `on_epoch_end` after
        # this one, or any `on_epoch_begin` / batch hook of this epoch) is reported here.
        self._check_rate_variable(epoch)
        self._mirror()

    def _end(self) -> None:
        slot = self._fit.slot
        if slot.owner is not self._fit:
            return
        slot.owner = None
        off = [(slot.base, OFF)]
        if self._fit.momentum_slot is not None:  # the optimizer's own momentum again
            off.append((self._fit.momentum_slot.mode, 0))
        if self._last_logged_rate is None or (
            self._fit.late and self._rate_set_by_someone_else()
        ):  # (set after the interrupted fit: your rate, the next update uses it)
            P.assign_all(self._model, off)
        else:
            self._set_rate_variable(self._last_logged_rate, also=off)
