"""keras-tuner: the learning-rate schedule as a search dimension.

    hypermodel = lr_tb.tuner.ScheduleHyperModel(build_model)   # build_model(hp) -> compiled
    tuner = kt.Hyperband(hypermodel, objective="val_accuracy", max_epochs=9, ...)
    tuner.search(x, y, validation_split=0.2,
                 callbacks=[keras.callbacks.TensorBoard("runs/search")])

The space, declared before your `build` runs (so it may read them), every name under the
`lr_tb/` prefix (the HParams dashboard's columns; your own names never collide with them,
and a name of yours under `lr_tb/` that lr_tb does not declare raises a ValueError):
`lr_tb/schedule` (a Choice of schedule names), `lr_tb/learning_rate` (the base rate, log
scale 1e-4 .. 1e-2), and each schedule's own settings, active only when that schedule is
chosen (`hp.conditional_scope("lr_tb/schedule", [name])`):

| name | default | range |
|---|---|---|
| lr_tb/exponential/decay_rate | 0.9 | 0.5 .. 0.99 |
| lr_tb/warmup_cosine/warmup_fraction | 0.1 | 0.0 .. 0.3 (of the trial's steps) |
| lr_tb/warmup_cosine/hold_fraction | 0.0 | 0.0 .. 0.2 |
| lr_tb/cosine_restarts/first_cycle_fraction | 0.25 | 0.1 .. 0.5 (of the trial's steps) |
| lr_tb/cosine_restarts/t_mul | 2.0 | choice of 1.0, 2.0 |
| lr_tb/cosine_restarts/m_mul | 1.0 | 0.5 .. 1.0 |
| lr_tb/cosine_restarts/warmup_fraction | 0.0 | 0.0 .. 0.2 (of each cycle) |
| lr_tb/plateau/factor | 0.5 | 0.1 .. 0.7 |
| lr_tb/plateau/patience | 2 | 0 .. 5 (epochs) |
| lr_tb/wsd/warmup_fraction | 0.05 | 0.0 .. 0.2 (of the trial's steps) |
| lr_tb/wsd/decay_fraction | 0.2 | 0.1 .. 0.5 (of the trial's steps) |
| lr_tb/wsd/decay_type | "cosine" | choice of "cosine", "linear", "1-sqrt" |
| lr_tb/polynomial/warmup_fraction | 0.1 | 0.0 .. 0.3 (decay to 0 at the end) |
| lr_tb/polynomial/power | 1.0 | 0.5 .. 3.0 |
| lr_tb/inverse_sqrt/warmup_fraction | 0.1 | 0.0 .. 0.3 |
| lr_tb/constant_with_warmup/warmup_fraction | 0.1 | 0.0 .. 0.3 |
| lr_tb/one_cycle/pct_start | 0.3 | 0.1 .. 0.5 (selectable, not in the default space) |

The last five schedules (transformers' shapes and one_cycle) are choices outside the default
space: name them in `schedules=` (all ten are in `CHOICES`).

Each setting can be overridden with `space={key: value}`, the key being the name without
its `lr_tb/` prefix (`"exponential/decay_rate"`; the full name is accepted too): a
`(low, high)` tuple is a range, a list is a choice, a single value is fixed, None turns the
dimension off (the default is used). The base rate is set with `learning_rate=` likewise.

The trial's callback is built in `HyperModel.fit` from the trial's values and from *this*
fit call: the schedule spans `epochs * steps_per_epoch` of the fit (`epochs` as Keras means
it: Hyperband's `tuner/epochs`), and its position is the absolute epoch, so a Hyperband trial
continued from a checkpoint (`initial_epoch > 0`, weights reloaded with a fresh optimizer)
goes on at step `initial_epoch * steps_per_epoch`, not at 0. The plateau schedule's direction
is `lr_tb.ReduceLROnPlateau`'s `mode="auto"`: losses go down, a compiled metric knows its own
direction, another name raises.

lr_tb callbacks passed to `search()` yourself (a scheduler, `lr_tb.TensorBoard`) write each
trial execution's rate to its own run, `<log_dir>/<trial_id>/execution<n>`, on every backend
(`lr_tb._trial`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import keras
import keras_tuner as kt

from lr_tb import _keras_private, _optimizers, _trial, catalog
from lr_tb import _validation as v
from lr_tb.callbacks import LearningRateCallback, ReduceLROnPlateau, ScheduleCallback
from lr_tb.callbacks import schedulers as _schedulers
from lr_tb.callbacks.tensorboard import TensorBoard
from lr_tb.spec import Dimension

# The default search space: the article's schedules (their specs say `default_search`) and
# the plateau callback.
SCHEDULES = (*(s.name for s in catalog.SPECS if s.default_search), "plateau")
# Every schedule `schedules=` may name. Outside the default space: transformers' shapes, and
# `one_cycle` (lr_tb.OneCycleScheduler, `lr_tb/learning_rate` its `max_lr`), which cycles the
# rate only: the trial's optimizer is not known here, and not every optimizer has a momentum
# to cycle.
CHOICES = (*SCHEDULES, *(s.name for s in catalog.SPECS if not s.default_search))
# The hyperparameter names: lr_tb's own namespace, so that none is ever one of yours.
PREFIX = "lr_tb/"
HP_SCHEDULE = PREFIX + "schedule"
HP_LEARNING_RATE = PREFIX + "learning_rate"

# The plateau callback's settings (it is no schedule: it has no spec).
PLATEAU = {
    "factor": Dimension("float", 0.5, 0.1, 0.7, valid=(0.0, 1.0, True, True)),
    "patience": Dimension("int", 2, 0, 5, valid=(0, math.inf, False, True)),
}
# Each schedule's settings, from its spec.
DIMENSIONS: dict[str, dict[str, Dimension]] = {
    name: PLATEAU if name == "plateau" else catalog.spec(name).tuner for name in CHOICES
}
LEARNING_RATE = (1e-4, 1e-2)
# Every name lr_tb may declare.
ALL_NAMES = frozenset(
    [HP_SCHEDULE, HP_LEARNING_RATE, *(f"{PREFIX}{n}/{s}" for n in CHOICES for s in DIMENSIONS[n])]
)


def _check_value(key: str, dim: Dimension, value: Any) -> Any:
    name = f"space[{key!r}]"
    if isinstance(dim.default, str):  # a choice of names
        return v.check_choice(name, value, dim.values)
    low, high, low_open, high_open = dim.valid
    value = v.check_in_range(name, value, low, high, low_open=low_open, high_open=high_open)
    return v.check_int(name, value, int(low)) if dim.kind == "int" else value


def _checked_learning_rate(value: Any) -> Any:
    if isinstance(value, tuple):
        if (
            len(value) != 2
            or not all(isinstance(x, numbers.Real) for x in value)
            or not (0 < value[0] < value[1] and math.isfinite(value[1]))
        ):
            raise v.fail(
                ValueError, "learning_rate", "a (low, high) range with 0 < low < high", value
            )
        return (float(value[0]), float(value[1]))
    if isinstance(value, list):
        if not value or not all(isinstance(x, numbers.Real) and 0 < x < math.inf for x in value):
            raise v.fail(ValueError, "learning_rate", "a non-empty list of rates > 0", value)
        return [float(x) for x in value]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            "Argument `learning_rate` must be a (low, high) range, a list or a number. "
            f"Received: learning_rate={value!r}"
        )
    return v.check_positive("learning_rate", value)


def _checked_override(key: str, dim: Dimension, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):
        if len(value) != 2:
            raise v.fail(ValueError, f"space[{key!r}]", "a (low, high) range", value)
        low, high = (_check_value(key, dim, x) for x in value)
        if not low < high:
            raise v.fail(
                ValueError, f"space[{key!r}]", "a (low, high) range with low < high", value
            )
        return (low, high)
    if isinstance(value, list):
        if not value:
            raise v.fail(ValueError, f"space[{key!r}]", "a non-empty list", value)
        return [_check_value(key, dim, x) for x in value]
    return _check_value(key, dim, value)


def _declare_one(hp: kt.HyperParameters, name: str, dim: Dimension, value: Any) -> None:
    if value == "default":
        if dim.kind == "choice":
            hp.Choice(name, list(dim.values), default=dim.default)
        elif dim.kind == "int":
            hp.Int(name, int(dim.low), int(dim.high), default=dim.default)
        else:
            hp.Float(name, dim.low, dim.high, default=dim.default)
    elif isinstance(value, tuple):
        default = min(max(dim.default, value[0]), value[1])
        if dim.kind == "int":
            hp.Int(name, value[0], value[1], default=int(default))
        else:
            hp.Float(name, value[0], value[1], default=float(default))
    elif isinstance(value, list):
        hp.Choice(name, value, default=dim.default if dim.default in value else value[0])
    else:
        hp.Fixed(name, value)


class Space:
    """The validated search space: which schedules, the learning rate, each setting's
    dimension (or None when switched off)."""

    def __init__(
        self,
        schedules: Sequence[str] = SCHEDULES,
        learning_rate: Any = LEARNING_RATE,
        space: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(schedules, str) or not isinstance(schedules, Sequence) or not schedules:
            raise v.fail(
                ValueError,
                "schedules",
                f"a non-empty list of names from {list(CHOICES)}",
                schedules,
            )
        unknown = [s for s in schedules if s not in DIMENSIONS]
        if unknown:
            raise v.fail(ValueError, "schedules", f"names from {list(CHOICES)}", schedules)
        if len(set(schedules)) != len(schedules):
            raise v.fail(ValueError, "schedules", "without repeats", schedules)
        self.schedules = list(schedules)
        self.learning_rate = _checked_learning_rate(learning_rate)
        self.dimensions: dict[str, Any] = {}
        for name in self.schedules:
            for setting, dim in DIMENSIONS[name].items():
                self.dimensions[f"{name}/{setting}"] = dim
        if space is not None and not isinstance(space, dict):
            raise TypeError(f"Argument `space` must be a dict or None. Received: space={space!r}")
        valid_keys = [f"{n}/{s}" for n in CHOICES for s in DIMENSIONS[n]]
        self.overrides: dict[str, Any] = {}
        for given, value in (space or {}).items():
            key = given.removeprefix(PREFIX) if isinstance(given, str) else given
            if key in self.overrides:
                raise ValueError(
                    f"Argument `space` sets {key!r} twice (short and full name). "
                    f"Received: space={space!r}"
                )
            if key not in valid_keys:
                raise ValueError(
                    f"Argument `space` has an unknown key {given!r}; valid keys: {valid_keys}"
                )
            if key not in self.dimensions:
                raise ValueError(
                    f"Argument `space` sets {key!r}, but {key.split('/')[0]!r} is not in "
                    f"`schedules`. Received: schedules={self.schedules}"
                )
            self.overrides[key] = _checked_override(key, self.dimensions[key], value)
        for name in self.schedules:  # the parts of one run: at most all of it
            parts = [f"{name}/{s}" for s, dim in DIMENSIONS[name].items() if dim.of_run]
            if len(parts) > 1:
                self._check_fraction_sum(parts)

    def _largest(self, key: str) -> float:
        dim = self.dimensions.get(key)
        if dim is None:
            return 0.0
        value = self.overrides.get(key, "default")
        if value == "default":
            return dim.values and max(dim.values) or dim.high
        if value is None:
            return dim.default
        if isinstance(value, tuple):
            return value[1]
        if isinstance(value, list):
            return max(value)
        return value

    def _check_fraction_sum(self, keys: list[str]) -> None:
        if sum(self._largest(key) for key in keys) > 1.0:
            names = " + ".join(f"`space[{key!r}]`" for key in keys)
            received = ", ".join(repr(self.overrides.get(key)) for key in keys)
            raise ValueError(f"Arguments {names} can add up to more than 1. Received: {received}")

    # -- in build(): declare ----------------------------------------------------------------
    def declare(self, hp: kt.HyperParameters) -> str:
        """Declare every dimension (all of them, so the tuner sees the whole space before
        the first trial); returns the schedule chosen for this trial.

        Raises:
            ValueError: `hp` holds a name under `lr_tb/` that lr_tb never declares.
        """
        chosen = hp.Choice(HP_SCHEDULE, self.schedules, default=self.schedules[0])
        lr = self.learning_rate
        if isinstance(lr, tuple):
            hp.Float(
                HP_LEARNING_RATE,
                lr[0],
                lr[1],
                sampling="log",
                default=min(max(1e-3, lr[0]), lr[1]),
            )
        elif isinstance(lr, list):
            hp.Choice(HP_LEARNING_RATE, lr, default=lr[0])
        else:
            hp.Fixed(HP_LEARNING_RATE, lr)
        for key, dim in self.dimensions.items():
            name = key.split("/")[0]
            value = self.overrides.get(key, "default")
            if value is None:
                continue
            with hp.conditional_scope(HP_SCHEDULE, [name]):
                _declare_one(hp, PREFIX + key, dim, value)
        self.check_reserved(hp)
        return chosen

    @staticmethod
    def check_reserved(hp: kt.HyperParameters) -> None:
        """Refuse names under `lr_tb/` that lr_tb never declares: they would be mistaken for
        lr_tb's in the HParams dashboard. (Any schedule's settings are allowed, not only this
        space's: a reloaded project keeps the space of its earlier searches.)"""
        foreign = sorted({p.name for p in hp.space if p.name.startswith(PREFIX)} - ALL_NAMES)
        if foreign:
            raise ValueError(
                f"Hyperparameter names starting with {PREFIX!r} are lr_tb's own; rename yours. "
                f"Received: {foreign}"
            )

    def value(self, hp: kt.HyperParameters, key: str) -> Any:
        """A setting's value in this trial (its default when switched off); `key` is the
        short name, e.g. "exponential/decay_rate"."""
        name, setting = key.split("/")
        return hp.values.get(PREFIX + key, DIMENSIONS[name][setting].default)


