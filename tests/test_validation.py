"""Bad input: every public constructor refuses it at construction with a TypeError or
ValueError whose message names the argument and the value received."""

import math

import numpy as np
import pytest

import lr_tb
from lr_tb.schedules import Constant, CosineRestarts, ExponentialDecay, WarmupCosineDecay

WC = dict(learning_rate_base=1e-3, total_steps=100)
CR = dict(learning_rate_base=1e-3, total_steps=100, restarts=[0.5])

# (constructor, kwargs, exception, text that must be in the message)
CASES = [
    # non-positive or non-finite rates
    (Constant, dict(learning_rate=0.0), ValueError, "learning_rate=0.0"),
    (Constant, dict(learning_rate=-1e-3), ValueError, "learning_rate=-0.001"),
    (Constant, dict(learning_rate=math.nan), ValueError, "learning_rate=nan"),
    (Constant, dict(learning_rate=math.inf), ValueError, "learning_rate=inf"),
    (Constant, dict(learning_rate="0.1"), TypeError, "learning_rate='0.1'"),
    (Constant, dict(learning_rate=True), TypeError, "learning_rate=True"),
    (WarmupCosineDecay, dict(WC, learning_rate_base=0), ValueError, "learning_rate_base=0"),
    (WarmupCosineDecay, dict(WC, min_learning_rate=-1e-5), ValueError, "min_learning_rate=-1e-05"),
    (
        lr_tb.WarmupCosineDecayScheduler,
        dict(learning_rate_base=math.nan),
        ValueError,
        "learning_rate_base=nan",
    ),
    # min > base, warmup start > base
    (
        WarmupCosineDecay,
        dict(WC, min_learning_rate=2e-3),
        ValueError,
        "min_learning_rate=0.002, learning_rate_base=0.001",
    ),
    (
        WarmupCosineDecay,
        dict(WC, warmup_learning_rate=2e-3),
        ValueError,
        "warmup_learning_rate=0.002, learning_rate_base=0.001",
    ),
    (
        ExponentialDecay,
        dict(learning_rate_base=1e-3, decay_rate=0.9, min_learning_rate=1.0),
        ValueError,
        "min_learning_rate=1.0",
    ),
    (CosineRestarts, dict(CR, warmup_learning_rate=1.0), ValueError, "warmup_learning_rate=1.0"),
    # warmup + hold > total
    (
        WarmupCosineDecay,
        dict(WC, warmup_steps=60, hold_steps=50),
        ValueError,
        "warmup_steps=60, hold_steps=50, total_steps=100",
    ),
    (WarmupCosineDecay, dict(WC, warmup_steps=200), ValueError, "warmup_steps=200"),
    (WarmupCosineDecay, dict(WC, warmup_steps=-1), ValueError, "warmup_steps=-1"),
    (WarmupCosineDecay, dict(WC, hold_steps=2.5), ValueError, "hold_steps=2.5"),
    (WarmupCosineDecay, dict(WC, total_steps=0), ValueError, "total_steps=0"),
    (WarmupCosineDecay, dict(WC, total_steps=None), TypeError, "total_steps=None"),
    (
        lr_tb.WarmupCosineDecayScheduler,
        dict(learning_rate_base=1e-3, total_steps=10, warmup_steps=8, hold_steps=3),
        ValueError,
        "total_steps=10",
    ),
    (
        lr_tb.WarmupCosineDecayScheduler,
        dict(learning_rate_base=1e-3, warmup_steps=5, warmup_epochs=1),
        ValueError,
        "warmup_epochs=1",
    ),
    # decay_rate outside (0, 1]
    (ExponentialDecay, dict(learning_rate_base=1e-3, decay_rate=0.0), ValueError, "decay_rate=0.0"),
    (ExponentialDecay, dict(learning_rate_base=1e-3, decay_rate=1.5), ValueError, "decay_rate=1.5"),
    (
        lr_tb.ExponentialDecayScheduler,
        dict(learning_rate_base=1e-3, decay_rate=-0.1),
        ValueError,
        "decay_rate=-0.1",
    ),
    # steps_per_epoch < 1
    (
        ExponentialDecay,
        dict(learning_rate_base=1e-3, decay_rate=0.9, steps_per_epoch=0),
        ValueError,
        "steps_per_epoch=0",
    ),
    (
        lr_tb.ExponentialDecayScheduler,
        dict(learning_rate_base=1e-3, decay_rate=0.9, steps_per_epoch=-3),
        ValueError,
        "steps_per_epoch=-3",
    ),
    # restart fractions
    (CosineRestarts, dict(CR, restarts=[0.5, 0.3]), ValueError, "restarts=[0.5, 0.3]"),
    (CosineRestarts, dict(CR, restarts=[0.3, 0.3]), ValueError, "strictly increasing"),
    (CosineRestarts, dict(CR, restarts=[0.0, 0.5]), ValueError, "restarts=[0.0, 0.5]"),
    (CosineRestarts, dict(CR, restarts=[0.5, 1.0]), ValueError, "restarts=[0.5, 1.0]"),
    (CosineRestarts, dict(CR, restarts=[]), ValueError, "restarts=[]"),
    (CosineRestarts, dict(CR, restarts=0.5), TypeError, "restarts=0.5"),
    (CosineRestarts, dict(CR, restarts=[0.5, "x"]), TypeError, "restarts=[0.5, 'x']"),
    (CosineRestarts, dict(CR, restarts=[0.001, 0.002]), ValueError, "at least one step"),
    # both or neither of restarts / first_cycle_steps
    (
        CosineRestarts,
        dict(CR, first_cycle_steps=10),
        ValueError,
        "restarts=[0.5], first_cycle_steps=10",
    ),
    (CosineRestarts, dict(WC), ValueError, "restarts=None, first_cycle_steps=None"),
    (lr_tb.CosineRestartsScheduler, dict(learning_rate_base=1e-3), ValueError, "Exactly one"),
    (
        lr_tb.CosineRestartsScheduler,
        dict(learning_rate_base=1e-3, first_cycle_steps=5, first_cycle_epochs=1),
        ValueError,
        "first_cycle_epochs=1",
    ),
    (CosineRestarts, dict(WC, first_cycle_steps=0), ValueError, "first_cycle_steps=0"),
    (CosineRestarts, dict(WC, first_cycle_steps=101), ValueError, "first_cycle_steps=101"),
    # t_mul, m_mul, fractions
    (CosineRestarts, dict(WC, first_cycle_steps=10, t_mul=0.0), ValueError, "t_mul=0.0"),
    (CosineRestarts, dict(WC, first_cycle_steps=10, t_mul=-2), ValueError, "t_mul=-2"),
    (CosineRestarts, dict(CR, t_mul=2.0), ValueError, "t_mul=2.0"),
    (CosineRestarts, dict(CR, m_mul=0.0), ValueError, "m_mul=0.0"),
    (CosineRestarts, dict(CR, m_mul=1.5), ValueError, "m_mul=1.5"),
    (CosineRestarts, dict(CR, warmup_fraction=1.2), ValueError, "warmup_fraction=1.2"),
    (CosineRestarts, dict(CR, warmup_fraction=1e-300), ValueError, "0 or >= 1e-06"),
    (CosineRestarts, dict(CR, hold_fraction=1e-9), ValueError, "hold_fraction=1e-09"),
    (
        CosineRestarts,
        dict(CR, warmup_fraction=0.6, hold_fraction=0.6),
        ValueError,
        "warmup_fraction=0.6, hold_fraction=0.6",
    ),
    # plateau
    (lr_tb.ReduceLROnPlateau, dict(factor=1.0), ValueError, "factor=1.0"),
    (lr_tb.ReduceLROnPlateau, dict(factor=0.0), ValueError, "factor=0.0"),
    (lr_tb.ReduceLROnPlateau, dict(factor=2), ValueError, "factor=2"),
    (lr_tb.ReduceLROnPlateau, dict(patience=-1), ValueError, "patience=-1"),
    (lr_tb.ReduceLROnPlateau, dict(cooldown=-2), ValueError, "cooldown=-2"),
    (lr_tb.ReduceLROnPlateau, dict(mode="up"), ValueError, "mode='up'"),
    (lr_tb.ReduceLROnPlateau, dict(min_lr=-1.0), ValueError, "min_lr=-1.0"),
    (lr_tb.ReduceLROnPlateau, dict(min_delta=math.nan), ValueError, "min_delta=nan"),
    (lr_tb.ReduceLROnPlateau, dict(monitor=3), TypeError, "monitor=3"),
    # logger
    (
        lr_tb.LearningRateLogger,
        dict(log_dir="runs", every_n_steps=0),
        ValueError,
        "every_n_steps=0",
    ),
    (
        lr_tb.LearningRateLogger,
        dict(log_dir="runs", every_n_steps=1.5),
        ValueError,
        "every_n_steps=1.5",
    ),
    # log_dir, verbose, flush_secs, schedule
    (lr_tb.LearningRateLogger, dict(log_dir=5), TypeError, "log_dir=5"),
    (
        lr_tb.WarmupCosineDecayScheduler,
        dict(learning_rate_base=1e-3, log_dir=b"runs"),
        TypeError,
        "log_dir=b'runs'",
    ),
    (lr_tb.ReduceLROnPlateau, dict(log_dir=""), ValueError, "log_dir=''"),
    (lr_tb.ReduceLROnPlateau, dict(verbose=-1), ValueError, "verbose=-1"),
    (lr_tb.ReduceLROnPlateau, dict(flush_secs=0), ValueError, "flush_secs=0"),
    (lr_tb.ScheduleCallback, dict(schedule="cosine"), TypeError, "schedule='cosine'"),
]


