"""Log whatever learning rate the optimizer applies, without changing it."""

from __future__ import annotations

from typing import Any

import numpy as np

from lr_tb import _validation as v
from lr_tb._optimizers import other_optimizers, unwrap
from lr_tb.callbacks.base import LearningRateCallback


class LearningRateLogger(LearningRateCallback):
    """Writes the rate of every `every_n_steps`-th optimizer update to TensorBoard.

    Whatever sets the rate (a `LearningRateSchedule` or callable held by the optimizer, an
    lr_tb scheduler, Keras' `LearningRateScheduler` or `ReduceLROnPlateau`, your own code
    between batches), the value each update used is recorded inside the compiled train step
    and read back in bulk at flush points: nothing runs per batch, and the curve is the
    applied rate bit for bit. A `LossScaleOptimizer` is looked through. Steps are 0-based
    optimizer updates, as for every lr_tb callback.

    Beside an lr_tb scheduler that writes the same run, the logger writes nothing (the
    scheduler already writes every step) and keeps `learning_rates` only.

    **Several optimizers.** A model whose own `train_step` applies optimizers it holds as
    attributes (a GAN's `g_optimizer` and `d_optimizer`, with `model.optimizer` a default that
    never steps): with `optimizer=None` the logger follows every one of them, each written
    under its own tag, `batch_learning_rate/<attribute>` (`batch_learning_rate/g_optimizer`,
    `.../optimizer` for `model.optimizer`), only those that stepped; `by_optimizer` then holds
    each one's `(steps, learning_rates)`, and `learning_rates` / `steps` are those of the
    first that stepped. `optimizer=` (an optimizer or an attribute name) follows one, under
    the plain tags.

    Args:
        log_dir: TensorBoard log directory; points go to run `<log_dir>/train`, tag
            `batch_learning_rate`.
        every_n_steps: log the steps that are multiples of this, >= 1 (the epoch logs and
            `History` still get each epoch's last applied rate).
        verbose: 0 silent; 1 prints the rates of each epoch where they change.
        flush_secs, log_momentum, log_weight_decay: as for `lr_tb.ScheduleCallback` (the
            momentum and the effective weight decay are thinned like the rate).
        optimizer: the optimizer to follow, or the name of the model attribute holding it
            (keyword only); None: `model.optimizer`, and every other optimizer the model
            holds, if any.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it).

    Example:
        >>> model.compile(optimizer=keras.optimizers.Adam(
        ...     keras.optimizers.schedules.CosineDecay(1e-3, 1000)), loss="mse")
        >>> history = model.fit(x, y, callbacks=[lr_tb.LearningRateLogger("runs/a")])
    """

    def __init__(
        self,
        log_dir: str,
        every_n_steps: int = 1,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        *,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer: Any = None,
    ) -> None:
        if log_dir is None:
            raise TypeError("Argument `log_dir` must be a string path. Received: log_dir=None")
        super().__init__(log_dir, verbose, flush_secs, log_momentum=log_momentum,
                         log_weight_decay=log_weight_decay, optimizer=optimizer)  # fmt: skip
        self.every_n_steps = v.check_int("every_n_steps", every_n_steps, 1)
        self.by_optimizer: dict[str, tuple[list[int], list[float]]] = {}
        self._followers: list[LearningRateLogger] = []

    # -- several optimizers: one follower logger each, this one only forwards ------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._followers = []
        self.by_optimizer = {}
        if self.optimizer is None:
            own = getattr(self._model, "optimizer", None)
            others = other_optimizers(self._model, unwrap(own)) if own is not None else {}
            if others:
                self._followers = [
                    self._follower(name, opt) for name, opt in {"optimizer": own, **others}.items()
                ]
                for follower in self._followers:
                    follower.on_train_begin(logs)
                return
        super().on_train_begin(logs)

    def _follower(self, name: str, optimizer: Any) -> LearningRateLogger:
        follower = LearningRateLogger(
            self.log_dir,
            self.every_n_steps,
            self.verbose,
            self.flush_secs,
            log_momentum=self.log_momentum,
            log_weight_decay=self.log_weight_decay,
            optimizer=optimizer,
        )
        follower._tag_suffix = name
        follower.set_params(self.params)
        follower.set_model(self._model)
        return follower

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if not self._followers:
            return super().on_epoch_begin(epoch, logs)
        for follower in self._followers:
            follower.on_epoch_begin(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if not self._followers:
            return super().on_train_batch_begin(batch, logs)
        for follower in self._followers:
            follower.on_train_batch_begin(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self._followers:
            return super().on_epoch_end(epoch, logs)
        for follower in self._followers:
            follower._fit.idle_warned = True  # an idle one among several is no news
            follower.on_epoch_end(epoch, logs)
        self._collect()

    def on_train_end(self, logs: dict | None = None) -> None:
        if not self._followers:
            return super().on_train_end(logs)
        try:
            for follower in self._followers:
                follower.on_train_end(logs)
        finally:
            self._collect()

    def _collect(self) -> None:
        """Each follower's history, by attribute name; the first that stepped as this one's."""
        self.by_optimizer = {
            f._tag_suffix: (f.steps, f.learning_rates) for f in self._followers if f.steps
        }
        if self.by_optimizer:
            self.steps, self.learning_rates = next(iter(self.by_optimizer.values()))

    def _keep_step(self, steps: np.ndarray) -> np.ndarray | None:
        if self.every_n_steps == 1:
            return None
        return steps % self.every_n_steps == 0

    def _defers_to(self, other: LearningRateCallback) -> bool:
        return not isinstance(other, LearningRateLogger) or id(other) < id(self)
