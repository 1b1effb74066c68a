"""Warmup-cosine cycles with warm restarts: the article's fourth schedule and SGDR."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _validation as v
from lr_tb.schedules.base import StepSchedule
from lr_tb.schedules.pieces import Coefficients, coefficients, rate_at

# A warmup or hold shorter than this fraction of a cycle would round to 0 steps in float32.
MIN_FRACTION = 1e-6

# The per-cycle coefficient table is a constant of the train step: keep it small.
MAX_CYCLES = 10_000


def restart_steps(restarts: Sequence[float], total_steps: int) -> list[int]:
    """The steps the article-form cycles restart at: `int(fraction * total_steps)`.

    Exactly the article's Python: the product in float64, truncated. So 77 steps with
    `[0.05, 0.15, 0.30, 0.50]` restart at `[3, 11, 23, 38]`, and the float64 product counts
    as it is: `0.29 * 100 == 28.999999999999996` restarts at 28, `0.15 * 100 ==
    15.000000000000002` at 15.
    """
    return [int(float(r) * total_steps) for r in restarts]


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
    for name, value in (("warmup_fraction", warm_frac), ("hold_fraction", hold_frac)):
        if 0.0 < value < MIN_FRACTION:  # float32 would round such a piece to nothing
            raise ValueError(
                f"Argument `{name}` must be 0 or >= {MIN_FRACTION:g} (the rates are computed "
                f"in float32). Received: {name}={value!r}"
            )
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
                f"steps int(fraction * total_steps) are {steps} for total_steps={total}. "
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
      15 %, 20 % and 50 % of the run; cycle `i` starts at `int(restarts[i-1] * total_steps)`,
      truncated like the article's code (the product in float64: 77 steps restart at 3, 11,
      23 and 38).
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
        warmup_fraction: each cycle's warmup as a fraction of its length: 0, or in
            [1e-6, 1] (shorter would round to nothing in float32).
        hold_fraction: each cycle's hold as a fraction of its length, 0 or in [1e-6, 1];
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

    # its arguments checked; a callback passes None for a length the fit will give
    check_args = staticmethod(check_cosine_restarts_args)
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
        self._table_cache = None
        self._cycles()  # a cycle count over MAX_CYCLES is refused here, not at the first step

    def cycle_starts(self) -> list[float]:
        """The step each cycle starts at, for the cycles that start before `total_steps`."""
        return self._cycles()[0].tolist()

    def _cycles(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, length) of every cycle that starts before `total_steps`, in float64."""
        if self.restarts is not None:
            starts = np.array([0, *restart_steps(self.restarts, self.total_steps)], np.float64)
            return starts, np.diff(np.append(starts, float(self.total_steps)))
        first = float(self.first_cycle_steps)
        starts, lengths, start, length = [], [], 0.0, first
        while start < self.total_steps and length >= 1e-9 and len(starts) <= MAX_CYCLES:
            starts.append(start)
            lengths.append(length)
            start += length
            length *= self.t_mul
        if len(starts) > MAX_CYCLES:
            raise ValueError(
                f"Arguments `first_cycle_steps` and `t_mul` must give at most {MAX_CYCLES} "
                f"cycles within total_steps. Received: first_cycle_steps={self.first_cycle_steps}"
                f", t_mul={self.t_mul}, total_steps={self.total_steps}"
            )
        return np.array(starts), np.array(lengths)

    def _table(self) -> tuple[np.ndarray, Coefficients]:
        """Cycle starts and one row of warmup-hold-cosine coefficients per cycle."""
        if self._table_cache is None:
            starts, lengths = self._cycles()
            index = np.arange(starts.size, dtype=np.float64)
            floor = self.min_learning_rate
            peak = np.maximum(self.learning_rate_base * self.m_mul**index, floor)
            self._table_cache = (
                starts,
                coefficients(
                    peak=peak,
                    length=lengths,
                    warmup_start=np.minimum(self.warmup_learning_rate, peak),
                    warmup=self.warmup_fraction * lengths,
                    hold=self.hold_fraction * lengths,
                    floor=np.full(starts.shape, floor),
                ),
            )
        return self._table_cache

    def values(self, steps: np.ndarray) -> np.ndarray:
        """Many steps at once: each cycle's steps are evaluated with that cycle's coefficients
        as Python floats (a gather per coefficient would cost more than the formula)."""
        starts, table = self._table()
        on = self._host_ops()
        if starts.size > 64 or on is None:
            return super().values(steps)
        flat = steps.reshape(-1)
        out = np.full(flat.shape, self.min_learning_rate, dtype=np.float32)
        cycle = np.searchsorted(starts, flat, side="right") - 1
        running = flat < self.total_steps
        for i, start in enumerate(starts.tolist()):
            where = np.flatnonzero(running & (cycle == i))
            if where.size:
                row = Coefficients(*(float(column[i]) for column in table))
                t = (flat[where] - start).astype(on.dtype)
                with np.errstate(all="ignore"):
                    out[where] = rate_at(t, row, on)
        return out.reshape(steps.shape)

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:
        starts, table = self._table()
        shape = ops.shape(step)
        flat = ops.reshape(step, (-1,))
        # cycle of each step: the last start <= step
        index = ops.searchsorted(ops.convert_to_tensor(starts, dtype=dtype), flat, side="right")
        index = ops.maximum(index - 1, 0)

        def per_step(column: np.ndarray) -> Any:
            return ops.take(ops.convert_to_tensor(column, dtype=dtype), index)

        t = flat - per_step(starts)
        rate = rate_at(t, Coefficients(*(per_step(column) for column in table)), ops)
        rate = ops.where(flat >= float(self.total_steps), self.min_learning_rate, rate)
        return ops.reshape(rate, shape)

    @property
    def floor_learning_rate(self) -> float:
        if self.warmup_fraction == 0.0:
            return self.min_learning_rate
        return min(self.min_learning_rate, self.warmup_learning_rate)
