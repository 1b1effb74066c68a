"""Every schedule lr_tb ships, each declared once (`lr_tb.spec.ScheduleSpec`).

The registry (`lr_tb.schedules.get`), `lr-tb preview` and its `--list`, the tuner's search
space, the fit-length callbacks' checks and fit arguments, and `lr_tb`'s lazy names are all
made from `SPECS`.

Adding a schedule: its module in `lr_tb/schedules/` (the math, exported by
`lr_tb/schedules/__init__.py`), its entry here, and, if it has a callback, its class in
`lr_tb/callbacks/schedulers.py` (a signature, a docstring and `spec = catalog.spec(...)`,
exported by `lr_tb/callbacks/__init__.py` and `lr_tb.__all__`); then its tests.
`tests/test_schedules_catalog.py` checks that every part agrees with the spec. Signatures and
exports stay written out, for readers and type checkers; the spec repeats the schedule's
arguments because this module must not import Keras: the `lr-tb` command reads it first.

The order is the tuner's (its `schedules=` choices).
"""

from __future__ import annotations

from lr_tb.spec import Arg, Dimension, Preview, ScheduleSpec

# The article's settings, the defaults of a preview's required arguments.
ARTICLE_RATE = Preview(1e-3, note=", the article's")
ARTICLE_RESTARTS = [0.05, 0.15, 0.30, 0.50]

# A fraction of the trial's steps (or epochs), left open at 1 (valid) for a part of the run.
_PART = (0.0, 1.0, False, True)


def _warmup_fraction(default: float, high: float) -> Dimension:
    return Dimension("float", default, 0.0, high, valid=_PART, of_run="warmup")


