"""The plateau decision rule (Keras' `ReduceLROnPlateau`, or PyTorch's relative threshold),
apart from what a reduction does to the rate, and its state kept beside a backup.

Both `lr_tb.ReduceLROnPlateau` alone (the optimizer's float rate, reduced in place) and on a
schedule (a scale on the schedule's rate) decide with one `PlateauRule`: it watches the
metric, keeps best/wait/cooldown and says when a reduction is due; the callback makes it.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np

from lr_tb import _fs
from lr_tb import _keras_private as P

STATE_FILE = "lr_tb_plateau.json"


class PlateauRule:
    """best/wait/cooldown of one monitored metric; arguments are checked by the callback.

    Per epoch end: `due = rule.update(epoch, logs, model)`; when `due` and the callback did
    reduce, `rule.reduced()` starts the cooldown. Keras' rule, as the callback's docstring
    writes it (float32 comparisons), or PyTorch's relative one (`threshold_mode="rel"`).
    """

    def __init__(
        self,
        monitor: str,
        patience: int,
        mode: str,
        min_delta: float,
        cooldown: int,
        threshold_mode: str,
        warmup_epochs: int,
    ) -> None:
        self.monitor = monitor
        self.patience = patience
        self.mode = mode
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.threshold_mode = threshold_mode
        self.warmup_epochs = warmup_epochs
        self.minimize = mode != "max"
        self.mode_known = False
        self.reset()

    def reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.minimize else -math.inf

    def begin(self, model: Any) -> None:
        """A fit begins: the direction if it can be told yet, and a fresh count."""
        self.mode_known = self.resolve_mode(model, final=False)
        self.reset()

    def resolve_mode(self, model: Any, final: bool) -> bool:
        """Keras 3's rule for "auto": a loss is minimized; a compiled metric says its own
        direction (known once the metrics are built: at train begin if the model was built
        by a previous fit, else after the first epoch); another name raises a ValueError."""
        if self.mode != "auto":
            self.minimize = self.mode == "min"
            return True
        name = self.monitor.removeprefix("val_")
        if name == "loss" or name.endswith("_loss"):
            self.minimize = True
            return True
        direction = P.direction_of(model, name)
        if direction is not None:
            self.minimize = direction != "up"
            return True
        if not final:
            return False
        raise ValueError(
            f"ReduceLROnPlateau can't tell whether `{self.monitor}` should go down or up. "
            f"Pass mode='min' or mode='max'. Received: monitor={self.monitor!r}, mode='auto'"
        )

    def improved(self, current: float) -> bool:
        """Keras' comparison, in float32 as Keras' `ops.less`/`ops.greater` make it; or
        PyTorch's relative one, in Python floats as PyTorch makes it."""
        if math.isinf(self.best):
            return True
        if self.threshold_mode == "rel":
            if self.minimize:
                return current < self.best * (1.0 - self.min_delta)
            return current > self.best * (1.0 + self.min_delta)
        if self.minimize:
            return bool(np.float32(current + self.min_delta) < np.float32(self.best))
        return bool(np.float32(current - self.min_delta) > np.float32(self.best))

    def update(self, epoch: int, logs: dict, model: Any) -> bool:
        """Count epoch `epoch` (its `logs`); True when a reduction is due (wait >= patience).
        Its warnings name the line that called it (the callback's epoch end)."""
        if epoch < self.warmup_epochs:
            return False  # not looked at: no best, no wait, no reduction
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau: metric `{self.monitor}` is not in the epoch logs; "
                f"available: {sorted(logs)}. The rate is left unchanged.",
                stacklevel=2,
            )
            return False
        current = float(current)
        if not self.mode_known:
            self.mode_known = self.resolve_mode(model, final=True)
            self.reset()
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if math.isnan(current):
            warnings.warn(
                f"ReduceLROnPlateau: `{self.monitor}` is NaN at epoch {epoch + 1}; "
                "counted as no improvement.",
                stacklevel=2,
            )
        elif self.improved(current):
            self.best = current
            self.wait = 0
            return False
        if self.cooldown_counter > 0:
            return False
        self.wait += 1
        return self.wait >= self.patience

    def reduced(self) -> None:
        """The callback reduced the rate: the cooldown starts."""
        self.cooldown_counter = self.cooldown
        self.wait = 0

    def state(self) -> dict[str, Any]:
        """What a resumed fit needs to decide as the uninterrupted one would (JSON-able)."""
        return {
            "best": self.best,
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
            "minimize": self.minimize,
            "mode_known": self.mode_known,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.best, self.wait = float(state["best"]), int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.minimize, self.mode_known = state["minimize"], state["mode_known"]


# -- the state of every epoch, kept in `<backup_dir>/lr_tb_plateau.json` -------------------
def read_states(backup_dir: str) -> dict[str, dict]:
    """The states by epoch (a string key) kept in `backup_dir`; {} if none or unreadable.
    `backup_dir` may be a URL (gs://, ram://, ...), as Keras' `BackupAndRestore` allows."""
    try:
        return json.loads(_fs.read_text(_fs.join(backup_dir, STATE_FILE)))
    except (OSError, ValueError):
        return {}


def write_state(backup_dir: str, epoch: int, state: dict[str, Any]) -> None:
    """Keep `state` as epoch `epoch`'s, beside those of the earlier epochs."""
    states = read_states(backup_dir)
    states[str(epoch)] = state
    _fs.makedirs(backup_dir)
    _fs.write_text_atomic(_fs.join(backup_dir, STATE_FILE), json.dumps(states))
