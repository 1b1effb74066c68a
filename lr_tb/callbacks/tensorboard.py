"""`keras.callbacks.TensorBoard` that also writes the learning rate of every step."""

from __future__ import annotations

import os
from typing import Any

import keras

from lr_tb import _keras_private as P
from lr_tb import _trial, tags
from lr_tb import _validation as v
from lr_tb.callbacks.base import LearningRateCallback
from lr_tb.callbacks.logger import LearningRateLogger


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, plus the rate the optimizer applied at every step.

    A drop-in for `keras.callbacks.TensorBoard` (same arguments, same runs): beside Keras'
    `epoch_loss` and friends in `<log_dir>/train`, an internal `lr_tb.LearningRateLogger`
    writes scalar `batch_learning_rate` there, one point per optimizer step (0-based, on the
    absolute axis: a fit with `initial_epoch > 0` goes on at `initial_epoch *
    steps_per_epoch`). It logs whatever rate the optimizer applies: a float, a Keras or lr_tb
    schedule, or the schedule an lr_tb scheduler applies (give that scheduler no `log_dir`:
    this callback already writes its rate).

    One learning-rate chart: Keras' own TensorBoard also writes `epoch_learning_rate`, the
    optimizer's rate read once at each epoch's end (a few points, which TensorBoard smooths
    and draws as if it were another schedule). This one leaves it out, so the per-step curve
    is the only rate in the run; `write_epoch_learning_rate=True` keeps Keras' as well.

    In a keras-tuner search it is moved like Keras' own (its class is named `TensorBoard`):
    each trial execution writes to `<log_dir>/<trial_id>/execution<n>`. On JAX and torch,
    where keras-tuner moves nothing and writes no HParams, it moves itself the same way and
    writes the trial's HParams session data.

    Args:
        log_dir, *args, **kwargs: as for `keras.callbacks.TensorBoard`.
        log_momentum, log_weight_decay: as for `lr_tb.LearningRateLogger` (keyword only).
        write_epoch_learning_rate: also write Keras' `epoch_learning_rate` (keyword only;
            default False: the per-step `batch_learning_rate` is the run's rate curve).
        flush_secs: write and flush the per-step series inside an epoch at most this many
            seconds apart, as lr_tb's callbacks do (keyword only; None: at epoch ends only).
            An lr_tb callback of the same fit with no `log_dir` of its own, whose rate this
            callback writes, may ask for a shorter interval with its own `flush_secs`: the
            shortest is used, so a process killed hard loses at most that much.

    Attributes:
        learning_rates, steps: the last fit's logged rates and their steps, as for
            `lr_tb.LearningRateLogger` (empty before the first fit).
        momentums, weight_decays: with `log_momentum` / `log_weight_decay`, likewise.

    Raises:
        TypeError: `log_dir` is not a string path.

    Example:
        >>> history = model.fit(x, y, epochs=3, callbacks=[lr_tb.TensorBoard("runs/a")])

        In a keras-tuner search: `tuner.search(x, y, epochs=3,
        callbacks=[lr_tb.TensorBoard("runs/search")])`.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        *args: Any,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        write_epoch_learning_rate: bool = False,
        flush_secs: float | None = 30.0,
        **kwargs: Any,
    ) -> None:
        for name, value in (
            ("log_momentum", log_momentum),
            ("log_weight_decay", log_weight_decay),
            ("write_epoch_learning_rate", write_epoch_learning_rate),
        ):
            if not isinstance(value, bool):
                raise TypeError(f"Argument `{name}` must be a bool. Received: {name}={value!r}")
        self.log_momentum = log_momentum
        self.log_weight_decay = log_weight_decay
        self.write_epoch_learning_rate = write_epoch_learning_rate
        self.flush_secs = None if flush_secs is None else v.check_positive("flush_secs", flush_secs)
        if isinstance(log_dir, bool) or not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(
                f"Argument `log_dir` must be a string path. Received: log_dir={log_dir!r}"
            )
        v.check_log_dir(log_dir)  # a file, under a file, not writable: said here, not mid-fit
        super().__init__(os.fspath(log_dir), *args, **kwargs)
        if not write_epoch_learning_rate:
            P.leave_out_epoch_rate(self)
        self._rate_logger: LearningRateLogger | None = None
        self._fitting = False
        self._trial_hparams: tuple[str, dict[str, Any]] | None = None

    # the rate logger's history (empty before the first fit), as on every lr_tb callback
    learning_rates = property(lambda self: _of_logger(self, "learning_rates"))
    steps = property(lambda self: _of_logger(self, "steps"))
    momentums = property(lambda self: _of_logger(self, "momentums"))
    weight_decays = property(lambda self: _of_logger(self, "weight_decays"))

    def set_model(self, model: keras.Model) -> None:
        # Keras' TensorBoard fixes its run directories here: take the trial's run first.
        moved = _trial.trial_log_dir(self)
        self._trial_hparams = None
        if moved is not None:
            self.log_dir = moved
            found = _trial.running_trial(self)
            if found is not None:
                _, trial, _ = found
                self._trial_hparams = (str(trial.trial_id), _trial.trial_hparams(trial))
        super().set_model(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self._trial_hparams is not None:
            _trial.write_hparams_start(self.log_dir, *self._trial_hparams)
        # An lr_tb callback of this fit with no run of its own (a scheduler given no
        # `log_dir`, as beside this callback it should be) that asks for the momentum or the
        # weight decay: this callback writes them, or nobody would.
        unlogged = [
            c
            for c in P.sibling_callbacks(self) or []
            if isinstance(c, LearningRateCallback) and c.log_dir is None
        ]
        intervals = [c.flush_secs for c in [self, *unlogged] if c.flush_secs is not None]
        self._rate_logger = LearningRateLogger(
            self.log_dir,
            flush_secs=min(intervals) if intervals else None,
            log_momentum=self.log_momentum or any(c.log_momentum for c in unlogged),
            log_weight_decay=self.log_weight_decay or any(c.log_weight_decay for c in unlogged),
        )
        self._rate_logger.set_params(self.params)
        self._rate_logger.set_model(self.model)
        self._rate_logger.on_train_begin(logs)
        self._fitting = True

    # Every other hook of a fit goes to Keras' TensorBoard, then to the rate logger.
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self._rate_logger.on_epoch_begin(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        super().on_train_batch_begin(batch, logs)
        self._rate_logger.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        super().on_train_batch_end(batch, logs)
        self._rate_logger.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        super().on_test_begin(logs)
        if self._fitting:  # not for a model.evaluate of its own
            self._rate_logger.on_test_begin(logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        super().on_test_end(logs)
        if self._fitting:
            self._rate_logger.on_test_end(logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._rate_logger.on_epoch_end(epoch, logs)
        if logs is not None and not self.write_epoch_learning_rate:
            # the epoch's `learning_rate` stays in the logs (History); only not written here
            key, several = tags.EPOCH_LOG_KEY, tags.EPOCH_LOG_KEY + "_"
            logs = {k: x for k, x in logs.items() if k != key and not k.startswith(several)}
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._fitting = False
        try:
            self._rate_logger.on_train_end(logs)
        finally:
            super().on_train_end(logs)
        if self._trial_hparams is not None:
            _trial.write_hparams_end(self.log_dir)


def _of_logger(tensorboard: TensorBoard, name: str) -> list:
    logger = tensorboard._rate_logger
    return [] if logger is None else getattr(logger, name)
