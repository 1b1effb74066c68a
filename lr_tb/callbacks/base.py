"""The part every lr_tb callback shares: the step axis, the `learning_rates` history and the
TensorBoard writing. Subclasses say which rate each step used (`_rates`) and, if they set the
rate, how (`_begin` / `_end`).

Step axis: the 0-based optimizer step. A `fit` starts at the optimizer's `iterations`, or at
`initial_epoch * steps_per_epoch` when that is larger (a continued run whose optimizer was
rebuilt, as keras-tuner's Hyperband does); the difference is the `offset` added to
`iterations` for the whole fit.

Writing: nothing runs per step in Python. At each flush point (epoch end, every
`flush_secs` seconds inside an epoch, train end, and when a train step raises) the callback
reads the optimizer's step counter once, computes the rates of all steps since the last
flush point in one vectorized call, appends them to `learning_rates` and writes them to
`<log_dir>/train` as scalar `learning_rate`, one point per step.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import time
import weakref
from typing import Any

import keras
import numpy as np
from keras.src.utils import io_utils

from lr_tb import _validation as v
from lr_tb.callbacks import _optimizer
from lr_tb.event_writer import EventWriter

TAG = "learning_rate"
# Next to the event files: the step after the last one flushed to this run. A resumed fit
# that starts further on (BackupAndRestore restored a step the crashed run had not flushed)
# fills the gap from the schedule, which is a pure function of the step.
PROGRESS_FILE = "lr_tb_progress.json"

# Callbacks in the middle of a fit. If something outside the train step raises (another
# callback, say), Keras calls no hook of ours: what is pending is written at the next fit's
# train begin, or here at interpreter exit.
_ACTIVE: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _finish_active() -> None:
    for callback in list(_ACTIVE):
        try:
            callback._finish()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


# Attributes that belong to one `fit` (a model, open files): not copied by `copy.deepcopy`.
_RUNTIME_ATTRS = frozenset({"_model", "params", "_optimizer", "_writer"})


class LearningRateCallback(keras.callbacks.Callback):
    """Base class: tracks the step axis, keeps `learning_rates` and writes them to TensorBoard.

    Attributes:
        learning_rates: the rate of every optimizer step of the last `fit`, in step order
            (Python floats, the float32 values the optimizer used).
        steps: the step (x in TensorBoard) of each entry of `learning_rates`.
    """

    def __init__(
        self, log_dir: str | None = None, verbose: int = 0, flush_secs: float | None = 30.0
    ) -> None:
        super().__init__()
        self.log_dir = v.check_log_dir(log_dir)
        self.verbose = v.check_verbose(verbose)
        self.flush_secs = None if flush_secs is None else v.check_positive("flush_secs", flush_secs)
        self.learning_rates: list[float] = []
        self.steps: list[int] = []
        self._optimizer: Any = None
        self._writer: EventWriter | None = None
        self._active = False

    # -- what subclasses provide --------------------------------------------------------
    def _begin(self) -> None:
        """Check and prepare before the first step (raise here, nothing is written yet)."""

    def _rates(self, steps: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """The rates the optimizer used at these (absolute) steps."""
        raise NotImplementedError

    def _end(self) -> None:
        """Undo what `_begin` changed; called once per fit, also after a crash."""

    def _keep_step(self, steps: np.ndarray) -> np.ndarray:
        """Which of these steps to log (all, unless a subclass thins them out)."""
        return np.ones(steps.shape, dtype=bool)

    @property
    def run_dir(self) -> str | None:
        """The TensorBoard run this callback writes to: `<log_dir>/train`."""
        return None if self.log_dir is None else os.path.join(self.log_dir, "train")

    # -- keras hooks ---------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._finish()  # a previous fit that raised past us: close what it left open
        self._optimizer = _optimizer.checked_optimizer(self.model, type(self).__name__)
        self.learning_rates = []
        self.steps = []
        self._steps_per_epoch = (self.params or {}).get("steps")
        self._epochs = (self.params or {}).get("epochs")
        self._iterations_at_begin = _optimizer.read_iterations(self.model, self._optimizer)
        self._offset = 0
        self._next_step: int | None = None
        self._begin()
        self._active = True
        _ACTIVE.add(self)
        _optimizer.guard_train_function(self.model, self._on_crash, rebuild=self._changes_rate)
        if self.run_dir is not None:
            self._writer = EventWriter(self.run_dir)
        self._last_flush = time.monotonic()
        self._last_wall_time = time.time()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._next_step is None:  # first epoch of this fit: fix the step axis
            start = self._iterations_at_begin
            if self._steps_per_epoch:
                start = max(start, epoch * self._steps_per_epoch)
            self._offset = start - self._iterations_at_begin
            self._next_step = start
            self._fill_gap_before(start)
        self._epoch_first_index = len(self.learning_rates)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # A batch *begin* hook: overriding on_train_batch_end would turn off Keras' async
        # dispatch of batch-end callbacks on the JAX and torch backends.
        if self.flush_secs is not None and time.monotonic() - self._last_flush >= self.flush_secs:
            self._record()
            self._flush()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._record()
        self._flush()
        if self.learning_rates:
            if logs is not None:
                logs[TAG] = self.learning_rates[-1]
            if self.verbose > 0:
                self._print_epoch(epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._finish()

    # -- internals -----------------------------------------------------------------------
    _changes_rate = False  # True for callbacks that set the optimizer's rate

    def _position(self) -> int:
        """The step the next train step will use (absolute)."""
        return _optimizer.read_iterations(self.model, self._optimizer) + self._offset

    def _record(self) -> None:
        """Compute, keep and write the rates of every step since the last flush point."""
        if not self._active or self._next_step is None:
            return
        end = self._position()
        if end <= self._next_step:
            return
        steps = np.arange(self._next_step, end, dtype=np.int64)
        rates = np.asarray(self._rates(steps), dtype=np.float32)
        keep = self._keep_step(steps)
        steps, rates = steps[keep], rates[keep]
        self.steps.extend(steps.tolist())
        self.learning_rates.extend(rates.tolist())
        if self._writer is not None and steps.size:
            now = time.time()
            # Steps ran evenly between the last flush point and now, as far as we know.
            walls = np.linspace(self._last_wall_time, now, steps.size + 1)[1:]
            self._writer.write(TAG, steps, rates, walls)
            self._last_wall_time = now
        self._next_step = end

    def _flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._write_progress()
        self._last_flush = time.monotonic()

    # A callback whose rate is a pure function of the step can fill a gap exactly.
    _fills_gaps = False

    def _write_progress(self) -> None:
        if self._next_step is None or self.run_dir is None:
            return
        path = os.path.join(self.run_dir, PROGRESS_FILE)
        with open(path + ".tmp", "w") as f:
            json.dump({"next_step": int(self._next_step)}, f)
        os.replace(path + ".tmp", path)

    def _fill_gap_before(self, start: int) -> None:
        """Write the steps between the run's last flushed step and `start`, if any."""
        if not self._fills_gaps or self._writer is None:
            return
        try:
            with open(os.path.join(self.run_dir, PROGRESS_FILE)) as f:
                flushed = int(json.load(f)["next_step"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if flushed < start:
            steps = np.arange(flushed, start, dtype=np.int64)
            self._writer.write(TAG, steps, self._rates(steps))
            self._writer.flush()

    def _on_crash(self) -> None:
        """A train step raised: keep what was computed, close files, restore the optimizer."""
        self._finish()

    def _finish(self) -> None:
        if not self._active:
            return
        try:
            self._record()
        finally:
            self._active = False
            _ACTIVE.discard(self)
            if self._writer is not None:
                self._writer.close()
                self._write_progress()
                self._writer = None
            try:
                self._end()
            finally:
                _optimizer.unguard_train_function(
                    self.model, self._on_crash, drop=self._changes_rate
                )

    def _print_epoch(self, epoch: int) -> None:
        rates = self.learning_rates[self._epoch_first_index :]
        if not rates:
            return
        first = self._epoch_first_index
        before = self.learning_rates[first - 1] if first else None
        name = type(self).__name__
        if min(rates) == max(rates):
            if before is None or before != rates[0]:
                io_utils.print_msg(f"\nEpoch {epoch + 1}: {name} learning rate {rates[0]:.6g}.")
        else:
            io_utils.print_msg(
                f"\nEpoch {epoch + 1}: {name} learning rate from {rates[0]:.6g} to "
                f"{rates[-1]:.6g} (min {min(rates):.6g}, max {max(rates):.6g})."
            )

    def __deepcopy__(self, memo: dict) -> LearningRateCallback:
        """Copies the configuration and history; a copy is not attached to any model or file."""
        cls = type(self)
        clone = cls.__new__(cls)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if key in _RUNTIME_ATTRS:
                clone.__dict__[key] = None
            elif key == "_active":
                clone.__dict__[key] = False
            else:
                clone.__dict__[key] = copy.deepcopy(value, memo)
        return clone
