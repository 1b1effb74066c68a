"""Log whatever learning rate the optimizer applies, without changing it."""

from __future__ import annotations

import numpy as np

from lr_tb import _validation as v
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

    Args:
        log_dir: TensorBoard log directory; points go to run `<log_dir>/train`, tag
            `batch_learning_rate`.
        every_n_steps: log the steps that are multiples of this, >= 1 (the epoch logs and
            `History` still get each epoch's last applied rate).
        verbose: 0 silent; 1 prints the rates of each epoch where they change.
        flush_secs, log_momentum, log_weight_decay: as for `lr_tb.ScheduleCallback` (the
            momentum and the effective weight decay are thinned like the rate).

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it).

    Example:
        >>> model.compile(optimizer=keras.optimizers.Adam(
        ...     keras.optimizers.schedules.CosineDecay(1e-3, 1000)), loss="mse")
        >>> model.fit(x, y, callbacks=[lr_tb.LearningRateLogger("runs/a")])
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
    ) -> None:
        if log_dir is None:
            raise TypeError("Argument `log_dir` must be a string path. Received: log_dir=None")
        super().__init__(
            log_dir=log_dir,
            verbose=verbose,
            flush_secs=flush_secs,
            log_momentum=log_momentum,
            log_weight_decay=log_weight_decay,
        )
        self.every_n_steps = v.check_int("every_n_steps", every_n_steps, 1)

    def _keep_step(self, steps: np.ndarray) -> np.ndarray | None:
        if self.every_n_steps == 1:
            return None
        return steps % self.every_n_steps == 0

    def _defers_to(self, other: LearningRateCallback) -> bool:
        return not isinstance(other, LearningRateLogger) or id(other) < id(self)
