"""Schedules one after another, each from its own step 0 (optax's `join_schedules`)."""

from __future__ import annotations

import numbers
from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.composite import CompositeSchedule, bounds, check_schedule, rate_of


def _check_boundaries(boundaries: Any, count: int) -> list[int]:
    """One step per schedule after the first: integers >= 1, strictly increasing."""
    received = f"Received: boundaries={boundaries!r}"
    if isinstance(boundaries, (str, bytes)) or not isinstance(boundaries, (list, tuple)):
        raise TypeError(
            "Argument `boundaries` must be a list of strictly increasing integers >= 1, one "
            f"per schedule after the first. {received}"
        )
    for i, b in enumerate(boundaries):
        if isinstance(b, bool) or not isinstance(b, numbers.Real):
            raise TypeError(
                f"Argument `boundaries` must hold integers >= 1 (boundaries[{i}] is {b!r}). "
                f"{received}"
            )
    if len(boundaries) != count - 1:
        needs = f"{count} schedule{'s' if count != 1 else ''} need{'' if count != 1 else 's'}"
        raise ValueError(
            "Argument `boundaries` must have one boundary fewer than schedules: "
            f"{needs} {count - 1} boundar{'y' if count == 2 else 'ies'}. {received}"
        )
    out = []
    for i, b in enumerate(boundaries):
        try:
            out.append(v.check_int("boundaries", b, 1))
        except ValueError:
            raise ValueError(
                f"Argument `boundaries` must hold integers >= 1 (boundaries[{i}] is {b!r}). "
                f"{received}"
            ) from None
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            raise ValueError(
                f"Argument `boundaries` must be strictly increasing (boundaries[{i}] = "
                f"{out[i]} is not > boundaries[{i - 1}] = {out[i - 1]}). {received}"
            )
    return out


@keras.saving.register_keras_serializable(package="lr_tb")
class Sequence(CompositeSchedule):
    """Schedules joined at boundaries, each starting at its own step 0 there.

    With `schedules = [s0, s1, ..., sn]` and `boundaries = [b1, ..., bn]`:
    ```
    step < b1:            s0(step)
    b_i <= step < b_i+1:  s_i(step - b_i)
    step >= bn:           sn(step - bn)
    ```
    as optax's `join_schedules`. The rate may jump at a boundary (a restart, or a drop).

    Args:
        schedules: a non-empty list of `keras.optimizers.schedules.LearningRateSchedule`s
            (lr_tb's or Keras').
        boundaries: the steps where each schedule after the first begins: one per schedule
            after the first, strictly increasing integers >= 1.

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.Sequence(
        ...     [lr_tb.schedules.ConstantWithWarmup(1e-3, warmup_steps=100),
        ...      keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=900)],
        ...     boundaries=[5000])
    """

    _config_keys = ("schedules", "boundaries")
    _schedule_keys = ("schedules",)

    def __init__(
        self,
        schedules: list[keras.optimizers.schedules.LearningRateSchedule],
        boundaries: list[int],
    ) -> None:
        if isinstance(schedules, (str, bytes, dict)) or not isinstance(schedules, (list, tuple)):
            raise TypeError(
                "Argument `schedules` must be a list of LearningRateSchedules. "
                f"Received: schedules={schedules!r}"
            )
        if not schedules:
            raise ValueError(
                "Argument `schedules` must be a non-empty list of LearningRateSchedules. "
                f"Received: schedules={schedules!r}"
            )
        self.schedules = [check_schedule("schedules", s) for s in schedules]
        self.boundaries = _check_boundaries(boundaries, len(self.schedules))

    def parts(self) -> list[Any]:
        return list(self.schedules)

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        rate = rate_of(self.schedules[0], step, dtype, ops)
        for boundary, schedule in zip(self.boundaries, self.schedules[1:], strict=True):
            b = float(boundary)
            later = rate_of(schedule, ops.maximum(step - b, 0.0), dtype, ops)
            rate = ops.where(step >= b, later, rate)
        return rate

    def __repr__(self) -> str:
        return f"Sequence({self.schedules!r}, boundaries={self.boundaries!r})"

    @property
    def peak_learning_rate(self) -> float:
        """An upper bound: the largest peak of the schedules joined."""
        return max(bounds(s, "Sequence")[0] for s in self.schedules)

    @property
    def floor_learning_rate(self) -> float:
        """A lower bound: the smallest floor of the schedules joined."""
        return min(bounds(s, "Sequence")[1] for s in self.schedules)
