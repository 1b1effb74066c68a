"""Keras callbacks that apply learning-rate schedules and write every step's rate to
TensorBoard."""

from lr_tb.callbacks.base import LearningRateCallback
from lr_tb.callbacks.logger import LearningRateLogger
from lr_tb.callbacks.plateau import ReduceLROnPlateau
from lr_tb.callbacks.schedule import ScheduleCallback
from lr_tb.callbacks.schedulers import (
    ConstantWithWarmupScheduler,
    CosineRestartsScheduler,
    ExponentialDecayScheduler,
    InverseSqrtDecayScheduler,
    OneCycleScheduler,
    WarmupCosineDecayScheduler,
    WarmupPolynomialDecayScheduler,
    WarmupStableDecayScheduler,
)
from lr_tb.callbacks.tensorboard import TensorBoard

__all__ = [
    "ConstantWithWarmupScheduler",
    "InverseSqrtDecayScheduler",
    "WarmupPolynomialDecayScheduler",
    "WarmupStableDecayScheduler",
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
