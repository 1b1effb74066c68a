"""The adapter: every place lr_tb touches Keras internals, each a small function saying what
it relies on. Nothing else in lr_tb imports Keras internals, and nothing here calls back into
lr_tb: what runs at a hook is a function the caller passes. Each contract is tested in
tests/test_keras_private.py, on the oldest and newest Keras that pyproject.toml allows and on
the pinned keras-nightly.

The optimizer (`lr_tb._slot`, `lr_tb._momentum` use these):
- `Optimizer._get_current_learning_rate()`: the method every Keras 3 optimizer calls for its
  rate inside the train step (through the public `learning_rate` property); replaced on the
  optimizer *instance*, once, permanently (`set_rate_getter`).
- `Optimizer._learning_rate` (the variable, schedule or callable the optimizer holds) and
  `Optimizer._iterations` (the raw step counter; the public `iterations` divides it by
  `gradient_accumulation_steps`).
- `Optimizer._track_variable`: slot variables are optimizer variables, so that the JAX
  backend's stateless train step carries them (only tracked state leaves a JAX step).
  `save_own_variables` / `load_own_variables` are replaced on the instance so that
  checkpoints keep the layout they would have without lr_tb (`keep_checkpoint_layout`).
- The public `Optimizer.apply` (which `apply_gradients` and `stateless_apply` call), wrapped on
  the instance to run a function first (`before_apply`).
- `Optimizer._backend_update_step(grads, variables, learning_rate)`: the method every backend
  calls once per update with the rate already read (`set_update_step`); the optimizers'
  update code reads `momentum` (SGD) / `beta_1` (Adam family) as a plain Python attribute
  there.

The model:
- `Model.make_train_function(force)` / `Model.train_function`: every `fit` and
  `train_on_batch` calls `make_train_function()` before any callback runs; `train_function`
  is what runs the steps (`hook_train_function`, `retrace`).
- JAX only: `Model._jax_state` (the training state while an epoch runs, the variables being
  emptied meanwhile), `Model._jax_state_synced` and `Model.jax_state_sync()` (`read`,
  `assign`).
- `Metric._direction`: the direction Keras' own `mode="auto"` uses for a compiled metric.
- `Model._compile_config` (`compile_arguments`), `Model.compiled` (`clone_uncompiled`).

Callbacks:
- `keras.src.callbacks.CallbackList`: found as the caller of `on_train_begin`, to see the
  other callbacks of the same `fit` (Keras' own rate callbacks, keras-tuner's trial
  TensorBoard). Best effort: if it is not found, the checks that need it are skipped.
- `keras.src.utils.io_utils.print_msg`: how Keras' callbacks print (honours
  `keras.config.disable_interactive_logging`).
- `keras.callbacks.TensorBoard._collect_learning_rate(logs)`: what Keras' TensorBoard calls, in
  `_log_epoch_metrics`, to add the optimizer's rate to the epoch logs it writes
  (`epoch_learning_rate`); `lr_tb.TensorBoard` replaces it on its instance to leave that
  out (`leave_out_epoch_rate`).

Schedules:
- `keras.src.ops.cond` / `keras.src.ops.core.cond` and, where Keras has it (keras-nightly
  3.16.0.dev, whose schedules call the backend's op directly as `backend.ops.cond`), the
  backend's ops module `keras.src.backend.ops` (`keras.src.backend.<name>.ops`): their `cond`
  is replaced by an element-wise select for the length of one vectorized evaluation of a
  schedule (`vectorized_cond`), each looked up through its module at call time.

keras-tuner's internals have their own adapter, `lr_tb._trial`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
from keras import ops


# -- the optimizer ----------------------------------------------------------------------------
def has_rate(optimizer: Any) -> bool:
    """Whether this is an optimizer lr_tb can follow: it holds a `_learning_rate`."""
    return hasattr(optimizer, "_learning_rate")


def held_rate(optimizer: Any) -> Any:
    """What the optimizer holds as its rate: a variable, a schedule or a callable."""
    return optimizer._learning_rate


def holds_variable(optimizer: Any) -> bool:
    return isinstance(optimizer._learning_rate, keras.Variable)


def iterations_variable(optimizer: Any) -> Any:
    """The raw step counter (counts every call with gradient accumulation)."""
    return optimizer._iterations


def track_variables(optimizer: Any, variables: list) -> None:
    """Make these variables the optimizer's (carried by a JAX stateless step)."""
    for variable in variables:
        optimizer._track_variable(variable)


