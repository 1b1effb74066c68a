"""Build a schedule by name: the table the CLI, the tuner and users share."""

from __future__ import annotations

from typing import Any

from lr_tb.schedules.base import StepSchedule
from lr_tb.schedules.constant import Constant
from lr_tb.schedules.constant_with_warmup import ConstantWithWarmup
from lr_tb.schedules.cosine_restarts import CosineRestarts
from lr_tb.schedules.exponential import ExponentialDecay
from lr_tb.schedules.inverse_sqrt import InverseSqrtDecay
from lr_tb.schedules.one_cycle import OneCycle
from lr_tb.schedules.polynomial import WarmupPolynomialDecay
from lr_tb.schedules.warmup_cosine import WarmupCosineDecay
from lr_tb.schedules.wsd import WarmupStableDecay

_SCHEDULES: dict[str, type[StepSchedule]] = {
    "constant": Constant,
    "exponential": ExponentialDecay,
    "warmup_cosine": WarmupCosineDecay,
    "cosine_restarts": CosineRestarts,
    "wsd": WarmupStableDecay,
    "polynomial": WarmupPolynomialDecay,
    "inverse_sqrt": InverseSqrtDecay,
    "constant_with_warmup": ConstantWithWarmup,
    "one_cycle": OneCycle,
}


def names() -> list[str]:
    """The names `get` accepts, sorted."""
    return sorted(_SCHEDULES)


def schedule_class(name: str) -> type[StepSchedule]:
    """The schedule class registered under `name`.

    Raises:
        TypeError: `name` is not a string.
        ValueError: `name` is unknown; the message lists the valid names.
    """
    if not isinstance(name, str):
        raise TypeError(f"Argument `name` must be a string. Received: name={name!r}")
    try:
        return _SCHEDULES[name]
    except KeyError:
        raise ValueError(
            f"Argument `name` must be one of {names()}. Received: name={name!r}"
        ) from None


def get(name: str, **kwargs: Any) -> StepSchedule:
    """Build the schedule registered under `name` with `kwargs`.

    Example:
        >>> lr_tb.schedules.get("warmup_cosine", learning_rate_base=1e-3, total_steps=1000,
        ...                     warmup_steps=100)
        WarmupCosineDecay(learning_rate_base=0.001, total_steps=1000, ...)

    Raises:
        TypeError: `name` is not a string, or a keyword is not an argument of the schedule.
        ValueError: `name` is unknown (the message lists the valid names), or an argument's
            value breaks the schedule's rules.
    """
    cls = schedule_class(name)
    return cls(**kwargs)
