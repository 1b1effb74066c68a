"""NumPy, as the few `keras.ops` functions lr_tb's schedules use: a schedule's tables are
computed on the host, without a backend op.

A schedule's `_rate(step, dtype, ops=keras.ops)` is one formula with two namespaces: in the
compiled train step (and whenever it is called as a Keras schedule) `keras.ops`; for a table
of many steps (`StepSchedule.values`, which the callbacks fill once per fit or window) this
module's `HostOps`, so a 250-step table costs tens of microseconds instead of a dozen eager
backend ops. Python floats are cast to the evaluation dtype first, as a backend converts them
to the tensor's dtype, so the arithmetic runs in float32 under Keras' default floatx and
agrees with the backend's to within the rounding of `cos`, `sqrt` and `power` (a float32 ulp
or two; tests/test_schedules.py holds the bound).
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import numpy as np

# The floatx the host evaluates in; others (float16, bfloat16) use the backend.
DTYPES = ("float32", "float64")


class HostOps:
    """The subset of `keras.ops` used by lr_tb's schedules, on NumPy arrays of one dtype."""

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype)

    def _f(self, x: Any) -> Any:
        """A Python float as an array of the evaluation dtype (a backend does the same)."""
        return np.asarray(x, dtype=self.dtype) if isinstance(x, float) else x

    def cast(self, x: Any, dtype: str) -> np.ndarray:
        return np.asarray(x).astype(dtype, copy=False)

    def convert_to_tensor(self, x: Any, dtype: str | None = None) -> np.ndarray:
        return np.asarray(x, dtype=dtype)

    def convert_to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def zeros(self, shape: Any, dtype: str | None = None) -> np.ndarray:
        return np.zeros(shape, dtype=dtype or self.dtype)

    def zeros_like(self, x: Any) -> np.ndarray:
        return np.zeros_like(x)

    def ones_like(self, x: Any) -> np.ndarray:
        return np.ones_like(x)

    def shape(self, x: Any) -> tuple[int, ...]:
        return np.shape(x)

    def reshape(self, x: Any, shape: Any) -> np.ndarray:
        return np.reshape(x, shape)

    def cos(self, x: Any) -> np.ndarray:
        return np.cos(self._f(x))

    def sqrt(self, x: Any) -> np.ndarray:
        return np.sqrt(self._f(x))

    def power(self, x: Any, y: Any) -> np.ndarray:
        return np.power(self._f(x), self._f(y))

    def maximum(self, x: Any, y: Any) -> np.ndarray:
        return np.maximum(self._f(x), self._f(y))

    def minimum(self, x: Any, y: Any) -> np.ndarray:
        return np.minimum(self._f(x), self._f(y))

    def clip(self, x: Any, low: Any, high: Any) -> np.ndarray:
        return np.minimum(np.maximum(self._f(x), self._f(low)), self._f(high))

    def where(self, condition: Any, x: Any, y: Any) -> np.ndarray:
        return np.where(condition, self._f(x), self._f(y))

    def less_equal(self, x: Any, y: Any) -> np.ndarray:
        return np.less_equal(self._f(x), self._f(y))

    def floor_divide(self, x: Any, y: Any) -> np.ndarray:
        return np.floor_divide(self._f(x), self._f(y))

    def searchsorted(self, sorted_sequence: Any, values: Any, side: str = "left") -> np.ndarray:
        return np.searchsorted(sorted_sequence, values, side=side)

    def take(self, x: Any, indices: Any) -> np.ndarray:
        return np.take(x, indices)


@cache
def host_ops(dtype: str) -> HostOps:
    return HostOps(dtype)


@cache
def takes_ops(rate: Any) -> bool:
    """Whether a `_rate` takes the `ops` namespace (a subclass written for an earlier lr_tb,
    `_rate(step, dtype)`, is evaluated through the backend)."""
    return "ops" in inspect.signature(rate).parameters
