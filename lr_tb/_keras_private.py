"""Every place lr_tb relies on Keras internals, in one module, each saying what it relies on.

Keras 3 has no public hook to run code inside the compiled train step or to record a value
there, so lr_tb attaches a small *rate slot* to the optimizer (see `RateSlot`). What that,
and the rest of lr_tb, relies on (tested on the oldest and newest Keras that pyproject.toml
allows):

- `Optimizer._get_current_learning_rate()`: the method every Keras 3 optimizer calls for its
  rate inside the train step (through the public `learning_rate` property). lr_tb overrides
  it on the optimizer *instance*, once, permanently; and wraps the public `Optimizer.apply`
  there (which `apply_gradients` and `stateless_apply` call) to end a fit that was
  interrupted outside a train step before an update made outside a train function.
- `Optimizer._learning_rate` (the variable, schedule or callable the optimizer holds) and
  `Optimizer._iterations` (the raw step counter; the public `iterations` divides it by
  `gradient_accumulation_steps`).
- `Optimizer._track_variable` / `_untrack_variable`: the slot's variables are optimizer
  variables, so that the JAX backend's stateless train step carries them (only tracked state
  leaves a JAX step). `save_own_variables` / `load_own_variables` are overridden on the
  instance so that checkpoints keep the layout they would have without lr_tb.
- `Model.make_train_function` / `Model.train_function`: the train function is wrapped to run
  crash hooks and to know when the optimizer's rate is read inside a train step;
  `make_train_function` (which every `fit` calls before any callback runs) is wrapped to
  finish lr_tb callbacks left over from an earlier `fit` that was interrupted.
- JAX only: `Model._jax_state` (the training state while an epoch runs, the variables being
  emptied meanwhile) and `Model.jax_state_sync()`.
- `keras.src.callbacks.CallbackList`: found as the caller of `on_train_begin`, to see the
  other callbacks of the same `fit` (Keras' own rate callbacks, keras-tuner's trial
  TensorBoard). Best effort: if it is not found, the checks that need it are skipped.
- Momentum cycling and logging (`MomentumSlot`): the optimizer's hyperparameter attribute
  `momentum` (`keras.optimizers.SGD`) or `beta_1` (`Adam`, `AdamW`, `Adamax`, `Nadam`), which
  their update code reads as a plain Python attribute in the train step (SGD also tests
  `self.momentum != 0` in Python), and `Optimizer._backend_update_step(grads, variables,
  learning_rate)`, the method every backend calls once per update with the rate already read:
  lr_tb overrides it on the instance, so the attribute holds the in-step value only while it
  runs.
- `Metric._direction`: the direction Keras' own `mode="auto"` uses for a compiled metric.
- `keras.src.utils.io_utils.print_msg`: how Keras' callbacks print (honours
  `keras.config.disable_interactive_logging`).
- `keras.callbacks.TensorBoard._collect_learning_rate(logs)`: what Keras' TensorBoard calls, in
  `_log_epoch_metrics`, to add the optimizer's rate to the epoch logs it writes
  (`epoch_learning_rate`); `lr_tb.TensorBoard` replaces it on its instance to leave that
  out (`leave_out_epoch_rate`).
- `keras.src.ops.cond` / `keras.src.ops.core.cond` and, where Keras has it (keras-nightly
  3.16.0.dev, whose schedules call the backend's op directly as `backend.ops.cond`), the
  backend's ops module `keras.src.backend.ops` (`keras.src.backend.<name>.ops`): their `cond`
  is replaced by an element-wise select for the length of one vectorized evaluation of a
  schedule (`vectorized_cond`), each looked up through its module at call time.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
from keras import ops

_SLOT_ATTR = "_lr_tb_slot"
_MODEL_HOOK_ATTR = "_lr_tb_model_hook"

# Steps the slot's table and record hold. lr_tb flushes (and refills the table) at least
# every SLOT_SIZE // 2 steps, counted in Python, so the record never wraps between reads.
SLOT_SIZE = 4096


# -- the optimizer ------------------------------------------------------------------------
def unwrap(optimizer: Any) -> Any:
    """The optimizer that holds the learning rate (inside a `LossScaleOptimizer`)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def checked_optimizer(model: Any, who: str, chosen: Any = None) -> Any:
    """The rate-holding optimizer a callback follows: `chosen` (an optimizer, or the name of
    a model attribute holding one), else the compiled model's; a clear error when there is
    none."""
    if isinstance(chosen, str):
        found = getattr(model, chosen, None)
        if not isinstance(found, keras.optimizers.Optimizer):
            names = ", ".join(repr(n) for n in held_optimizers(model))
            raise ValueError(
                f"{who}: argument `optimizer` names no optimizer of the model; it has "
                f"{names}. Received: optimizer={chosen!r}"
            )
        chosen = found
    optimizer = getattr(model, "optimizer", None) if chosen is None else chosen
    if optimizer is None:
        raise TypeError(
            f"{who} needs a compiled model with an optimizer; call `model.compile(optimizer=...)`"
            f" first. Received: model.optimizer=None"
        )
    inner = unwrap(optimizer)
    if hasattr(inner, "optimizers") or hasattr(inner, "optimizer_map"):
        raise TypeError(
            f"{who} does not support `keras.optimizers.MultiOptimizer`: each sub-optimizer has "
            "its own learning rate and step counter, and lr_tb schedules and logs one. Use one "
            f"optimizer, or one model per optimizer. Received: optimizer={optimizer!r}"
        )
    if not isinstance(inner, keras.optimizers.Optimizer) or not hasattr(inner, "_learning_rate"):
        raise TypeError(
            f"{who} needs a Keras 3 optimizer with a `learning_rate`. "
            f"Received: optimizer={optimizer!r}"
        )
    return inner


