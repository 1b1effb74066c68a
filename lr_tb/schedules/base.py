"""What every lr_tb schedule shares, and how any schedule is evaluated on many steps at once."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _keras_private
from lr_tb.schedules import _host


class StepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base class of lr_tb's schedules: a pure function of the 0-based optimizer step.

    Subclasses store each constructor argument in an attribute of the same name, list those
    names in `_config_keys`, and implement `_rate(step, dtype, ops=keras.ops)` on a float
    tensor of any shape, element-wise, with the functions of the namespace `ops`: `keras.ops`
    in the train step, NumPy (`_host.HostOps`) for a table of many steps (`values`), so a
    whole curve is one call and costs no backend op.
    `get_config()` returns exactly the constructor's arguments.
    """

    _config_keys: tuple[str, ...] = ()

    def _set_args(self, args: dict[str, Any]) -> None:
        """Store checked constructor arguments under their own names."""
        for key in self._config_keys:
            setattr(self, key, args[key])

    def __call__(self, step: Any) -> Any:
        dtype = keras.config.floatx()
        # The final cast keeps floatx where a backend's op widens or narrows (Keras' torch
        # `maximum` of two float64 tensors returns float32); it is a no-op otherwise.
        return ops.cast(self._rate(ops.cast(step, dtype), dtype), dtype)

    def _rate(self, step: Any, dtype: str, ops: Any = ops) -> Any:  # pragma: no cover
        raise NotImplementedError

    def values(self, steps: np.ndarray) -> np.ndarray:
        """The rates at many steps (an int64 array), as float32: one vectorized call, in
        NumPy on the host under a float32 or float64 floatx (see `_host`); through the
        backend for another floatx, or a subclass whose `_rate` takes no `ops`."""
        host = self._host_ops()
        if host is None:
            return self._backend_values(steps)
        with np.errstate(all="ignore"):  # as a backend: inf and nan, no warning
            out = self._rate(steps.astype(host.dtype), host.dtype.name, ops=host)
        return np.broadcast_to(np.asarray(out, dtype=np.float32), steps.shape).copy()

    def _host_ops(self) -> _host.HostOps | None:
        """The NumPy namespace to evaluate this schedule's tables in, or None: a floatx NumPy
        does not evaluate in, or a `_rate` without `ops` (in a part too: `CompositeSchedule`)."""
        dtype = keras.config.floatx()
        if dtype in _host.DTYPES and self._takes_ops():
            return _host.host_ops(dtype)
        return None

    def _takes_ops(self) -> bool:
        return _host.takes_ops(type(self)._rate)

    def _backend_values(self, steps: np.ndarray) -> np.ndarray:
        """`values` through the backend's ops: one vectorized call of the schedule."""
        out = ops.convert_to_numpy(self(ops.convert_to_tensor(steps)))
        return np.asarray(out, dtype=np.float32).reshape(steps.shape)

    @property
    def peak_learning_rate(self) -> float:
        """The largest rate this schedule ever returns: `learning_rate_base` for the
        schedules that have one (those that do not say theirs)."""
        return self.learning_rate_base

    @property
    def floor_learning_rate(self) -> float:
        """The smallest rate this schedule ever returns."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config = {}
        for key in self._config_keys:
            value = getattr(self, key)
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self)))


def evaluate(schedule: Any, steps: Any) -> np.ndarray:
    """The rates of `schedule` at `steps`, as a float32 NumPy array of the same shape.

    lr_tb's schedules are computed in one vectorized call. Other `LearningRateSchedule`s are
    called once on the whole vector of steps too, with `ops.cond` selecting element-wise
    (Keras' `CosineDecay` with warmup and `CosineDecayRestarts` are written for one scalar
    step); only a schedule that still fails, or returns the wrong shape, is called one step
    at a time (compiled and mapped over the steps on JAX).

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule`.
        steps: integer step(s), array-like.

    Returns:
        `np.ndarray` of float32 rates, shaped like `steps`.
    """
    steps_np = np.asarray(steps, dtype=np.int64)
    if steps_np.size == 0:
        return np.zeros(steps_np.shape, dtype=np.float32)
    if isinstance(schedule, StepSchedule):
        return schedule.values(steps_np)
    flat = steps_np.reshape(-1)
    try:
        with _keras_private.vectorized_cond():
            out = np.asarray(ops.convert_to_numpy(schedule(ops.convert_to_tensor(flat))))
        if out.shape == flat.shape:
            return out.astype(np.float32).reshape(steps_np.shape)
    except Exception:  # noqa: BLE001 - any failure means "not vectorizable"
        pass
    return per_step(schedule, flat).reshape(steps_np.shape)


def per_step(schedule: Any, flat: np.ndarray) -> np.ndarray:
    """The rates of a schedule that does not vectorize, one step at a time, as float32.

    On JAX, where an eager call of a schedule with a `cond` costs tens of milliseconds, the
    one-step function is mapped over the steps and compiled once (`jax.vmap`, which turns a
    `cond` on the step into a select); on the other backends, or if that fails, a loop."""
    if keras.backend.backend() == "jax":
        try:
            import jax
            import jax.numpy as jnp

            out = np.asarray(jax.jit(jax.vmap(schedule))(jnp.asarray(flat, dtype=jnp.int32)))
            if out.shape == flat.shape:
                return out.astype(np.float32)
        except Exception:  # noqa: BLE001 - any failure means "call it step by step"
            pass
    values = [float(ops.convert_to_numpy(schedule(int(s)))) for s in flat]
    return np.asarray(values, dtype=np.float32)
