"""lr_tb: Keras 3 learning-rate schedules you can see in TensorBoard.

Schedules (`lr_tb.schedules`) are pure functions of the optimizer step. Callbacks apply
them inside the compiled train step and write every step's rate to TensorBoard, in the same
run as `keras.callbacks.TensorBoard`'s curves.

`import lr_tb` imports the schedules and callbacks (which registers their serialization
names for `keras.saving.load_model`), except while the `lr-tb` command starts: there each
name below is imported on first use, so `lr-tb --help` answers without loading Keras and its
backend. When `import lr_tb` is what imports Keras, TensorFlow's C++ start-up lines stay quiet
(`lr_tb._quiet`: `TF_CPP_MIN_LOG_LEVEL` defaults to 3; a level you set is kept).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from lr_tb import catalog  # the standard library only

__version__ = "0.2.0"

# Each public name and the module it comes from, imported on first use (PEP 562); each
# schedule's callback class is named by its spec (`lr_tb.catalog`).
_NAMES = {
    "LearningRateCallback": "lr_tb.callbacks",
    "LearningRateLogger": "lr_tb.callbacks",
    "ReduceLROnPlateau": "lr_tb.callbacks",
    "ScheduleCallback": "lr_tb.callbacks",
    "TensorBoard": "lr_tb.callbacks",
    **{name: "lr_tb.callbacks" for name in catalog.callback_names()},
    "CosineRestarts": "lr_tb.schedules",
    "ExponentialDecay": "lr_tb.schedules",
    "OneCycle": "lr_tb.schedules",
    "WarmupCosineDecay": "lr_tb.schedules",
    "LRFinderResult": "lr_tb.finder",
    "find_learning_rate": "lr_tb.finder",
}
# `lr_tb.tuner` imports keras-tuner: only when it is used.
_SUBMODULES = ("callbacks", "event_writer", "finder", "schedules", "tuner")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"lr_tb.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lr_tb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from lr_tb import callbacks, event_writer, finder, schedules, tuner
    from lr_tb.callbacks import (
        ConstantWithWarmupScheduler,
        CosineRestartsScheduler,
        ExponentialDecayScheduler,
        InverseSqrtDecayScheduler,
        LearningRateCallback,
        LearningRateLogger,
        OneCycleScheduler,
        ReduceLROnPlateau,
        ScheduleCallback,
        TensorBoard,
        WarmupCosineDecayScheduler,
        WarmupPolynomialDecayScheduler,
        WarmupStableDecayScheduler,
    )
    from lr_tb.finder import LRFinderResult, find_learning_rate
    from lr_tb.schedules import CosineRestarts, ExponentialDecay, OneCycle, WarmupCosineDecay


def _cli_startup() -> bool:
    """Whether this process is the `lr-tb` command (or `python -m lr_tb...`) starting up."""
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 == "-m" or os.path.basename(argv0).startswith("lr-tb")


if "keras" in sys.modules or not _cli_startup():
    from lr_tb import _quiet

    _quiet.import_keras()
    from lr_tb import callbacks, schedules  # noqa: F401, E402  (see the module docstring)


# static, for type checkers; tests/test_schedules_catalog.py checks it against `_NAMES`
__all__ = [
    "ConstantWithWarmupScheduler",
    "InverseSqrtDecayScheduler",
    "WarmupPolynomialDecayScheduler",
    "WarmupStableDecayScheduler",
    "CosineRestarts",
    "CosineRestartsScheduler",
    "ExponentialDecay",
    "ExponentialDecayScheduler",
    "LRFinderResult",
    "LearningRateCallback",
    "LearningRateLogger",
    "OneCycle",
    "OneCycleScheduler",
    "ReduceLROnPlateau",
    "ScheduleCallback",
    "TensorBoard",
    "WarmupCosineDecay",
    "WarmupCosineDecayScheduler",
    "callbacks",
    "event_writer",
    "find_learning_rate",
    "finder",
    "schedules",
    "tuner",
]