SPECS: tuple[ScheduleSpec, ...] = (
    ScheduleSpec(
        name="constant",
        schedule="Constant",
        module="constant",
        summary="The same rate at every step.",
        args=(Arg("learning_rate", "float"),),
        preview={"learning_rate": ARTICLE_RATE},
        default_search=True,
    ),
    ScheduleSpec(
        name="exponential",
        schedule="ExponentialDecay",
        module="exponential",
        summary="Exponential decay by whole epochs, never below a floor.",
        args=(
            Arg("learning_rate_base", "float"),
            Arg("decay_rate", "float"),
            Arg("steps_per_epoch", "int", 1),
            Arg("min_learning_rate", "float", 0.0),
        ),
        preview={
            "learning_rate_base": ARTICLE_RATE,
            "decay_rate": Preview(0.9, note=", the article's"),
        },
        callback="ExponentialDecayScheduler",
        tuner={"decay_rate": Dimension("float", 0.9, 0.5, 0.99, valid=(0.0, 1.0, True, False))},
        default_search=True,
    ),
    ScheduleSpec(
        name="warmup_cosine",
        schedule="WarmupCosineDecay",
        module="warmup_cosine",
        summary="Linear warmup, a hold at the peak, then cosine annealing down to a floor.",
        args=(
            Arg("learning_rate_base", "float"),
            Arg("total_steps", "int"),
            Arg("warmup_learning_rate", "float", 0.0),
            Arg("warmup_steps", "int", 0),
            Arg("hold_steps", "int", 0),
            Arg("min_learning_rate", "float", 0.0),
        ),
        preview={"learning_rate_base": ARTICLE_RATE},
        callback="WarmupCosineDecayScheduler",
        length_from=("total_steps",),
        epoch_args={"warmup_epochs": ("warmup_steps", 0), "hold_epochs": ("hold_steps", 0)},
        tuner={
            "warmup_fraction": _warmup_fraction(0.1, 0.3),
            "hold_fraction": Dimension("float", 0.0, 0.0, 0.2, valid=_PART, of_run="hold"),
        },
        default_search=True,
    ),
    ScheduleSpec(
        name="cosine_restarts",
        schedule="CosineRestarts",
        module="cosine_restarts",
        summary="Cycles of linear warmup, hold and cosine decay, each restarting at the (scaled) "
        "peak.",
        args=(
            Arg("learning_rate_base", "float"),
            Arg("total_steps", "int"),
            Arg("restarts", "Sequence[float] | None", None),
            Arg("first_cycle_steps", "int | None", None),
            Arg("t_mul", "float", 1.0),
            Arg("m_mul", "float", 1.0),
            Arg("warmup_learning_rate", "float", 0.0),
            Arg("warmup_fraction", "float", 0.0),
            Arg("hold_fraction", "float", 0.0),
            Arg("min_learning_rate", "float", 0.0),
        ),
        preview={
            "learning_rate_base": ARTICLE_RATE,
            "restarts": Preview(
                ARTICLE_RESTARTS, note=", the article's", unless="first_cycle_steps"
            ),
            "first_cycle_steps": Preview(None, note=": cycles from --restarts"),
        },
        callback="CosineRestartsScheduler",
        length_from=("total_steps",),
        epoch_args={"first_cycle_epochs": ("first_cycle_steps", 1)},
        one_of=("restarts", "first_cycle_steps", "first_cycle_epochs"),
        tuner={
            "first_cycle_fraction": Dimension(
                "float", 0.25, 0.1, 0.5, valid=(0.0, 1.0, True, False), of_run="first_cycle"
            ),
            "t_mul": Dimension(
                "choice", 2.0, values=(1.0, 2.0), valid=(0.0, float("inf"), True, True)
            ),
            "m_mul": Dimension("float", 1.0, 0.5, 1.0, valid=(0.0, 1.0, True, False)),
            # of each cycle: the schedule's own argument
            "warmup_fraction": Dimension("float", 0.0, 0.0, 0.2, valid=_PART),
        },
        default_search=True,
    ),
    ScheduleSpec(
        name="wsd",
        schedule="WarmupStableDecay",
        module="wsd",
        summary="Warmup, a long stable phase at the peak, then a decay to a floor (WSD).",
        args=(
            Arg("learning_rate_base", "float"),
            Arg("decay_steps", "int"),
            Arg("total_steps", "int | None", None),
            Arg("warmup_steps", "int", 0),
            Arg("stable_steps", "int | None", None),
            Arg("warmup_type", "str", "linear"),
            Arg("decay_type", "str", "cosine"),
            Arg("min_lr_ratio", "float", 0.0),
            Arg("num_cycles", "float", 0.5),
        ),
        preview={
            "learning_rate_base": ARTICLE_RATE,
            "decay_steps": Preview(steps_divisor=5, note=", the last fifth"),
        },
        callback="WarmupStableDecayScheduler",
        length_from=("total_steps", "stable_steps"),
        epoch_args={"warmup_epochs": ("warmup_steps", 0), "decay_epochs": ("decay_steps", 0)},
        one_of=("decay_steps", "decay_epochs"),
        tuner={
            "warmup_fraction": _warmup_fraction(0.05, 0.2),
            "decay_fraction": Dimension(
                "float", 0.2, 0.1, 0.5, valid=(0.0, 1.0, False, False), of_run="decay"
            ),
            "decay_type": Dimension("choice", "cosine", values=("cosine", "linear", "1-sqrt")),
        },
    ),
    ScheduleSpec(
        name="polynomial",
        schedule="WarmupPolynomialDecay",
        module="polynomial",
        summary="A linear warmup from 0, then polynomial decay to an end rate.",
        args=(
            Arg("learning_rate_base", "float"),
            Arg("total_steps", "int"),
            Arg("warmup_steps", "int", 0),
            Arg("end_learning_rate", "float", 1e-07),
            Arg("power", "float", 1.0),
        ),
        preview={"learning_rate_base": ARTICLE_RATE},
        callback="WarmupPolynomialDecayScheduler",
        length_from=("total_steps",),
        epoch_args={"warmup_epochs": ("warmup_steps", 0)},
        tuner={
            "warmup_fraction": _warmup_fraction(0.1, 0.3),
            "power": Dimension("float", 1.0, 0.5, 3.0, valid=(0.0, float("inf"), True, True)),
        },
        tuner_fixed={"end_learning_rate": 0.0},  # decay to 0 at the trial's end
    ),
    ScheduleSpec(
        name="inverse_sqrt",
        schedule="InverseSqrtDecay",
        module="inverse_sqrt",
        summary="A linear warmup from 0, then decay as one over the square root of the step.",
        args=(
            Arg("learning_rate_base", "float"),
            Arg("warmup_steps", "int", 0),
            Arg("timescale", "int | None", None),
        ),
        preview={"learning_rate_base": ARTICLE_RATE},
        callback="InverseSqrtDecayScheduler",
        epoch_args={"warmup_epochs": ("warmup_steps", 0)},
        tuner={"warmup_fraction": _warmup_fraction(0.1, 0.3)},
    ),
    ScheduleSpec(
        name="constant_with_warmup",
        schedule="ConstantWithWarmup",
        module="constant_with_warmup",
        summary="A linear warmup from 0, then the same rate at every step.",
        args=(Arg("learning_rate_base", "float"), Arg("warmup_steps", "int", 0)),
        preview={"learning_rate_base": ARTICLE_RATE},
        callback="ConstantWithWarmupScheduler",
        epoch_args={"warmup_epochs": ("warmup_steps", 0)},
        tuner={"warmup_fraction": _warmup_fraction(0.1, 0.3)},
    ),
    ScheduleSpec(
        name="one_cycle",
        schedule="OneCycle",
        module="one_cycle",
        summary="The one-cycle policy: up to `max_lr`, then down far below where it started.",
        args=(
            Arg("max_lr", "float"),
            Arg("total_steps", "int"),
            Arg("pct_start", "float", 0.3),
            Arg("div_factor", "float", 25.0),
            Arg("final_div_factor", "float", 1e4),
            Arg("anneal_strategy", "str", "cos"),
        ),
        preview={"max_lr": Preview(1e-3)},
        callback="OneCycleScheduler",
        length_from=("total_steps",),
        tuner={"pct_start": Dimension("float", 0.3, 0.1, 0.5, valid=(0.0, 1.0, False, False))},
        # the trial's optimizer is not known here, and not every one has a momentum to cycle
        tuner_fixed={"cycle_momentum": False},
    ),
)

_BY_NAME = {spec.name: spec for spec in SPECS}


def names() -> list[str]:
    """Every schedule's name, sorted."""
    return sorted(_BY_NAME)


def spec(name: str) -> ScheduleSpec:
    """The spec of the schedule named `name`.

    Raises:
        TypeError: `name` is not a string.
        ValueError: `name` is unknown; the message lists the valid names.
    """
    if not isinstance(name, str):
        raise TypeError(f"Argument `name` must be a string. Received: name={name!r}")
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"Argument `name` must be one of {names()}. Received: name={name!r}"
        ) from None


def callback_names() -> list[str]:
    """The names of the schedules' callback classes (in `lr_tb.callbacks` and `lr_tb`)."""
    return [s.callback for s in SPECS if s.callback is not None]