def held_optimizers(model: Any) -> dict[str, Any]:
    """The optimizers a model holds as public attributes, by name: `optimizer` (the compiled
    one) and, on a model whose own `compile` keeps more (a GAN's `g_optimizer` and
    `d_optimizer`), those; each once. Public Python only (`vars(model)`)."""
    found: dict[str, Any] = {}
    for name, value in vars(model).items():
        if name.startswith("_") or not isinstance(value, keras.optimizers.Optimizer):
            continue
        if all(unwrap(value) is not unwrap(seen) for seen in found.values()):
            found[name] = value
    return found


def other_optimizers(model: Any, optimizer: Any) -> dict[str, Any]:
    """`held_optimizers` besides `optimizer`."""
    return {n: o for n, o in held_optimizers(model).items() if unwrap(o) is not unwrap(optimizer)}


def attribute_of(model: Any, optimizer: Any) -> str | None:
    """The name of the model attribute holding `optimizer`, or None."""
    held = held_optimizers(model).items()
    return next((n for n, o in held if unwrap(o) is unwrap(optimizer)), None)


def print_msg(message: str) -> None:
    """Print as Keras' own callbacks do."""
    from keras.src.utils import io_utils

    io_utils.print_msg(message)


def held_rate(optimizer: Any) -> Any:
    """What the optimizer holds as its rate: a variable, a schedule or a callable."""
    return optimizer._learning_rate


def holds_variable(optimizer: Any) -> bool:
    return isinstance(optimizer._learning_rate, keras.Variable)


def accumulation_steps(optimizer: Any) -> int:
    return int(getattr(optimizer, "gradient_accumulation_steps", None) or 1)


def direction_of(model: Any, name: str) -> str | None:
    """ "up"/"down" for a compiled metric called `name` (Keras' own rule), else None."""
    found = None
    for metric in getattr(model, "metrics", []):
        for m in getattr(metric, "metrics", [metric]):
            if m.name == name and hasattr(m, "_direction"):
                found = m._direction
    return found


