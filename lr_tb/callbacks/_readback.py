"""What the updates of a fit applied: read from the slot's records at flush points (no
Python runs per step), kept in the fit's `RunLog` and written to its run."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from lr_tb import tags
from lr_tb._optimizers import weight_decay_of


def record(fit: Any) -> None:
    """Read the rates the updates since the last flush point used, keep and write them."""
    if not fit.open or fit.raw_start is None:
        return
    callback, slot, log = fit.callback, fit.slot, fit.log
    mom = fit.momentum_slot if callback.log_momentum else None
    iterations, rate_record, momentum_record, fit.watched_value = slot.read_records(
        fit.model, mom is not None, fit.watched
    )
    begin, end = log.next_step, iterations + fit.offset
    if end <= begin:
        return
    steps = np.arange(begin, end, dtype=np.int64)
    at = (steps - fit.offset) % slot.size
    rates = rate_record[at].astype(np.float32)
    momenta = None if mom is None else momentum_record[at].astype(np.float32)
    lost = steps.size - slot.size
    if lost > 0:  # more steps than the record holds: never happens with the flush rule
        steps, rates, momenta = _fill_lost(fit, steps, rates, momenta, lost)
    extra = {}
    if momenta is not None:
        extra[tags.momentum(mom.attr)] = momenta
    if callback.log_weight_decay:
        decay = np.float32(weight_decay_of(fit.optimizer))
        extra[tags.EFFECTIVE_WEIGHT_DECAY] = (decay * rates).astype(np.float32)
    extra.update(callback._extra_series(steps))
    fit.last_rate = float(rates[-1])
    if log.run_dir is not None and log._writer is None:
        _open_writer(fit)
    log.add(steps, rates, callback._keep_step(steps), extra)
    callback._show(log)


def _fill_lost(fit: Any, steps: np.ndarray, rates: np.ndarray, momenta: Any, lost: int) -> tuple:
    """The first `lost` steps' values from the policy's pure function of the step, or, when
    it has none, those steps left out with a warning."""
    exact = fit.callback._rates_at(steps[:lost])
    if exact is None:
        warnings.warn(
            f"{type(fit.callback).__name__}: the rates of steps {steps[0]}.."
            f"{steps[0] + lost - 1} were not recorded and are not written.",
            RuntimeWarning,
            stacklevel=4,
        )
        return steps[lost:], rates[lost:], None if momenta is None else momenta[lost:]
    rates[:lost] = exact
    if momenta is not None:
        exact_momenta = fit.callback._momentum_at(steps[:lost])
        own = np.float32(getattr(fit.optimizer, fit.momentum_slot.attr))
        momenta[:lost] = own if exact_momenta is None else exact_momenta
    return steps, rates, momenta


def _open_writer(fit: Any) -> None:
    """Two lr_tb callbacks of one fit write the same run: only one writes each series."""
    other = _sharing_run_with(fit)
    if other is not None and fit.callback._defers_to(other.callback):
        missing = fit.callback._extra_tags() - other.callback._extra_tags()
        if not missing:
            fit.log.run_dir = None  # the other writes the same curves
            return
        fit.log.only_tags = missing  # the other writes the rate; this, what it lacks
    fit.log.open()


def _sharing_run_with(fit: Any) -> Any:
    run_dir = fit.callback.run_dir
    for other in fit.hook.open:
        if (
            other is not fit
            and other.params is fit.params
            and other.open
            and other.callback.run_dir is not None
            and other.callback.run_dir == run_dir
            and other.optimizer is fit.optimizer
        ):
            return other
    return None


def last_applied(fit: Any) -> float | None:
    """The rate of the last update that ran in this fit (for reads outside a step)."""
    if not fit.open or fit.raw_start is None:
        return None
    iterations, rate_record, _, _ = fit.slot.read_records(fit.model, False)
    last = iterations - 1
    return None if last < fit.raw_start else float(rate_record[last % fit.slot.size])
