"""Step decay on a plateau (Keras' ReduceLROnPlateau), alone or on top of any schedule, with
every step's rate logged."""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any

import keras
import numpy as np

from lr_tb import _keras_private as P
from lr_tb import _validation as v
from lr_tb import tags
from lr_tb.callbacks.schedule import ScheduleCallback

_MODES = ("auto", "min", "max")
_THRESHOLD_MODES = ("abs", "rel")
STATE_FILE = "lr_tb_plateau.json"
SCALE_TAG = tags.LR_SCALE

# How far (relative) the rate the optimizer holds, divided by the schedule's rate at the last
# step, may be from a power of `factor` and still be taken as that power: both are float32
# (a relative error of at most 2**-24 each), so a few ulps.
_SNAP = 2.0**-20


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
    """

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
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(
                f"Argument `monitor` must be a non-empty string. Received: monitor={monitor!r}"
            )
        self.monitor = monitor
        self.factor = v.check_in_range("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = v.check_int("patience", patience, 0)
        if mode not in _MODES:
            raise ValueError(
                f"Argument `mode` must be one of {list(_MODES)}. Received: mode={mode!r}"
            )
        self.mode = mode
        self.min_delta = v.check_non_negative("min_delta", min_delta)
        self.cooldown = v.check_int("cooldown", cooldown, 0)
        self.min_lr = v.check_non_negative("min_lr", min_lr)
        if backup_dir is not None and (
            isinstance(backup_dir, bool) or not isinstance(backup_dir, (str, os.PathLike))
        ):
            raise TypeError(
                f"Argument `backup_dir` must be a string path or None. Received: "
                f"backup_dir={backup_dir!r}"
            )
        self.backup_dir = None if backup_dir is None else os.fspath(backup_dir)
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
        self.threshold_mode = threshold_mode
        self.warmup_epochs = v.check_int("warmup_epochs", warmup_epochs, 0)
        super().__init__(
            schedule,
            log_dir=log_dir,
            verbose=verbose,
            flush_secs=flush_secs,
            log_momentum=log_momentum,
            log_weight_decay=log_weight_decay,
            optimizer=optimizer,
        )
        self._minimize = self.mode != "max"
        self.scale = 1.0
        self._reset()

    @property
    def _scheduled(self) -> bool:
        """On top of a schedule (ScheduleCallback's table), or alone (the optimizer's float)."""
        return self.schedule is not None

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self._minimize else -math.inf

    def _resolve_mode(self, final: bool) -> bool:
        """Keras 3's rule for "auto": a loss is minimized; a compiled metric says its own
        direction (known once the metrics are built: at train begin if the model was built
        by a previous fit, else after the first epoch); another name raises a ValueError."""
        if self.mode != "auto":
            self._minimize = self.mode == "min"
            return True
        name = self.monitor.removeprefix("val_")
        if name == "loss" or name.endswith("_loss"):
            self._minimize = True
            return True
        direction = P.direction_of(self._model, name)
        if direction is not None:
            self._minimize = direction != "up"
            return True
        if not final:
            return False
        raise ValueError(
            f"ReduceLROnPlateau can't tell whether `{self.monitor}` should go down or up. "
            f"Pass mode='min' or mode='max'. Received: monitor={self.monitor!r}, mode='auto'"
        )

    def _improved(self, current: float) -> bool:
        """Keras' comparison, in float32 as Keras' `ops.less`/`ops.greater` make it; or
        PyTorch's relative one, in Python floats as PyTorch makes it."""
        if math.isinf(self.best):
            return True
        if self.threshold_mode == "rel":
            if self._minimize:
                return current < self.best * (1.0 - self.min_delta)
            return current > self.best * (1.0 + self.min_delta)
        if self._minimize:
            return bool(np.float32(current + self.min_delta) < np.float32(self.best))
        return bool(np.float32(current - self.min_delta) > np.float32(self.best))

    _changes_rate = True

    def _begin(self) -> None:
        if self._scheduled:
            super()._begin()  # ScheduleCallback's: a float rate to replace, the table
        elif not P.holds_variable(self._fit.optimizer):
            raise TypeError(
                "ReduceLROnPlateau needs an optimizer compiled with a float `learning_rate`; "
                "it cannot reduce a `LearningRateSchedule` or a callable. "
                f"Received: learning_rate={P.held_rate(self._fit.optimizer)!r}"
            )
        self._mode_known = self._resolve_mode(final=False)
        self._reset()
        self._pending_rate: float | None = None
        self._pending_scale: float | None = None
        self._restored_scale: float | None = None

    # -- on top of a schedule: ScheduleCallback's table, filled with the scaled rates --------
    def _rates_at(self, steps: np.ndarray) -> np.ndarray | None:
        if not self._scheduled:
            return None
        return self._scaled(super()._rates_at(steps), self.scale)

    def _scaled(self, values: np.ndarray, scale: float) -> np.ndarray:
        """`f32(max(S * scale, min(S, min_lr)))` of the schedule's float32 rates `S`."""
        values = np.asarray(values, dtype=np.float64)
        return np.maximum(values * scale, np.minimum(values, self.min_lr)).astype(np.float32)

    def _start(self, start: int, first_epoch: int) -> None:
        if not self._scheduled:
            return
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
        held = self._read_rate_variable()
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

    def _window_moved(self) -> None:
        if self._scheduled:
            super()._window_moved()

    def _check_rate_variable(self, epoch: int) -> None:
        if self._scheduled:
            super()._check_rate_variable(epoch)

    def _mirror(self) -> None:
        if self._scheduled:
            super()._mirror()

    def _extra_series(self, steps: np.ndarray) -> dict[str, np.ndarray]:
        """Beside each step's rate, the scale that step used (tag `batch_lr_scale`)."""
        extra = super()._extra_series(steps)
        if self._scheduled:
            extra[SCALE_TAG] = np.full(steps.shape, self.scale, dtype=np.float32)
        return extra

    def _extra_tags(self) -> set[str]:
        names = super()._extra_tags()
        if self._scheduled:
            names.add(SCALE_TAG)
        return names

    # -- lifecycle -----------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._fit.raw_start is None:  # the first epoch of this fit
            self._restore_state(epoch)
        self._apply_pending()
        super().on_epoch_begin(epoch, logs)

    def _apply_pending(self) -> None:
        if self._pending_rate is not None:
            P.assign(self._model, P.held_rate(self._fit.optimizer), self._pending_rate)
            self._pending_rate = None
        if self._pending_scale is not None:
            self.scale, self._pending_scale = self._pending_scale, None
            self._fill_table(self._fit.position())  # from the first step of this epoch

    def _end(self) -> None:
        if not self._scheduled:
            if self._pending_rate is not None and self._fit.optimizer is not None:
                self._apply_pending()
            return
        started = self._fit.slot is not None and self._fit.slot.owner is self._fit
        super()._end()  # the table off, the optimizer's variable at the last applied rate
        if self._pending_scale is not None:
            self.scale, self._pending_scale = self._pending_scale, None
            if started and self.steps:  # where a later fit or the saved model finds it
                (rate,) = self._rates_at(np.array([self.steps[-1]], dtype=np.int64))
                P.assign(self._model, P.held_rate(self._fit.optimizer), float(rate))

    def _print_epoch(self, epoch: int) -> None:
        # Alone: one line for the starting rate, then one per reduction (Keras' own wording).
        if self._scheduled or self._fit.epoch_first_index == 0:
            super()._print_epoch(epoch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)  # logs this epoch's steps at the rate they used
        self._decide(epoch, logs if logs is not None else {})
        self._save_state(epoch)

    # -- state that survives a restart (Keras' own ReduceLROnPlateau forgets it) -----------
    def _state_path(self) -> str | None:
        return None if self.backup_dir is None else os.path.join(self.backup_dir, STATE_FILE)

    def _save_state(self, epoch: int) -> None:
        """Keep this epoch's decision state (best, wait, cooldown) beside the backup."""
        path = self._state_path()
        if path is None:
            return
        states = self._load_states()
        state = {
            "best": self.best,
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
            "minimize": self._minimize,
            "mode_known": self._mode_known,
        }
        if self._scheduled:  # the scale this epoch's decision left
            state["scale"] = self.scale if self._pending_scale is None else self._pending_scale
        else:
            # the rate this epoch's decision left: a backup taken before the decision (with
            # BackupAndRestore listed first) holds the rate from before it
            state["rate"] = self._decided_rate()
        states[str(epoch)] = state
        os.makedirs(self.backup_dir, exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump(states, f)
        os.replace(path + ".tmp", path)

    def _decided_rate(self) -> float:
        if self._pending_rate is not None:
            return float(np.float32(self._pending_rate))
        return float(
            P.read(self._model, self._fit.optimizer, [P.held_rate(self._fit.optimizer)])[0]
        )

    def _load_states(self) -> dict:
        try:
            with open(self._state_path()) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _restore_state(self, first_epoch: int) -> None:
        """A fit resumed at `first_epoch` (BackupAndRestore, or initial_epoch) takes the state
        saved at the end of the epoch before it, if there is one, and the rate (or scale)
        that epoch's decision left (whatever the order of the callbacks)."""
        state = self._load_states().get(str(first_epoch - 1)) if self.backup_dir else None
        if state:
            self.best, self.wait = float(state["best"]), int(state["wait"])
            self.cooldown_counter = int(state["cooldown_counter"])
            self._minimize, self._mode_known = state["minimize"], state["mode_known"]
            if self._scheduled:
                if "scale" in state:
                    self._restored_scale = float(state["scale"])
            elif "rate" in state:
                P.assign(self._model, P.held_rate(self._fit.optimizer), state["rate"])

    def _decide(self, epoch: int, logs: dict) -> None:
        if epoch < self.warmup_epochs:
            return  # not looked at: no best, no wait, no reduction
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau: metric `{self.monitor}` is not in the epoch logs; "
                f"available: {sorted(logs)}. The rate is left unchanged.",
                stacklevel=2,
            )
            return
        current = float(current)
        if not self._mode_known:
            self._mode_known = self._resolve_mode(final=True)
            self._reset()
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if math.isnan(current):
            warnings.warn(
                f"ReduceLROnPlateau: `{self.monitor}` is NaN at epoch {epoch + 1}; "
                "counted as no improvement.",
                stacklevel=2,
            )
        elif self._improved(current):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience and self._reduce(epoch):
            self.cooldown_counter = self.cooldown
            self.wait = 0

    def _reduce(self, epoch: int) -> bool:
        """Decide a reduction, applied when the next epoch begins (or the fit ends): read at
        this epoch's end (Keras' TensorBoard), the rate is still the one this epoch used.
        False: the rate is at the floor already."""
        if self._scheduled:
            old = self._last_logged_rate  # the rate of this epoch's last step
            if old is None or not old > np.float32(self.min_lr):
                return False
            self._pending_scale = self.scale * self.factor
            if self.verbose > 0:
                P.print_msg(
                    f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing the learning-rate scale "
                    f"to {self._pending_scale:.6g} from epoch {epoch + 2} on (epoch {epoch + 1}'s "
                    f"learning_rate, {old:.6g}, is the rate its last step trained at)."
                )
            return True
        (old,) = P.read(self._model, self._fit.optimizer, [P.held_rate(self._fit.optimizer)])
        old = float(old)
        if not old > np.float32(self.min_lr):  # as Keras: a float32 floor is reached once
            return False
        new = max(old * self.factor, self.min_lr)
        self._pending_rate = new
        if self.verbose > 0:
            P.print_msg(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                f"{float(np.float32(new)):.6g} from epoch {epoch + 2} on (epoch {epoch + 1}'s "
                f"learning_rate, {float(np.float32(old)):.6g}, is the rate it trained at)."
            )
        return True