# -- reading and writing the optimizer's state between steps -----------------------------
def _jax_live_values(model: Any, optimizer: Any, variables: list) -> list | None:
    """On JAX, mid-epoch: the current values of these optimizer variables, taken from the
    training state Keras keeps while the model's own variables are emptied (no full sync)."""
    if keras.backend.backend() != "jax":
        return None
    state = getattr(model, "_jax_state", None)
    if not state or getattr(model, "_jax_state_synced", True):
        return None
    values = state.get("optimizer_variables")
    if values is None:
        return None
    index = {id(v): i for i, v in enumerate(model.optimizer.variables)}
    out = []
    for variable in variables:
        i = index.get(id(variable))
        if i is None:
            return None
        out.append(values[i])
    return out


def read(model: Any, optimizer: Any, variables: list) -> list[np.ndarray]:
    """Current values of optimizer variables as NumPy arrays, also in the middle of a JAX
    epoch, without copying the rest of the training state back."""
    live = _jax_live_values(model, optimizer, variables)
    if live is not None:
        return [np.asarray(v) for v in live]
    return [np.asarray(ops.convert_to_numpy(v)) for v in variables]


def read_iterations(model: Any, optimizer: Any) -> int:
    """The optimizer's public step counter (optimizer updates), current mid-epoch too."""
    (raw,) = read(model, optimizer, [optimizer._iterations])
    return int(raw) // accumulation_steps(optimizer)


def read_iterations_and_record(model: Any, optimizer: Any, slot: RateSlot) -> tuple[int, Any]:
    """The public step counter and the slot's record, in one read (mid-epoch too)."""
    raw, record = read(model, optimizer, [optimizer._iterations, slot.record])
    return int(raw) // accumulation_steps(optimizer), record


def assign(model: Any, variable: Any, value: Any) -> None:
    """Assign an optimizer variable between train steps so the next step sees it (on JAX the
    training state is first put back into the variables; Keras re-reads them after a sync)."""
    if keras.backend.backend() == "jax" and hasattr(model, "jax_state_sync"):
        model.jax_state_sync()
    variable.assign(value)


# -- the rate slot --------------------------------------------------------------------------
def _slot_variable(value: Any, name: str, dtype: str | None = None) -> Any:
    """One of a slot's variables: not trained, and under a distribution strategy the first
    replica's value is the value (every replica writes the same)."""
    return keras.Variable(
        value, dtype=dtype, trainable=False, name=name, aggregation="only_first_replica"
    )


class RateSlot:
    """Variables lr_tb adds to an optimizer, and the rate getter that uses them.

    ```
    u = optimizer.iterations                     # the update about to run (0-based)
    own = the optimizer's own rate (its variable, Keras schedule or callable)
    rate = table[u - base]   if mode == 1 and 0 <= u - base < size   else own
    record[u % size] = rate                      # what this update used, read at flush points
    ```
    `table`, `base`, `mode` and `record` are optimizer variables, so the same compiled train
    step serves every `fit` (with an lr_tb scheduler or without): what changes between fits
    are their values, never the trace. Outside a train step (Keras' TensorBoard callback
    reading `optimizer.learning_rate` at epoch end) the getter returns the rate of the last
    update that ran, so every chart of the rate agrees.
    """

    def __init__(self, optimizer: Any, size: int = SLOT_SIZE) -> None:
        self.size = size
        self.in_step = 0  # > 0 while the model's train function runs
        self.owner: Any = None  # the lr_tb callback that set mode == 1
        self.readers: weakref.WeakSet = weakref.WeakSet()  # active lr_tb callbacks
        with keras.name_scope("lr_tb"):
            self.table = _slot_variable(np.zeros(size, np.float32), "rate_table")
            self.base = _slot_variable(0, "rate_base", "int32")
            self.mode = _slot_variable(0, "rate_mode", "int32")
            self.record = _slot_variable(np.zeros(size, np.float32), "rate_record")
        self.variables = [self.table, self.base, self.mode, self.record]
        self._ids = {id(v) for v in self.variables}
        self.momentum: MomentumSlot | None = None  # attached by `ensure_momentum`

    def is_own(self, variable: Any) -> bool:
        return id(variable) in self._ids


def _original_getter(optimizer: Any) -> Callable[[], Any]:
    return types.MethodType(type(optimizer)._get_current_learning_rate, optimizer)


