"""Warmup-cosine cycles with warm restarts: the article's fourth schedule and SGDR."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule
from lr_tb.schedules.pieces import warmup_hold_cosine


def restart_steps(restarts: Sequence[float], total_steps: int) -> list[int]:
    """The steps the article-form cycles restart at: `round(fraction * total_steps)`."""
    return [int(math.floor(r * total_steps + 0.5)) for r in restarts]


def check_cosine_restarts_args(
    learning_rate_base: Any,
    total_steps: Any,
    restarts: Any,
    first_cycle_steps: Any,
    t_mul: Any,
    m_mul: Any,
    warmup_learning_rate: Any,
    warmup_fraction: Any,
    hold_fraction: Any,
    min_learning_rate: Any,
) -> dict[str, Any]:
    """Validate `CosineRestarts`' arguments; `total_steps` may be None (not known yet)."""
    base = v.check_positive("learning_rate_base", learning_rate_base)
    total = v.check_optional_int("total_steps", total_steps, 1)
    if (restarts is None) == (first_cycle_steps is None):
        raise ValueError(
            "Exactly one of the arguments `restarts` and `first_cycle_steps` must be given. "
            f"Received: restarts={restarts!r}, first_cycle_steps={first_cycle_steps!r}"
        )
    fractions = None if restarts is None else v.check_fractions("restarts", restarts)
    first = v.check_optional_int("first_cycle_steps", first_cycle_steps, 1)
    t_mul_f = v.check_positive("t_mul", t_mul)
    if fractions is not None and t_mul_f != 1.0:
        raise ValueError(
            "Argument `t_mul` applies only with `first_cycle_steps`; with `restarts` the cycle "
            f"lengths are given by the fractions. Received: t_mul={t_mul!r}, "
            f"restarts={restarts!r}"
        )
    m_mul_f = v.check_in_range("m_mul", m_mul, 0.0, 1.0, low_open=True)
    warm_lr = v.check_non_negative("warmup_learning_rate", warmup_learning_rate)
    warm_frac = v.check_in_range("warmup_fraction", warmup_fraction, 0.0, 1.0)
    hold_frac = v.check_in_range("hold_fraction", hold_fraction, 0.0, 1.0)
    if warm_frac + hold_frac > 1.0:
        raise ValueError(
            "Arguments `warmup_fraction` + `hold_fraction` must be <= 1. Received: "
            f"warmup_fraction={warmup_fraction!r}, hold_fraction={hold_fraction!r}"
        )
    floor = v.check_non_negative("min_learning_rate", min_learning_rate)
    v.check_le("warmup_learning_rate", warm_lr, "learning_rate_base", base)
    v.check_le("min_learning_rate", floor, "learning_rate_base", base)
    if total is not None and fractions is not None:
        steps = restart_steps(fractions, total)
        bounds = [0, *steps, total]
        if any(b >= a for a, b in zip(bounds[1:], bounds[:-1], strict=True)):
            raise ValueError(
                "Argument `restarts` must give every cycle at least one step: the restart "
                f"steps round(fraction * total_steps) are {steps} for total_steps={total}. "
                f"Received: restarts={restarts!r}"
            )
    if total is not None and first is not None:
        v.check_le("first_cycle_steps", first, "total_steps", total)
    return {
        "learning_rate_base": base,
        "total_steps": total,
        "restarts": fractions,
        "first_cycle_steps": first,
        "t_mul": t_mul_f,
        "m_mul": m_mul_f,
        "warmup_learning_rate": warm_lr,
        "warmup_fraction": warm_frac,
        "hold_fraction": hold_frac,
        "min_learning_rate": floor,
    }


