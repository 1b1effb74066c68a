"""The momentum slot: beside the rate slot (`lr_tb._slot`), the same for the optimizer's
momentum (`momentum` of SGD, `beta_1` of Adam, AdamW, Adamax, Nadam), which one-cycle
schedules cycle and `log_momentum` records.

The optimizers' update code reads that hyperparameter as a plain Python attribute in the
train step, so while the optimizer's per-update method runs (`_backend_update_step`, taken
through `lr_tb._keras_private.set_update_step`) the attribute holds this update's value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _keras_private as P
from lr_tb._optimizers import check_momentum_optimizer
from lr_tb._slot import RateSlot, ensure_slot, in_strategy_scope, look_up_and_record, slot_variable


class MomentumSlot:
    """Variables lr_tb adds beside the rate slot for the optimizer's momentum (`attr`).

    ```
    u = optimizer.iterations
    own = the optimizer's own float attribute (as traced)
    value = table[u - base]   if mode == 1 and 0 <= u - base < size   else own
    record[u % size] = value
    ```
    `base` is the rate slot's (a scheduler fills both tables for the same steps). While
    `_backend_update_step` runs inside a train step, the attribute holds `value`: on
    TensorFlow and JAX an `_InStepValue` (a tensor to every op, the own float to Python
    comparisons such as SGD's `momentum != 0`), on torch (eager) a Python float. Outside that
    call the attribute is the optimizer's own plain float, always (`get_config`,
    `model.save`).
    """

    def __init__(self, attr: str, size: int) -> None:
        self.attr = attr
        self.size = size
        self.lock = threading.Lock()
        self.depth = 0  # update steps running with the in-step value in place
        self.own: Any = None
        with keras.name_scope("lr_tb"):
            self.table = slot_variable(np.zeros(size, np.float32), "momentum_table")
            self.mode = slot_variable(0, "momentum_mode", "int32")
            self.record = slot_variable(np.zeros(size, np.float32), "momentum_record")
        self.variables = [self.table, self.mode, self.record]

    def wrap_update_step(self, slot: RateSlot, update_step: Callable) -> Callable:
        """The optimizer's per-update method, with the in-step value in the attribute while
        the original runs inside a train step."""
        optimizer, attr = slot.optimizer, self.attr

        def backend_update_step(grads: Any, variables: Any, learning_rate: Any) -> Any:
            if not slot.in_step:
                return update_step(grads, variables, learning_rate)
            with self.lock:
                if self.depth == 0:
                    self.own = optimizer.__dict__[attr]
                self.depth += 1
                own = self.own
            try:
                value, use = look_up_and_record(
                    optimizer, slot.base, self.table, self.record, own, self.mode
                )
                if keras.backend.backend() == "torch":  # eager: the float this update uses
                    in_step: Any = float(ops.convert_to_numpy(value)) if bool(use) else own
                else:
                    in_step = _InStepValue(own, value, use)
                optimizer.__dict__[attr] = in_step
                return update_step(grads, variables, learning_rate)
            finally:
                with self.lock:
                    self.depth -= 1
                    if self.depth == 0:
                        optimizer.__dict__[attr] = own

        return backend_update_step


class _InStepValue:
    """The momentum of the running update, for the optimizer's update code (TF and JAX).

    Converted to a tensor by every op (`__tf_tensor__`, `__jax_array__`); Python comparisons
    and `bool` see the optimizer's own float (they decide structure, e.g. SGD's
    `if self.momentum != 0`). Arithmetic with a Python number gives, when the optimizer's own
    value applies, exactly what Keras computes with its float (`1 - beta_1` in double
    precision, then rounded), so merely logging momentum changes no bit of training."""

    def __init__(self, own: float, value: Any, use: Any) -> None:
        self.own = own
        self.value = value
        self.use = use

    def __tf_tensor__(self, dtype: Any = None, name: Any = None) -> Any:
        import tensorflow as tf

        return self.value if dtype is None else tf.cast(self.value, dtype)

    def __jax_array__(self) -> Any:
        return self.value

    def _arith(self, other: Any, fn: Callable[[Any, Any], Any]) -> Any:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            exact = ops.cast(fn(self.own, other), self.value.dtype)
            return ops.where(self.use, fn(self.value, other), exact)
        return fn(self.value, other)

    def __add__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: a + b)

    def __radd__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: b + a)

    def __sub__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: a - b)

    def __rsub__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: b - a)

    def __mul__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: a * b)

    def __rmul__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: b * a)

    def __truediv__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: a / b)

    def __rtruediv__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: b / a)

    def __pow__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: a**b)

    def __rpow__(self, o: Any) -> Any:
        return self._arith(o, lambda a, b: b**a)

    def __neg__(self) -> Any:
        return -self.value

    def __eq__(self, o: object) -> bool:
        return self.own == o

    def __ne__(self, o: object) -> bool:
        return self.own != o

    def __lt__(self, o: Any) -> bool:
        return self.own < o

    def __le__(self, o: Any) -> bool:
        return self.own <= o

    def __gt__(self, o: Any) -> bool:
        return self.own > o

    def __ge__(self, o: Any) -> bool:
        return self.own >= o

    def __bool__(self) -> bool:
        return bool(self.own)

    def __hash__(self) -> int:
        return hash(self.own)


def ensure(model: Any, optimizer: Any, who: str) -> MomentumSlot:
    """The optimizer's momentum slot, created (and the train function retraced) on first use,
    beside its rate slot."""
    slot = ensure_slot(model, optimizer)
    if slot.momentum is not None:
        return slot.momentum
    attr = check_momentum_optimizer(optimizer, who)
    with in_strategy_scope(model):
        mom = MomentumSlot(attr, slot.size)
    slot.add_variables(mom.variables)
    P.set_update_step(optimizer, lambda original: mom.wrap_update_step(slot, original))
    slot.momentum = mom
    P.retrace(model)
    return mom
