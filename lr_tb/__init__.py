"""lr_tb: Keras 3 learning-rate schedules you can see in TensorBoard.

Schedules (`lr_tb.schedules`) are pure functions of the optimizer step. Callbacks apply
them inside the compiled train step and write every step's rate to TensorBoard, in the same
run as `keras.callbacks.TensorBoard`'s curves.
"""

from lr_tb import callbacks, event_writer, schedules
from lr_tb.callbacks import (
    CosineRestartsScheduler,
    ExponentialDecayScheduler,
    LearningRateCallback,
    LearningRateLogger,
    ReduceLROnPlateau,
    ScheduleCallback,
    WarmupCosineDecayScheduler,
)
from lr_tb.schedules import CosineRestarts, ExponentialDecay, WarmupCosineDecay

__version__ = "0.1.0"


def __getattr__(name: str):
    # `lr_tb.tuner` imports keras-tuner: only when it is used.
    if name == "tuner":
        import importlib

        return importlib.import_module("lr_tb.tuner")
    raise AttributeError(f"module 'lr_tb' has no attribute {name!r}")


__all__ = [
    "CosineRestarts",
    "CosineRestartsScheduler",
    "ExponentialDecay",
    "ExponentialDecayScheduler",
    "LearningRateCallback",
    "LearningRateLogger",
    "ReduceLROnPlateau",
    "ScheduleCallback",
    "WarmupCosineDecay",
    "WarmupCosineDecayScheduler",
    "callbacks",
    "event_writer",
    "schedules",
    "tuner",
]
