"""Step decay on a plateau (Keras' ReduceLROnPlateau), alone or on top of any schedule, with
every step's rate logged.

`ReduceLROnPlateau(...)` makes one of two classes: `_Plateau` (alone: the optimizer's float
rate, reduced in place) or `_ScheduledPlateau` (`schedule=S`: a scale on S's rates, in
`ScheduleCallback`'s table). `ReduceLROnPlateau` itself holds what they share: the
arguments, the decision rule (`_plateau_rule.PlateauRule`) at each epoch end, and its state
kept in `backup_dir`.
"""

from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np

from lr_tb import _keras_private as P
from lr_tb import _validation as v
from lr_tb import tags
from lr_tb.callbacks._plateau_rule import STATE_FILE, PlateauRule, read_states, write_state
from lr_tb.callbacks.schedule import ScheduleCallback

__all__ = ["SCALE_TAG", "STATE_FILE", "ReduceLROnPlateau"]

_MODES = ("auto", "min", "max")
_THRESHOLD_MODES = ("abs", "rel")
SCALE_TAG = tags.LR_SCALE

# How far (relative) the rate the optimizer holds, divided by the schedule's rate at the last
# step, may be from a power of `factor` and still be taken as that power: both are float32
# (a relative error of at most 2**-24 each), so a few ulps.
_SNAP = 2.0**-20


def _of_rule(name: str) -> property:
    """A callback attribute that is its `PlateauRule`'s."""
    return property(
        lambda self: getattr(self._rule, name),
        lambda self, value: setattr(self._rule, name, value),
        doc=f"The rule's `{name}`.",
    )


