"""A keras-tuner trial's own TensorBoard run, for any callback passed to `tuner.search()`.

keras-tuner gives each trial execution its own run, `<log_dir>/<trial_id>/execution<n>`, by
rewriting the `log_dir` of the `search()` callbacks whose class is named `TensorBoard`, and
only on the TensorFlow backend (where it also writes the trial's HParams). `trial_log_dir`
gives every other callback passed to `search()` (every lr_tb callback) the same run, on every
backend; `write_hparams_*` write the HParams session data that keras-tuner writes only on
TensorFlow.

Everything lr_tb relies on of keras-tuner's internals is here (checked with keras-tuner 1.4):
- While a trial's model trains, `keras_tuner.Tuner.run_trial(self, trial, *args, **kwargs)`
  is on the call stack (subclasses such as Hyperband call it through `super()`), with the
  locals `trial` (the `Trial`), `execution` (the execution index) and `callbacks` (this
  execution's `copy.deepcopy` of the `search()` callbacks: the very objects Keras calls).
- `Tuner._get_tensorboard_dir(logdir, trial_id, execution)` names the execution's run.
- `Tuner._configure_tensorboard_dir` rewrites callbacks with `__class__.__name__ ==
  "TensorBoard"` itself, when `keras_tuner.src.backend.config.backend()` is "tensorflow".
Should any of it change, `trial_log_dir` returns None and callbacks keep their own `log_dir`:
the curves of all trials then share one run, as before lr_tb looked for the trial.

In a multi-process fit (Keras' distribution API on JAX) every process runs the same trial;
the HParams session is written by process 0 only, like the curves (`lr_tb._process`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from lr_tb import _process
from lr_tb.event_writer import EventWriter

# Set on a callback that `trial_log_dir` has given a trial run: ((trial_id, execution), dir).
_MARK = "_lr_tb_trial_run"


def running_trial(callback: Any) -> tuple[Any, Any, int] | None:
    """`(tuner, trial, execution)` of the keras-tuner trial execution whose `search()`
    callbacks hold `callback` (the object itself, not a copy), or None outside a search."""
    kt = sys.modules.get("keras_tuner")  # no search runs unless keras-tuner is imported
    run_trial = getattr(getattr(kt, "Tuner", None), "run_trial", None)
    code = getattr(run_trial, "__code__", None)
    if code is None:
        return None
    frame = sys._getframe(1)
    try:
        while frame is not None and frame.f_code is not code:
            frame = frame.f_back
        if frame is None:
            return None
        local = frame.f_locals
        tuner, trial = local.get("self"), local.get("trial")
        execution, callbacks = local.get("execution"), local.get("callbacks")
    finally:
        del frame
    if (
        not isinstance(execution, int)
        or not hasattr(trial, "trial_id")
        or not hasattr(tuner, "_get_tensorboard_dir")
        or not isinstance(callbacks, list)
        or not any(c is callback for c in callbacks)
    ):
        return None
    return tuner, trial, execution


def moved_by_keras_tuner(callback: Any) -> bool:
    """Whether keras-tuner itself gives `callback` the trial's run (and writes HParams)."""
    from keras_tuner.src.backend import config

    return type(callback).__name__ == "TensorBoard" and config.backend() == "tensorflow"


def trial_log_dir(callback: Any) -> str | None:
    """The log directory `callback` should write to in this `fit`, or None to keep its own.

    Inside a keras-tuner search, for a callback passed to `search()` (keras-tuner's
    per-execution copy of it) with a `log_dir` that is not None: keras-tuner's name for the
    execution's run, `<callback.log_dir>/<trial_id>/execution<n>`, the run where Keras'
    TensorBoard writes on TensorFlow. None everywhere else, and for the callbacks keras-tuner
    moves itself (class `TensorBoard` on the TensorFlow backend).

    Idempotent within one execution: the callback remembers the run it was given, so calling
    this again (after `callback.log_dir` was set to the result, or not) returns the same
    directory. Cheap: one walk up the call stack; nothing when keras-tuner isn't imported.
    """
    log_dir = getattr(callback, "log_dir", None)
    if log_dir is None:
        return None
    found = running_trial(callback)
    if found is None or moved_by_keras_tuner(callback):
        return None
    tuner, trial, execution = found
    key = (str(trial.trial_id), execution)
    mark = getattr(callback, _MARK, None)
    if mark is not None and mark[0] == key:
        return mark[1]
    moved = str(tuner._get_tensorboard_dir(log_dir, trial.trial_id, execution))
    setattr(callback, _MARK, (key, moved))
    return moved


def trial_hparams(trial: Any) -> dict[str, bool | int | float | str]:
    """The trial's hyperparameter values that HParams can show."""
    values = dict(trial.hyperparameters.values)
    return {k: v for k, v in values.items() if isinstance(v, (bool, int, float, str))}


def write_hparams_start(log_dir: str, trial_id: str, values: dict[str, Any]) -> None:
    """HParams session start info for a trial's run (what keras-tuner writes on TensorFlow).
    Written by process 0 only in a multi-process fit (the session is the whole fit's)."""
    if not _process.is_chief():
        return
    from tensorboard.plugins.hparams import summary_v2

    writer = EventWriter(log_dir)
    writer.write_summary(
        summary_v2.hparams_pb(values, trial_id=str(trial_id), start_time_secs=int(time.time()))
    )
    writer.close()


def write_hparams_end(log_dir: str) -> None:
    """HParams session end info: the trial's run completed (process 0 only)."""
    if not _process.is_chief():
        return
    from tensorboard.plugins.hparams import api_pb2, summary

    writer = EventWriter(log_dir)
    writer.write_summary(summary.session_end_pb(api_pb2.STATUS_SUCCESS))
    writer.close()