def set_rate_getter(optimizer: Any, rate: Callable[[Any], Any]) -> None:
    """From now on, the optimizer's rate (in the train step and outside) is `rate(own)`,
    `own` being what the optimizer itself would use."""
    own_rate = types.MethodType(type(optimizer)._get_current_learning_rate, optimizer)
    optimizer._get_current_learning_rate = lambda: rate(own_rate())


def before_apply(optimizer: Any, before: Callable[[], None]) -> None:
    """Run `before()` at the start of every `optimizer.apply` (and so `apply_gradients`)."""
    original_apply = optimizer.apply

    def apply(*args: Any, **kwargs: Any) -> Any:
        before()
        return original_apply(*args, **kwargs)

    optimizer.apply = apply


def set_update_step(optimizer: Any, wrap: Callable[[Callable], Callable]) -> None:
    """Replace the optimizer's per-update method with `wrap(original)`."""
    original = types.MethodType(type(optimizer)._backend_update_step, optimizer)
    optimizer._backend_update_step = wrap(original)


def keep_checkpoint_layout(optimizer: Any, is_extra: Callable[[Any], bool]) -> None:
    """Save and load the optimizer's variables without those for which `is_extra` holds, so a
    checkpoint has the layout it would have without them (Keras' own code, on that list)."""

    def real_variables() -> list:
        return [v for v in optimizer.variables if not is_extra(v)]

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


def print_msg(message: str) -> None:
    """Print as Keras' own callbacks do."""
    from keras.src.utils import io_utils

    io_utils.print_msg(message)


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


def snapshot(model: Any, optimizer: Any, variable: Any) -> Any:
    """The variable's current value, to be read (`np.asarray`) later only if needed: on JAX
    the array itself (immutable; no copy, no transfer to the host); elsewhere, where a
    variable's value is updated in place, the value read now."""
    if keras.backend.backend() == "jax":
        live = _jax_live_values(model, optimizer, [variable])
        return live[0] if live is not None else variable.value
    return read(model, optimizer, [variable])[0]


def assign(model: Any, variable: Any, value: Any) -> None:
    """Assign an optimizer variable between train steps so the next step sees it (on JAX the
    training state is first put back into the variables; Keras re-reads them after a sync)."""
    assign_all(model, [(variable, value)])


def assign_all(model: Any, pairs: list[tuple[Any, Any]]) -> None:
    """`assign` each `(variable, value)`; on JAX the values go to the device in one transfer
    (`jax.device_put` of them all: ~30 us a call, a variable's own `assign` makes one each)."""
    if keras.backend.backend() == "jax":
        if hasattr(model, "jax_state_sync"):
            model.jax_state_sync()
        try:
            host = [np.asarray(value, dtype=np.dtype(v.dtype)) for v, value in pairs]
        except TypeError:  # a dtype NumPy does not know: each variable converts its own
            host = [value for _, value in pairs]
        else:
            import jax

            host = jax.device_put(host)
        for (variable, _), value in zip(pairs, host, strict=True):
            variable.assign(value)
        return
    for variable, value in pairs:
        variable.assign(value)


# -- the model's train function ---------------------------------------------------------------
_HOOKED_ATTR = "_lr_tb_train_function_hooked"


def hook_train_function(
    model: Any, wrap: Callable[[Callable], Callable], before_training: Callable[[], None]
) -> None:
    """From now on (idempotent): every train function the model makes is `wrap(function)`
    (a wrapped one has a true `lr_tb_guard` attribute), and `before_training()` runs at the
    start of every `fit` / `train_on_batch` (their `make_train_function()`, before any
    callback), not at a forced retrace."""
    if not model.__dict__.get(_HOOKED_ATTR):
        original = model.make_train_function

        def make_train_function(force: bool = False) -> None:
            if not force:
                before_training()
            original(force=force)
            _wrap_current(model, wrap)

        model.make_train_function = make_train_function
        model.__dict__[_HOOKED_ATTR] = True
    _wrap_current(model, wrap)


def _wrap_current(model: Any, wrap: Callable[[Callable], Callable]) -> None:
    current = getattr(model, "train_function", None)
    if current is not None and not getattr(current, "lr_tb_guard", False):
        model.train_function = wrap(current)


def retrace(model: Any) -> None:
    """Trace the model's train function again (if it has one) at its next call."""
    if getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)


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
