"""Each schedule is declared once, in `lr_tb.catalog`: every spec yields a registry entry, a
callback class, `lr-tb preview` arguments and a tuner space that agree with it, and a toy
spec added to the catalog appears in all of them."""

import importlib
import inspect
import sys
import types

import keras
import keras_tuner as kt
import numpy as np
import pytest
from conftest import bias_model, zeros_data
from keras import ops

import lr_tb
from lr_tb import _validation as v
from lr_tb import callbacks, catalog, cli
from lr_tb import tuner as lt
from lr_tb.callbacks import schedulers
from lr_tb.schedules import StepSchedule, registry
from lr_tb.spec import Arg, Dimension, ScheduleSpec

SPECS = {spec.name: spec for spec in catalog.SPECS}
WITH_CALLBACK = [name for name, spec in SPECS.items() if spec.callback]
CALLBACK_ARGS = {"log_dir", "verbose", "flush_secs", "log_momentum", "log_weight_decay"}


def _signature(cls):
    """(name, annotation, default) of each constructor argument, as `Arg`s."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return tuple(Arg(p.name, str(p.annotation), p.default) for p in params)


@pytest.mark.parametrize("name", list(SPECS))
def test_the_spec_is_the_schedule_class(name):
    spec = SPECS[name]
    cls = registry.schedule_class(name)
    assert cls is getattr(lr_tb.schedules, spec.schedule) is spec.schedule_class()
    assert spec.schedule in lr_tb.schedules.__all__
    assert cls.__doc__.strip().splitlines()[0] == spec.summary
    assert _signature(cls) == spec.args
    assert keras.saving.get_registered_name(cls) == f"lr_tb>{spec.schedule}"


@pytest.mark.parametrize("name", WITH_CALLBACK)
def test_each_callback_class_follows_its_spec(name):
    spec = SPECS[name]
    cls = getattr(lr_tb, spec.callback)
    assert cls is getattr(callbacks, spec.callback) is getattr(schedulers, spec.callback)
    assert cls.spec is spec
    assert spec.callback in callbacks.__all__ and spec.callback in lr_tb.__all__
    params = inspect.signature(cls).parameters
    assert set(spec.arg_names) | set(spec.epoch_args) | CALLBACK_ARGS | {"optimizer"} <= set(params)
    assert set(spec.one_of) <= set(params)
    for length in spec.length_from:  # left out, the fit says how long
        assert params[length].default is None, length
    for epochs_name, (steps_name, _) in spec.epoch_args.items():
        assert params[epochs_name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[epochs_name].default is None
        assert steps_name in spec.arg_names
    assert cls.__doc__.strip()


def test_lr_tbs_names_are_the_catalogs():
    assert set(lr_tb.__all__) == set(lr_tb._NAMES) | set(lr_tb._SUBMODULES)
    assert set(catalog.callback_names()) <= set(lr_tb._NAMES)
    assert sorted(cli.SCHEDULES) == catalog.names() == registry.names()


@pytest.mark.parametrize("name", list(SPECS))
def test_the_preview_defaults_build_the_schedule(name):
    shown = cli.preview_defaults(name)
    assert list(shown) == list(SPECS[name].arg_names)
    assert "required" not in shown.values()  # a preview needs only --steps
    schedule = registry.get(name, **cli._schedule_kwargs(name, [], 100))
    assert isinstance(schedule, StepSchedule)


@pytest.mark.parametrize("name", list(SPECS))
def test_each_tuner_setting_is_declared_and_used(name):
    spec = SPECS[name]
    assert name in lt.CHOICES
    assert (name in lt.SCHEDULES) == spec.default_search
    assert lt.DIMENSIONS[name] is spec.tuner
    for setting, dim in spec.tuner.items():
        assert f"lr_tb/{name}/{setting}" in lt.ALL_NAMES
        if dim.of_run:
            assert f"{dim.of_run}_epochs" in spec.epoch_args
            assert f"{dim.of_run}_steps" in spec.arg_names
        else:
            assert (
                setting in spec.arg_names
                or setting in inspect.signature(getattr(schedulers, spec.callback)).parameters
            )
    hp = kt.HyperParameters()
    lt.declare_schedule(hp, schedules=[name])
    for steps_per_epoch in (None, 10):
        made = lt.scheduler_from_hp(hp, epochs=4, steps_per_epoch=steps_per_epoch)
        expected = getattr(schedulers, spec.callback) if spec.callback else lr_tb.ScheduleCallback
        assert type(made) is expected
        for key, value in spec.tuner_fixed.items():
            assert getattr(made, key) == value


def test_a_spec_names_its_length_and_epoch_arguments():
    for spec in catalog.SPECS:
        assert set(spec.length_from) <= set(spec.arg_names)
        assert set(spec.preview) <= set(spec.arg_names)
        for key in spec.tuner_fixed:
            assert key in inspect.signature(getattr(schedulers, spec.callback)).parameters


def test_an_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"one of \['constant',"):
        catalog.spec("cosin")
    with pytest.raises(TypeError, match="name=3"):
        catalog.spec(3)


# -- a schedule added in one place appears everywhere -------------------------------------


def check_toy_args(learning_rate_base, total_steps, warmup_steps):
    base = v.check_positive("learning_rate_base", learning_rate_base)
    total = v.check_optional_int("total_steps", total_steps, 1)
    warmup = v.check_int("warmup_steps", warmup_steps, 0)
    if total is not None:
        v.check_le("warmup_steps", warmup, "total_steps", total)
    return {"learning_rate_base": base, "total_steps": total, "warmup_steps": warmup}


class Toy(StepSchedule):
    """A linear warmup from 0, then a linear decay to 0 at `total_steps`."""

    check_args = staticmethod(check_toy_args)
    _config_keys = ("learning_rate_base", "total_steps", "warmup_steps")

    def __init__(self, learning_rate_base: float, total_steps: int, warmup_steps: int = 0) -> None:
        self._set_args(check_toy_args(learning_rate_base, total_steps, warmup_steps))

    def _rate(self, step, dtype):
        warmup, total = float(self.warmup_steps), float(self.total_steps)
        up = step / max(1.0, warmup)
        down = ops.clip((total - step) / max(1.0, total - warmup), 0.0, 1.0)
        return self.learning_rate_base * ops.where(step < warmup, up, down)

    @property
    def floor_learning_rate(self) -> float:
        return 0.0


TOY = ScheduleSpec(
    name="toy",
    schedule="Toy",
    module="toy",
    summary="A linear warmup from 0, then a linear decay to 0 at `total_steps`.",
    args=(
        Arg("learning_rate_base", "float"),
        Arg("total_steps", "int"),
        Arg("warmup_steps", "int", 0),
    ),
    preview={"learning_rate_base": catalog.ARTICLE_RATE},
    callback="ToyScheduler",
    length_from=("total_steps",),
    epoch_args={"warmup_epochs": ("warmup_steps", 0)},
    tuner={"warmup_fraction": Dimension("float", 0.25, 0.0, 0.5, of_run="warmup")},
)


class ToyScheduler(schedulers._FitLengthScheduler):
    """`Toy` as a callback."""

    spec = TOY

    def __init__(
        self,
        learning_rate_base: float,
        total_steps: int | None = None,
        warmup_steps: int = 0,
        *,
        warmup_epochs: float | None = None,
        log_dir: str | None = None,
        verbose: int = 0,
        flush_secs: float | None = 30.0,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
        optimizer=None,
    ) -> None:
        super().__init__(**schedulers._arguments(locals()))


@pytest.fixture
def toy(monkeypatch):
    """The catalog with TOY added (its module and callback where the catalog looks), and the
    modules whose tables are made from it at import made again; all undone afterwards."""
    module = types.ModuleType("lr_tb.schedules.toy")
    module.Toy = Toy
    monkeypatch.setitem(sys.modules, "lr_tb.schedules.toy", module)
    monkeypatch.setattr(catalog, "SPECS", (*catalog.SPECS, TOY))
    monkeypatch.setitem(catalog._BY_NAME, "toy", TOY)
    monkeypatch.setattr(schedulers, "ToyScheduler", ToyScheduler, raising=False)
    importlib.reload(cli)
    importlib.reload(lt)
    yield
    monkeypatch.undo()
    importlib.reload(cli)
    importlib.reload(lt)


def test_a_toy_spec_appears_everywhere(toy, tmp_path, capsys):
    # the registry
    assert "toy" in registry.names()
    assert registry.get("toy", learning_rate_base=1.0, total_steps=10, warmup_steps=2) == Toy(
        1.0, 10, 2
    )
    # the CLI: --list, and a preview whose arguments are parsed before Keras is needed
    assert cli.main(["preview", "--list"]) == 0
    out = capsys.readouterr().out
    assert "toy: Toy - A linear warmup from 0, then a linear decay" in out
    assert "    --total_steps (int; default --steps)" in out
    argv = ["preview", "toy", "--steps", "20", "--warmup_steps", "5", "--logdir", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "Toy(learning_rate_base=0.001, total_steps=20, warmup_steps=5)" in printed
    assert cli.main(["preview", "toy", "--steps", "20", "--warmup", "5", "--png", "x.png"]) == 2
    assert "did you mean --warmup_steps?" in capsys.readouterr().err
    # the tuner: a choice, its setting declared only when chosen, its callback per trial
    assert "toy" in lt.CHOICES and "toy" not in lt.SCHEDULES
    hp = kt.HyperParameters()
    lt.declare_schedule(hp, schedules=["exponential", "toy"])
    assert "lr_tb/toy/warmup_fraction" in [p.name for p in hp.space]
    assert "lr_tb/toy/warmup_fraction" not in hp.values  # active only when chosen
    hp.values["lr_tb/schedule"] = "toy"
    made = lt.scheduler_from_hp(hp, epochs=4, steps_per_epoch=10)
    assert type(made) is ToyScheduler
    assert (made.total_steps, made.warmup_steps) == (40, 10)
    made = lt.scheduler_from_hp(hp, epochs=4)
    assert (made.total_steps, made.warmup_epochs) == (None, 1.0)
    with pytest.raises(ValueError, match=r"space\['toy/warmup_fraction'\]"):
        lt.Space(["toy"], space={"toy/warmup_fraction": 1.5})


def test_a_toy_callback_takes_its_length_from_the_fit(toy):
    with pytest.raises(ValueError, match="`warmup_steps` or `warmup_epochs`, not both"):
        ToyScheduler(1e-2, warmup_steps=2, warmup_epochs=1)
    with pytest.raises(ValueError, match="warmup_steps=50, total_steps=40"):
        ToyScheduler(1e-2, total_steps=40, warmup_steps=50)
    callback = ToyScheduler(1e-2, warmup_epochs=1)
    model = bias_model()
    x, y = zeros_data(40)  # 4 steps per epoch with batch 10
    model.fit(x, y, batch_size=10, epochs=3, callbacks=[callback], verbose=0)
    assert callback.schedule == Toy(1e-2, total_steps=12, warmup_steps=4)
    expected = callback.schedule.values(np.arange(12))
    np.testing.assert_array_equal(np.float32(callback.learning_rates), expected)
