"""How lr_tb's callbacks reach into a compiled model's optimizer and train function.

Keras 3 reads an optimizer's rate through `Optimizer._get_current_learning_rate()` inside the
compiled train step. To apply a schedule *in the graph*, lr_tb overrides that method on the
optimizer instance for the length of a `fit`: the rate becomes `schedule(iterations +
offset)`, computed in the train step, and is also assigned to the optimizer's own
`learning_rate` variable, so `get_config()`, `model.save()` and a later plain `fit` see the
rate last applied. The variable stays tracked, so checkpoints keep their layout. At train end
the override is removed and the train function dropped so the next `fit` traces afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

_OWNER_ATTR = "_lr_tb_owner"


def unwrap(optimizer: Any) -> Any:
    """The optimizer that holds the learning rate (inside a `LossScaleOptimizer`)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def checked_optimizer(model: Any, who: str) -> Any:
    """The compiled model's rate-holding optimizer; a clear TypeError when there is none."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise TypeError(
            f"{who} needs a compiled model with an optimizer; call `model.compile(optimizer=...)`"
            f" first. Received: model.optimizer=None"
        )
    inner = unwrap(optimizer)
    if not isinstance(inner, keras.optimizers.Optimizer) or not hasattr(inner, "_learning_rate"):
        raise TypeError(
            f"{who} needs a Keras 3 optimizer with a `learning_rate`. "
            f"Received: optimizer={optimizer!r}"
        )
    return inner


def sync_state(model: Any) -> None:
    """On JAX, put the training state back into the variables (Keras empties them while an
    epoch runs); elsewhere the variables are always current."""
    if keras.backend.backend() == "jax" and hasattr(model, "jax_state_sync"):
        model.jax_state_sync()


def read_iterations(model: Any, optimizer: Any) -> int:
    """The optimizer's step counter, current also in the middle of a JAX epoch."""
    sync_state(model)
    return int(ops.convert_to_numpy(optimizer._iterations))


def owner(optimizer: Any) -> Any:
    """The lr_tb callback whose schedule the optimizer applies right now, or None."""
    return optimizer.__dict__.get(_OWNER_ATTR)


def install(optimizer: Any, callback: Any, rate_fn: Callable[[Any], Any]) -> None:
    """Make the optimizer's rate `rate_fn(iterations)`, computed inside the train step."""
    variable = optimizer._learning_rate
    if not isinstance(variable, keras.Variable):
        raise TypeError(
            f"{type(callback).__name__} applies its own schedule, so the optimizer must be "
            "compiled with a float `learning_rate`, not a `LearningRateSchedule` or a "
            f"callable. Received: learning_rate={variable!r}"
        )
    current = owner(optimizer)
    if current is not None and current is not callback:
        # This fit is about to abort: undo the other scheduler too, so nothing is left applied.
        current._finish()
        raise TypeError(
            f"{type(callback).__name__}: another lr_tb scheduler "
            f"({type(current).__name__}) already sets this optimizer's learning rate; "
            "use one scheduler per optimizer."
        )

    def current_learning_rate() -> Any:
        rate = ops.cast(rate_fn(optimizer._iterations), variable.dtype)
        variable.assign(rate)
        return rate

    optimizer._get_current_learning_rate = current_learning_rate
    optimizer.__dict__[_OWNER_ATTR] = callback


def uninstall(optimizer: Any, callback: Any, last_rate: float | None) -> None:
    """Undo `install`; the variable keeps `last_rate` (the rate of the last applied step)."""
    if owner(optimizer) is not callback:
        return
    optimizer.__dict__.pop("_get_current_learning_rate", None)
    optimizer.__dict__.pop(_OWNER_ATTR, None)
    if last_rate is not None:
        optimizer._learning_rate.assign(last_rate)


def _is_end_of_data(error: BaseException) -> bool:
    return isinstance(error, StopIteration) or type(error).__name__ == "OutOfRangeError"


class _GuardedTrainFunction:
    """Wraps `model.train_function` to run crash hooks when a train step raises."""

    def __init__(self, function: Any, hooks: list[Callable[[], None]]) -> None:
        self.function = function
        self.hooks = hooks

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.function(*args, **kwargs)
        except BaseException as error:
            if _is_end_of_data(error):  # how Keras learns a dataset of unknown size is done
                raise
            for hook in list(self.hooks):
                try:
                    hook()
                except Exception:  # noqa: BLE001 - never mask the training error
                    pass
            raise


def guard_train_function(model: Any, hook: Callable[[], None], rebuild: bool = False) -> None:
    """Run `hook` if a train step raises. `rebuild=True` retraces the train function first."""
    current = getattr(model, "train_function", None)
    hooks = current.hooks if isinstance(current, _GuardedTrainFunction) else []
    if rebuild or current is None:
        model.make_train_function(force=True)
    elif isinstance(current, _GuardedTrainFunction):
        model.train_function = current.function
    if hook not in hooks:
        hooks.append(hook)
    model.train_function = _GuardedTrainFunction(model.train_function, hooks)


def unguard_train_function(model: Any, hook: Callable[[], None], drop: bool = False) -> None:
    """Remove `hook`; `drop=True` also discards the traced function (next fit retraces)."""
    current = getattr(model, "train_function", None)
    if isinstance(current, _GuardedTrainFunction):
        if hook in current.hooks:
            current.hooks.remove(hook)
        if not current.hooks:
            model.train_function = current.function
    if drop:
        model.train_function = None
