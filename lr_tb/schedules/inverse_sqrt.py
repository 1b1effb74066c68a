"""Inverse square-root decay after a linear warmup: transformers' `get_inverse_sqrt_schedule`
(timm's `rsqrt`)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule

# transformers' timescale when neither it nor a warmup is given
DEFAULT_TIMESCALE = 10_000


def check_inverse_sqrt_args(
    learning_rate_base: Any, warmup_steps: Any, timescale: Any
) -> dict[str, Any]:
    """Validate `InverseSqrtDecay`'s arguments; returns the checked values by name."""
    return {
        "learning_rate_base": v.check_positive("learning_rate_base", learning_rate_base),
        "warmup_steps": v.check_int("warmup_steps", warmup_steps, 0),
        "timescale": v.check_optional_int("timescale", timescale, 1),
    }


@keras.saving.register_keras_serializable(package="lr_tb")
class InverseSqrtDecay(StepSchedule):
    """A linear warmup from 0, then decay as one over the square root of the step.

    With `W = warmup_steps` and `S = timescale` (default `W`, or 10,000 when `W == 0`), as
    transformers' `get_inverse_sqrt_schedule` (adapted there from big_vision):
    ```
    step < W:    learning_rate_base * step / max(1, W)
    otherwise:   learning_rate_base / sqrt((step + S - W) / S)
    ```
    The peak, `learning_rate_base`, is at step `W`; with the default timescale the decay is
    `learning_rate_base * sqrt(W / step)`, the Transformer paper's `rsqrt` (timm's `rsqrt`
    scheduler). The rate never reaches 0 after the warmup.

    Args:
        learning_rate_base: the rate at the end of the warmup, > 0.
        warmup_steps: steps of linear warmup, >= 0.
        timescale: the decay's time scale in steps, an integer >= 1, or None (the default
            above).

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.InverseSqrtDecay(1e-3, warmup_steps=4000)
    """

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_inverse_sqrt_args)
    _config_keys = ("learning_rate_base", "warmup_steps", "timescale")

    def __init__(
        self, learning_rate_base: float, warmup_steps: int = 0, timescale: int | None = None
    ) -> None:
        self._set_args(check_inverse_sqrt_args(learning_rate_base, warmup_steps, timescale))

    @property
    def effective_timescale(self) -> int:
        """The timescale used: `timescale`, else `warmup_steps`, else 10,000."""
        return self.timescale or self.warmup_steps or DEFAULT_TIMESCALE

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        warmup = float(self.warmup_steps)
        scale = float(self.effective_timescale)
        shift = scale - warmup
        # the warmup's steps are kept out of the square root (it is not selected there)
        decay = 1.0 / ops.sqrt((ops.maximum(step, warmup) + shift) / scale)
        factor = ops.where(step < warmup, step / max(1.0, warmup), decay)
        return self.learning_rate_base * factor

    @property
    def floor_learning_rate(self) -> float:
        return 0.0  # the warmup's start; after it the rate only tends to 0
