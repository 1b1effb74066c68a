"""Which process of a multi-process fit this is, and where it writes.

A multi-process fit is Keras 3's distribution API on the JAX backend
(`keras.distribution.initialize(...)`, one process per host, `DataParallel` or
`ModelParallel`): every process runs the same `fit` with its own copy of the callbacks, and
the rate every process applies is the same (the optimizer's state is global). By default only
process 0 writes the TensorBoard run and its `lr_tb_progress.json` (one curve, as on one
machine); every process keeps `learning_rates`.

`LR_TB_WRITE_ON=all` in the environment of every process gives each process its own run:
process 0 writes `<log_dir>/train` and process k > 0 `<log_dir>/train/process_<k>` (a run of
its own in TensorBoard, each with its own progress file). `LR_TB_WRITE_ON=chief` (or unset)
is the default.

The process index comes from JAX's public `jax.process_index()` / `jax.process_count()`
when Keras' backend is JAX; on the other backends (which have no multi-process `fit` in
Keras 3) this process is process 0 of 1. JAX is never imported here.
"""

from __future__ import annotations

import os
import sys

from lr_tb import _fs

WRITE_ON_ENV = "LR_TB_WRITE_ON"
WRITE_ON_CHOICES = ("chief", "all")


def _jax() -> object | None:
    """The `jax` module when Keras runs on it (already imported then), else None."""
    keras = sys.modules.get("keras")
    jax = sys.modules.get("jax")
    if keras is None or jax is None:
        return None
    try:
        backend = keras.backend.backend()
    except Exception:  # noqa: BLE001 - a half-imported keras: not a JAX fit
        return None
    return jax if backend == "jax" else None


def process_index() -> int:
    """This process's index in a multi-process fit (0 on one process)."""
    jax = _jax()
    return int(jax.process_index()) if jax is not None else 0


def process_count() -> int:
    """How many processes run the fit (1 without Keras' distribution on JAX)."""
    jax = _jax()
    return int(jax.process_count()) if jax is not None else 1


def write_on() -> str:
    """`LR_TB_WRITE_ON`: "chief" (default: only process 0 writes) or "all"."""
    value = os.environ.get(WRITE_ON_ENV, "").strip().lower() or "chief"
    if value not in WRITE_ON_CHOICES:
        raise ValueError(
            f"Environment variable `{WRITE_ON_ENV}` must be one of {WRITE_ON_CHOICES}. "
            f"Received: {WRITE_ON_ENV}={os.environ.get(WRITE_ON_ENV)!r}"
        )
    return value


def is_chief() -> bool:
    """Whether this process writes what belongs to the whole fit (HParams sessions)."""
    return process_index() == 0


def run_dir_for(run_dir: str | None) -> str | None:
    """Where this process writes the run `run_dir` (None: it writes nothing).

    Process 0, and every process of a one-process fit: `run_dir`. Process k > 0: nothing,
    or with `LR_TB_WRITE_ON=all`, `<run_dir>/process_<k>`.
    """
    if run_dir is None:
        return None
    mode = write_on()  # checked even on one process: a typo shows before the cluster runs
    index = process_index()
    if index == 0:
        return run_dir
    return _fs.join(run_dir, f"process_{index}") if mode == "all" else None
