"""What lr_tb keeps per model: the open fits (`FitState`s) of its lr_tb callbacks, each
optimizer's step count when a training call started, and the guard around the model's train
function that marks the steps (the slots' `in_step`) and closes the open fits when a step
raises."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from lr_tb import _keras_private as P
from lr_tb._optimizers import accumulation_steps, held_optimizers, unwrap
from lr_tb._slot import RateSlot

_HOOK_ATTR = "_lr_tb_model_hook"


def _is_end_of_data(error: BaseException) -> bool:
    return isinstance(error, StopIteration) or type(error).__name__ == "OutOfRangeError"


class ModelHook:
    """lr_tb's state of one model (kept in its `__dict__`, so Keras tracks nothing of it)."""

    def __init__(self, model: Any) -> None:
        self.model_ref = weakref.ref(model)
        self.open: list = []  # FitStates in the middle of a fit of this model
        # each optimizer's step counter when the training call started (before any callback
        # ran), by id of the rate-holding optimizer: model.optimizer and every other it holds
        # (`P.snapshot`s, read only when asked: `iterations_at_fit_start`)
        self._counters_at_fit_start: dict[int, Any] = {}
        self.slots: list[RateSlot] = []  # the slots of the optimizers lr_tb follows
        self.calls = 0  # calls of the train function so far (a FitState's record skips its
        # device read when none ran since the last one)
        self.lock = threading.Lock()

    @classmethod
    def of(cls, model: Any) -> ModelHook:
        """The model's hook, attached (with its train-function guard) on first use."""
        hook = model.__dict__.get(_HOOK_ATTR)
        if hook is None:
            hook = cls(model)
            model.__dict__[_HOOK_ATTR] = hook
        P.hook_train_function(model, hook._guard, hook._before_training)
        return hook

    def follow(self, slot: RateSlot) -> None:
        """Mark this slot's steps as in a train step from now on (a GAN has two)."""
        if all(known is not slot for known in self.slots):
            self.slots.append(slot)

    def close_fits_of_other_trainings(self, params: Any) -> None:
        """Close the open fits left by an earlier training of this model (interrupted)."""
        for fit in list(self.open):
            if fit.params is not params:
                fit.close(late=True)

    def _before_training(self) -> None:
        # Every fit and train_on_batch comes here before any callback: a fit still open
        # belongs to an earlier training that was interrupted outside a train step.
        for fit in list(self.open):
            fit.close(late=True)
        self._counters_at_fit_start = {}
        model = self.model_ref()
        try:
            for held in held_optimizers(model).values():
                optimizer = unwrap(held)
                counter = P.snapshot(model, optimizer, P.iterations_variable(optimizer))
                self._counters_at_fit_start[id(optimizer)] = counter
        except Exception:  # noqa: BLE001 - not compiled yet: fit will say so
            pass

    def iterations_at_fit_start(self, optimizer: Any) -> int | None:
        """The optimizer's public step counter when this training call started, before any
        callback ran (None: not known, the model's first training call lr_tb saw). Asked
        before the call's first step (a scheduler's `_start`): on JAX the snapshot is the
        array the first step donates."""
        counter = self._counters_at_fit_start.get(id(optimizer))
        if counter is None:
            return None
        return int(np.asarray(counter)) // accumulation_steps(optimizer)

    def _guard(self, function: Any) -> _GuardedTrainFunction:
        return _GuardedTrainFunction(function, self)


class _GuardedTrainFunction:
    """Wraps `model.train_function`: marks the optimizers' rates as read inside a step, and
    closes the open fits when a train step raises."""

    lr_tb_guard = True

    def __init__(self, function: Any, hook: ModelHook) -> None:
        self.function = function
        self.hook = hook

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hook = self.hook
        hook.calls += 1
        slots = tuple(hook.slots)  # set by FitState: nothing looked up per batch
        for slot in slots:  # every optimizer the step may apply (a GAN's two)
            slot.in_step += 1
        try:
            return self.function(*args, **kwargs)
        except BaseException as error:
            if not _is_end_of_data(error):  # how Keras learns a dataset's size: not a crash
                for fit in list(self.hook.open):
                    try:
                        fit.close()
                    except Exception:  # noqa: BLE001 - never mask the training error
                        pass
            raise
        finally:
            for slot in slots:
                slot.in_step -= 1
