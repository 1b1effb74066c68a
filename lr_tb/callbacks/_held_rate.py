"""The optimizer's own rate variable while an lr_tb callback sets the rate of every step:
kept at the last applied rate, so that `get_config`, `model.save`, Keras' callbacks reading
`optimizer.learning_rate` and a later plain fit see what was applied; a change made by
someone else is noticed and reported at the next epoch boundary."""

from __future__ import annotations

import warnings

import keras
import numpy as np

from lr_tb import _keras_private as P


class HeldRateMixin:
    """For `lr_tb.ScheduleCallback` and its subclasses (uses `self._model`, `self._fit`,
    `self._last_logged_rate`); `_expected_rate` is the value lr_tb last left there."""

    _expected_rate: float | None = None
    _watches_rate_variable = True  # its value comes with the fit's device reads

    def _read_rate_variable(self) -> float:
        (value,) = P.read(self._model, self._fit.optimizer, [P.held_rate(self._fit.optimizer)])
        return float(value)

    def _rate_variable_now(self) -> float:
        """Its value: the one read beside the fit's device read just made in this hook (the
        step counter at the start, the records at a flush point), else read now."""
        seen = self._fit.watched_value
        return self._read_rate_variable() if seen is None else seen

    def _set_rate_variable(self, value: float, also: list | None = None) -> None:
        """Set it to `value` (with the variable assignments `also`, in the same transfer)."""
        variable = P.held_rate(self._fit.optimizer)
        P.assign_all(self._model, [(variable, value), *(also or [])])
        self._fit.watched_value = None  # not what the last read saw any more
        try:  # what the variable now holds, without reading it back: the value in its dtype
            self._expected_rate = float(np.asarray(value, dtype=np.dtype(variable.dtype)))
        except TypeError:  # a dtype NumPy does not know
            self._expected_rate = self._read_rate_variable()

    def _mirror(self) -> None:
        """Keep the optimizer's own variable at the last applied rate."""
        if self._last_logged_rate is not None:
            self._set_rate_variable(self._last_logged_rate)

    def _rate_variable_at(self, last: float) -> object:
        """`optimizer.learning_rate` read outside a step during this fit: the optimizer's own
        variable, holding the last applied rate (a Keras callback may `.assign` to it; that
        is then reported at the next epoch boundary)."""
        if self._read_rate_variable() == self._expected_rate:
            self._set_rate_variable(last)
            return P.held_rate(self._fit.optimizer)
        return keras.ops.convert_to_tensor(last, keras.config.floatx())

    def _rate_set_by_someone_else(self) -> bool:
        return self._rate_variable_now() != self._expected_rate

    def _check_rate_variable(self, epoch: int) -> None:
        current = self._rate_variable_now()
        if current != self._expected_rate:
            warnings.warn(
                f"{type(self).__name__}: something else set the optimizer's learning rate to "
                f"{current:.6g} by epoch {epoch + 1} (another callback?). lr_tb's schedule "
                "sets the rate of every step, so that change had no effect. To reduce a rate "
                "on a plateau use lr_tb.ReduceLROnPlateau alone; to log the rate another "
                "callback sets, use lr_tb.LearningRateLogger without a scheduler.",
                RuntimeWarning,
                stacklevel=2,
            )
            self._expected_rate = current