def _checked_args(
    monitor: Any,
    factor: Any,
    patience: Any,
    mode: Any,
    min_delta: Any,
    cooldown: Any,
    min_lr: Any,
    backup_dir: Any,
    schedule: Any,
    threshold_mode: Any,
    warmup_epochs: Any,
) -> tuple[float, float, str | None, PlateauRule]:
    """ReduceLROnPlateau's arguments checked, in the order of its signature (the message
    names the argument); the decision rule made from its own."""
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(
            f"Argument `monitor` must be a non-empty string. Received: monitor={monitor!r}"
        )
    factor = v.check_in_range("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
    patience = v.check_int("patience", patience, 0)
    if mode not in _MODES:
        raise ValueError(f"Argument `mode` must be one of {list(_MODES)}. Received: mode={mode!r}")
    min_delta = v.check_non_negative("min_delta", min_delta)
    cooldown = v.check_int("cooldown", cooldown, 0)
    min_lr = v.check_non_negative("min_lr", min_lr)
    if backup_dir is not None and (
        isinstance(backup_dir, bool) or not isinstance(backup_dir, (str, os.PathLike))
    ):
        raise TypeError(
            f"Argument `backup_dir` must be a string path or None. Received: "
            f"backup_dir={backup_dir!r}"
        )
    backup_dir = None if backup_dir is None else os.fspath(backup_dir)
    if schedule is not None and not isinstance(
        schedule, keras.optimizers.schedules.LearningRateSchedule
    ):
        raise TypeError(
            "Argument `schedule` must be a keras.optimizers.schedules.LearningRateSchedule "
            f"or None. Received: schedule={schedule!r}"
        )
    if threshold_mode not in _THRESHOLD_MODES:
        raise ValueError(
            f"Argument `threshold_mode` must be one of {list(_THRESHOLD_MODES)}. "
            f"Received: threshold_mode={threshold_mode!r}"
        )
    warmup_epochs = v.check_int("warmup_epochs", warmup_epochs, 0)
    rule = PlateauRule(monitor, patience, mode, min_delta, cooldown, threshold_mode, warmup_epochs)
    return factor, min_lr, backup_dir, rule


class ReduceLROnPlateau(ScheduleCallback):
    """Multiplies the rate by `factor` when `monitor` stops improving; logs every step.

    The rule is Keras' `keras.callbacks.ReduceLROnPlateau`, checked at each epoch end:
    ```
    improved = f32(current + min_delta) < f32(best)  # "max": f32(current - min_delta) > f32(best)
    if in cooldown: cooldown_counter -= 1; wait = 0
    if improved:    best = current; wait = 0
    elif not in cooldown:
        wait += 1
        if wait >= patience and rate > f32(min_lr):
            rate = max(rate * factor, min_lr); cooldown_counter = cooldown; wait = 0
    ```
    `f32` is float32, as Keras compares. With `threshold_mode="rel"` the improvement is
    PyTorch's relative rule instead, in Python floats: `current < best * (1 - min_delta)`
    ("max": `current > best * (1 + min_delta)`). The new rate applies from the first step of
    the next epoch. A NaN metric counts as no improvement and warns; the rate never becomes
    NaN. The first `warmup_epochs` epochs (Keras' epoch index, so a resumed fit counts from
    the run's start) are not looked at: no best, no wait, no reduction. Every step's rate is
    written to `<log_dir>/train`, tag `batch_learning_rate`.

    **Alone** (`schedule=None`), the rate is the optimizer's float `learning_rate`, constant
    within an epoch, reduced in place (Keras' behaviour); an optimizer that holds a
    `LearningRateSchedule` is refused at train begin (`TypeError`): there is no rate to reduce.

    **On top of a schedule** (`schedule=S`, any `LearningRateSchedule`, lr_tb's or Keras'
    own), the rate of step `t` (the 0-based optimizer update, as for `lr_tb.ScheduleCallback`,
    whose table it fills the same way) is
    ```
    rate(t) = f32(max(S(t) * scale, min(S(t), min_lr)))
    ```
    `scale` starts at 1 and is multiplied by `factor` on each reduction; "rate" in the rule
    above is the rate of the epoch's last step. So `min_lr` floors the *product*, at every
    step: the reductions never take the rate below `min_lr`, but where the schedule itself is
    below `min_lr` (a warmup's start, a cosine's end) its own rate applies. The scale is
    written beside the rate, tag `batch_lr_scale`, one point per step (the scale that step used;
    steps a resumed fit fills in after a hard kill get their rate only).
    The schedule's own warmup shapes the rate and `warmup_epochs` only stops the counting:
    they are independent, and `warmup_epochs >= ceil(warmup_steps / steps_per_epoch)` keeps
    a reduction from being decided on the noisy metrics of the schedule's warmup (the scale
    stays 1 throughout it).

    Where the scale lives between fits: in the optimizer's own `learning_rate` variable,
    which lr_tb keeps at the rate of the last step (after a reduction decided at the last
    epoch's end, at that step's rate under the new scale), so `model.save` keeps it without
    any variable of lr_tb's. A fit on an optimizer that has stepped continues that scale
    when `held / S(last step)` is a power of `factor` to float32 precision (exact), or, for
    a held rate at the `min_lr` floor, at that ratio (the next step stays at the floor). Any
    other held rate (a plain fit's, another schedule's or factor's) was not left by such a
    plateau, and the scale starts at 1; so does a never-stepped optimizer. With
    `backup_dir`, a resumed fit takes the scale kept there instead (exact, whatever the
    callback order; without it, a `BackupAndRestore` listed before the plateau saves the rate
    variable before lr_tb sets it at the epoch's end, and the resumed scale is continued only
    when it is a power of `factor`).

    It is a `ScheduleCallback` (the table, the checks of the optimizer's rate variable, the
    gap fill after a crash): alone, none of that is used.

    Args:
        monitor: the metric to watch, a key of the epoch logs (e.g. "val_loss").
        factor: the multiplier, in (0, 1).
        patience: epochs without improvement before a reduction, >= 0.
        mode: "min", "max" or "auto" (as Keras 3: losses go down, a compiled metric knows its
            direction; another name raises a ValueError, as in Keras).
        min_delta: the least change that counts as an improvement, >= 0 (relative with
            `threshold_mode="rel"`).
        cooldown: epochs to wait after a reduction before counting again, >= 0.
        min_lr: the floor, >= 0.
        log_dir, verbose, flush_secs: as for `lr_tb.ScheduleCallback`.
        backup_dir: the `keras.callbacks.BackupAndRestore` directory: the decision state
            (best, wait, cooldown, and the scale with a schedule) of every epoch is kept
            there, and a resumed fit takes the state of the epoch before the one it resumes
            at (Keras' own ReduceLROnPlateau forgets it: Keras issue #17012).
            BackupAndRestore deletes the directory after a completed run. The rate itself is
            an optimizer variable, restored by Keras.
        schedule: a `keras.optimizers.schedules.LearningRateSchedule` to scale, or None.
        threshold_mode: "abs" (Keras' `min_delta` rule) or "rel" (PyTorch's).
        warmup_epochs: epochs at the start of the run during which no plateau is counted, >= 0.
        log_momentum, log_weight_decay, optimizer: as for `lr_tb.ScheduleCallback`.

    Attributes:
        scale: with a schedule, the scale in force (after the fit: including a reduction
            decided at its last epoch's end); 1.0 alone.
        best, wait, cooldown_counter: the rule's state, as Keras' callback names it.
        learning_rates, steps: as for every lr_tb callback.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it); at train
            begin, an optimizer that holds a `LearningRateSchedule` (a `TypeError`).

    Example:
        >>> callback = lr_tb.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2,
        ...                                    log_dir="runs/plateau", verbose=1)
        >>> on_cosine = lr_tb.ReduceLROnPlateau(
        ...     schedule=keras.optimizers.schedules.CosineDecay(1e-3, 10_000),
        ...     factor=0.5, patience=2, threshold_mode="rel", warmup_epochs=1,
        ...     log_dir="runs/plateau_cosine")
        >>> isinstance(on_cosine, lr_tb.ReduceLROnPlateau), on_cosine.scale  # nothing written yet
        (True, 1.0)
    """

    _changes_rate = True

    def __new__(cls, *args: Any, **kwargs: Any) -> ReduceLROnPlateau:
        """The plateau alone (`schedule=None`) or on a schedule: one class each, sharing the
        arguments, the decision rule and the backup state defined here. (`cls.__new__(cls)`
        without arguments, as `copy.deepcopy` and `pickle` call it, keeps `cls`.)"""
        if not issubclass(cls, (_Plateau, _ScheduledPlateau)):
            cls = _concrete(cls, kwargs.get("schedule") is not None)
        return super().__new__(cls)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # a user's subclass is made a mixed class (see `_concrete`), rebuilt when unpickled
        user_class = type(self).__dict__.get("_user_class")
        if user_class is None:
            return super().__reduce_ex__(protocol)
        scheduled = isinstance(self, _ScheduledPlateau)
        return _new_mixed, (user_class, scheduled), self.__dict__

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        backup_dir: str | None = None,
        *,
        schedule: keras.optimizers.schedules.LearningRateSchedule | None = None,
        threshold_mode: str = "abs",
        warmup_epochs: int = 0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        self.factor, self.min_lr, self.backup_dir, self._rule = _checked_args(
            monitor, factor, patience, mode, min_delta, cooldown, min_lr, backup_dir,
            schedule, threshold_mode, warmup_epochs,
        )  # fmt: skip
        super().__init__(schedule, log_dir, verbose, flush_secs, log_momentum=log_momentum,
                         log_weight_decay=log_weight_decay, optimizer=optimizer)  # fmt: skip
        self.scale = 1.0
        self._pending: float | None = None  # decided at an epoch's end, applied at the next

    # The rule's arguments and state, by Keras' ReduceLROnPlateau names (read and set).
    monitor = _of_rule("monitor")
    patience = _of_rule("patience")
    mode = _of_rule("mode")
    min_delta = _of_rule("min_delta")
    cooldown = _of_rule("cooldown")
    threshold_mode = _of_rule("threshold_mode")
    warmup_epochs = _of_rule("warmup_epochs")
    best = _of_rule("best")
    wait = _of_rule("wait")
    cooldown_counter = _of_rule("cooldown_counter")

    # -- what the two share: the rule at each epoch end, its state beside the backup -------
    def _begin_rule(self) -> None:
        """Called by each one's `_begin`, once the optimizer is accepted."""
        self._rule.begin(self._model)
        self._pending = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._fit.raw_start is None:  # the first epoch of this fit
            self._restore_state(epoch)
        self._apply_pending()
        super().on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)  # logs this epoch's steps at the rate they used
        due = self._rule.update(epoch, logs if logs is not None else {}, self._model)
        if due and self._reduce(epoch):
            self._rule.reduced()
        if self.backup_dir is not None:  # Keras' own ReduceLROnPlateau forgets it
            write_state(self.backup_dir, epoch, {**self._rule.state(), **self._decision()})

    def _restore_state(self, first_epoch: int) -> None:
        """A fit resumed at `first_epoch` (BackupAndRestore, or initial_epoch) takes the state
        saved at the end of the epoch before it, if there is one, and the rate (or scale)
        that epoch's decision left (whatever the order of the callbacks)."""
        state = read_states(self.backup_dir).get(str(first_epoch - 1)) if self.backup_dir else None
        if state:
            self._rule.load_state(state)
            self._restore_decision(state)

    # -- what each one says -------------------------------------------------------------
    def _reduce(self, epoch: int) -> bool:
        """Decide a reduction, applied when the next epoch begins (or the fit ends): read at
        this epoch's end (Keras' TensorBoard), the rate is still the one this epoch used.
        False: the rate is at the floor already."""
        raise NotImplementedError

    def _say_reduced(self, epoch: int, what: str, new: float, old: float, who: str) -> None:
        if self.verbose > 0:
            P.print_msg(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing {what} to {new:.6g} from "
                f"epoch {epoch + 2} on (epoch {epoch + 1}'s learning_rate, {old:.6g}, is the "
                f"rate {who} trained at)."
            )

    def _apply_pending(self) -> None:
        """Apply the reduction decided at the last epoch's end, if any."""
        raise NotImplementedError

    def _decision(self) -> dict[str, float]:
        """What this epoch's decision left, for the backup state: {"rate": ...} or
        {"scale": ...}."""
        raise NotImplementedError

    def _restore_decision(self, state: dict) -> None:
        """Take the rate or scale `_decision` kept, if `state` has it."""
        raise NotImplementedError


