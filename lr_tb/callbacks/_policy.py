"""What an lr_tb callback says, as a policy: the rate of each step as a pure function of the
step (`_rates_at`) and, for a one-cycle, its momentum (`_momentum_at`); what it checks when a
fit begins (`_begin`), does once the first step is known (`_start`), on a table refill
(`_window_moved`) and when the fit ends, however it ends (`_end`); which points and extra
series it writes. Its `FitState` (`lr_tb.callbacks._fit`) calls these; the defaults are those
of a callback that only logs."""

from __future__ import annotations

from typing import Any

from lr_tb import tags

WEIGHT_DECAY_TAG = tags.EFFECTIVE_WEIGHT_DECAY


class Policy:
    """The defaults (see the module); `self._fit` is the callback's current `FitState`."""

    # Whether this callback sets the optimizer's rate (one such callback per optimizer).
    _changes_rate = False
    # Whether it keeps an eye on the optimizer's own rate variable (`FitState.watched`).
    _watches_rate_variable = False
    _fit: Any = None
    log_momentum = False  # (set by the callback's constructor)
    log_weight_decay = False

    def _begin(self) -> None:
        """Check and prepare before the first step (raise here: nothing is written yet)."""

    def _start(self, start: int, first_epoch: int) -> None:
        """The fit's first step is known (absolute `start`, at epoch `first_epoch`)."""

    def _rates_at(self, steps: Any) -> Any:
        """The rates of these steps as a pure function of the step, or None."""
        return None

    def _momentum_at(self, steps: Any) -> Any:
        """The momentum of these steps as a pure function of the step, or None."""
        return None

    def _cycles_momentum(self) -> bool:
        """Whether this callback sets the optimizer's momentum per step (a one-cycle)."""
        return False

    def _window_moved(self) -> None:
        """Called every `size // 2` steps: schedulers refill the rate table here."""

    def _end(self) -> None:
        """Undo what `_begin`/`_start` changed; called once per fit, also after a crash."""

    def _keep_step(self, steps: Any) -> Any:
        """Which of these steps to log (None: all)."""
        return None

    def _extra_series(self, steps: Any) -> dict[str, Any]:
        """A subclass's own series of these steps, by tag, written beside the rate."""
        return {}

    def _extra_tags(self) -> set[str]:
        """The tags this callback writes beside `batch_learning_rate` in this fit."""
        names = set()
        if self.log_momentum and self._fit is not None and self._fit.momentum_slot is not None:
            names.add(tags.momentum(self._fit.momentum_slot.attr))
        if self.log_weight_decay:
            names.add(WEIGHT_DECAY_TAG)
        return names

    def _defers_to(self, other: Policy) -> bool:
        """Two lr_tb callbacks of one fit write the same run: only one of them writes."""
        return False
