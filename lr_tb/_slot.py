"""The rate slot: what lr_tb adds to an optimizer so that the compiled train step applies a
table of rates and records the rate every update used.

Keras 3 has no public hook to run code inside the compiled train step, so the slot takes the
optimizer's rate getter (through `lr_tb._keras_private`, which says what that relies on):

```
u = optimizer.iterations                     # the update about to run (0-based)
own = the optimizer's own rate (its variable, Keras schedule or callable)
rate = table[u - base]   if base != OFF and 0 <= u - base < size   else own
record[u % size] = rate                      # what this update used, read at flush points
```
`base` is `OFF` (the largest int32) while no lr_tb scheduler's fit is open, so one variable
both places the table and turns it on or off (`base == OFF` is checked too: the int32
counter's last step, or one wrapped past it, would otherwise index the table). `table`,
`base` and `record` are optimizer variables, so the same compiled train step serves every
`fit` (with an lr_tb scheduler or without): what changes between fits are their
values, never the trace. The momentum slot (`lr_tb._momentum`) does the same for the
optimizer's momentum.

Who is reading: the slot knows the open fits that follow its optimizer (`readers`, each an
`lr_tb.callbacks._fit.FitState`) and the one that fills the table (`owner`); a read of the
rate outside a train step, and an update made outside a train function, go to them.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _keras_private as P
from lr_tb._optimizers import accumulation_steps

# Steps the slot's table and record hold. lr_tb flushes (and refills the table) at least
# every SLOT_SIZE // 2 steps, counted in Python, so the record never wraps between reads.
SLOT_SIZE = 4096
# `base` while no table applies: `u - OFF` is negative for every step u >= 0 (no overflow)
OFF = 2**31 - 1
_SLOT_ATTR = "_lr_tb_slot"


def slot_variable(value: Any, name: str, dtype: str | None = None) -> Any:
    """One of a slot's variables: not trained, and under a distribution strategy the first
    replica's value is the value (every replica writes the same)."""
    return keras.Variable(
        value, dtype=dtype, trainable=False, name=name, aggregation="only_first_replica"
    )


