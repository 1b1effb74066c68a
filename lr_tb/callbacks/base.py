"""What every lr_tb callback shares: the step axis of a fit, and logging what each optimizer
update really used.

**The rate each update used** is recorded inside the compiled train step, by the optimizer's
rate slot (`lr_tb._keras_private.RateSlot`), and read back in bulk at flush points (epoch end,
every `flush_secs`, every 2,048 steps, train end, and when a train step raises): what
TensorBoard shows is what the optimizer applied, bit for bit, whatever set the rate (an lr_tb
scheduler, a schedule held by the optimizer, another callback). Nothing runs per step in
Python.

**The step axis** is the 0-based optimizer update (the public `iterations`; with gradient
accumulation, one step per update). A fit starts at the optimizer's step counter, read when
its first epoch begins (after every callback's `on_train_begin`, so a
`keras.callbacks.BackupAndRestore` restore is seen whatever the callback order). Only an
optimizer that has never stepped and a fit that starts at `initial_epoch > 0` (keras-tuner's
Hyperband rebuilds the optimizer of a continued trial) is placed at
`initial_epoch * steps_per_epoch`.

Subclasses that set the rate say so (`_changes_rate`), and may fill gaps from a pure
function of the step (`_rates_at`).

**Momentum and weight decay** (`log_momentum`, `log_weight_decay`): the optimizer's momentum
(`momentum` of SGD, `beta_1` of Adam, AdamW, Adamax, Nadam) is recorded in the train step by
the optimizer's momentum slot (`lr_tb._keras_private.MomentumSlot`), like the rate, and
written beside it, tag `batch_momentum` or `batch_beta_1`. The effective weight decay of a
step is `weight_decay * learning_rate` (float32), tag `batch_effective_weight_decay`: Keras 3
applies every optimizer's `weight_decay` decoupled, `w -= w * weight_decay * learning_rate`
with the rate the step applied (0.0 for an optimizer without `weight_decay`).
"""

from __future__ import annotations

import atexit
import copy
import time
import warnings
import weakref
from typing import Any

import keras
import numpy as np

from lr_tb import _fs, _trial, tags
from lr_tb import _keras_private as P
from lr_tb import _validation as v
from lr_tb.callbacks._run_log import PROGRESS_FILE, TAG, RunLog

__all__ = ["PROGRESS_FILE", "TAG", "WEIGHT_DECAY_TAG", "LearningRateCallback"]

# Callbacks in the middle of a fit: finished at interpreter exit if nothing else did.
_ACTIVE: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _finish_active() -> None:
    for callback in list(_ACTIVE):
        try:
            callback._finish(late=True)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


# Attributes that belong to one `fit` (a model, open files): not copied by `copy.deepcopy`.
_RUNTIME_ATTRS = frozenset(
    {"_model", "params", "_optimizer", "_log", "_slot", "_hook", "_momentum_slot", "_others"}
)
WEIGHT_DECAY_TAG = tags.EFFECTIVE_WEIGHT_DECAY

# Keras' own callbacks that set the optimizer's rate.
_KERAS_RATE_CALLBACKS = (
    keras.callbacks.LearningRateScheduler,
    keras.callbacks.ReduceLROnPlateau,
)