class _Plateau(ReduceLROnPlateau):
    """Alone: the optimizer's float `learning_rate`, constant within an epoch, reduced in
    place at an epoch's end (Keras' behaviour). None of `ScheduleCallback`'s table is used."""

    def _begin(self) -> None:
        if not P.holds_variable(self._fit.optimizer):
            raise TypeError(
                "ReduceLROnPlateau needs an optimizer compiled with a float `learning_rate`; "
                "it cannot reduce a `LearningRateSchedule` or a callable. "
                f"Received: learning_rate={P.held_rate(self._fit.optimizer)!r}"
            )
        self._begin_rule()

    # The rate is the optimizer's own: no schedule's table, nothing to check or mirror.
    def _rates_at(self, steps: np.ndarray) -> None:
        return None

    def _start(self, start: int, first_epoch: int) -> None:
        pass

    def _window_moved(self) -> None:
        pass

    def _check_rate_variable(self, epoch: int) -> None:
        pass

    def _mirror(self) -> None:
        pass

    def _print_epoch(self, epoch: int) -> None:
        # One line for the starting rate, then one per reduction (Keras' own wording).
        if self._fit.epoch_first_index == 0:
            super()._print_epoch(epoch)

    def _reduce(self, epoch: int) -> bool:
        old = self._rate_variable_now()  # (read beside the records at this epoch's end)
        if not old > np.float32(self.min_lr):  # as Keras: a float32 floor is reached once
            return False
        new = max(old * self.factor, self.min_lr)
        self._pending = new
        f32 = np.float32
        self._say_reduced(epoch, "learning rate", float(f32(new)), float(f32(old)), "it")
        return True

    def _apply_pending(self) -> None:
        if self._pending is not None:
            P.assign(self._model, P.held_rate(self._fit.optimizer), self._pending)
            self._pending = None

    def _end(self) -> None:
        if self._pending is not None and self._fit.optimizer is not None:
            self._apply_pending()

    def _decision(self) -> dict[str, float]:
        # the rate this epoch's decision left: a backup taken before the decision (with
        # BackupAndRestore listed first) holds the rate from before it
        if self._pending is not None:
            return {"rate": float(np.float32(self._pending))}
        return {"rate": self._rate_variable_now()}

    def _restore_decision(self, state: dict) -> None:
        if "rate" in state:
            P.assign(self._model, P.held_rate(self._fit.optimizer), state["rate"])


