"""The article's schedules as ready callbacks whose length can come from the `fit` call.

Each takes its schedule's arguments (checked at construction) plus `log_dir`, `verbose` and
`flush_secs`, and builds the schedule at train begin, when the fit's `epochs` and steps per
epoch are known. Left out, `total_steps` is `epochs * steps_per_epoch` (`epochs` as Keras
means it, the index the run ends at, so a run continued with `initial_epoch` keeps the same
total). Epoch-based arguments (`warmup_epochs`, ...) are converted with the fit's steps per
epoch and rounded to whole steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from lr_tb import _validation as v
from lr_tb.callbacks.schedule import ScheduleCallback
from lr_tb.schedules.constant_with_warmup import (
    ConstantWithWarmup,
    check_constant_with_warmup_args,
)
from lr_tb.schedules.cosine_restarts import CosineRestarts, check_cosine_restarts_args
from lr_tb.schedules.exponential import ExponentialDecay, check_exponential_args
from lr_tb.schedules.inverse_sqrt import InverseSqrtDecay, check_inverse_sqrt_args
from lr_tb.schedules.one_cycle import OneCycle, check_momentum_range, check_one_cycle_args
from lr_tb.schedules.polynomial import WarmupPolynomialDecay, check_polynomial_args
from lr_tb.schedules.warmup_cosine import WarmupCosineDecay, check_warmup_cosine_args
from lr_tb.schedules.wsd import WarmupStableDecay, check_wsd_args


def _steps_or_epochs(steps_name: str, steps: Any, epochs_name: str, epochs: Any) -> None:
    if epochs is not None:
        v.check_non_negative(epochs_name, epochs)
        if steps:
            raise ValueError(
                f"Give `{steps_name}` or `{epochs_name}`, not both. Received: "
                f"{steps_name}={steps!r}, {epochs_name}={epochs!r}"
            )


class _FitLengthScheduler(ScheduleCallback):
    """A ScheduleCallback whose schedule is built from the fit's steps per epoch and epochs.

    Subclasses pass their schedule's checked arguments (`schedule_args`, a dict by argument
    name), kept as attributes of the same names, and say in `_fit_args` which of them the fit
    decides.
    """

    schedule_class: type

    def __init__(
        self,
        schedule_args: dict[str, Any],
        log_dir: str | None,
        verbose: int,
        flush_secs: float | None,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        self._schedule_keys = tuple(schedule_args)
        for key, value in schedule_args.items():
            setattr(self, key, value)
        super().__init__(
            schedule=None,
            log_dir=log_dir,
            verbose=verbose,
            flush_secs=flush_secs,
            log_momentum=log_momentum,
            log_weight_decay=log_weight_decay,
            optimizer=optimizer,
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        """The arguments this fit decides, and a note on where they came from."""
        return {}, ""

    def _make_schedule(self) -> Any:
        overrides, note = self._fit_args()
        args = {key: getattr(self, key) for key in self._schedule_keys} | overrides
        try:
            return self.schedule_class(**args)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__}: {error}{note}") from None

    def _origin(self, start: int, first_epoch: int) -> int:
        """An inferred length spans *this* fit from its epoch 0. A fit from epoch 0 on an
        optimizer that has already stepped (a second `fit(epochs=2)`) runs its schedule anew
        from its own first step; a continued fit (`initial_epoch > 0`, a BackupAndRestore
        resume, keras-tuner's Hyperband) goes on along the same curve."""
        if not self._length_inferred() or first_epoch != 0 or start == 0:
            return 0
        # read before any callback ran, for the optimizer this callback follows
        at_fit_start = self._fit.hook.iterations_at_fit_start.get(id(self._fit.optimizer))
        if at_fit_start is not None:
            restored = at_fit_start != self._fit.raw_start  # a BackupAndRestore restore
        else:  # the model's first lr_tb fit: lr_tb saw it start too late to tell
            restored = any(
                isinstance(c, keras.callbacks.BackupAndRestore) for c in self._fit.siblings
            )
        return 0 if restored else start

    def _length_inferred(self) -> bool:
        return getattr(self, "total_steps", 0) is None

    def _fit_steps_per_epoch(self, needed_for: str) -> int:
        steps = self._fit.steps_per_epoch
        if not steps:
            raise ValueError(
                f"{type(self).__name__} needs the number of steps per epoch to compute "
                f"`{needed_for}`, and this fit does not know it (a dataset of unknown size). "
                f"Pass `{needed_for}` explicitly or call fit(..., steps_per_epoch=N)."
            )
        return int(steps)

    def _total_steps(self, total_steps: int | None) -> tuple[int, str]:
        """The schedule's length, and a note saying where it came from (for error messages)."""
        if total_steps is not None:
            return total_steps, ""
        spe = self._fit_steps_per_epoch("total_steps")
        total = int(self._fit.epochs) * spe
        return total, f" (total_steps = epochs * steps_per_epoch = {self._fit.epochs} * {spe})"

    def _epochs_to_steps(self, epochs: float | None, steps: int, name: str) -> int:
        if epochs is None:
            return steps
        return int(round(epochs * self._fit_steps_per_epoch(name)))


class ExponentialDecayScheduler(_FitLengthScheduler):
    """The article's exponential decay, once per epoch, as a callback.

    ```
    rate(step) = max(learning_rate_base * decay_rate ** (step // steps_per_epoch),
                     min_learning_rate)
    ```
    `steps_per_epoch` defaults to the fit's, so the rate changes at each epoch start; a run
    continued with `fit(initial_epoch=k)` starts at the rate of epoch `k`.

    Args:
        learning_rate_base: the rate of the first epoch, > 0.
        decay_rate: the factor per epoch, in (0, 1].
        steps_per_epoch: steps between two decays (None: the fit's steps per epoch).
        min_learning_rate: the floor, in [0, learning_rate_base].
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it).

    Example:
        >>> callback = lr_tb.ExponentialDecayScheduler(1e-3, decay_rate=0.9,
        ...                                            min_learning_rate=1e-6, log_dir="runs/exp")
        >>> model.fit(x, y, epochs=10, callbacks=[callback])
    """

    schedule_class = ExponentialDecay

    def __init__(
        self,
        learning_rate_base: float,
        decay_rate: float,
        steps_per_epoch: int | None = None,
        min_learning_rate: float = 0.0,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        *,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        super().__init__(
            check_exponential_args(
                learning_rate_base, decay_rate, steps_per_epoch, min_learning_rate
            ),
            log_dir,
            verbose,
            flush_secs,
            log_momentum,
            log_weight_decay,
            optimizer,
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        spe = self.steps_per_epoch or self._fit_steps_per_epoch("steps_per_epoch")
        return {"steps_per_epoch": spe}, ""


class WarmupCosineDecayScheduler(_FitLengthScheduler):
    """The article's cosine annealing with linear warmup and hold, as a callback.

    Applies `lr_tb.schedules.WarmupCosineDecay` (see it for the formula) during `fit`.

    Args:
        learning_rate_base: the peak rate, > 0.
        total_steps: the schedule's length (None: `epochs * steps_per_epoch` of the fit).
        warmup_learning_rate: the rate at step 0, in [0, learning_rate_base].
        warmup_steps: steps of linear warmup, >= 0 (or `warmup_epochs`).
        hold_steps: steps at the peak after the warmup, >= 0 (or `hold_epochs`).
        min_learning_rate: the floor, in [0, learning_rate_base].
        warmup_epochs: the warmup in epochs (may be fractional), instead of `warmup_steps`.
        hold_epochs: the hold in epochs, instead of `hold_steps`.
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it); at
        train begin, when the fit is too short for warmup + hold.

    Example:
        >>> callback = lr_tb.WarmupCosineDecayScheduler(
        ...     learning_rate_base=1e-3, warmup_steps=200, hold_steps=100,
        ...     min_learning_rate=1e-6, log_dir="runs/cos")
        >>> model.fit(x, y, epochs=10, callbacks=[keras.callbacks.TensorBoard("runs/cos"),
        ...                                       callback])
    """

    schedule_class = WarmupCosineDecay

    def __init__(
        self,
        learning_rate_base: float,
        total_steps: int | None = None,
        warmup_learning_rate: float = 0.0,
        warmup_steps: int = 0,
        hold_steps: int = 0,
        min_learning_rate: float = 0.0,
        *,
        warmup_epochs: float | None = None,
        hold_epochs: float | None = None,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        _steps_or_epochs("warmup_steps", warmup_steps, "warmup_epochs", warmup_epochs)
        _steps_or_epochs("hold_steps", hold_steps, "hold_epochs", hold_epochs)
        self.warmup_epochs = warmup_epochs
        self.hold_epochs = hold_epochs
        super().__init__(
            check_warmup_cosine_args(
                learning_rate_base,
                total_steps,
                warmup_learning_rate,
                warmup_steps,
                hold_steps,
                min_learning_rate,
            ),
            log_dir,
            verbose,
            flush_secs,
            log_momentum,
            log_weight_decay,
            optimizer,
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        total, note = self._total_steps(self.total_steps)
        warmup = self._epochs_to_steps(self.warmup_epochs, self.warmup_steps, "warmup_steps")
        hold = self._epochs_to_steps(self.hold_epochs, self.hold_steps, "hold_steps")
        return {"total_steps": total, "warmup_steps": warmup, "hold_steps": hold}, note


class CosineRestartsScheduler(_FitLengthScheduler):
    """Warmup-cosine cycles with warm restarts (the article's "updated version", or SGDR).

    Applies `lr_tb.schedules.CosineRestarts` (see it for the formula) during `fit`. Exactly
    one of `restarts` (fractions of the run), `first_cycle_steps` or `first_cycle_epochs`.

    Args:
        learning_rate_base: the first cycle's peak, > 0.
        total_steps: the schedule's length (None: `epochs * steps_per_epoch` of the fit).
        restarts: restart points as fractions of `total_steps`, e.g. `[0.05, 0.15, 0.3, 0.5]`.
        first_cycle_steps: SGDR's first cycle length in steps.
        t_mul: SGDR's cycle length multiplier, > 0.
        m_mul: the peak multiplier per cycle, in (0, 1].
        warmup_learning_rate: where each cycle's warmup starts.
        warmup_fraction: each cycle's warmup as a fraction of its length.
        hold_fraction: each cycle's hold as a fraction of its length.
        min_learning_rate: the floor.
        first_cycle_epochs: SGDR's first cycle length in epochs, instead of steps.
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it); at
        train begin, when a cycle would be shorter than one step.

    Example:
        >>> callback = lr_tb.CosineRestartsScheduler(
        ...     1e-3, restarts=[0.05, 0.15, 0.30, 0.50], warmup_fraction=0.1,
        ...     log_dir="runs/restarts")
    """

    schedule_class = CosineRestarts

    def __init__(
        self,
        learning_rate_base: float,
        total_steps: int | None = None,
        restarts: Sequence[float] | None = None,
        first_cycle_steps: int | None = None,
        t_mul: float = 1.0,
        m_mul: float = 1.0,
        warmup_learning_rate: float = 0.0,
        warmup_fraction: float = 0.0,
        hold_fraction: float = 0.0,
        min_learning_rate: float = 0.0,
        *,
        first_cycle_epochs: float | None = None,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        _steps_or_epochs(
            "first_cycle_steps", first_cycle_steps, "first_cycle_epochs", first_cycle_epochs
        )
        cycles = {
            "restarts": restarts,
            "first_cycle_steps": first_cycle_steps,
            "first_cycle_epochs": first_cycle_epochs,
        }
        if sum(value is not None for value in cycles.values()) != 1:
            received = ", ".join(f"{k}={value!r}" for k, value in cycles.items())
            raise ValueError(
                "Exactly one of the arguments `restarts`, `first_cycle_steps` and "
                f"`first_cycle_epochs` must be given. Received: {received}"
            )
        if first_cycle_epochs is not None and first_cycle_epochs <= 0:
            v.check_positive("first_cycle_epochs", first_cycle_epochs)
        args = check_cosine_restarts_args(
            learning_rate_base,
            total_steps,
            restarts,
            # stands in for the epoch-based length until the fit says how many steps it is
            1 if first_cycle_epochs is not None else first_cycle_steps,
            t_mul,
            m_mul,
            warmup_learning_rate,
            warmup_fraction,
            hold_fraction,
            min_learning_rate,
        )
        args["first_cycle_steps"] = first_cycle_steps if first_cycle_epochs is None else None
        self.first_cycle_epochs = first_cycle_epochs
        super().__init__(
            args, log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        total, note = self._total_steps(self.total_steps)
        first = self.first_cycle_steps
        if self.first_cycle_epochs is not None:
            first = max(1, self._epochs_to_steps(self.first_cycle_epochs, 0, "first_cycle_steps"))
        return {"total_steps": total, "first_cycle_steps": first}, note


class OneCycleScheduler(_FitLengthScheduler):
    """The one-cycle policy (PyTorch's `OneCycleLR`, fastai's `fit_one_cycle`) as a callback,
    with the optimizer's momentum cycling in opposition, both applied in the train step.

    Applies `lr_tb.schedules.OneCycle` (see it for the formula). With `cycle_momentum`, the
    momentum of `keras.optimizers.SGD` (`momentum`) or the `beta_1` of Adam, AdamW, Adamax and
    Nadam goes from `max_momentum` down to `base_momentum` while the rate rises, and back up
    while it falls (`OneCycle.momentum`, PyTorch's formula), read from a table by the compiled
    step like the rate; after the fit the optimizer uses its own momentum again (its attribute
    is never changed). SGD must be built with `momentum > 0` (Keras builds no velocity
    otherwise); another optimizer raises a TypeError at train begin. With `log_momentum`, the
    momentum each update applied is written beside the rate.

    Args:
        max_lr: the peak rate, > 0.
        total_steps: the cycle's length (None: `epochs * steps_per_epoch` of the fit).
        pct_start, div_factor, final_div_factor, anneal_strategy: as for `OneCycle`.
        cycle_momentum: cycle the momentum / `beta_1` in opposition to the rate.
        base_momentum: the momentum at the peak rate, in [0, 1].
        max_momentum: the momentum at the start and the end of the cycle, in [0, 1].
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it); at train
        begin, with `cycle_momentum`, an optimizer without a momentum lr_tb can cycle.

    Example:
        >>> model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
        >>> callback = lr_tb.OneCycleScheduler(max_lr=0.1, log_dir="runs/1cycle",
        ...                                    log_momentum=True)
        >>> model.fit(x, y, epochs=5, callbacks=[callback])
    """

    schedule_class = OneCycle

    def __init__(
        self,
        max_lr: float,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        *,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        if not isinstance(cycle_momentum, bool):
            raise TypeError(
                f"Argument `cycle_momentum` must be a bool. Received: cycle_momentum="
                f"{cycle_momentum!r}"
            )
        self.cycle_momentum = cycle_momentum
        self.base_momentum, self.max_momentum = check_momentum_range(base_momentum, max_momentum)
        super().__init__(
            check_one_cycle_args(
                max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal_strategy
            ),
            log_dir,
            verbose,
            flush_secs,
            log_momentum,
            log_weight_decay,
            optimizer,
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        total, note = self._total_steps(self.total_steps)
        return {"total_steps": total}, note

    def _cycles_momentum(self) -> bool:
        return self.cycle_momentum

    def _momentum_at(self, steps: Any) -> Any:
        if not self.cycle_momentum:
            return None
        return self.schedule.momentum(
            steps - self._origin_step, self.base_momentum, self.max_momentum
        )


class WarmupStableDecayScheduler(_FitLengthScheduler):
    """Warmup-stable-decay (transformers' `get_wsd_schedule`) as a callback.

    Applies `lr_tb.schedules.WarmupStableDecay` (see it for the formula) during `fit`. Left
    out, `total_steps` is `epochs * steps_per_epoch` of the fit, so the decay takes the last
    `decay_steps` of the run. Exactly one of `decay_steps` and `decay_epochs`.

    Args:
        learning_rate_base: the rate of the stable phase, > 0.
        decay_steps: steps of the decay phase, >= 0 (or `decay_epochs`).
        total_steps: the schedule's length (None: `epochs * steps_per_epoch` of the fit,
            unless `stable_steps` is given).
        warmup_steps: steps of warmup, >= 0 (or `warmup_epochs`).
        stable_steps: steps of the stable phase, instead of `total_steps`.
        warmup_type, decay_type: "linear", "cosine" or "1-sqrt".
        min_lr_ratio: the floor as a fraction of `learning_rate_base`, in [0, 1].
        num_cycles: cosine waves of the "cosine" decay, > 0.
        warmup_epochs: the warmup in epochs (may be fractional), instead of `warmup_steps`.
        decay_epochs: the decay in epochs, instead of `decay_steps`.
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it); at
        train begin, when the fit is too short for warmup + decay.

    Example:
        >>> callback = lr_tb.WarmupStableDecayScheduler(
        ...     3e-4, decay_epochs=2, warmup_steps=100, decay_type="1-sqrt", log_dir="runs/wsd")
        >>> model.fit(x, y, epochs=10, callbacks=[callback])
    """

    schedule_class = WarmupStableDecay

    def __init__(
        self,
        learning_rate_base: float,
        decay_steps: int | None = None,
        total_steps: int | None = None,
        warmup_steps: int = 0,
        stable_steps: int | None = None,
        warmup_type: str = "linear",
        decay_type: str = "cosine",
        min_lr_ratio: float = 0.0,
        num_cycles: float = 0.5,
        *,
        warmup_epochs: float | None = None,
        decay_epochs: float | None = None,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        _steps_or_epochs("warmup_steps", warmup_steps, "warmup_epochs", warmup_epochs)
        if (decay_steps is None) == (decay_epochs is None):
            raise ValueError(
                "Exactly one of the arguments `decay_steps` and `decay_epochs` must be given. "
                f"Received: decay_steps={decay_steps!r}, decay_epochs={decay_epochs!r}"
            )
        if decay_epochs is not None:
            v.check_non_negative("decay_epochs", decay_epochs)
        self.warmup_epochs = warmup_epochs
        self.decay_epochs = decay_epochs
        super().__init__(
            check_wsd_args(
                learning_rate_base,
                decay_steps,
                total_steps,
                warmup_steps,
                stable_steps,
                warmup_type,
                decay_type,
                min_lr_ratio,
                num_cycles,
            ),
            log_dir,
            verbose,
            flush_secs,
            log_momentum,
            log_weight_decay,
            optimizer,
        )

    def _length_inferred(self) -> bool:
        return self.total_steps is None and self.stable_steps is None

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        total, note = self.total_steps, ""
        if self.stable_steps is None:
            total, note = self._total_steps(self.total_steps)
        warmup = self._epochs_to_steps(self.warmup_epochs, self.warmup_steps, "warmup_steps")
        decay = self._epochs_to_steps(self.decay_epochs, self.decay_steps, "decay_steps")
        return {"total_steps": total, "warmup_steps": warmup, "decay_steps": decay}, note


class WarmupPolynomialDecayScheduler(_FitLengthScheduler):
    """Linear warmup, then polynomial decay (transformers'
    `get_polynomial_decay_schedule_with_warmup`), as a callback.

    Applies `lr_tb.schedules.WarmupPolynomialDecay` (see it for the formula) during `fit`.

    Args:
        learning_rate_base: the rate at the end of the warmup, > 0.
        total_steps: the step the decay ends at (None: `epochs * steps_per_epoch` of the fit).
        warmup_steps: steps of linear warmup from 0, >= 0 (or `warmup_epochs`).
        end_learning_rate: the final rate, in [0, learning_rate_base).
        power: the polynomial's power, > 0.
        warmup_epochs: the warmup in epochs (may be fractional), instead of `warmup_steps`.
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it); at
        train begin, when the fit is shorter than the warmup.

    Example:
        >>> callback = lr_tb.WarmupPolynomialDecayScheduler(
        ...     1e-3, warmup_epochs=1, end_learning_rate=1e-6, power=2.0, log_dir="runs/poly")
    """

    schedule_class = WarmupPolynomialDecay

    def __init__(
        self,
        learning_rate_base: float,
        total_steps: int | None = None,
        warmup_steps: int = 0,
        end_learning_rate: float = 1e-7,
        power: float = 1.0,
        *,
        warmup_epochs: float | None = None,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        _steps_or_epochs("warmup_steps", warmup_steps, "warmup_epochs", warmup_epochs)
        self.warmup_epochs = warmup_epochs
        super().__init__(
            check_polynomial_args(
                learning_rate_base, total_steps, warmup_steps, end_learning_rate, power
            ),
            log_dir,
            verbose,
            flush_secs,
            log_momentum,
            log_weight_decay,
            optimizer,
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        total, note = self._total_steps(self.total_steps)
        warmup = self._epochs_to_steps(self.warmup_epochs, self.warmup_steps, "warmup_steps")
        return {"total_steps": total, "warmup_steps": warmup}, note


class InverseSqrtDecayScheduler(_FitLengthScheduler):
    """Linear warmup, then inverse square-root decay (transformers'
    `get_inverse_sqrt_schedule`, timm's `rsqrt`), as a callback.

    Applies `lr_tb.schedules.InverseSqrtDecay` (see it for the formula) during `fit`. The
    schedule has no end, so it runs on the absolute step: a second `fit` goes on along it.

    Args:
        learning_rate_base: the rate at the end of the warmup, > 0.
        warmup_steps: steps of linear warmup from 0, >= 0 (or `warmup_epochs`).
        timescale: the decay's time scale in steps (None: the warmup's length, or 10,000).
        warmup_epochs: the warmup in epochs (may be fractional), instead of `warmup_steps`.
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it).

    Example:
        >>> callback = lr_tb.InverseSqrtDecayScheduler(1e-3, warmup_steps=4000,
        ...                                            log_dir="runs/rsqrt")
    """

    schedule_class = InverseSqrtDecay

    def __init__(
        self,
        learning_rate_base: float,
        warmup_steps: int = 0,
        timescale: int | None = None,
        *,
        warmup_epochs: float | None = None,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        _steps_or_epochs("warmup_steps", warmup_steps, "warmup_epochs", warmup_epochs)
        self.warmup_epochs = warmup_epochs
        super().__init__(
            check_inverse_sqrt_args(learning_rate_base, warmup_steps, timescale),
            log_dir,
            verbose,
            flush_secs,
            log_momentum,
            log_weight_decay,
            optimizer,
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        warmup = self._epochs_to_steps(self.warmup_epochs, self.warmup_steps, "warmup_steps")
        return {"warmup_steps": warmup}, ""


class ConstantWithWarmupScheduler(_FitLengthScheduler):
    """Linear warmup from 0, then a constant rate (transformers'
    `get_constant_schedule_with_warmup`), as a callback.

    Applies `lr_tb.schedules.ConstantWithWarmup` during `fit`, on the absolute step (a second
    `fit` does not warm up again).

    Args:
        learning_rate_base: the rate after the warmup, > 0.
        warmup_steps: steps of linear warmup, >= 0 (or `warmup_epochs`).
        warmup_epochs: the warmup in epochs (may be fractional), instead of `warmup_steps`.
        log_dir, verbose, flush_secs, log_momentum, log_weight_decay, optimizer: as for
            `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it).

    Example:
        >>> callback = lr_tb.ConstantWithWarmupScheduler(1e-3, warmup_epochs=0.5)
    """

    schedule_class = ConstantWithWarmup

    def __init__(
        self,
        learning_rate_base: float,
        warmup_steps: int = 0,
        *,
        warmup_epochs: float | None = None,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        _steps_or_epochs("warmup_steps", warmup_steps, "warmup_epochs", warmup_epochs)
        self.warmup_epochs = warmup_epochs
        super().__init__(
            check_constant_with_warmup_args(learning_rate_base, warmup_steps),
            log_dir,
            verbose,
            flush_secs,
            log_momentum,
            log_weight_decay,
            optimizer,
        )

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        warmup = self._epochs_to_steps(self.warmup_epochs, self.warmup_steps, "warmup_steps")
        return {"warmup_steps": warmup}, ""
