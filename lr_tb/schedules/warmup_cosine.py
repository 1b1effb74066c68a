"""Cosine annealing with a linear warmup and a hold at the peak: the article's third schedule."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule
from lr_tb.schedules.pieces import warmup_hold_cosine


def check_warmup_cosine_args(
    learning_rate_base: Any,
    total_steps: Any,
    warmup_learning_rate: Any,
    warmup_steps: Any,
    hold_steps: Any,
    min_learning_rate: Any,
) -> dict[str, Any]:
    """Validate `WarmupCosineDecay`'s arguments; `total_steps` may be None (not known yet).

    Returns the checked values by argument name."""
    base = v.check_positive("learning_rate_base", learning_rate_base)
    total = v.check_optional_int("total_steps", total_steps, 1)
    warm_lr = v.check_non_negative("warmup_learning_rate", warmup_learning_rate)
    warmup = v.check_int("warmup_steps", warmup_steps, 0)
    hold = v.check_int("hold_steps", hold_steps, 0)
    floor = v.check_non_negative("min_learning_rate", min_learning_rate)
    v.check_le("warmup_learning_rate", warm_lr, "learning_rate_base", base)
    v.check_le("min_learning_rate", floor, "learning_rate_base", base)
    if total is not None:
        v.check_le("warmup_steps", warmup, "total_steps", total)
        if warmup + hold > total:
            raise ValueError(
                "Arguments `warmup_steps` + `hold_steps` must be <= total_steps. Received: "
                f"warmup_steps={warmup}, hold_steps={hold}, total_steps={total}"
            )
    return {
        "learning_rate_base": base,
        "total_steps": total,
        "warmup_learning_rate": warm_lr,
        "warmup_steps": warmup,
        "hold_steps": hold,
        "min_learning_rate": floor,
    }


@keras.saving.register_keras_serializable(package="lr_tb")
class WarmupCosineDecay(StepSchedule):
    """Linear warmup, a hold at the peak, then cosine annealing down to a floor.

    With `W = warmup_steps`, `H = hold_steps`, `T = total_steps`:
    ```
    step < W:          warmup_learning_rate + (learning_rate_base - warmup_learning_rate) * step / W
    step < W + H:      learning_rate_base
    step < T:          min_learning_rate + 0.5 * (learning_rate_base - min_learning_rate)
                           * (1 + cos(pi * (step - W - H) / (T - W - H)))
    step >= T:         min_learning_rate
    ```
    Values at the boundaries: `warmup_learning_rate` at step 0 (or the base if `W == 0`), the
    base at step `W` and at step `W + H`, the midpoint between base and floor at step
    `W + H + (T - W - H) / 2`, `min_learning_rate` from step `T` on.

    Two differences from the article's code: the cosine goes from the base down to
    `min_learning_rate` itself (the article decays to 0 and clips at the floor, which makes
    the curve flat well before `T`), and the arguments are checked.

    Difference from `keras.optimizers.schedules.CosineDecay(initial_learning_rate,
    decay_steps, alpha, warmup_target, warmup_steps)`: there, `decay_steps` counts only the
    steps *after* the warmup (the run is `warmup_steps + decay_steps` long), the warmup rises
    from `initial_learning_rate` to `warmup_target`, the floor is the fraction `alpha` of the
    peak, and there is no hold. Here `total_steps` is the whole run, warmup included, and the
    floor is an absolute rate. The two agree when `learning_rate_base = warmup_target`,
    `warmup_learning_rate = initial_learning_rate`, `total_steps = warmup_steps +
    decay_steps`, `hold_steps = 0` and `min_learning_rate = alpha * warmup_target`.

    Args:
        learning_rate_base: the peak rate, > 0.
        total_steps: the length of the whole schedule in optimizer steps, >= 1.
        warmup_learning_rate: the rate at step 0, in [0, learning_rate_base].
        warmup_steps: steps of linear warmup, >= 0.
        hold_steps: steps held at the peak after the warmup, >= 0;
            `warmup_steps + hold_steps <= total_steps`.
        min_learning_rate: the floor the cosine ends at, in [0, learning_rate_base].

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.WarmupCosineDecay(
        ...     learning_rate_base=1e-3, total_steps=1000, warmup_learning_rate=1e-5,
        ...     warmup_steps=100, hold_steps=50, min_learning_rate=1e-6)
        >>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
    """

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_warmup_cosine_args)
    _config_keys = (
        "learning_rate_base",
        "total_steps",
        "warmup_learning_rate",
        "warmup_steps",
        "hold_steps",
        "min_learning_rate",
    )

    def __init__(
        self,
        learning_rate_base: float,
        total_steps: int,
        warmup_learning_rate: float = 0.0,
        warmup_steps: int = 0,
        hold_steps: int = 0,
        min_learning_rate: float = 0.0,
    ) -> None:
        if total_steps is None:
            v.check_int("total_steps", total_steps, 1)
        self._set_args(
            check_warmup_cosine_args(
                learning_rate_base,
                total_steps,
                warmup_learning_rate,
                warmup_steps,
                hold_steps,
                min_learning_rate,
            )
        )

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        # Python floats: the constant arithmetic is folded before it reaches the graph.
        return warmup_hold_cosine(
            step,
            peak=self.learning_rate_base,
            length=float(self.total_steps),
            warmup_start=self.warmup_learning_rate,
            warmup=float(self.warmup_steps),
            hold=float(self.hold_steps),
            floor=self.min_learning_rate,
            ops=ops,
        )

    @property
    def floor_learning_rate(self) -> float:
        if self.warmup_steps == 0:
            return self.min_learning_rate
        return min(self.min_learning_rate, self.warmup_learning_rate)
