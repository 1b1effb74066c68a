"""Build a schedule by name: the table the CLI, the tuner and users share, made from
`lr_tb.catalog`."""

from __future__ import annotations

from typing import Any

from lr_tb import catalog
from lr_tb.schedules.base import StepSchedule


def names() -> list[str]:
    """The names `get` accepts, sorted."""
    return catalog.names()


def schedule_class(name: str) -> type[StepSchedule]:
    """The schedule class registered under `name`.

    Raises:
        TypeError: `name` is not a string.
        ValueError: `name` is unknown; the message lists the valid names.
    """
    return catalog.spec(name).schedule_class()


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
