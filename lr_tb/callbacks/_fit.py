"""`FitState`: one lr_tb callback's state in one fit of one optimizer, and the one way a fit
ends.

A callback (the *policy*: what rate each step gets, what to log) makes a `FitState` in
`on_train_begin`; the state owns everything that belongs to that fit: the optimizer followed,
its rate slot (and momentum slot), the step axis, the read-back of what each update applied,
the run's writer (`RunLog`), flushing. Every way a fit can end reaches `FitState.close()`,
once (it does nothing the second time):

- normal end: `on_train_end`;
- a train step raises: the train-function guard (`ModelHook`);
- a callback raises, or Ctrl-C between steps: the model's next training call (`fit`,
  `train_on_batch`), a custom loop's `optimizer.apply`, or a new fit of the same callback
  or writing the same run;
- the state is collected: `__del__`;
- the interpreter exits: `atexit`.

`close(late=True)`: the fit was interrupted outside a train step and is closed only now; the
user may have set the optimizer's rate meanwhile (a scheduler's `_end` keeps it).
"""

from __future__ import annotations

import atexit
import time
import weakref
from typing import Any

import numpy as np

from lr_tb import _keras_private as P
from lr_tb import _momentum, tags
from lr_tb._optimizers import (
    attribute_of,
    check_momentum_optimizer,
    checked_optimizer,
    other_optimizers,
    unwrap,
)
from lr_tb._slot import ensure_slot, read_iterations, read_iterations_and
from lr_tb.callbacks import _checks, _readback
from lr_tb.callbacks._model_hook import ModelHook
from lr_tb.callbacks._run_log import RunLog

_OPEN: weakref.WeakSet = weakref.WeakSet()  # every open FitState of this process


