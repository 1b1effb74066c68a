"""Step decay on a plateau (Keras' ReduceLROnPlateau), with every step's rate logged."""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np

from lr_tb import _keras_private as P
from lr_tb import _validation as v
from lr_tb.callbacks.base import LearningRateCallback

_MODES = ("auto", "min", "max")
STATE_FILE = "lr_tb_plateau.json"


class ReduceLROnPlateau(LearningRateCallback):
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
    `f32` is float32, as Keras compares. The new rate applies from the first step of the next
    epoch. A NaN metric counts as no
    improvement and warns; the rate never becomes NaN. Every step's rate is written to
    `<log_dir>/train`, tag `learning_rate` (constant within an epoch).

    The optimizer must hold a float learning rate: with a `LearningRateSchedule` there is no
    rate to reduce, and train begin raises a `TypeError`.

    Args:
        monitor: the metric to watch, a key of the epoch logs (e.g. "val_loss").
        factor: the multiplier, in (0, 1).
        patience: epochs without improvement before a reduction, >= 0.
        mode: "min", "max" or "auto" (as Keras 3: losses go down, a compiled metric knows its
            direction; another name raises a ValueError, as in Keras).
        min_delta: the least change that counts as an improvement, >= 0.
        cooldown: epochs to wait after a reduction before counting again, >= 0.
        min_lr: the floor, >= 0.
        log_dir, verbose, flush_secs: as for `lr_tb.ScheduleCallback`.
        backup_dir: the `keras.callbacks.BackupAndRestore` directory: the decision state
            (best, wait, cooldown) of every epoch is kept there, and a resumed fit takes the
            state of the epoch before the one it resumes at (Keras' own ReduceLROnPlateau
            forgets it: Keras issue #17012). BackupAndRestore deletes the directory after a
            completed run. The rate itself is an optimizer variable, restored by Keras.
        log_momentum, log_weight_decay: as for `lr_tb.ScheduleCallback`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it).

    Example:
        >>> callback = lr_tb.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2,
        ...                                    log_dir="runs/plateau", verbose=1)
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
        log_momentum: bool = False,
        log_weight_decay: bool = False,
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
        super().__init__(
            log_dir=log_dir,
            verbose=verbose,
            flush_secs=flush_secs,
            log_momentum=log_momentum,
            log_weight_decay=log_weight_decay,
        )
        self._minimize = self.mode != "max"
        self._reset()

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
        """Keras' comparison, in float32 as Keras' `ops.less`/`ops.greater` make it."""
        if math.isinf(self.best):
            return True
        if self._minimize:
            return bool(np.float32(current + self.min_delta) < np.float32(self.best))
        return bool(np.float32(current - self.min_delta) > np.float32(self.best))

    _changes_rate = True

    def _begin(self) -> None:
        if not P.holds_variable(self._optimizer):
            raise TypeError(
                "ReduceLROnPlateau needs an optimizer compiled with a float `learning_rate`; "
                "it cannot reduce a `LearningRateSchedule` or a callable. "
                f"Received: learning_rate={P.held_rate(self._optimizer)!r}"
            )
        self._mode_known = self._resolve_mode(final=False)
        self._reset()
        self._pending_rate: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._raw_start is None:  # the first epoch of this fit
            self._restore_state(epoch)
        self._apply_pending()
        super().on_epoch_begin(epoch, logs)

    def _apply_pending(self) -> None:
        if self._pending_rate is not None:
            P.assign(self._model, P.held_rate(self._optimizer), self._pending_rate)
            self._pending_rate = None

    def _end(self) -> None:
        if self._pending_rate is not None and self._optimizer is not None:
            self._apply_pending()

    def _print_epoch(self, epoch: int) -> None:
        # One line for the starting rate, then one per reduction (Keras' own wording).
        if self._epoch_first_index == 0:
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
        states[str(epoch)] = {
            "best": self.best,
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
            "minimize": self._minimize,
            "mode_known": self._mode_known,
            # the rate this epoch's decision left: a backup taken before the decision (with
            # BackupAndRestore listed first) holds the rate from before it
            "rate": self._decided_rate(),
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump(states, f)
        os.replace(path + ".tmp", path)

    def _decided_rate(self) -> float:
        if self._pending_rate is not None:
            return float(np.float32(self._pending_rate))
        return float(P.read(self._model, self._optimizer, [P.held_rate(self._optimizer)])[0])

    def _load_states(self) -> dict:
        try:
            with open(self._state_path()) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _restore_state(self, first_epoch: int) -> None:
        """A fit resumed at `first_epoch` (BackupAndRestore, or initial_epoch) takes the state
        saved at the end of the epoch before it, if there is one, and the rate that epoch's
        decision left (whatever the order of the callbacks)."""
        state = self._load_states().get(str(first_epoch - 1)) if self.backup_dir else None
        if state:
            self.best, self.wait = float(state["best"]), int(state["wait"])
            self.cooldown_counter = int(state["cooldown_counter"])
            self._minimize, self._mode_known = state["minimize"], state["mode_known"]
            if "rate" in state:
                P.assign(self._model, P.held_rate(self._optimizer), state["rate"])

    def _decide(self, epoch: int, logs: dict) -> None:
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
        if self.wait >= self.patience:
            (old,) = P.read(self._model, self._optimizer, [P.held_rate(self._optimizer)])
            old = float(old)
            if old > np.float32(self.min_lr):  # as Keras: a float32 floor is reached once
                new = max(old * self.factor, self.min_lr)
                # applied when the next epoch begins (or the fit ends): read at this epoch's
                # end (Keras' TensorBoard), the rate is still the one this epoch used
                self._pending_rate = new
                if self.verbose > 0:
                    P.print_msg(
                        f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                        f"{float(np.float32(new)):.6g}."
                    )
                self.cooldown_counter = self.cooldown
                self.wait = 0