@keras.saving.register_keras_serializable(package="lr_tb")
class CosineRestarts(StepSchedule):
    """Cycles of linear warmup, hold and cosine decay, each restarting at the (scaled) peak.

    The cycles are given in one of two ways, exactly one of which must be used:

    * the article's `restarts`: restart points as fractions of `total_steps`, strictly
      increasing inside (0, 1). `[0.05, 0.15, 0.30, 0.50]` makes five cycles of 5 %, 10 %,
      15 %, 20 % and 50 % of the run; cycle `i` starts at `round(restarts[i-1] * total_steps)`.
    * SGDR's `first_cycle_steps` (Loshchilov & Hutter, 2017): cycle `i` is
      `first_cycle_steps * t_mul ** i` steps long and starts at
      `first_cycle_steps * (t_mul ** i - 1) / (t_mul - 1)` (at `i * first_cycle_steps` when
      `t_mul == 1`).

    Inside cycle `i`, with length `L_i`, position `p` (steps since the cycle started) and
    peak `P_i = max(learning_rate_base * m_mul ** i, min_learning_rate)`:
    ```
    W_i = warmup_fraction * L_i;  H_i = hold_fraction * L_i;  S_i = min(warmup_learning_rate, P_i)
    p < W_i:          S_i + (P_i - S_i) * p / W_i
    p < W_i + H_i:    P_i
    otherwise:        min_learning_rate + 0.5 * (P_i - min_learning_rate)
                          * (1 + cos(pi * (p - W_i - H_i) / (L_i - W_i - H_i)))
    step >= total_steps:  min_learning_rate
    ```
    Each cycle is the `WarmupCosineDecay` curve scaled to the cycle (the same function
    computes both). At each restart step the rate jumps back to the cycle's warmup start (to
    `P_i` when `warmup_fraction == 0`). With no warmup and no floor it equals
    `keras.optimizers.schedules.CosineDecayRestarts(learning_rate_base, first_cycle_steps,
    t_mul, m_mul, alpha=0)` for every step before `total_steps`.

    Args:
        learning_rate_base: the peak of the first cycle, > 0.
        total_steps: the length of the whole schedule, >= 1; the rate is
            `min_learning_rate` from there on.
        restarts: the article's restart fractions, or None.
        first_cycle_steps: SGDR's first cycle length (integer >= 1, <= total_steps), or None.
        t_mul: SGDR's cycle length multiplier, > 0 (only with `first_cycle_steps`).
        m_mul: the peak multiplier per cycle, in (0, 1].
        warmup_learning_rate: where each cycle's warmup starts, in [0, learning_rate_base].
        warmup_fraction: each cycle's warmup as a fraction of its length, in [0, 1].
        hold_fraction: each cycle's hold as a fraction of its length, in [0, 1];
            `warmup_fraction + hold_fraction <= 1`.
        min_learning_rate: the floor every cosine ends at, in [0, learning_rate_base].

    Raises:
        TypeError / ValueError: an argument breaks the rule above (the message names it).

    Example:
        >>> schedule = lr_tb.schedules.CosineRestarts(
        ...     learning_rate_base=1e-3, total_steps=2000, restarts=[0.05, 0.15, 0.30, 0.50],
        ...     warmup_fraction=0.1, min_learning_rate=1e-6)
        >>> sgdr = lr_tb.schedules.CosineRestarts(
        ...     1e-3, total_steps=3100, first_cycle_steps=100, t_mul=2.0, m_mul=0.5)
    """

    _config_keys = (
        "learning_rate_base",
        "total_steps",
        "restarts",
        "first_cycle_steps",
        "t_mul",
        "m_mul",
        "warmup_learning_rate",
        "warmup_fraction",
        "hold_fraction",
        "min_learning_rate",
    )

    def __init__(
        self,
        learning_rate_base: float,
        total_steps: int,
        restarts: Sequence[float] | None = None,
        first_cycle_steps: int | None = None,
        t_mul: float = 1.0,
        m_mul: float = 1.0,
        warmup_learning_rate: float = 0.0,
        warmup_fraction: float = 0.0,
        hold_fraction: float = 0.0,
        min_learning_rate: float = 0.0,
    ) -> None:
        if total_steps is None:
            v.check_int("total_steps", total_steps, 1)
        self._set_args(
            check_cosine_restarts_args(
                learning_rate_base,
                total_steps,
                restarts,
                first_cycle_steps,
                t_mul,
                m_mul,
                warmup_learning_rate,
                warmup_fraction,
                hold_fraction,
                min_learning_rate,
            )
        )

    def cycle_starts(self) -> list[float]:
        """The step each cycle starts at, for the cycles that start before `total_steps`."""
        if self.restarts is not None:
            return [0.0, *map(float, restart_steps(self.restarts, self.total_steps))]
        starts, length, start = [], float(self.first_cycle_steps), 0.0
        while start < self.total_steps:
            starts.append(start)
            start += length
            length *= self.t_mul
        return starts

    def _cycle(self, step: Any, dtype: str) -> tuple[Any, Any, Any]:
        """(cycle index, cycle start, cycle length) of each step, as float tensors."""
        if self.restarts is not None:
            bounds = restart_steps(self.restarts, self.total_steps)
            starts = ops.convert_to_tensor([0.0, *bounds], dtype=dtype)
            lengths = ops.convert_to_tensor(
                [b - a for a, b in zip([0, *bounds], [*bounds, self.total_steps], strict=True)],
                dtype=dtype,
            )
            after = ops.expand_dims(step, -1) >= ops.convert_to_tensor(bounds, dtype=dtype)
            index = ops.sum(ops.cast(after, "int32"), axis=-1)
            return ops.cast(index, dtype), ops.take(starts, index), ops.take(lengths, index)
        first = ops.cast(self.first_cycle_steps, dtype)
        if self.t_mul == 1.0:
            index = ops.floor(step / first)
            return index, index * first, first + ops.zeros_like(step)
        t_mul = ops.cast(self.t_mul, dtype)

        def start_of(i: Any) -> Any:
            return first * (ops.power(t_mul, i) - 1.0) / (t_mul - 1.0)

        index = ops.floor(ops.log(1.0 + step * (t_mul - 1.0) / first) / ops.log(t_mul))
        index = ops.maximum(index, 0.0)
        # The logarithm can land a hair off an integer at a restart: fix the index exactly.
        index = ops.where(start_of(index + 1.0) <= step, index + 1.0, index)
        index = ops.where(start_of(index) > step, ops.maximum(index - 1.0, 0.0), index)
        return index, start_of(index), first * ops.power(t_mul, index)

    def _rate(self, step: Any, dtype: str) -> Any:
        def c(x: float) -> Any:
            return ops.cast(x, dtype)

        index, start, length = self._cycle(step, dtype)
        floor = c(self.min_learning_rate)
        peak = ops.maximum(c(self.learning_rate_base) * ops.power(c(self.m_mul), index), floor)
        rate = warmup_hold_cosine(
            step - start,
            peak=peak,
            length=length,
            warmup_start=ops.minimum(c(self.warmup_learning_rate), peak),
            warmup=c(self.warmup_fraction) * length,
            hold=c(self.hold_fraction) * length,
            floor=floor,
        )
        return ops.where(step >= c(self.total_steps), floor + ops.zeros_like(step), rate)

    @property
    def peak_learning_rate(self) -> float:
        return self.learning_rate_base

    @property
    def floor_learning_rate(self) -> float:
        if self.warmup_fraction == 0.0:
            return self.min_learning_rate
        return min(self.min_learning_rate, self.warmup_learning_rate)
