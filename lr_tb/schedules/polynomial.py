"""Polynomial decay after a linear warmup: transformers'
`get_polynomial_decay_schedule_with_warmup`."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule


def check_polynomial_args(
    learning_rate_base: Any,
    total_steps: Any,
    warmup_steps: Any,
    end_learning_rate: Any,
    power: Any,
) -> dict[str, Any]:
    """Validate `WarmupPolynomialDecay`'s arguments; `total_steps` may be None (not known
    yet). Returns the checked values by argument name."""
    base = v.check_positive("learning_rate_base", learning_rate_base)
    total = v.check_optional_int("total_steps", total_steps, 1)
    warmup = v.check_int("warmup_steps", warmup_steps, 0)
    end = v.check_non_negative("end_learning_rate", end_learning_rate)
    power_f = v.check_positive("power", power)
    if end >= base:
        raise ValueError(
            "Argument `end_learning_rate` must be < learning_rate_base. Received: "
            f"end_learning_rate={end!r}, learning_rate_base={base!r}"
        )
    if total is not None:
        v.check_le("warmup_steps", warmup, "total_steps", total)
    return {
        "learning_rate_base": base,
        "total_steps": total,
        "warmup_steps": warmup,
        "end_learning_rate": end,
        "power": power_f,
    }


@keras.saving.register_keras_serializable(package="lr_tb")
class WarmupPolynomialDecay(StepSchedule):
    """A linear warmup from 0, then polynomial decay to an end rate.

    With `W = warmup_steps`, `T = total_steps`, `B = learning_rate_base`,
    `E = end_learning_rate`, as transformers' `get_polynomial_decay_schedule_with_warmup`
    (BERT's and fairseq's schedule):
    ```
    step < W:    B * step / max(1, W)
    step < T:    E + (B - E) * (1 - (step - W) / (T - W)) ** power
    step >= T:   E
    ```
    `power=1` is a linear decay. transformers gives `E` for `step > T` and its formula at
    `step == T`, which is `E` too (`power > 0`); with `W == T` it divides by zero there, and
    this schedule gives `E`.

    Unlike `keras.optimizers.schedules.PolynomialDecay` (no warmup, `decay_steps` counted
    from step 0), `total_steps` here is the whole run, warmup included.

    Args:
        learning_rate_base: the rate at the end of the warmup, > 0.
        total_steps: the step the decay ends at, >= 1.
        warmup_steps: steps of linear warmup, in [0, total_steps].
        end_learning_rate: the rate from `total_steps` on, in [0, learning_rate_base)
            (transformers' `lr_end`, default 1e-7).
        power: the polynomial's power, > 0 (default 1.0, linear).

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.WarmupPolynomialDecay(
        ...     1e-3, total_steps=10_000, warmup_steps=500, end_learning_rate=1e-6, power=2.0)
    """

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_polynomial_args)
    _config_keys = (
        "learning_rate_base",
        "total_steps",
        "warmup_steps",
        "end_learning_rate",
        "power",
    )

    def __init__(
        self,
        learning_rate_base: float,
        total_steps: int,
        warmup_steps: int = 0,
        end_learning_rate: float = 1e-7,
        power: float = 1.0,
    ) -> None:
        if total_steps is None:
            v.check_int("total_steps", total_steps, 1)
        self._set_args(
            check_polynomial_args(
                learning_rate_base, total_steps, warmup_steps, end_learning_rate, power
            )
        )

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        base, end = self.learning_rate_base, self.end_learning_rate
        warmup, total = float(self.warmup_steps), float(self.total_steps)
        remaining = ops.clip(1.0 - (step - warmup) / max(total - warmup, 1.0), 0.0, 1.0)
        decay = (base - end) * ops.power(remaining, self.power) + end
        rate = ops.where(step < warmup, base * (step / max(1.0, warmup)), decay)
        return ops.where(step >= total, end, rate)

    @property
    def floor_learning_rate(self) -> float:
        return 0.0 if self.warmup_steps else self.end_learning_rate
