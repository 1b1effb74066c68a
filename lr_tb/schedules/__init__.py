"""Learning-rate schedules: pure functions of the 0-based optimizer step.

Each is a `keras.optimizers.schedules.LearningRateSchedule` computed with `keras.ops`,
serializable under the package name "lr_tb", usable directly as an optimizer's
`learning_rate`, and evaluated on many steps at once by `evaluate`.
"""

from lr_tb.schedules.base import StepSchedule, evaluate
from lr_tb.schedules.constant import Constant
from lr_tb.schedules.cosine_restarts import CosineRestarts
from lr_tb.schedules.exponential import ExponentialDecay
from lr_tb.schedules.one_cycle import OneCycle
from lr_tb.schedules.registry import get, names, schedule_class
from lr_tb.schedules.warmup_cosine import WarmupCosineDecay

__all__ = [
    "Constant",
    "CosineRestarts",
    "ExponentialDecay",
    "OneCycle",
    "StepSchedule",
    "WarmupCosineDecay",
    "evaluate",
    "get",
    "names",
    "schedule_class",
]
