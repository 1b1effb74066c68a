"""The one-cycle policy (Smith & Topin; PyTorch's `OneCycleLR`, fastai's `fit_one_cycle`)."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule

ANNEAL_STRATEGIES = ("cos", "linear")


def check_one_cycle_args(
    max_lr: Any,
    total_steps: Any,
    pct_start: Any,
    div_factor: Any,
    final_div_factor: Any,
    anneal_strategy: Any,
) -> dict[str, Any]:
    """Validate `OneCycle`'s arguments; `total_steps` may be None (not known yet).

    Returns the checked values by argument name."""
    peak = v.check_positive("max_lr", max_lr)
    total = v.check_optional_int("total_steps", total_steps, 1)
    pct = v.check_in_range("pct_start", pct_start, 0.0, 1.0)
    div = v.check_positive("div_factor", div_factor)
    final_div = v.check_positive("final_div_factor", final_div_factor)
    if anneal_strategy not in ANNEAL_STRATEGIES:
        raise ValueError(
            f"Argument `anneal_strategy` must be one of {list(ANNEAL_STRATEGIES)}. "
            f"Received: anneal_strategy={anneal_strategy!r}"
        )
    return {
        "max_lr": peak,
        "total_steps": total,
        "pct_start": pct,
        "div_factor": div,
        "final_div_factor": final_div,
        "anneal_strategy": anneal_strategy,
    }


def check_momentum_range(base_momentum: Any, max_momentum: Any) -> tuple[float, float]:
    """Validate the momentum bounds of one-cycle momentum cycling: each in [0, 1]."""
    base = v.check_in_range("base_momentum", base_momentum, 0.0, 1.0)
    top = v.check_in_range("max_momentum", max_momentum, 0.0, 1.0)
    return base, top


@keras.saving.register_keras_serializable(package="lr_tb")
class OneCycle(StepSchedule):
    """The one-cycle policy: up to `max_lr`, then down far below where it started.

    From `max_lr / div_factor` up to `max_lr`, then down to `max_lr / (div_factor *
    final_div_factor)`: PyTorch's `OneCycleLR` (`three_phase=False`) step for step, and
    fastai's `fit_one_cycle`.

    With `T = total_steps`, `e = pct_start * T - 1` (the last step of the rise, a float),
    `initial = max_lr / div_factor` and `final = initial / final_div_factor`:
    ```
    step <= e:   rate = anneal(initial, max_lr, step / e)
    otherwise:   rate = anneal(max_lr, final, (step - e) / (T - 1 - e))
    cos:         anneal(a, b, p) = b + (a - b) / 2 * (cos(pi * p) + 1)
    linear:      anneal(a, b, p) = (b - a) * p + a
    ```
    This is `OneCycleLR.get_lr` transcribed (computed in float32, the anneal as the weighted
    sum `a * w + b * (1 - w)`, `w = (cos(pi * p) + 1) / 2` or `1 - p`, which starts and ends
    on `a` and `b` exactly). The step is clipped to `[0, T - 1]`: the rate is
    `final` from step `T - 1` on (PyTorch raises past `T`). Where PyTorch divides 0 by 0
    (`pct_start * T == 1`, at step 0) the rate is `max_lr`.

    With `lr_tb.OneCycleScheduler`, the optimizer's momentum (SGD) or `beta_1` (Adam family)
    cycles in opposition (`momentum`).

    Args:
        max_lr: the peak rate, > 0.
        total_steps: the length of the cycle in optimizer steps, >= 1.
        pct_start: the fraction of the cycle spent rising, in [0, 1].
        div_factor: `max_lr / div_factor` is the rate at step 0, > 0.
        final_div_factor: the final rate is the initial one divided by this, > 0.
        anneal_strategy: "cos" or "linear".

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.OneCycle(max_lr=0.1, total_steps=1000)
        >>> [f"{float(schedule(t)):.3g}" for t in (0, 299, 999)]
        ['0.004', '0.1', '4e-07']
    """

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_one_cycle_args)
    _config_keys = (
        "max_lr",
        "total_steps",
        "pct_start",
        "div_factor",
        "final_div_factor",
        "anneal_strategy",
    )

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal_strategy: str = "cos",
    ) -> None:
        if total_steps is None:
            v.check_int("total_steps", total_steps, 1)
        self._set_args(
            check_one_cycle_args(
                max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal_strategy
            )
        )

    @property
    def initial_lr(self) -> float:
        return self.max_lr / self.div_factor

    @property
    def min_lr(self) -> float:
        return self.initial_lr / self.final_div_factor

    def _phases(self, step: Any, ops: Any = ops) -> tuple[Any, Any]:
        """Whether each step is in the rise, and its progress `pct` through its phase."""
        total = float(self.total_steps)
        end_rise = float(self.pct_start * self.total_steps) - 1.0
        step = ops.clip(step, 0.0, total - 1.0)
        rising = ops.less_equal(step, end_rise)
        pct_rise = step / end_rise if end_rise > 0 else ops.ones_like(step)
        fall = total - 1.0 - end_rise
        pct_fall = (step - end_rise) / fall if fall > 0 else ops.ones_like(step)
        return rising, ops.where(rising, pct_rise, pct_fall)

    def _anneal(self, start: Any, end: Any, pct: Any, ops: Any = ops) -> Any:
        # PyTorch's `end + (start - end) / 2 * (cos(pi * p) + 1)` and `(end - start) * p +
        # start`, rearranged as weights: in float32 the former lose the small rates (the
        # final `max_lr / 25e4`) in a cancellation; these start and end on them exactly.
        if self.anneal_strategy == "cos":
            weight = (ops.cos(math.pi * pct) + 1.0) / 2.0
        else:
            weight = 1.0 - pct
        return start * weight + end * (1.0 - weight)

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        rising, pct = self._phases(step, ops)
        start = ops.where(rising, self.initial_lr, self.max_lr)
        end = ops.where(rising, self.max_lr, self.min_lr)
        return self._anneal(ops.cast(start, dtype), ops.cast(end, dtype), pct, ops)

    def momentum(
        self, steps: Any, base_momentum: float = 0.85, max_momentum: float = 0.95
    ) -> np.ndarray:
        """The momentum (or `beta_1`) of each step, in opposition to the rate (PyTorch's
        `cycle_momentum`): `anneal(max_momentum, base_momentum, pct)` while the rate rises,
        `anneal(base_momentum, max_momentum, pct)` while it falls. Float32, shaped like
        `steps`."""
        base, top = check_momentum_range(base_momentum, max_momentum)
        steps_np = np.asarray(steps, dtype=np.int64)
        dtype = keras.config.floatx()
        on = self._host_ops() or ops  # in NumPy on the host where the rates are (`values`)
        with np.errstate(all="ignore"):
            rising, pct = self._phases(on.cast(on.convert_to_tensor(steps_np), dtype), on)
            start = on.cast(on.where(rising, top, base), dtype)
            end = on.cast(on.where(rising, base, top), dtype)
            out = on.convert_to_numpy(self._anneal(start, end, pct, on))
        return np.asarray(out, dtype=np.float32).reshape(steps_np.shape)

    @property
    def peak_learning_rate(self) -> float:
        return max(self.max_lr, self.initial_lr, self.min_lr)

    @property
    def floor_learning_rate(self) -> float:
        return min(self.max_lr, self.initial_lr, self.min_lr)
