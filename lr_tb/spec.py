"""What a schedule declares about itself, once: `ScheduleSpec`.

From a schedule's spec (in `lr_tb.catalog`) come its entry in `lr_tb.schedules.registry`, the
`lr-tb preview` arguments and `--list` line, its dimensions in `lr_tb.tuner`'s search space,
and the behaviour of its fit-length callback (`lr_tb.callbacks.schedulers`). This module and
the catalog use the standard library only: the `lr-tb` command reads them before Keras is
imported.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

REQUIRED = inspect.Parameter.empty  # the default of an argument that has none


@dataclass(frozen=True)
class Arg:
    """One constructor argument of a schedule, as its signature writes it."""

    name: str
    annotation: str
    default: Any = REQUIRED


@dataclass(frozen=True)
class Preview:
    """What `lr-tb preview` uses for an argument it is not given (and `--list` shows).

    `value` is used as is, or `--steps // steps_divisor` when `steps_divisor` is set; `note`
    follows it in `--list` (", the article's"); with `unless`, it is not used when that other
    argument is given."""

    value: Any = None
    steps_divisor: int = 0
    note: str = ""
    unless: str = ""


@dataclass(frozen=True)
class Dimension:
    """One setting of a schedule in the tuner's search space: its default, its default range
    (or `values`, for a choice), and `valid`, what any value must satisfy: (low, high,
    low_open, high_open).

    `of_run`, when set, makes it a fraction of the trial's steps, given to the callback as
    `<of_run>_steps` (the trial's length known) or `<of_run>_epochs` (a fraction of its
    epochs)."""

    kind: str  # "float", "int" or "choice"
    default: Any
    low: float = 0.0
    high: float = 1.0
    values: tuple = ()
    valid: tuple = (0.0, 1.0, False, False)
    of_run: str = ""


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule, declared once.

    Attributes:
        name: its name in `lr_tb.schedules.get`, `lr-tb preview` and the tuner.
        schedule: its class's name, defined in `lr_tb.schedules.<module>`.
        module: the module of `lr_tb.schedules` that defines it.
        summary: the first line of the class's docstring (`lr-tb preview --list`).
        args: the class's constructor arguments, in order (tests check them against the
            signature): what `lr-tb preview` parses without importing Keras.
        preview: what a preview uses for arguments it is not given; `total_steps` is
            `--steps` unless another of `length_from` is given.
        callback: the name of its callback class in `lr_tb.callbacks`, None when it has none.
        length_from: the arguments, any one of which fixes the schedule's length; a callback
            given none of them takes `epochs * steps_per_epoch` of the fit for `total_steps`.
        epoch_args: the callback's epoch-based arguments: each stands in for a step
            argument, `(its name, the least number of steps)`; at train begin it becomes
            `max(least, round(epochs * steps_per_epoch))`.
        one_of: callback arguments of which exactly one must be given.
        tuner: its settings in the tuner's search space, by name.
        tuner_fixed: callback arguments every trial of it gets.
        default_search: whether it is in the tuner's default space.
    """

    name: str
    schedule: str
    module: str
    summary: str
    args: tuple[Arg, ...]
    preview: dict[str, Preview] = field(default_factory=dict)
    callback: str | None = None
    length_from: tuple[str, ...] = ()
    epoch_args: dict[str, tuple[str, int]] = field(default_factory=dict)
    one_of: tuple[str, ...] = ()
    tuner: dict[str, Dimension] = field(default_factory=dict)
    tuner_fixed: dict[str, Any] = field(default_factory=dict)
    default_search: bool = False

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(arg.name for arg in self.args)

    def schedule_class(self) -> type:
        """The schedule's class (imports Keras)."""
        return getattr(importlib.import_module(f"lr_tb.schedules.{self.module}"), self.schedule)