def _install(optimizer: Any, slot: RateSlot) -> None:
    own_rate = _original_getter(optimizer)

    def current_learning_rate() -> Any:
        own = own_rate()
        if not slot.in_step:
            return _rate_outside_step(optimizer, slot, own)
        if keras.backend.backend() == "tensorflow":
            rate = _tf_rate(optimizer, slot, own)
        else:
            step = ops.cast(optimizer.iterations, "int32")
            index = step - slot.base
            inside = ops.logical_and(ops.greater_equal(index, 0), ops.less(index, slot.size))
            use_table = ops.logical_and(ops.equal(slot.mode, 1), inside)
            looked_up = ops.take(slot.table.value, ops.clip(index, 0, slot.size - 1))
            rate = ops.where(use_table, looked_up, ops.cast(own, "float32"))
            at = [ops.mod(step, slot.size)]
            slot.record.assign(ops.slice_update(slot.record.value, at, ops.reshape(rate, (1,))))
        return ops.cast(rate, keras.config.floatx())

    optimizer._get_current_learning_rate = current_learning_rate
    original_apply = optimizer.apply

    def apply(*args: Any, **kwargs: Any) -> Any:
        # An update outside a train function (a custom loop's `optimizer.apply` or
        # `apply_gradients`) after a fit interrupted outside a train step: that fit is over.
        # Its callbacks are ended first, so this update uses the optimizer's own rate (the
        # one you set, else the last one the fit applied), never the fit's table.
        if not slot.in_step:
            for reader in list(slot.readers):
                if getattr(reader, "_active", False):
                    reader._finish(late=True)
        return original_apply(*args, **kwargs)

    optimizer.apply = apply

    def real_variables() -> list:
        return [v for v in optimizer.variables if not slot.is_own(v)]

    def save_own_variables(store: Any) -> None:
        for i, variable in enumerate(real_variables()):
            store[str(i)] = variable.numpy()

    def load_own_variables(store: Any) -> None:
        variables = real_variables()
        if len(store.keys()) != len(variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{optimizer.name}', because it has "
                f"{len(variables)} variables whereas the saved optimizer has "
                f"{len(store.keys())} variables.",
                stacklevel=2,
            )
            return
        for i, variable in enumerate(variables):
            variable.assign(store[str(i)])

    optimizer.save_own_variables = save_own_variables
    optimizer.load_own_variables = load_own_variables


def _tf_rate(optimizer: Any, slot: RateSlot, own: Any) -> Any:
    """The same computation in TensorFlow ops: Keras' ops cost milliseconds each to trace,
    and Keras' `slice_update` is XLA's dynamic_update_slice, which a graph without
    `jit_compile` runs as an XLA cluster of its own."""
    import tensorflow as tf

    step = tf.cast(optimizer.iterations, tf.int32)
    index = step - slot.base.value
    inside = tf.logical_and(
        tf.equal(slot.mode.value, 1), tf.less(tf.cast(index, tf.uint32), slot.size)
    )
    looked_up = tf.gather(slot.table.value, tf.clip_by_value(index, 0, slot.size - 1))
    rate = tf.where(inside, looked_up, tf.cast(own, tf.float32))
    at = tf.reshape(tf.math.floormod(step, slot.size), (1, 1))
    slot.record.assign(tf.tensor_scatter_nd_update(slot.record.value, at, tf.reshape(rate, (1,))))
    return rate


def _rate_outside_step(optimizer: Any, slot: RateSlot, own: Any) -> Any:
    """The optimizer's rate read outside a train step, while lr_tb callbacks are active: the
    rate of the last update that ran, so that Keras' TensorBoard (which reads it at epoch end)
    and lr_tb's curve agree. Keras' own value would be the *next* update's rate for a held
    schedule, and a scheduler's table is not in the variable until lr_tb mirrors it."""
    owner = slot.owner
    if owner is not None and getattr(owner, "_active", False):  # an lr_tb scheduler
        last = owner._last_applied()
        if last is None:
            return own
        return owner._rate_variable_at(last)
    if isinstance(optimizer._learning_rate, keras.Variable):
        return own  # a settable rate: Keras' meaning, the value the next update will use
    for reader in slot.readers:
        if getattr(reader, "_active", False):
            last = reader._last_applied()
            if last is not None:
                return ops.convert_to_tensor(last, keras.config.floatx())
    return own


