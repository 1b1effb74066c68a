"""Keras callbacks that apply learning-rate schedules and write every step's rate to
TensorBoard."""

from lr_tb.callbacks.base import LearningRateCallback
from lr_tb.callbacks.logger import LearningRateLogger
from lr_tb.callbacks.plateau import ReduceLROnPlateau
from lr_tb.callbacks.schedule import ScheduleCallback
from lr_tb.callbacks.schedulers import (
    CosineRestartsScheduler,
    ExponentialDecayScheduler,
    OneCycleScheduler,
    WarmupCosineDecayScheduler,
)
from lr_tb.callbacks.tensorboard import TensorBoard

__all__ = [
    "CosineRestartsScheduler",
    "ExponentialDecayScheduler",
    "LearningRateCallback",
    "LearningRateLogger",
    "OneCycleScheduler",
    "ReduceLROnPlateau",
    "ScheduleCallback",
    "TensorBoard",
    "WarmupCosineDecayScheduler",
]