class _ScheduledPlateau(ReduceLROnPlateau):
    """On a schedule `S`: `rate(t) = f32(max(S(t) * scale, min(S(t), min_lr)))` in
    `ScheduleCallback`'s table; a reduction multiplies `scale` by `factor`."""

    def _begin(self) -> None:
        super()._begin()  # ScheduleCallback's: a float rate to replace, the table
        self._begin_rule()
        self._restored_scale: float | None = None

    def _rates_at(self, steps: np.ndarray) -> np.ndarray:
        return self._scaled(super()._rates_at(steps), self.scale)

    def _scaled(self, values: np.ndarray, scale: float) -> np.ndarray:
        """`f32(max(S * scale, min(S, min_lr)))` of the schedule's float32 rates `S`."""
        values = np.asarray(values, dtype=np.float64)
        return np.maximum(values * scale, np.minimum(values, self.min_lr)).astype(np.float32)

    def _start(self, start: int, first_epoch: int) -> None:
        restored = self._restored_scale
        self.scale = restored if restored is not None else self._scale_held(start)
        super()._start(start, first_epoch)

    def _scale_held(self, start: int) -> float:
        """The scale a plateau with this schedule and `factor` left in the optimizer's rate
        variable (lr_tb keeps it at the last step's applied rate): the held rate over the
        schedule's rate at the last step, when that is a power of `factor` to float32
        precision; at the `min_lr` floor, that ratio (the next step continues at the floor).
        Any other held rate (a plain fit's, another schedule's) was not left by such a
        plateau: the scale starts at 1, as the formula says."""
        if self._fit.raw_start == 0 or start <= 0:
            return 1.0  # never stepped: the variable is the compiled rate
        held = self._rate_variable_now()  # (read with the step counter)
        (value,) = super()._rates_at(np.array([start - 1], dtype=np.int64))
        value = float(value)
        if not (math.isfinite(held) and math.isfinite(value)) or held <= 0 or value <= 0:
            return 1.0
        ratio = held / value
        if ratio >= 1.0 - _SNAP:
            return 1.0
        power = 1.0
        for _ in range(100_000):
            power *= self.factor
            if abs(ratio / power - 1.0) <= _SNAP:
                return power
            if power < ratio:
                break
        if self.min_lr > 0 and held == float(np.float32(self.min_lr)):
            return ratio
        return 1.0

    def _extra_series(self, steps: np.ndarray) -> dict[str, np.ndarray]:
        """Beside each step's rate, the scale that step used (tag `batch_lr_scale`)."""
        extra = super()._extra_series(steps)
        extra[SCALE_TAG] = np.full(steps.shape, self.scale, dtype=np.float32)
        return extra

    def _extra_tags(self) -> set[str]:
        return super()._extra_tags() | {SCALE_TAG}

    def _reduce(self, epoch: int) -> bool:
        old = self._last_logged_rate  # the rate of this epoch's last step
        if old is None or not old > np.float32(self.min_lr):
            return False
        self._pending = self.scale * self.factor
        self._say_reduced(epoch, "the learning-rate scale", self._pending, old, "its last step")
        return True

    def _apply_pending(self) -> None:
        if self._pending is not None:
            self.scale, self._pending = self._pending, None
            self._fill_table(self._fit.position())  # from the first step of this epoch

    def _end(self) -> None:
        started = self._fit.slot is not None and self._fit.slot.owner is self._fit
        super()._end()  # the table off, the optimizer's variable at the last applied rate
        if self._pending is not None:
            self.scale, self._pending = self._pending, None
            if started and self.steps:  # where a later fit or the saved model finds it
                (rate,) = self._rates_at(np.array([self.steps[-1]], dtype=np.int64))
                P.assign(self._model, P.held_rate(self._fit.optimizer), float(rate))

    def _decision(self) -> dict[str, float]:
        # the scale this epoch's decision left
        return {"scale": self.scale if self._pending is None else self._pending}

    def _restore_decision(self, state: dict) -> None:
        if "scale" in state:
            self._restored_scale = float(state["scale"])


# Messages name the public class (`type(self).__name__`); the qualified names stay distinct,
# so pickle finds each class.
_Plateau.__name__ = _ScheduledPlateau.__name__ = "ReduceLROnPlateau"
_MIXED: dict[tuple[type, bool], type] = {}


def _concrete(cls: type, scheduled: bool) -> type:
    """The class an instance of `cls` (ReduceLROnPlateau, or a user's subclass of it) is:
    the plateau alone or on a schedule, with the subclass's own methods first."""
    implementation = _ScheduledPlateau if scheduled else _Plateau
    if cls is ReduceLROnPlateau:
        return implementation
    if (cls, scheduled) not in _MIXED:
        namespace = {"__module__": cls.__module__, "__doc__": cls.__doc__, "_user_class": cls}
        _MIXED[cls, scheduled] = type(cls.__name__, (cls, implementation), namespace)
    return _MIXED[cls, scheduled]


def _new_mixed(cls: type, scheduled: bool) -> ReduceLROnPlateau:
    """Unpickles an instance of a user's subclass (its mixed class has no importable name)."""
    return object.__new__(_concrete(cls, scheduled))
