"""What an lr_tb callback checks when a fit begins, before any step (raising here writes
nothing), and the one warning it gives while the fit runs."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np

from lr_tb._optimizers import accumulation_steps, unwrap

# Keras' own callbacks that set the optimizer's rate.
_KERAS_RATE_CALLBACKS = (
    keras.callbacks.LearningRateScheduler,
    keras.callbacks.ReduceLROnPlateau,
)


def check_company(fit: Any) -> None:
    """Refuse company that would make the curve wrong or doubled: a Keras rate callback, or
    a second lr_tb scheduler of the same optimizer, beside a scheduler."""
    callback = fit.callback
    if not callback._changes_rate:
        return
    name = type(callback).__name__
    for other in fit.siblings:
        if isinstance(other, _KERAS_RATE_CALLBACKS):
            raise TypeError(
                f"{name} sets the learning rate of every step, and "
                f"keras.callbacks.{type(other).__name__} in the same fit sets it too: "
                "its changes would be overwritten at the next step. Use one of them; "
                "to decay a schedule on a plateau, use lr_tb.ReduceLROnPlateau alone "
                "or lr_tb.LearningRateLogger to log what Keras' callback applies. "
                f"Received: callbacks=[..., {_in_order(fit.siblings, other, callback)}, ...]"
            )
    for other in fit.hook.open:
        if (
            other.params is fit.params
            and other.callback._changes_rate
            and other.optimizer is fit.optimizer
        ):
            raise TypeError(
                f"{name}: another lr_tb callback ({type(other.callback).__name__}) already sets "
                "this optimizer's learning rate in this fit; use one scheduler per optimizer."
            )


def steps_per_execution(model: Any, who: str) -> int:
    """`compile(steps_per_execution=...)`: Keras 3 runs that many batches per call and takes an
    int >= 1 only (a Keras 2 value such as "auto" fails inside Keras' data loop); said here,
    naming it, before any step."""
    value = getattr(model, "steps_per_execution", 1)
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise TypeError(
            f"{who}: the model was compiled with an unsupported `steps_per_execution`: Keras 3 "
            f"takes an int >= 1 (batches per call). Received: steps_per_execution={value!r}"
        )
    return int(value)


def updates_per_epoch(params: dict | None, model: Any) -> int | None:
    """Optimizer updates an epoch (batches divided by gradient accumulation), if known."""
    steps = (params or {}).get("steps")
    if not steps:
        return None
    return max(1, int(steps) // accumulation_steps(unwrap(model.optimizer)))


def warn_idle(fit: Any, epoch: int, stepped: list[str]) -> None:
    """Batches ran, but the optimizer this fit follows took no step (a model with several
    optimizers in its own `train_step`, `model.optimizer` left unused): say so, naming the
    optimizers that did step."""
    callback, optimizer = fit.callback, fit.optimizer
    which = (
        f"the optimizers that did: {', '.join(f'model.{n}' for n in stepped)}"
        if stepped
        else "nor did the model's other optimizers"
    )
    if isinstance(callback.optimizer, str):
        label = f"model.{callback.optimizer}"
    elif callback.optimizer is None:
        label = "model.optimizer"
    else:
        label = f"optimizer={optimizer.name!r}"
    warnings.warn(
        f"{type(callback).__name__}: batches ran in epoch {epoch + 1}, but the optimizer it "
        f"follows ({label}, {type(optimizer).__name__}) took no step, so it logged "
        f"nothing; {which}. Give it `optimizer=` (the attribute name) to follow one of "
        "them; lr_tb.LearningRateLogger and lr_tb.TensorBoard log every one by default.",
        RuntimeWarning,
        stacklevel=3,
    )


def _in_order(callbacks: list, *these: Any) -> str:
    """The class names of `these`, in the order they appear in the fit's `callbacks`."""
    position = {id(c): i for i, c in enumerate(callbacks)}
    ordered = sorted(these, key=lambda c: position.get(id(c), len(callbacks)))
    return ", ".join(type(c).__name__ for c in ordered)