@atexit.register
def _close_open_fits() -> None:
    for fit in list(_OPEN):
        try:
            fit.close(late=True)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class FitState:
    """See the module. Made by `LearningRateCallback.on_train_begin` (checks first: raising
    there writes nothing); `callback._fit` is this from the first check on."""

    def __init__(self, callback: Any, model: Any) -> None:
        callback._fit = self
        self.callback, self.model, self.params = callback, model, callback.params
        self.open = self.late = False
        who = type(callback).__name__
        self.hook = ModelHook.of(model)
        self.hook.close_fits_of_other_trainings(self.params)
        self.optimizer = checked_optimizer(model, who, callback.optimizer)
        self.siblings = P.sibling_callbacks(callback) or []
        callback._take_trial_run()
        for other in list(_OPEN):  # an interrupted fit of the same run (a notebook resume)
            if other.params is not self.params and callback.run_dir is not None:
                if other.callback.run_dir == callback.run_dir:
                    other.close(late=True)
        _checks.check_company(self)
        self.steps_per_epoch = _checks.updates_per_epoch(self.params, model)
        self.epochs = (self.params or {}).get("epochs")
        self.steps_per_call = _checks.steps_per_execution(model, who)
        needs_momentum = callback.log_momentum or callback._cycles_momentum()
        if needs_momentum:  # refused before anything is written
            check_momentum_optimizer(self.optimizer, who)
        callback._begin()
        self.slot = ensure_slot(model, self.optimizer)
        self.momentum_slot = (
            _momentum.ensure(model, self.optimizer, who) if needs_momentum else None
        )
        if self.steps_per_call > self.slot.size // 2:
            raise ValueError(
                f"{who} supports steps_per_execution <= {self.slot.size // 2}."
                f" Received: steps_per_execution={self.steps_per_call}"
            )
        others = other_optimizers(model, self.optimizer)
        suffix = callback._tag_suffix
        if suffix is None and others:  # several optimizers: say which one this curve is
            suffix = attribute_of(model, self.optimizer) or self.optimizer.name
        self.log = RunLog(callback.run_dir, suffix)
        self.offset, self.raw_start, self.last_rate = 0, None, None
        # The optimizer's own rate variable, for a policy that keeps it (`_watches_rate_variable`):
        # read beside the step counter at the start and beside the records at flush points,
        # so the policy's checks cost no read of their own. `watched_value` is its value at
        # the device read just made, in the same hook, and None when no read was made.
        watch = callback._watches_rate_variable and P.holds_variable(self.optimizer)
        self.watched = P.held_rate(self.optimizer) if watch else None
        self.watched_value: float | None = None
        self.calls = self.epoch_calls = self.epoch_first_index = 0
        self.recorded_at_call = -1  # the model's train-function call count at the last read
        self.epoch_first_step: int | None = None
        self.idle_warned = False
        self.others = {name: (opt, self._iterations_of(opt)) for name, opt in others.items()}
        self.open = True
        self.hook.open.append(self)
        self.hook.follow(self.slot)
        self.slot.readers.add(self)
        _OPEN.add(self)
        self.last_flush = time.monotonic()

    # -- the step axis ----------------------------------------------------------------------
    def epoch_begin(self, epoch: int) -> None:
        if self.raw_start is None:  # first epoch of this fit: fix the step axis
            watched = [] if self.watched is None else [self.watched]
            raw, values = read_iterations_and(self.model, self.optimizer, watched)
            self.watched_value = float(values[0]) if values else None
            if raw == 0:  # never stepped (or its counter was reset)
                start = 0
                if self.steps_per_epoch and epoch > 0:  # a rebuilt optimizer continuing a run
                    start = epoch * self.steps_per_epoch
                self.slot.offset = start  # its later fits go on from there, not back at raw
            else:
                start = raw + self.slot.offset
            self.raw_start, self.offset = raw, start - raw
            self.log.start_at(start)
            rates_at = self.callback._rates_at
            self.callback._start(start, epoch)
            if self.log.run_dir is not None and rates_at(np.zeros(0, np.int64)) is not None:
                self.log.open()
                self.log.fill_gap_before(start, rates_at)
        self.epoch_first_index = len(self.log.rates)
        self.epoch_first_step = self.log.next_step
        self.epoch_calls = 0

    def position(self) -> int:
        """The absolute step the next update will be."""
        return read_iterations(self.model, self.optimizer) + self.offset

    def batch_begin(self) -> None:
        """Only a counter runs per call; the device is read at flush points."""
        self.calls += 1
        self.epoch_calls += 1
        if self.calls * self.steps_per_call >= self.slot.size // 2:
            self.calls = 0
            self.record()
            self.flush()
            self.callback._window_moved()
        elif self.callback.flush_secs is not None:
            if time.monotonic() - self.last_flush >= self.callback.flush_secs:
                self.record()
                self.flush()

    def epoch_end(self, epoch: int, logs: dict | None) -> None:
        self.record()
        if self.epochs is None or epoch + 1 < self.epochs:
            self.flush()  # (after the last epoch, `close` flushes and closes at train end)
        first = self.epoch_first_step
        idle = self.epoch_calls and first is not None and self.log.next_step == first
        if idle and self.others and not self.idle_warned:  # (a skipping LossScaleOptimizer)
            self.idle_warned = True
            stepped = [
                name
                for name, (opt, before) in self.others.items()
                if (now := self._iterations_of(opt)) is not None and now != before
            ]
            _checks.warn_idle(self, epoch, stepped)
        if self.last_rate is not None and logs is not None:  # `learning_rate_<optimizer>`
            suffix = self.log.suffix
            logs[tags.EPOCH_LOG_KEY + (f"_{suffix}" if suffix else "")] = self.last_rate

    def _iterations_of(self, optimizer: Any) -> int | None:
        try:
            return read_iterations(self.model, unwrap(optimizer))
        except Exception:  # noqa: BLE001 - an optimizer not built yet
            return None

    # -- what the updates applied (lr_tb.callbacks._readback) ---------------------------------
    def record(self) -> None:
        """Read and write what the updates since the last read applied; no device read when
        the model's train function has not run since (the end of a fit, after its last
        epoch's read)."""
        calls = self.hook.calls
        self.watched_value = None
        if calls != self.recorded_at_call:
            _readback.record(self)
            self.recorded_at_call = calls

    def last_applied(self) -> float | None:
        return _readback.last_applied(self)

    def rate_outside_step(self, own: Any) -> Any:
        """`optimizer.learning_rate` read outside a step while this scheduler's fit is open."""
        last = self.last_applied()
        return own if last is None else self.callback._rate_variable_at(last)

    def flush(self) -> None:
        self.log.flush()
        self.last_flush = time.monotonic()

    # -- the end ----------------------------------------------------------------------------
    def close(self, finished: bool = False, late: bool = False) -> None:
        """Write what ran, close the run, let the callback undo what it changed (`_end`).
        `finished`: the fit ended normally; `late`: see the module."""
        if not self.open:
            return
        self.late = late
        recorded = False
        try:
            self.record()
            recorded = True
        finally:
            self.open = False
            _OPEN.discard(self)
            if self in self.hook.open:
                self.hook.open.remove(self)
            try:
                self.log.close(finished, complete=recorded)
            finally:
                self.callback._end()

    def __del__(self) -> None:
        # Collected open (an interrupted fit whose callback and model were dropped): write
        # what the optimizer recorded, as the next fit or interpreter exit would.
        if getattr(self, "open", False):
            try:
                self.close(late=True)
            except Exception:  # noqa: BLE001 - best effort while being collected
                pass