def _remember(model: Any, slot: RateSlot) -> None:
    hook = model.__dict__.get(_MODEL_HOOK_ATTR)
    if hook is not None and all(known is not slot for known in hook.slots):
        hook.slots.append(slot)


def slot_of(optimizer: Any) -> RateSlot | None:
    return optimizer.__dict__.get(_SLOT_ATTR)


def ensure_slot(model: Any, optimizer: Any) -> RateSlot:
    """The optimizer's rate slot, created (and the train function retraced) on first use."""
    slot = slot_of(optimizer)
    if slot is not None:
        _remember(model, slot)
        return slot
    strategy = getattr(model, "distribute_strategy", None)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        slot = RateSlot(optimizer)
    for variable in slot.variables:
        optimizer._track_variable(variable)
    _install(optimizer, slot)
    optimizer.__dict__[_SLOT_ATTR] = slot
    _remember(model, slot)
    # A train function traced before the slot existed reads the rate the old way.
    if getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)
    return slot


# -- momentum / beta_1 ----------------------------------------------------------------------
def momentum_attr(optimizer: Any) -> str | None:
    """The attribute lr_tb can cycle and log for this optimizer: "momentum" (SGD), "beta_1"
    (Adam, AdamW, Adamax, Nadam), or None."""
    if isinstance(optimizer, keras.optimizers.SGD):
        return "momentum"
    if isinstance(
        optimizer,
        (keras.optimizers.Adam, keras.optimizers.Adamax, keras.optimizers.Nadam),
    ):
        return "beta_1"
    return None


def check_momentum_optimizer(optimizer: Any, who: str) -> str:
    """The momentum attribute of this optimizer; a clear TypeError when lr_tb cannot set or
    record it in-step."""
    attr = momentum_attr(optimizer)
    if attr is None:
        raise TypeError(
            f"{who} cycles or logs the optimizer's momentum, which lr_tb supports for "
            "keras.optimizers.SGD (`momentum`) and Adam, AdamW, Adamax, Nadam (`beta_1`). "
            f"Received: optimizer={type(optimizer).__name__}"
        )
    own = optimizer.__dict__.get(attr)
    if isinstance(own, bool) or not isinstance(own, (int, float)):
        raise TypeError(
            f"{who} needs the optimizer's `{attr}` to be a float. Received: {attr}={own!r}"
        )
    if attr == "momentum" and own == 0:
        raise TypeError(
            f"{who}: keras.optimizers.SGD(momentum=0.0) has no momentum to cycle or log: Keras "
            "builds its velocity only when `momentum != 0` (a Python test in SGD.build). "
            "Construct it with momentum > 0, e.g. keras.optimizers.SGD(0.01, momentum=0.9). "
            f"Received: momentum={own!r}"
        )
    return attr


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
            self.table = _slot_variable(np.zeros(size, np.float32), "momentum_table")
            self.mode = _slot_variable(0, "momentum_mode", "int32")
            self.record = _slot_variable(np.zeros(size, np.float32), "momentum_record")
        self.variables = [self.table, self.mode, self.record]


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