class LearningRateCallback(keras.callbacks.Callback):
    """Base class: tracks the step axis, keeps `learning_rates` and writes them to TensorBoard.

    Attributes:
        learning_rates: the rate every optimizer update of the last `fit` used, in step order
            (Python floats of the float32 values the optimizer applied).
        steps: the step (x in TensorBoard) of each entry of `learning_rates`.
        momentums: with `log_momentum`, the momentum (SGD) or `beta_1` (Adam family) every
            update of the last `fit` used, beside `learning_rates`.
        weight_decays: with `log_weight_decay`, each update's effective weight decay,
            `weight_decay * learning_rate` (float32).
    """

    # Whether this callback sets the optimizer's rate (one such callback per optimizer).
    _changes_rate = False

    def __init__(
        self,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        *,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        super().__init__()
        if not (
            optimizer is None
            or (isinstance(optimizer, str) and optimizer.isidentifier())
            or isinstance(optimizer, keras.optimizers.Optimizer)
        ):
            raise TypeError(
                "Argument `optimizer` must be a Keras optimizer, the name of the model "
                f"attribute that holds one, or None (model.optimizer). Received: "
                f"optimizer={optimizer!r}"
            )
        self.optimizer = optimizer
        # one of several optimizers of the model: its tags are `<tag>/<_tag_suffix>`
        self._tag_suffix: str | None = None
        self.log_dir = v.check_log_dir(log_dir)
        self.verbose = v.check_verbose(verbose)
        self.flush_secs = None if flush_secs is None else v.check_positive("flush_secs", flush_secs)
        for name, value in (("log_momentum", log_momentum), ("log_weight_decay", log_weight_decay)):
            if not isinstance(value, bool):
                raise TypeError(f"Argument `{name}` must be a bool. Received: {name}={value!r}")
        self.log_momentum = log_momentum
        self.log_weight_decay = log_weight_decay
        self.learning_rates: list[float] = []
        self.steps: list[int] = []
        self.momentums: list[float] = []
        self.weight_decays: list[float] = []
        self._momentum_slot: Any = None
        self._optimizer: Any = None
        self._log: RunLog | None = None
        self._slot: Any = None
        self._hook: Any = None
        self._active = False
        self._fit_log_dir: str | None = None

    # -- what subclasses provide --------------------------------------------------------
    def _begin(self) -> None:
        """Check and prepare before the first step (raise here: nothing is written yet)."""

    def _start(self, start: int, first_epoch: int) -> None:
        """The fit's first step is known (absolute `start`, at epoch `first_epoch`)."""

    def _rates_at(self, steps: np.ndarray) -> np.ndarray | None:
        """The rates of these steps as a pure function of the step, or None."""
        return None

    def _end(self) -> None:
        """Undo what `_begin`/`_start` changed; called once per fit, also after a crash."""

    def _keep_step(self, steps: np.ndarray) -> np.ndarray | None:
        """Which of these steps to log (None: all)."""
        return None

    def _cycles_momentum(self) -> bool:
        """Whether this callback sets the optimizer's momentum per step (a one-cycle)."""
        return False

    def _momentum_at(self, steps: np.ndarray) -> np.ndarray | None:
        """The momentum of these steps as a pure function of the step, or None."""
        return None

    @property
    def run_dir(self) -> str | None:
        """The TensorBoard run this callback writes to: `<log_dir>/train` (in a keras-tuner
        search, the trial execution's run)."""
        log_dir = self._fit_log_dir or self.log_dir
        return None if log_dir is None else _fs.join(log_dir, "train")

    # -- keras hooks ---------------------------------------------------------------------
    # (`self._model`, not `self.model`: on JAX, Keras' `Callback.model` copies the whole
    # training state back to the variables at every access.)
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._finish(late=True)  # an earlier fit of this callback that raised past us
        self._hook = P.hook_model(self._model)
        for other in list(self._hook.active):  # left over from an interrupted earlier fit
            if other.params is not self.params:
                other._finish(late=True)
        self._optimizer = P.checked_optimizer(self._model, type(self).__name__, self.optimizer)
        siblings = P.sibling_callbacks(self)
        self._siblings = siblings or []
        self._fit_log_dir = _trial.trial_log_dir(self)
        for other in list(_ACTIVE):  # an interrupted fit of the same run (a notebook resume)
            if other is not self and other.params is not self.params:
                if self.run_dir is not None and other.run_dir == self.run_dir:
                    other._finish(late=True)
        self._check_company(siblings)
        self.learning_rates = []
        self.steps = []
        self.momentums = []
        self.weight_decays = []
        self._steps_per_epoch = self._updates_per_epoch()
        self._epochs = (self.params or {}).get("epochs")
        self._steps_per_call = self._checked_steps_per_execution()
        needs_momentum = self.log_momentum or self._cycles_momentum()
        if needs_momentum:  # refused before anything is written
            P.check_momentum_optimizer(self._optimizer, type(self).__name__)
        self._begin()
        self._slot = P.ensure_slot(self._model, self._optimizer)
        self._momentum_slot = None
        if needs_momentum:
            self._momentum_slot = P.ensure_momentum(
                self._model, self._optimizer, type(self).__name__
            )
        if self._steps_per_call > self._slot.size // 2:
            raise ValueError(
                f"{type(self).__name__} supports steps_per_execution <= {self._slot.size // 2}."
                f" Received: steps_per_execution={self._steps_per_call}"
            )
        others = P.other_optimizers(self._model, self._optimizer)
        suffix = self._tag_suffix
        if suffix is None and others:
            # the model holds several optimizers: say which one this curve is
            suffix = P.attribute_of(self._model, self._optimizer) or self._optimizer.name
        self._log = RunLog(self.run_dir, suffix)
        self._offset = 0
        self._raw_start: int | None = None
        self._active = True
        self._hook.active.append(self)
        self._slot.readers.add(self)
        _ACTIVE.add(self)
        self._last_flush = time.monotonic()
        self._calls = 0
        self._epoch_first_index = 0
        self._epoch_first_step: int | None = None
        self._epoch_calls = 0
        self._idle_warned = False
        self._others = {name: (opt, self._iterations_of(opt)) for name, opt in others.items()}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._raw_start is None:  # first epoch of this fit: fix the step axis
            raw = P.read_iterations(self._model, self._optimizer)
            start = raw
            if raw == 0 and self._steps_per_epoch and epoch > 0:
                start = epoch * self._steps_per_epoch  # a rebuilt optimizer continuing a run
            self._raw_start = raw
            self._offset = start - raw
            self._log.start_at(start)
            self._start(start, epoch)
            if self._log.run_dir is not None and self._rates_at(np.zeros(0, np.int64)) is not None:
                self._log.open()
                self._log.fill_gap_before(start, self._rates_at)
        self._epoch_first_index = len(self.learning_rates)
        self._epoch_first_step = self._log.next_step
        self._epoch_calls = 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # A batch *begin* hook: overriding on_train_batch_end would turn off Keras' async
        # dispatch of batch-end callbacks on the JAX and torch backends. Only a counter runs
        # per call; the device is read at flush points.
        self._calls += 1
        self._epoch_calls += 1
        if self._calls * self._steps_per_call >= self._slot.size // 2:
            self._calls = 0
            self._record()
            self._flush()
            self._window_moved()
        elif self.flush_secs is not None and time.monotonic() - self._last_flush >= self.flush_secs:
            self._record()
            self._flush()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._record()
        self._flush()
        first = self._epoch_first_step
        idle = self._epoch_calls and first is not None and self._log.next_step == first
        if idle and self._others:  # (a LossScaleOptimizer skipping an epoch: no news)
            self._warn_idle(epoch)
        last = self._last_logged_rate
        if last is not None:
            if logs is not None:  # `learning_rate_<optimizer>` for one of several
                suffix = self._log.suffix if self._log is not None else None
                logs[tags.EPOCH_LOG_KEY + (f"_{suffix}" if suffix else "")] = last
            if self.verbose > 0:
                self._print_epoch(epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._finish(finished=True)

    # -- internals -----------------------------------------------------------------------
    def _iterations_of(self, optimizer: Any) -> int | None:
        try:
            return P.read_iterations(self._model, P.unwrap(optimizer))
        except Exception:  # noqa: BLE001 - an optimizer not built yet
            return None

    def _warn_idle(self, epoch: int) -> None:
        """Batches ran, but this callback's optimizer took no step (a model with several
        optimizers in its own `train_step`, `model.optimizer` left unused): say so, once a
        fit, naming the optimizers that did step."""
        if self._idle_warned:
            return
        self._idle_warned = True
        stepped = [
            name
            for name, (opt, before) in self._others.items()
            if (now := self._iterations_of(opt)) is not None and now != before
        ]
        which = (
            f"the optimizers that did: {', '.join(f'model.{n}' for n in stepped)}"
            if stepped
            else "nor did the model's other optimizers"
        )
        if isinstance(self.optimizer, str):
            label = f"model.{self.optimizer}"
        elif self.optimizer is None:
            label = "model.optimizer"
        else:
            label = f"optimizer={self._optimizer.name!r}"
        warnings.warn(
            f"{type(self).__name__}: batches ran in epoch {epoch + 1}, but the optimizer it "
            f"follows ({label}, {type(self._optimizer).__name__}) took no step, so it logged "
            f"nothing; {which}. Give it `optimizer=` (the attribute name) to follow one of "
            "them; lr_tb.LearningRateLogger and lr_tb.TensorBoard log every one by default.",
            RuntimeWarning,
            stacklevel=2,
        )

    def _checked_steps_per_execution(self) -> int:
        """`compile(steps_per_execution=...)`: Keras 3 runs that many batches per call and
        takes an int >= 1 only (a Keras 2 value such as "auto" fails inside Keras' data
        loop); said here, naming it, before any step."""
        value = getattr(self._model, "steps_per_execution", 1)
        if value is None:
            return 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TypeError(
                f"{type(self).__name__}: the model was compiled with an unsupported "
                "`steps_per_execution`: Keras 3 takes an int >= 1 (batches per call). "
                f"Received: steps_per_execution={value!r}"
            )
        return int(value)

    def _updates_per_epoch(self) -> int | None:
        steps = (self.params or {}).get("steps")
        if not steps:
            return None
        k = P.accumulation_steps(P.unwrap(self._model.optimizer))
        return max(1, int(steps) // k)

    def _window_moved(self) -> None:
        """Called every `size // 2` steps: schedulers refill the rate table here."""

    def _check_company(self, siblings: list | None) -> None:
        """Refuse, before any step, company that would make the curve wrong or doubled."""
        name = type(self).__name__
        if self._changes_rate and siblings:
            for other in siblings:
                if isinstance(other, _KERAS_RATE_CALLBACKS):
                    raise TypeError(
                        f"{name} sets the learning rate of every step, and "
                        f"keras.callbacks.{type(other).__name__} in the same fit sets it too: "
                        "its changes would be overwritten at the next step. Use one of them; "
                        "to decay a schedule on a plateau, use lr_tb.ReduceLROnPlateau alone "
                        "or lr_tb.LearningRateLogger to log what Keras' callback applies. "
                        f"Received: callbacks=[..., {type(other).__name__}, {name}, ...]"
                    )
        for other in self._hook.active:
            if other is self or other.params is not self.params:
                continue
            same_optimizer = other._optimizer is self._optimizer
            if self._changes_rate and other._changes_rate and same_optimizer:
                raise TypeError(
                    f"{name}: another lr_tb callback ({type(other).__name__}) already sets this "
                    "optimizer's learning rate in this fit; use one scheduler per optimizer."
                )

    def _sharing_run_with(self) -> LearningRateCallback | None:
        """An lr_tb callback of this fit that writes to the same run (or None)."""
        for other in self._hook.active:
            if (
                other is not self
                and other.params is self.params
                and other._active
                and other.run_dir is not None
                and other.run_dir == self.run_dir
                and other._optimizer is self._optimizer
            ):
                return other
        return None

    def _position(self) -> int:
        """The absolute step the next update will be."""
        return P.read_iterations(self._model, self._optimizer) + self._offset

    @property
    def _last_logged_rate(self) -> float | None:
        return getattr(self, "_last_rate", None)

    def _record(self) -> None:
        """Read the rates the updates since the last flush point used, keep and write them."""
        if not self._active or self._raw_start is None:
            return
        slot = self._slot
        log_momentum = self.log_momentum and self._momentum_slot is not None
        iterations, record, momentum_record = P.read_records(
            self._model, self._optimizer, slot, log_momentum
        )
        end = iterations + self._offset
        begin = self._log.next_step
        if end <= begin:
            return
        steps = np.arange(begin, end, dtype=np.int64)
        rates = record[(steps - self._offset) % slot.size].astype(np.float32)
        momenta = None
        if log_momentum:
            momenta = momentum_record[(steps - self._offset) % slot.size].astype(np.float32)
        lost = steps.size - slot.size
        if lost > 0:  # more steps than the record holds: never happens with the flush rule
            exact = self._rates_at(steps[:lost])
            if exact is None:
                warnings.warn(
                    f"{type(self).__name__}: the rates of steps {begin}..{begin + lost - 1} "
                    "were not recorded and are not written.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                steps, rates = steps[lost:], rates[lost:]
                momenta = None if momenta is None else momenta[lost:]
            else:
                rates[:lost] = exact
                if momenta is not None:
                    exact_momenta = self._momentum_at(steps[:lost])
                    own = np.float32(getattr(self._optimizer, self._momentum_slot.attr))
                    momenta[:lost] = own if exact_momenta is None else exact_momenta
        extra = {}
        if momenta is not None:
            extra[tags.momentum(self._momentum_slot.attr)] = momenta
        if self.log_weight_decay:
            decay = np.float32(P.weight_decay_of(self._optimizer))
            extra[WEIGHT_DECAY_TAG] = (decay * rates).astype(np.float32)
        extra.update(self._extra_series(steps))
        self._last_rate = float(rates[-1])
        if self._log.run_dir is not None and self._log._writer is None:
            other = self._sharing_run_with()
            if other is not None and self._defers_to(other):
                missing = self._extra_tags() - other._extra_tags()
                if missing:  # the other writes the rate; this one writes what it lacks
                    self._log.only_tags = missing
                    self._log.open()
                else:
                    self._log.run_dir = None  # the other callback writes the same curves
            else:
                self._log.open()
        self._log.add(steps, rates, self._keep_step(steps), extra)
        self.steps, self.learning_rates = self._log.steps, self._log.rates
        if momenta is not None:
            self.momentums = self._log.extra[tags.momentum(self._momentum_slot.attr)]
        if self.log_weight_decay:
            self.weight_decays = self._log.extra[WEIGHT_DECAY_TAG]

    def _extra_series(self, steps: np.ndarray) -> dict[str, np.ndarray]:
        """A subclass's own series of these steps, by tag, written beside the rate."""
        return {}

    def _extra_tags(self) -> set[str]:
        """The tags this callback writes beside `batch_learning_rate` in this fit."""
        names = set()
        if self.log_momentum and self._momentum_slot is not None:
            names.add(tags.momentum(self._momentum_slot.attr))
        if self.log_weight_decay:
            names.add(WEIGHT_DECAY_TAG)
        return names

    def _defers_to(self, other: LearningRateCallback) -> bool:
        """Two lr_tb callbacks of one fit write the same run: only one of them writes."""
        return False

    def _last_applied(self) -> float | None:
        """The rate of the last update that ran in this fit (for reads outside a step)."""
        if not self._active or self._raw_start is None:
            return None
        iterations, record = P.read_iterations_and_record(self._model, self._optimizer, self._slot)
        last = iterations - 1
        if last < self._raw_start:
            return None
        return float(record[last % self._slot.size])

    def _flush(self) -> None:
        if self._log is not None:
            self._log.flush()
        self._last_flush = time.monotonic()

    def _on_crash(self) -> None:
        """A train step raised: keep what was applied, close files, restore the optimizer."""
        self._finish()

    def _finish(self, finished: bool = False, late: bool = False) -> None:
        """End this callback's fit: write what ran, close the file, undo `_begin`/`_start`.
        `finished`: the fit ended normally (not a crash or an interruption). `late`: the fit
        was interrupted outside a train step and is ended only now (the next training call,
        collection, exit): the user may have set the optimizer's rate in between (`_end`
        keeps it)."""
        if not self._active:
            return
        self._ending_late = late
        try:
            self._record()
        finally:
            self._active = False
            _ACTIVE.discard(self)
            if self._hook is not None and self in self._hook.active:
                self._hook.active.remove(self)
            try:
                if self._log is not None:
                    self._log.close(finished)
            finally:
                self._end()

    def _print_epoch(self, epoch: int) -> None:
        rates = self.learning_rates[self._epoch_first_index :]
        if not rates:
            return
        first = self._epoch_first_index
        before = self.learning_rates[first - 1] if first else None
        name = type(self).__name__
        if min(rates) == max(rates):
            if before is None or before != rates[0]:
                P.print_msg(f"\nEpoch {epoch + 1}: {name} learning rate {rates[0]:.6g}.")
        else:
            P.print_msg(
                f"\nEpoch {epoch + 1}: {name} learning rate from {rates[0]:.6g} to "
                f"{rates[-1]:.6g} (min {min(rates):.6g}, max {max(rates):.6g})."
            )

    def __del__(self) -> None:
        # Collected in the middle of a fit (an interrupted fit whose callback was dropped):
        # write what the optimizer recorded, as the next fit or interpreter exit would.
        if getattr(self, "_active", False):
            try:
                self._finish(late=True)
            except Exception:  # noqa: BLE001 - best effort while being collected
                pass

    def __deepcopy__(self, memo: dict) -> LearningRateCallback:
        """Copies the configuration and history; a copy is not attached to any model or file."""
        cls = type(self)
        clone = cls.__new__(cls)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if key in _RUNTIME_ATTRS or key == "_siblings":
                clone.__dict__[key] = None
            elif key == "_active":
                clone.__dict__[key] = False
            elif key == "optimizer":  # the model's optimizer object itself, never a copy
                clone.__dict__[key] = value
            else:
                clone.__dict__[key] = copy.deepcopy(value, memo)
        return clone