def declare_schedule(
    hp: kt.HyperParameters,
    schedules: Sequence[str] = SCHEDULES,
    learning_rate: Any = LEARNING_RATE,
    space: dict[str, Any] | None = None,
) -> str:
    """In your own `HyperModel.build(hp)`: declare the schedule dimensions (the `lr_tb/`
    names of the module docstring); returns the schedule chosen for this trial. Pair with
    `scheduler_from_hp` in `fit`.

    Raises:
        TypeError / ValueError: an argument breaks its rule, or `hp` holds a name under
        `lr_tb/` that lr_tb does not declare.

    Example:
        >>> def build(hp):
        ...     lr_tb.tuner.declare_schedule(hp, schedules=["exponential", "warmup_cosine"])
        ...     model = make_model(hp.Int("units", 32, 128))
        ...     model.compile(keras.optimizers.Adam(), "mse")
        ...     return model
    """
    return Space(schedules, learning_rate, space).declare(hp)


def scheduler_from_hp(
    hp: kt.HyperParameters,
    epochs: int,
    steps_per_epoch: int | None = None,
    log_dir: str | None = None,
    monitor: str = "val_loss",
    space: Space | None = None,
) -> LearningRateCallback:
    """In your own `HyperModel.fit`: the lr_tb callback for this trial's schedule.

    The schedule spans `epochs * steps_per_epoch` steps (the trial's budget, `epochs` as
    Keras means it). With `steps_per_epoch=None` the fractions become epoch-based arguments
    and the fit's own steps per epoch is used. Also set the optimizer's rate to
    `hp.get("lr_tb/learning_rate")` (`ScheduleHyperModel` does): the plateau callback starts
    from it. The plateau callback's direction is `mode="auto"` (see
    `lr_tb.ReduceLROnPlateau`).

    `log_dir` is where the callback writes, as is: this callback is not one of `search()`'s,
    so it is not moved to the trial's run. Pass the trial's directory (the `log_dir` of the
    `keras.callbacks.TensorBoard` in `fit`'s callbacks, once keras-tuner moved it: on
    TensorFlow), or None with an `lr_tb.TensorBoard` passed to `search()`, which logs the
    applied rate in every trial's run on every backend.

    Raises:
        ValueError: `epochs` < 1, `steps_per_epoch` < 1, or no `lr_tb/schedule` in `hp`.
    """
    epochs = v.check_int("epochs", epochs, 1)
    steps_per_epoch = v.check_optional_int("steps_per_epoch", steps_per_epoch, 1)
    if HP_SCHEDULE not in hp.values:
        raise ValueError(
            f"`hp` has no `{HP_SCHEDULE}`: call lr_tb.tuner.declare_schedule(hp) in build()."
        )
    name = hp.get(HP_SCHEDULE)
    space = space or Space([name])
    lr = float(hp.get(HP_LEARNING_RATE))
    settings = {s: space.value(hp, f"{name}/{s}") for s in DIMENSIONS.get(name, {})}
    if name == "plateau":
        return ReduceLROnPlateau(
            monitor=monitor,
            mode="auto",  # lr_tb's own rule: losses down, a compiled metric's direction
            log_dir=log_dir,
            **settings,
        )
    spec = catalog.spec(name)
    if spec.callback is None:
        return ScheduleCallback(spec.schedule_class()(lr), log_dir=log_dir)
    total = None if steps_per_epoch is None else epochs * steps_per_epoch
    kwargs = {spec.args[0].name: lr, **spec.tuner_fixed}
    if spec.length_from:
        kwargs["total_steps"] = total
    if "steps_per_epoch" in spec.arg_names:
        kwargs["steps_per_epoch"] = steps_per_epoch
    for setting, value in settings.items():
        stem = spec.tuner[setting].of_run
        if not stem:
            kwargs[setting] = value
        elif total is None:  # a fraction of the trial's epochs
            kwargs[f"{stem}_epochs"] = value * epochs
        else:
            least = spec.epoch_args[f"{stem}_epochs"][1]
            kwargs[f"{stem}_steps"] = max(least, int(round(value * total)))
    return getattr(_schedulers, spec.callback)(**kwargs, log_dir=log_dir)


