"""What every lr_tb callback shares: the step axis of a fit, and logging what each optimizer
update really used.

**The rate each update used** is recorded inside the compiled train step, by the optimizer's
rate slot (`lr_tb._slot.RateSlot`), and read back in bulk at flush points (epoch end,
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

A callback is a *policy*: it says what each step's rate is (`_rates_at`) and, for a
one-cycle, its momentum (`_momentum_at`), and what it does when the fit begins and ends;
everything that belongs to one fit (the slot, the step axis, the read-back, the run's
writer, the one `close()` every ending reaches) is its `FitState` (`lr_tb.callbacks._fit`).
Subclasses that set the rate say so (`_changes_rate`).

**Momentum and weight decay** (`log_momentum`, `log_weight_decay`): the optimizer's momentum
(`momentum` of SGD, `beta_1` of Adam, AdamW, Adamax, Nadam) is recorded in the train step by
the optimizer's momentum slot (`lr_tb._momentum.MomentumSlot`), like the rate, and
written beside it, tag `batch_momentum` or `batch_beta_1`. The effective weight decay of a
step is `weight_decay * learning_rate` (float32), tag `batch_effective_weight_decay`: Keras 3
applies every optimizer's `weight_decay` decoupled, `w -= w * weight_decay * learning_rate`
with the rate the step applied (0.0 for an optimizer without `weight_decay`).
"""

from __future__ import annotations

import copy
from typing import Any

import keras

from lr_tb import _fs, _trial, tags
from lr_tb import _keras_private as P
from lr_tb import _validation as v
from lr_tb.callbacks._fit import FitState
from lr_tb.callbacks._policy import WEIGHT_DECAY_TAG, Policy
from lr_tb.callbacks._run_log import PROGRESS_FILE, TAG, RunLog

__all__ = ["PROGRESS_FILE", "TAG", "WEIGHT_DECAY_TAG", "LearningRateCallback"]


class LearningRateCallback(Policy, keras.callbacks.Callback):
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
        self._show(None)
        self._fit: FitState | None = None  # this callback's last fit (open or closed)
        self._fit_log_dir: str | None = None

    @property
    def run_dir(self) -> str | None:
        """The TensorBoard run this callback writes to: `<log_dir>/train` (in a keras-tuner
        search, the trial execution's run)."""
        log_dir = self._fit_log_dir or self.log_dir
        return None if log_dir is None else _fs.join(log_dir, "train")

    # -- keras hooks: all go to this fit's state ------------------------------------------
    # (`self._model`, not `self.model`: on JAX, Keras' `Callback.model` copies the whole
    # training state back to the variables at every access.)
    def on_train_begin(self, logs: dict | None = None) -> None:
        if self._fit is not None:
            self._fit.close(late=True)  # an earlier fit of this callback that raised past us
        self._show(None)
        FitState(self, self._model)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._fit.epoch_begin(epoch)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # A batch *begin* hook: overriding on_train_batch_end would turn off Keras' async
        # dispatch of batch-end callbacks on the JAX and torch backends.
        self._fit.batch_begin()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._fit.epoch_end(epoch, logs)
        if self.verbose > 0 and self._last_logged_rate is not None:
            self._print_epoch(epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._fit.close(finished=True)

    # -- what the fit's state shows ------------------------------------------------------
    def _take_trial_run(self) -> None:
        """In a keras-tuner search: write to the trial execution's run (see `run_dir`)."""
        self._fit_log_dir = _trial.trial_log_dir(self)

    def _show(self, log: RunLog | None) -> None:
        """The history of this fit so far (None: nothing yet), as the public attributes."""
        if log is None:
            self.steps, self.learning_rates, self.momentums, self.weight_decays = [], [], [], []
            return
        self.steps, self.learning_rates = log.steps, log.rates
        self.momentums = next(
            (log.extra[t] for t in (tags.MOMENTUM, tags.BETA_1) if t in log.extra), []
        )
        self.weight_decays = log.extra.get(WEIGHT_DECAY_TAG, [])

    @property
    def _last_logged_rate(self) -> float | None:
        return None if self._fit is None else self._fit.last_rate

    def _print_epoch(self, epoch: int) -> None:
        first = self._fit.epoch_first_index
        rates = self.learning_rates[first:]
        if not rates:
            return
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

    def __deepcopy__(self, memo: dict) -> LearningRateCallback:
        """Copies the configuration and history; a copy is not attached to any model or file."""
        cls = type(self)
        clone = cls.__new__(cls)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if key in ("_model", "params", "_fit"):  # belong to one fit
                clone.__dict__[key] = None
            elif key == "optimizer":  # the model's optimizer object itself, never a copy
                clone.__dict__[key] = value
            else:
                clone.__dict__[key] = copy.deepcopy(value, memo)
        return clone