def _momentum_in_step(optimizer: Any, slot: RateSlot, mom: MomentumSlot, own: float) -> Any:
    """Look up this update's momentum, record it; returns (value, use_table)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        step = tf.cast(optimizer.iterations, tf.int32)
        index = step - slot.base.value
        use = tf.logical_and(
            tf.equal(mom.mode.value, 1), tf.less(tf.cast(index, tf.uint32), mom.size)
        )
        looked_up = tf.gather(mom.table.value, tf.clip_by_value(index, 0, mom.size - 1))
        value = tf.where(use, looked_up, tf.constant(own, tf.float32))
        at = tf.reshape(tf.math.floormod(step, mom.size), (1, 1))
        mom.record.assign(
            tf.tensor_scatter_nd_update(mom.record.value, at, tf.reshape(value, (1,)))
        )
        return value, use
    step = ops.cast(optimizer.iterations, "int32")
    index = step - slot.base
    inside = ops.logical_and(ops.greater_equal(index, 0), ops.less(index, mom.size))
    use = ops.logical_and(ops.equal(mom.mode, 1), inside)
    looked_up = ops.take(mom.table.value, ops.clip(index, 0, mom.size - 1))
    value = ops.where(use, looked_up, ops.cast(own, "float32"))
    at = [ops.mod(step, mom.size)]
    mom.record.assign(ops.slice_update(mom.record.value, at, ops.reshape(value, (1,))))
    return value, use


def _install_momentum(optimizer: Any, slot: RateSlot, mom: MomentumSlot) -> None:
    update_step = types.MethodType(type(optimizer)._backend_update_step, optimizer)
    attr = mom.attr

    def backend_update_step(grads: Any, variables: Any, learning_rate: Any) -> Any:
        if not slot.in_step:
            return update_step(grads, variables, learning_rate)
        with mom.lock:
            if mom.depth == 0:
                mom.own = optimizer.__dict__[attr]
            mom.depth += 1
            own = mom.own
        try:
            value, use = _momentum_in_step(optimizer, slot, mom, own)
            if keras.backend.backend() == "torch":  # eager: the float this update uses
                in_step: Any = float(ops.convert_to_numpy(value)) if bool(use) else own
            else:
                in_step = _InStepValue(own, value, use)
            optimizer.__dict__[attr] = in_step
            return update_step(grads, variables, learning_rate)
        finally:
            with mom.lock:
                mom.depth -= 1
                if mom.depth == 0:
                    optimizer.__dict__[attr] = own

    optimizer._backend_update_step = backend_update_step


def ensure_momentum(model: Any, optimizer: Any, who: str) -> MomentumSlot:
    """The optimizer's momentum slot, created (and the train function retraced) on first use.
    Needs the rate slot (`ensure_slot`) first."""
    slot = ensure_slot(model, optimizer)
    if slot.momentum is not None:
        return slot.momentum
    attr = check_momentum_optimizer(optimizer, who)
    strategy = getattr(model, "distribute_strategy", None)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        mom = MomentumSlot(attr, slot.size)
    for variable in mom.variables:
        optimizer._track_variable(variable)
    slot._ids.update(id(v) for v in mom.variables)
    _install_momentum(optimizer, slot, mom)
    slot.momentum = mom
    if getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)
    return mom


def read_records(
    model: Any, optimizer: Any, slot: RateSlot, momentum: bool
) -> tuple[int, Any, Any]:
    """The public step counter, the rate record and (if asked) the momentum record, in one
    read (mid-epoch too)."""
    variables = [optimizer._iterations, slot.record]
    if momentum:
        variables.append(slot.momentum.record)
    values = read(model, optimizer, variables)
    mom = values[2] if momentum else None
    return int(values[0]) // accumulation_steps(optimizer), values[1], mom


def weight_decay_of(optimizer: Any) -> float:
    """The optimizer's `weight_decay` (0.0 when None): Keras 3 applies it decoupled, in the
    base `Optimizer._apply_weight_decay`, as `w -= w * weight_decay * learning_rate`."""
    value = getattr(optimizer, "weight_decay", None)
    return 0.0 if value is None else float(value)


# -- the model's train function -------------------------------------------------------------
def _is_end_of_data(error: BaseException) -> bool:
    return isinstance(error, StopIteration) or type(error).__name__ == "OutOfRangeError"


class _ModelHook:
    """What lr_tb keeps per model: active callbacks, the raw step counter seen when each fit
    started (before any callback ran), and crash hooks."""

    def __init__(self, model: Any) -> None:
        self.model_ref = weakref.ref(model)
        self.active: list = []  # lr_tb callbacks in the middle of a fit
        # each optimizer's step counter when the fit started (before any callback ran), by
        # id of the rate-holding optimizer: model.optimizer and every other one it holds
        self.iterations_at_fit_start: dict[int, int] = {}
        self.slots: list[RateSlot] = []  # the slots of the optimizers lr_tb follows
        self.lock = threading.Lock()


class _GuardedTrainFunction:
    """Wraps `model.train_function`: marks the optimizer's rate as read inside a step, and
    runs the crash hooks of active lr_tb callbacks when a train step raises."""

    def __init__(self, function: Any, hook: _ModelHook) -> None:
        self.function = function
        self.hook = hook

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        slots = tuple(self.hook.slots)  # set by ensure_slot: nothing looked up per batch
        for slot in slots:  # every optimizer the step may apply (a GAN's two)
            slot.in_step += 1
        try:
            return self.function(*args, **kwargs)
        except BaseException as error:
            if not _is_end_of_data(error):  # how Keras learns a dataset's size: not a crash
                for callback in list(self.hook.active):
                    try:
                        callback._on_crash()
                    except Exception:  # noqa: BLE001 - never mask the training error
                        pass
            raise
        finally:
            for slot in slots:
                slot.in_step -= 1


def hook_model(model: Any) -> _ModelHook:
    """Attach lr_tb's train-function guard and per-fit hook to the model (idempotent)."""
    hook = model.__dict__.get(_MODEL_HOOK_ATTR)
    if hook is None:
        hook = _ModelHook(model)
        model.__dict__[_MODEL_HOOK_ATTR] = hook
        original = model.make_train_function

        def make_train_function(force: bool = False) -> None:
            # Every fit calls this before any callback: an lr_tb callback still active here
            # belongs to an earlier fit that was interrupted outside a train step.
            if not force:
                for callback in list(hook.active):
                    callback._finish(late=True)
                hook.iterations_at_fit_start = {}
                try:
                    for held in held_optimizers(model).values():
                        optimizer = unwrap(held)
                        hook.iterations_at_fit_start[id(optimizer)] = int(
                            ops.convert_to_numpy(optimizer._iterations)
                        ) // accumulation_steps(optimizer)
                except Exception:  # noqa: BLE001 - not compiled yet: fit will say so
                    pass
            original(force=force)
            _guard(model, hook)

        model.make_train_function = make_train_function
    _guard(model, hook)
    return hook


