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
from lr_tb import catalog
from lr_tb.callbacks.schedule import ScheduleCallback
from lr_tb.schedules.one_cycle import check_momentum_range
from lr_tb.spec import ScheduleSpec

# ScheduleCallback's own arguments, which every scheduler takes too.
_CALLBACK_ARGS = (
    "log_dir",
    "verbose",
    "flush_secs",
    "log_momentum",
    "log_weight_decay",
    "optimizer",
)


def _arguments(local_names: dict[str, Any]) -> dict[str, Any]:
    """A constructor's arguments by name, from the `locals()` it starts with."""
    return {k: value for k, value in local_names.items() if k not in ("self", "__class__")}


def _steps_or_epochs(steps_name: str, steps: Any, epochs_name: str, epochs: Any) -> None:
    if epochs is not None:
        v.check_non_negative(epochs_name, epochs)
        if steps:
            raise ValueError(
                f"Give `{steps_name}` or `{epochs_name}`, not both. Received: "
                f"{steps_name}={steps!r}, {epochs_name}={epochs!r}"
            )


def _exactly_one(arguments: dict[str, Any]) -> None:
    if sum(value is not None for value in arguments.values()) != 1:
        names = [f"`{name}`" for name in arguments]
        listed = f"{', '.join(names[:-1])} and {names[-1]}"
        received = ", ".join(f"{k}={value!r}" for k, value in arguments.items())
        raise ValueError(
            f"Exactly one of the arguments {listed} must be given. Received: {received}"
        )


class _FitLengthScheduler(ScheduleCallback):
    """A ScheduleCallback whose schedule is built from the fit's steps per epoch and epochs.

    What it does is said by its schedule's `spec` (`lr_tb.catalog`): the schedule's
    arguments are checked at construction and kept as attributes of the same names, as are
    the epoch-based ones (`spec.epoch_args`); at train begin the fit gives `total_steps`
    when none of `spec.length_from` is given, `steps_per_epoch` when it is None, and the
    step arguments given in epochs.
    """

    spec: ScheduleSpec

    def __init__(self, **arguments: Any) -> None:
        """`arguments`: the subclass's constructor arguments, by name."""
        common = {key: arguments.pop(key) for key in _CALLBACK_ARGS}
        epochs = {key: arguments.pop(key) for key in self.spec.epoch_args}
        self._check_lengths(arguments, epochs)
        for key, value in epochs.items():
            setattr(self, key, value)
        checked = self._checked(arguments, epochs)
        self._schedule_keys = tuple(checked)
        for key, value in checked.items():
            setattr(self, key, value)
        super().__init__(schedule=None, **common)

    def _check_lengths(self, arguments: dict[str, Any], epochs: dict[str, Any]) -> None:
        """A length given in steps or in epochs, not both; exactly one of `spec.one_of`
        (when that is a steps-or-epochs pair, its only rule besides epochs >= 0)."""
        one_of = set(self.spec.one_of)
        pairs = {e: steps_name for e, (steps_name, _) in self.spec.epoch_args.items()}
        for epochs_name, steps_name in pairs.items():
            if {epochs_name, steps_name} != one_of:
                _steps_or_epochs(
                    steps_name, arguments[steps_name], epochs_name, epochs[epochs_name]
                )
        if one_of:
            _exactly_one({key: (arguments | epochs)[key] for key in self.spec.one_of})
        for epochs_name, steps_name in pairs.items():
            if {epochs_name, steps_name} == one_of and epochs[epochs_name] is not None:
                v.check_non_negative(epochs_name, epochs[epochs_name])

    def _checked(self, arguments: dict[str, Any], epochs: dict[str, Any]) -> dict[str, Any]:
        """The schedule's arguments, checked. A step argument given in epochs that must be
        >= 1 step is checked as that least number until the fit says how many it is."""
        stand_ins = {}
        for epochs_name, (steps_name, least) in self.spec.epoch_args.items():
            if epochs[epochs_name] is not None and least:
                v.check_positive(epochs_name, epochs[epochs_name])
                stand_ins[steps_name] = least
        checked = self.spec.schedule_class().check_args(**(arguments | stand_ins))
        return checked | {key: arguments[key] for key in stand_ins}

    def _fit_args(self) -> tuple[dict[str, Any], str]:
        """The arguments this fit decides, and a note on where they came from."""
        overrides, note = {}, ""
        if self._length_inferred():
            overrides["total_steps"], note = self._total_steps(None)
        if "steps_per_epoch" in self._schedule_keys and self.steps_per_epoch is None:
            overrides["steps_per_epoch"] = self._fit_steps_per_epoch("steps_per_epoch")
        for epochs_name, (steps_name, least) in self.spec.epoch_args.items():
            epochs = getattr(self, epochs_name)
            if epochs is not None:
                overrides[steps_name] = max(least, self._epochs_to_steps(epochs, 0, steps_name))
        return overrides, note

    def _make_schedule(self) -> Any:
        overrides, note = self._fit_args()
        args = {key: getattr(self, key) for key in self._schedule_keys} | overrides
        try:
            return self.spec.schedule_class()(**args)
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
        at_fit_start = self._fit.hook.iterations_at_fit_start(self._fit.optimizer)
        if at_fit_start is not None:
            restored = at_fit_start != self._fit.raw_start  # a BackupAndRestore restore
        else:  # the model's first lr_tb fit: lr_tb saw it start too late to tell
            restored = any(
                isinstance(c, keras.callbacks.BackupAndRestore) for c in self._fit.siblings
            )
        return 0 if restored else start

    def _length_inferred(self) -> bool:
        lengths = self.spec.length_from
        return bool(lengths) and all(getattr(self, name) is None for name in lengths)

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
        >>> history = model.fit(x, y, epochs=10, callbacks=[callback])
    """

    spec = catalog.spec("exponential")

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
        super().__init__(**_arguments(locals()))


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
        >>> history = model.fit(x, y, epochs=10, callbacks=[keras.callbacks.TensorBoard("runs/cos"),
        ...                                                 callback])
    """

    spec = catalog.spec("warmup_cosine")

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
        super().__init__(**_arguments(locals()))


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

    spec = catalog.spec("cosine_restarts")

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
        super().__init__(**_arguments(locals()))


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
        >>> history = model.fit(x, y, epochs=5, callbacks=[callback])
    """

    spec = catalog.spec("one_cycle")

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
        arguments = _arguments(locals())
        self.cycle_momentum = arguments.pop("cycle_momentum")
        self.base_momentum, self.max_momentum = check_momentum_range(
            arguments.pop("base_momentum"), arguments.pop("max_momentum")
        )
        super().__init__(**arguments)

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
        >>> history = model.fit(x, y, epochs=10, callbacks=[callback])
    """

    spec = catalog.spec("wsd")

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
        super().__init__(**_arguments(locals()))


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

    spec = catalog.spec("polynomial")

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
        super().__init__(**_arguments(locals()))


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

    spec = catalog.spec("inverse_sqrt")

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
        super().__init__(**_arguments(locals()))


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

    spec = catalog.spec("constant_with_warmup")

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
        super().__init__(**_arguments(locals()))
