"""Learning-rate schedules: pure functions of the 0-based optimizer step.

Each is a `keras.optimizers.schedules.LearningRateSchedule` computed with `keras.ops`,
serializable under the package name "lr_tb", usable directly as an optimizer's
`learning_rate`, and evaluated on many steps at once by `evaluate`.
"""

from lr_tb.schedules.base import StepSchedule, evaluate
from lr_tb.schedules.constant import Constant
from lr_tb.schedules.constant_with_warmup import ConstantWithWarmup
from lr_tb.schedules.cosine_restarts import CosineRestarts
from lr_tb.schedules.exponential import ExponentialDecay
from lr_tb.schedules.inverse_sqrt import InverseSqrtDecay
from lr_tb.schedules.one_cycle import OneCycle
from lr_tb.schedules.polynomial import WarmupPolynomialDecay
from lr_tb.schedules.registry import get, names, schedule_class
from lr_tb.schedules.sequence import Sequence
from lr_tb.schedules.warmup import Warmup
from lr_tb.schedules.warmup_cosine import WarmupCosineDecay
from lr_tb.schedules.wsd import WarmupStableDecay

__all__ = [
    "Constant",
    "ConstantWithWarmup",
    "CosineRestarts",
    "ExponentialDecay",
    "InverseSqrtDecay",
    "Sequence",
    "OneCycle",
    "StepSchedule",
    "Warmup",
    "WarmupCosineDecay",
    "WarmupPolynomialDecay",
    "WarmupStableDecay",
    "evaluate",
    "get",
    "names",
    "schedule_class",
]