def _guard(model: Any, hook: _ModelHook) -> None:
    current = getattr(model, "train_function", None)
    if current is not None and not isinstance(current, _GuardedTrainFunction):
        model.train_function = _GuardedTrainFunction(current, hook)


def model_hook(model: Any) -> _ModelHook | None:
    return model.__dict__.get(_MODEL_HOOK_ATTR)


# -- the other callbacks of this fit ---------------------------------------------------------
def sibling_callbacks(callback: Any) -> list | None:
    """The callbacks of the `fit` that is calling `callback.on_train_begin`, or None.

    Relies on Keras calling `on_train_begin` from `CallbackList.on_train_begin` (a frame
    whose `self` is the CallbackList)."""
    from keras.src.callbacks.callback_list import CallbackList

    frame = sys._getframe(1)
    for _ in range(8):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, CallbackList) and any(c is callback for c in owner.callbacks):
            return list(owner.callbacks)
        frame = frame.f_back
    return None


# -- Keras' TensorBoard ---------------------------------------------------------------------
def _logs_unchanged(logs: dict) -> dict:
    return logs


def leave_out_epoch_rate(tensorboard: Any) -> None:
    """Make this `keras.callbacks.TensorBoard` write no `epoch_learning_rate` of its own: its
    `_collect_learning_rate(logs)` (which adds the optimizer's rate to the epoch logs it
    writes) adds nothing on this instance. A plain function in the instance's dict, so
    `copy.deepcopy` (keras-tuner) keeps it."""
    if not callable(getattr(type(tensorboard), "_collect_learning_rate", None)):
        warnings.warn(  # a Keras that moved it: Keras' epoch curve comes back, nothing breaks
            "lr_tb.TensorBoard: this Keras "
            f"({keras.__version__}) has no TensorBoard._collect_learning_rate; its "
            "epoch_learning_rate is written beside lr_tb's per-step curve.",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    tensorboard._collect_learning_rate = _logs_unchanged


# -- evaluating a schedule on many steps -----------------------------------------------------
# Reentrant: a schedule wrapping another (lr_tb.schedules.Warmup around a Keras schedule)
# enters the block again from inside it; the inner exit restores the outer's `select`.
_COND_LOCK = threading.RLock()


def cond_modules() -> list[types.ModuleType]:
    """The modules whose `cond` `vectorized_cond` replaces: each one through which Keras'
    schedules, or users' schedules written with `keras.ops.cond`, look `cond` up at call time.

    Relies on: Keras 3.12-3.15's schedules calling `ops.cond` on `keras.src.ops` (its `cond` is
    `keras.src.ops.core.cond`, also bound as the public `keras.ops.cond`), and keras-nightly
    3.16.0.dev's calling `backend.ops.cond` on `keras.src.backend.ops`, the backend's own ops
    package (`keras.src.backend.tensorflow.ops`, ...; no such attribute before), whose `cond`
    takes only a scalar predicate (`tf.cond`'s smart_cond, `jax.lax.cond`, torch's `if pred`).
    """
    from keras.src import backend as src_backend
    from keras.src import ops as src_ops
    from keras.src.ops import core as src_core

    candidates = [src_ops, src_core, ops, getattr(src_backend, "ops", None)]
    return [
        module
        for i, module in enumerate(candidates)
        if isinstance(module, types.ModuleType)
        and callable(getattr(module, "cond", None))
        and all(module is not earlier for earlier in candidates[:i])
    ]


@contextlib.contextmanager
def vectorized_cond() -> Iterator[None]:
    """For the length of the block, `ops.cond(pred, a, b)` selects element-wise between both
    branches (evaluated in full), so schedules written for one scalar step (Keras'
    `CosineDecay` with warmup, `CosineDecayRestarts`, a user's `keras.ops.cond` on the step)
    take a vector of steps."""

    def select(pred: Any, true_fn: Callable, false_fn: Callable) -> Any:
        if len(ops.shape(pred)) == 0:  # a scalar condition: take one branch, as cond does
            return true_fn() if bool(ops.convert_to_numpy(pred)) else false_fn()
        a, b = true_fn(), false_fn()
        return keras.tree.map_structure(lambda x, y: ops.where(pred, x, y), a, b)

    modules = cond_modules()
    with _COND_LOCK:
        saved = [m.cond for m in modules]
        for module in modules:
            module.cond = select
        try:
            yield
        finally:
            for module, original in zip(modules, saved, strict=True):
                module.cond = original


# -- copying a compiled model ------------------------------------------------------------------
def clone_uncompiled(model: Any) -> Any:
    """`keras.models.clone_model(model)`, the clone left uncompiled.

    Relies on Keras 3's `clone_model` compiling the clone from the serialized compile config
    only when `model.compiled` is true (`_clone_sequential_model`, `_clone_functional_model`,
    and `get_compile_config()` returning {} for a subclassed model's serialized config): that
    round trip fails on an unregistered loss function or a lambda, which `model.fit` takes. The
    flag is set back before this returns."""
    compiled = model.compiled
    model.compiled = False
    try:
        return keras.models.clone_model(model)
    finally:
        model.compiled = compiled


def compile_arguments(model: Any) -> dict[str, Any]:
    """The arguments `model.compile` was called with, as the Python objects given (a copy of
    the dict). Relies on Keras 3's `Trainer.compile` keeping them in `model._compile_config`
    (a `SerializableDict`, its `.config`); {"loss": model.loss} where that is missing."""
    kept = getattr(getattr(model, "_compile_config", None), "config", None)
    return dict(kept) if isinstance(kept, dict) else {"loss": getattr(model, "loss", None)}