@pytest.mark.parametrize(
    "cls, kwargs, error, text", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_is_refused_at_construction(cls, kwargs, error, text):
    with pytest.raises(error) as info:
        cls(**kwargs)
    message = str(info.value)
    assert text in message, message
    assert (
        "Argument" in message
        or "Arguments" in message
        or "Exactly one" in message
        or "Give `" in message
    ), message


def test_log_dir_that_is_a_file(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("x")
    with pytest.raises(ValueError, match="log_dir.*not an existing file"):
        lr_tb.LearningRateLogger(str(target))
    with pytest.raises(ValueError, match="log_dir.*is a file"):
        lr_tb.LearningRateLogger(str(target / "below"))


def test_log_dir_not_writable(tmp_path, monkeypatch):
    import os

    # CI runs as root, for whom every directory is writable: simulate a read-only parent.
    parent = str(tmp_path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: p != parent and real_access(p, mode))
    with pytest.raises(ValueError, match="log_dir.*writable.*Received: log_dir="):
        lr_tb.LearningRateLogger(os.path.join(parent, "runs", "a"))


def test_pathlike_log_dir_is_accepted(tmp_path):
    assert lr_tb.LearningRateLogger(tmp_path / "runs").log_dir == str(tmp_path / "runs")


def test_model_not_compiled_leaves_no_run(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    callback = lr_tb.WarmupCosineDecayScheduler(1e-3, log_dir=str(tmp_path / "run"))
    with pytest.raises((RuntimeError, ValueError), match="compile"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0, callbacks=[callback])
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("keras_first", [True, False])
def test_keras_rate_callback_beside_a_scheduler_is_named_in_the_order_given(
    keras_first, tmp_path
):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    ours = lr_tb.ExponentialDecayScheduler(0.1, 0.5, log_dir=str(tmp_path / "run"))
    theirs = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr)
    callbacks = [theirs, ours] if keras_first else [ours, theirs]
    order = "LearningRateScheduler, ExponentialDecayScheduler"
    if not keras_first:
        order = "ExponentialDecayScheduler, LearningRateScheduler"
    with pytest.raises(TypeError, match=f"Received: callbacks=\\[\\.\\.\\., {order}, "):
        model.fit(np.zeros((8, 2)), np.zeros((8, 1)), verbose=0, callbacks=callbacks)


def test_optimizer_without_a_learning_rate(tmp_path):
    from types import SimpleNamespace

    from lr_tb import _optimizers as _optimizer

    not_keras = SimpleNamespace(optimizer=SimpleNamespace(update=lambda *a: None))
    with pytest.raises(TypeError, match="Keras 3 optimizer with a `learning_rate`.*Received"):
        _optimizer.checked_optimizer(not_keras, "LearningRateLogger")
    with pytest.raises(TypeError, match="compiled model.*Received: model.optimizer=None"):
        _optimizer.checked_optimizer(SimpleNamespace(optimizer=None), "LearningRateLogger")


def test_backup_dir_type():
    with pytest.raises(TypeError, match="backup_dir=3"):
        lr_tb.ReduceLROnPlateau(backup_dir=3)


@pytest.mark.parametrize("kwargs", [{}, {"restarts": [0.5], "first_cycle_epochs": 1}])
def test_cosine_restarts_scheduler_names_all_three_ways(kwargs):
    with pytest.raises(
        ValueError, match="`restarts`, `first_cycle_steps` and `first_cycle_epochs`"
    ):
        lr_tb.CosineRestartsScheduler(0.1, **kwargs)