class ScheduleHyperModel(kt.HyperModel):
    """A HyperModel that makes the learning-rate schedule part of the search.

    Args:
        hypermodel: your `build_model(hp)` function returning a compiled model, or a
            `keras_tuner.HyperModel` (its `fit` is used too).
        schedules: the schedule names to choose from (default: all five).
        learning_rate: the base rate: a `(low, high)` range (log scale), a list, or a number.
        space: overrides of the settings' dimensions (see the module docstring).
        monitor: what the plateau schedule watches; "auto": `val_loss` when the fit has
            validation data, else `loss`. Its direction is `lr_tb.ReduceLROnPlateau`'s
            `mode="auto"` (a loss goes down, a compiled metric its own way, another name
            raises).
        name, tunable: as for `keras_tuner.HyperModel`.

    The trial's scheduler writes beside the first TensorBoard callback of the fit
    (`<log_dir>/<trial_id>/execution<n>/train`), or not at all when an `lr_tb.TensorBoard`
    is there (it logs the applied rate itself).

    Raises:
        TypeError / ValueError: an argument breaks its rule (unknown schedule names list the
        valid ones); in `build`, a name of yours under `lr_tb/` that lr_tb does not declare.

    Example:
        >>> import keras_tuner as kt
        >>> def build_model(hp):  # compiled with a float learning rate
        ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        ...     model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        ...     return model
        >>> hypermodel = lr_tb.tuner.ScheduleHyperModel(
        ...     build_model, schedules=["exponential", "warmup_cosine"],
        ...     space={"exponential/decay_rate": (0.8, 0.99)})
        >>> tuner = kt.RandomSearch(hypermodel, objective="val_loss", max_trials=10)
    """

    def __init__(
        self,
        hypermodel: Callable[[kt.HyperParameters], keras.Model] | kt.HyperModel,
        schedules: Sequence[str] = SCHEDULES,
        learning_rate: Any = LEARNING_RATE,
        space: dict[str, Any] | None = None,
        monitor: str = "auto",
        name: str | None = None,
        tunable: bool = True,
    ) -> None:
        if not (isinstance(hypermodel, kt.HyperModel) or callable(hypermodel)):
            raise TypeError(
                "Argument `hypermodel` must be a build function or a keras_tuner.HyperModel. "
                f"Received: hypermodel={hypermodel!r}"
            )
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(
                f"Argument `monitor` must be a metric name or 'auto'. Received: monitor={monitor!r}"
            )
        super().__init__(name=name, tunable=tunable)
        self.hypermodel = hypermodel
        self.space = Space(schedules, learning_rate, space)
        self.monitor = monitor

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        self.space.declare(hp)
        if isinstance(self.hypermodel, kt.HyperModel):
            model = self.hypermodel.build(hp)
        else:
            model = self.hypermodel(hp)
        self.space.check_reserved(hp)  # a name of yours under `lr_tb/`
        return model

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        callbacks = list(kwargs.get("callbacks") or [])
        boards = [c for c in callbacks if isinstance(c, keras.callbacks.TensorBoard)]
        for board in boards:
            if not isinstance(board, TensorBoard):  # lr_tb's TensorBoard moves itself
                _own_trial_run(board, callbacks)
        # The scheduler writes beside the first TensorBoard's curves, unless an
        # lr_tb.TensorBoard already logs the rate the optimizer applies.
        log_dir = None
        if boards and not any(isinstance(b, TensorBoard) for b in boards):
            log_dir = str(boards[0].log_dir)
        monitor = self.monitor
        if monitor == "auto":
            validating = kwargs.get("validation_data") is not None or kwargs.get("validation_split")
            monitor = "val_loss" if validating else "loss"
        scheduler = scheduler_from_hp(
            hp, int(kwargs.get("epochs", 1)), None, log_dir, monitor, self.space
        )
        optimizer = _optimizers.checked_optimizer(model, "ScheduleHyperModel")
        held = _keras_private.held_rate(optimizer)
        if not _keras_private.holds_variable(optimizer):
            raise TypeError(
                "ScheduleHyperModel sets the learning rate itself: compile the model with a "
                f"float learning_rate. Received: learning_rate={held!r}"
            )
        held.assign(float(hp.get(HP_LEARNING_RATE)))
        kwargs["callbacks"] = [*callbacks, scheduler]
        if isinstance(self.hypermodel, kt.HyperModel):
            return self.hypermodel.fit(hp, model, *args, **kwargs)
        return model.fit(*args, **kwargs)


def _own_trial_run(board: keras.callbacks.TensorBoard, callbacks: list) -> None:
    """On JAX/torch keras-tuner gives trials no run of their own and writes no HParams: do
    what it does on TensorFlow (`<log_dir>/<trial_id>/execution<n>` and session data)."""
    moved = _trial.trial_log_dir(board)  # None on TensorFlow: keras-tuner moved it
    found = _trial.running_trial(board)
    if moved is None or found is None:
        return
    board.log_dir = moved
    trial = found[1]
    callbacks.append(_HParamsSession(moved, str(trial.trial_id), _trial.trial_hparams(trial)))


class _HParamsSession(keras.callbacks.Callback):
    """Writes HParams session start/end data for a trial without TensorFlow."""

    def __init__(self, log_dir: str, trial_id: str, values: dict[str, Any]) -> None:
        super().__init__()
        self.log_dir, self.trial_id, self.values = log_dir, trial_id, values

    def on_train_begin(self, logs: dict | None = None) -> None:
        _trial.write_hparams_start(self.log_dir, self.trial_id, self.values)

    def on_train_end(self, logs: dict | None = None) -> None:
        _trial.write_hparams_end(self.log_dir)