def in_strategy_scope(model: Any) -> Any:
    """The model's distribution strategy scope (slot variables are made in it), or nothing."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def look_up_and_record(
    optimizer: Any, base: Any, table: Any, record: Any, own: Any, mode: Any = None
) -> tuple[Any, Any]:
    """Inside a train step: this update's value, `table[u - base]` when the index is inside
    the table (and `mode == 1`, for a table with a switch of its own: the momentum's), else
    `own`; written to `record[u % size]`. Returns the value
    (float32) and whether the table's applied. TensorFlow ops on TensorFlow (Keras' ops cost
    milliseconds each to trace, and Keras' `slice_update` is XLA's dynamic_update_slice,
    which a graph without `jit_compile` runs as an XLA cluster of its own); torch's own ops
    on torch, whose step runs eagerly (Keras' ops cost ~10 us each there: 115 us an update
    through them, 27 us with torch's)."""
    size = int(table.shape[0])
    backend = keras.backend.backend()
    if backend == "torch":
        return _look_up_and_record_torch(optimizer, base, table, record, own, mode, size)
    if backend == "tensorflow":
        import tensorflow as tf

        step = tf.cast(optimizer.iterations, tf.int32)
        index = step - base.value
        use = tf.less(tf.cast(index, tf.uint32), size)
        use = tf.logical_and(use, tf.not_equal(base.value, OFF))
        if mode is not None:
            use = tf.logical_and(tf.equal(mode.value, 1), use)
        looked_up = tf.gather(table.value, tf.clip_by_value(index, 0, size - 1))
        value = tf.where(use, looked_up, tf.cast(own, tf.float32))
        at = tf.reshape(tf.math.floormod(step, size), (1, 1))
        record.assign(tf.tensor_scatter_nd_update(record.value, at, tf.reshape(value, (1,))))
        return value, use
    step = ops.cast(optimizer.iterations, "int32")
    index = step - base
    use = ops.logical_and(ops.greater_equal(index, 0), ops.less(index, size))
    use = ops.logical_and(use, ops.not_equal(base, OFF))
    if mode is not None:
        use = ops.logical_and(ops.equal(mode, 1), use)
    looked_up = ops.take(table.value, ops.clip(index, 0, size - 1))
    value = ops.where(use, looked_up, ops.cast(own, "float32"))
    at = [ops.mod(step, size)]
    record.assign(ops.slice_update(record.value, at, ops.reshape(value, (1,))))
    return value, use


def _look_up_and_record_torch(
    optimizer: Any, base: Any, table: Any, record: Any, own: Any, mode: Any, size: int
) -> tuple[Any, Any]:
    """`look_up_and_record` in torch's ops (eager, or traced by torch.compile): the same
    arithmetic, the record written in place, as Keras' torch `assign` writes a variable."""
    import torch

    step = optimizer.iterations  # a tensor under gradient accumulation, else the variable
    step = step.value if isinstance(step, keras.Variable) else step
    index = step - base.value
    use = (index >= 0) & (index < size) & (base.value != OFF)
    if mode is not None:
        use = use & (mode.value == 1)
    looked_up = table.value[index.clamp(0, size - 1)]
    own = own.value if isinstance(own, keras.Variable) else own
    value = torch.where(use, looked_up, torch.as_tensor(own, device=looked_up.device).float())
    with torch.no_grad():
        record.value[step % size] = value
    return value, use


class RateSlot:
    """The variables lr_tb adds to one optimizer, and who uses them (see the module)."""

    def __init__(self, optimizer: Any, size: int = SLOT_SIZE) -> None:
        self.optimizer = optimizer
        self.size = size
        self.in_step = 0  # > 0 while the model's train function runs
        self.owner: Any = None  # the open fit (FitState) whose table applies (base != OFF)
        # steps before the optimizer's first update: a never-stepped optimizer whose first fit
        # starts at epoch k > 0 is placed at k * steps_per_epoch, and so are its later fits
        self.offset = 0
        self.readers: weakref.WeakSet = weakref.WeakSet()  # open fits following it
        with keras.name_scope("lr_tb"):
            self.table = slot_variable(np.zeros(size, np.float32), "rate_table")
            self.base = slot_variable(OFF, "rate_base", "int32")
            self.record = slot_variable(np.zeros(size, np.float32), "rate_record")
        self.variables = [self.table, self.base, self.record]
        self._ids = {id(v) for v in self.variables}
        self.momentum: Any = None  # its MomentumSlot, attached by `lr_tb._momentum.ensure`

    def is_own(self, variable: Any) -> bool:
        return id(variable) in self._ids

    def add_variables(self, variables: list) -> None:
        """Track more slot variables (the momentum slot's) as the optimizer's, kept out of
        checkpoints like these."""
        P.track_variables(self.optimizer, variables)
        self._ids.update(id(v) for v in variables)

    # -- what the optimizer calls ------------------------------------------------------------
    def rate(self, own: Any) -> Any:
        """The optimizer's rate getter, given the optimizer's own rate."""
        if not self.in_step:
            return self._rate_outside_step(own)
        value, _ = look_up_and_record(self.optimizer, self.base, self.table, self.record, own)
        return ops.cast(value, keras.config.floatx())

    def _rate_outside_step(self, own: Any) -> Any:
        """The rate read outside a train step while lr_tb fits are open: the rate of the last
        update that ran, so that Keras' TensorBoard (which reads it at epoch end) and lr_tb's
        curve agree. Keras' own value would be the *next* update's rate for a held schedule,
        and a scheduler's table is not in the variable until lr_tb mirrors it."""
        owner = self.owner
        if owner is not None and owner.open:  # an lr_tb scheduler's fit
            return owner.rate_outside_step(own)
        if P.holds_variable(self.optimizer):
            return own  # a settable rate: Keras' meaning, the value the next update will use
        for reader in self.readers:
            last = reader.last_applied() if reader.open else None
            if last is not None:
                return ops.convert_to_tensor(last, keras.config.floatx())
        return own

    def before_update_outside_step(self) -> None:
        """A custom loop's `optimizer.apply` outside any train function, after a fit that
        was interrupted outside a train step: that fit is over. Its open fits are closed
        first, so this update uses the optimizer's own rate (the one you set, else the last
        one the fit applied), never the fit's table."""
        if not self.in_step:
            for reader in list(self.readers):
                if reader.open:
                    reader.close(late=True)

    # -- what lr_tb reads between steps ------------------------------------------------------
    def read_records(self, model: Any, momentum: bool, watched: Any = None) -> tuple:
        """The public step counter, the rate record, (if asked) the momentum record and the
        value of `watched` (a variable of the optimizer read beside them, or None), in one
        read (mid-epoch too)."""
        extra = [self.record]
        if momentum:
            extra.append(self.momentum.record)
        if watched is not None:
            extra.append(watched)
        iterations, values = read_iterations_and(model, self.optimizer, extra)
        mom = values[1] if momentum else None
        seen = float(values[-1]) if watched is not None else None
        return iterations, values[0], mom, seen


def read_iterations_and(model: Any, optimizer: Any, variables: list) -> tuple[int, list]:
    """The optimizer's public step counter and these variables' values, in one read."""
    raw, *values = P.read(model, optimizer, [P.iterations_variable(optimizer), *variables])
    return int(raw) // accumulation_steps(optimizer), values


def read_iterations(model: Any, optimizer: Any) -> int:
    """The optimizer's public step counter (optimizer updates), current mid-epoch too."""
    return read_iterations_and(model, optimizer, [])[0]


def slot_of(optimizer: Any) -> RateSlot | None:
    return optimizer.__dict__.get(_SLOT_ATTR)


def ensure_slot(model: Any, optimizer: Any) -> RateSlot:
    """The optimizer's rate slot, created (and the train function retraced) on first use."""
    slot = slot_of(optimizer)
    if slot is not None:
        return slot
    with in_strategy_scope(model):
        slot = RateSlot(optimizer)
    P.track_variables(optimizer, slot.variables)
    P.set_rate_getter(optimizer, slot.rate)
    P.before_apply(optimizer, slot.before_update_outside_step)
    P.keep_checkpoint_layout(optimizer, slot.is_own)
    optimizer.__dict__[_SLOT_ATTR] = slot
    P.retrace(model)  # a train function traced before the slot reads the rate the old way
    return slot
