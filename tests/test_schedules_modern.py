"""The modern schedule shapes (wsd, polynomial, inverse_sqrt, constant_with_warmup) against
transformers' lr lambdas transcribed in `reference.py`, and the `Warmup` / `Sequence`
wrappers around lr_tb's and Keras' own schedules: values, one vectorized call, config and
`model.save` round trips, argument checks."""

import keras
import numpy as np
import pytest
import reference as ref
from conftest import bias_model, zeros_data

import lr_tb
from lr_tb.schedules import (
    ConstantWithWarmup,
    CosineRestarts,
    InverseSqrtDecay,
    Sequence,
    Warmup,
    WarmupPolynomialDecay,
    WarmupStableDecay,
    evaluate,
)

F32 = 2.0**-23  # float32 relative precision: the schedules compute in float32
STEPS = np.arange(0, 140)


def close(actual, expected, peak):
    np.testing.assert_allclose(actual, expected, rtol=4 * F32, atol=8 * F32 * peak)


def same(actual, expected, peak):
    """Equal up to 2 float32 ulps of the peak (a vectorized kernel may round differently
    from the scalar one, see test_schedules.test_restarts_bulk_path_equals_...)."""
    np.testing.assert_allclose(actual, expected, rtol=0, atol=2 * np.spacing(np.float32(peak)))


def per_step(schedule, steps):
    return np.float32([float(keras.ops.convert_to_numpy(schedule(int(t)))) for t in steps])


# (schedule, transformers' rate of step t) for each shape and option
SHAPES = ["linear", "cosine", "1-sqrt"]
CASES = {
    **{
        f"wsd-{up}-{down}": (
            WarmupStableDecay(3e-3, 37, 110, 17, warmup_type=up, decay_type=down, min_lr_ratio=0.1),
            lambda t, up=up, down=down: ref.hf_wsd(t, 3e-3, 17, 37, 110, None, up, down, 0.1),
        )
        for up in SHAPES
        for down in SHAPES
    },
    "wsd-stable_steps-cycles": (
        WarmupStableDecay(2e-3, 30, warmup_steps=9, stable_steps=41, num_cycles=1.25),
        lambda t: ref.hf_wsd(t, 2e-3, 9, 30, None, 41, num_cycles=1.25),
    ),
    "wsd-no-warmup-no-decay": (
        WarmupStableDecay(2e-3, 0, 100, min_lr_ratio=0.5),
        lambda t: ref.hf_wsd(t, 2e-3, 0, 0, 100, min_lr_ratio=0.5),
    ),
    "polynomial": (
        WarmupPolynomialDecay(2e-3, 100, 10, end_learning_rate=1e-5, power=2.0),
        lambda t: ref.hf_polynomial(t, 2e-3, 10, 100, 1e-5, 2.0),
    ),
    "polynomial-defaults": (
        WarmupPolynomialDecay(1e-3, 120),
        lambda t: ref.hf_polynomial(t, 1e-3, 0, 120, 1e-7, 1.0),
    ),
    "inverse_sqrt": (InverseSqrtDecay(2e-3, 10), lambda t: ref.hf_inverse_sqrt(t, 2e-3, 10)),
    "inverse_sqrt-timescale": (
        InverseSqrtDecay(2e-3, 10, timescale=33),
        lambda t: ref.hf_inverse_sqrt(t, 2e-3, 10, 33),
    ),
    "inverse_sqrt-no-warmup": (
        InverseSqrtDecay(2e-3),
        lambda t: ref.hf_inverse_sqrt(t, 2e-3, 0),
    ),
    "constant_with_warmup": (
        ConstantWithWarmup(2e-3, 10),
        lambda t: ref.hf_constant_with_warmup(t, 2e-3, 10),
    ),
}


@pytest.mark.backends
def test_values_are_transformers_closed_forms():
    for name, (schedule, rate) in CASES.items():
        values = evaluate(schedule, STEPS)
        assert values.dtype == np.float32, name
        close(values, [rate(int(t)) for t in STEPS], schedule.peak_learning_rate)
        assert values.max() <= schedule.peak_learning_rate * (1 + 4 * F32), name
        assert values.min() >= schedule.floor_learning_rate * (1 - 4 * F32), name


def test_exact_values():
    """Where transformers' factor is exactly 1 or the end rate, so is the rate."""
    wsd = WarmupStableDecay(3e-3, 37, 110, 17, min_lr_ratio=0.1)
    values = evaluate(wsd, STEPS)
    assert np.all(values[17:56] == np.float32(3e-3))  # the stable phase
    assert values[0] == np.float32(3e-3) * np.float32(0.1)  # the warmup starts at B * m
    poly = evaluate(WarmupPolynomialDecay(2e-3, 100, 10, 1e-5, 2.0), STEPS)
    assert poly[0] == 0.0 and poly[10] == np.float32(2e-3)
    assert np.all(poly[100:] == np.float32(1e-5))
    constant = evaluate(ConstantWithWarmup(2e-3, 10), STEPS)
    assert constant[0] == 0.0 and np.all(constant[10:] == np.float32(2e-3))
    assert evaluate(InverseSqrtDecay(2e-3, 10), [10])[0] == np.float32(2e-3)


def test_registry_names():
    for name, cls in [
        ("wsd", WarmupStableDecay),
        ("polynomial", WarmupPolynomialDecay),
        ("inverse_sqrt", InverseSqrtDecay),
        ("constant_with_warmup", ConstantWithWarmup),
    ]:
        assert lr_tb.schedules.schedule_class(name) is cls
    s = lr_tb.schedules.get("wsd", learning_rate_base=1e-3, decay_steps=10, total_steps=50)
    assert s == WarmupStableDecay(1e-3, 10, 50)


# -- Warmup and Sequence ------------------------------------------------------------------
class CountingCosine(keras.optimizers.schedules.CosineDecay):
    """Keras' CosineDecay with warmup (an `ops.cond` on one scalar step), counting calls."""

    calls = 0

    def __call__(self, step):
        CountingCosine.calls += 1
        return super().__call__(step)


def keras_cosine():
    return CountingCosine(1e-3, 50, alpha=0.1, warmup_target=2e-3, warmup_steps=10)


def test_warmup_in_front_of_a_keras_and_an_lr_tb_schedule():
    for inner in (keras_cosine(), CosineRestarts(1e-3, 60, first_cycle_steps=20, m_mul=0.5)):
        s = Warmup(inner, warmup_steps=20, warmup_learning_rate=1e-4)
        values = evaluate(s, STEPS)
        first = per_step(inner, [0])[0]
        # a straight line from warmup_learning_rate to the wrapped schedule's step 0 ...
        line = 1e-4 + (np.float64(first) - 1e-4) * STEPS[:20] / 20
        close(values[:20], line, 2e-3)
        # ... then the wrapped schedule from its own step 0
        some = np.array([20, 21, 29, 30, 31, 45, 70, 139])  # around the inner warmup's end
        same(values[some], per_step(inner, some - 20), 2e-3)
    same(evaluate(Warmup(keras_cosine(), 0), STEPS[:3]), per_step(keras_cosine(), STEPS[:3]), 2e-3)


def test_sequence_starts_each_schedule_at_its_own_step_0():
    parts = [
        ConstantWithWarmup(1e-3, 5),
        keras_cosine(),
        Warmup(keras.optimizers.schedules.ExponentialDecay(5e-4, 10, 0.5), 3),
    ]
    s = Sequence(parts, boundaries=[40, 90])
    values = evaluate(s, STEPS)
    starts = [0, 40, 90]
    for part, start, end in zip(parts, starts, [*starts[1:], len(STEPS)], strict=True):
        some = np.array([start, start + 1, start + 7, end - 1])
        same(values[some], per_step(part, some - start), 2e-3)


@pytest.mark.backends
def test_vectorized_evaluate_is_one_call_and_equals_per_step_calls():
    """4096 steps in one vectorized call, a Keras scalar-step schedule inside included."""
    s = Sequence([Warmup(keras_cosine(), 100, 1e-5), ConstantWithWarmup(1e-4, 10)], [3000])
    CountingCosine.calls = 0
    steps = np.arange(4096)
    values = evaluate(s, steps)
    assert values.shape == (4096,) and CountingCosine.calls <= 2  # not one call per step
    some = np.array([99, 3000])  # one scalar step per part (a scalar cond is slow on JAX)
    same(values[some], per_step(s, some), 2e-3)


def nested():
    return Sequence(
        [
            Warmup(keras.optimizers.schedules.CosineDecay(1e-3, 40), 10, 1e-5),
            Warmup(WarmupStableDecay(5e-4, 10, 30, decay_type="1-sqrt"), 5),
        ],
        boundaries=[50],
    )


MODERN = [case[0] for case in CASES.values()] + [nested()]


@pytest.mark.parametrize("schedule", MODERN, ids=[*CASES, "nested"])
def test_config_round_trip(schedule):
    config = keras.saving.serialize_keras_object(schedule)
    assert config["registered_name"].startswith("lr_tb>")
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(schedule) and clone == schedule
    assert type(schedule).from_config(schedule.get_config()) == schedule
    np.testing.assert_array_equal(evaluate(clone, STEPS), evaluate(schedule, STEPS))
    if not isinstance(schedule, Sequence):
        # get_config returns exactly the constructor's arguments
        assert set(schedule.get_config()) == set(type(schedule)._config_keys)


def test_wrappers_get_config_holds_serialized_schedules():
    config = nested().get_config()
    assert config["boundaries"] == [50]
    inner = config["schedules"][0]["config"]["schedule"]
    assert inner["class_name"] == "CosineDecay" and inner["module"].startswith("keras")


def test_model_save_load_with_wrapped_schedules_in_the_optimizer(tmp_path):
    s = nested()
    model = bias_model(optimizer=keras.optimizers.SGD(learning_rate=s))
    x, y = zeros_data(24)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)  # 6 steps
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert int(loaded.optimizer.iterations) == 6
    assert loaded.optimizer._learning_rate == s
    bias = float(loaded.layers[-1].bias.numpy()[0])
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)  # steps 6, 7, 8
    used = bias - float(loaded.layers[-1].bias.numpy()[0])
    assert used == pytest.approx(float(np.sum(evaluate(s, [6, 7, 8]).astype(np.float64))), 1e-5)


def test_peak_and_floor_of_wrappers():
    w = Warmup(ConstantWithWarmup(1e-3, 5), 10, warmup_learning_rate=2e-3)
    assert (w.peak_learning_rate, w.floor_learning_rate) == (2e-3, 0.0)
    s = Sequence([InverseSqrtDecay(1e-3), WarmupStableDecay(3e-3, 5, 10, min_lr_ratio=0.5)], [7])
    assert (s.peak_learning_rate, s.floor_learning_rate) == (3e-3, 0.0)
    with pytest.raises(NotImplementedError, match="CosineDecay"):
        _ = Warmup(keras.optimizers.schedules.CosineDecay(1e-3, 10), 5).peak_learning_rate


# -- bad arguments ------------------------------------------------------------------------
KERAS_COSINE = keras.optimizers.schedules.CosineDecay(1e-3, 10)


@pytest.mark.parametrize(
    "make, error, text",
    [
        (lambda: WarmupStableDecay(0.0, 10, 50), ValueError, "learning_rate_base=0.0"),
        (lambda: WarmupStableDecay(1e-3, None, 50), TypeError, "decay_steps=None"),
        (lambda: WarmupStableDecay(1e-3, -1, 50), ValueError, "decay_steps=-1"),
        (lambda: WarmupStableDecay(1e-3, 10), ValueError, "`total_steps` and `stable_steps`"),
        (lambda: WarmupStableDecay(1e-3, 10, 50, stable_steps=5), ValueError, "not both"),
        (lambda: WarmupStableDecay(1e-3, 30, 50, 30), ValueError, "warmup_steps=30, decay"),
        (lambda: WarmupStableDecay(1e-3, 10, 50, decay_type="exp"), ValueError, "decay_type"),
        (lambda: WarmupStableDecay(1e-3, 10, 50, warmup_type=1), TypeError, "warmup_type=1"),
        (lambda: WarmupStableDecay(1e-3, 10, 50, min_lr_ratio=1.5), ValueError, "min_lr_ratio"),
        (lambda: WarmupStableDecay(1e-3, 10, 50, num_cycles=0), ValueError, "num_cycles=0"),
        (lambda: WarmupPolynomialDecay(1e-3, 10, 11), ValueError, "warmup_steps"),
        (lambda: WarmupPolynomialDecay(1e-3, 10, end_learning_rate=1e-3), ValueError, "end_l"),
        (lambda: WarmupPolynomialDecay(1e-3, 10, power=0), ValueError, "power=0"),
        (lambda: WarmupPolynomialDecay(1e-3, None), TypeError, "total_steps=None"),
        (lambda: InverseSqrtDecay(1e-3, timescale=0), ValueError, "timescale=0"),
        (lambda: InverseSqrtDecay(1e-3, warmup_steps=2.5), ValueError, "warmup_steps=2.5"),
        (lambda: ConstantWithWarmup("1e-3"), TypeError, "learning_rate_base='1e-3'"),
        (lambda: ConstantWithWarmup(1e-3, -2), ValueError, "warmup_steps=-2"),
        (lambda: Warmup(0.1, 10), TypeError, "schedule=0.1"),
        (lambda: Warmup(KERAS_COSINE, -1), ValueError, "warmup_steps=-1"),
        (lambda: Warmup(KERAS_COSINE, 5, -1.0), ValueError, "warmup_learning_rate=-1.0"),
        (lambda: Sequence([], []), ValueError, "schedules=[]"),
        (lambda: Sequence(KERAS_COSINE, []), TypeError, "schedules="),
        (lambda: Sequence([KERAS_COSINE, "x"], [3]), TypeError, "schedules='x'"),
        (lambda: Sequence([KERAS_COSINE] * 2, []), ValueError, "2 schedules need 1 boundary."),
        (lambda: Sequence([KERAS_COSINE], [5]), ValueError, "fewer than schedules: 1 schedule n"),
        (lambda: Sequence([KERAS_COSINE], [5]), ValueError, "needs 0 boundaries. Received: bou"),
        (lambda: Sequence([KERAS_COSINE] * 3, [5, 5]), ValueError, "boundaries[1] = 5 is not >"),
        (lambda: Sequence([KERAS_COSINE] * 3, [5, 5]), ValueError, "Received: boundaries=[5, 5]"),
        (lambda: Sequence([KERAS_COSINE] * 2, [0]), ValueError, "(boundaries[0] is 0). Receive"),
        (lambda: Sequence([KERAS_COSINE] * 2, [0]), ValueError, "Received: boundaries=[0]"),
        (lambda: Sequence([KERAS_COSINE] * 3, [2, 2.5]), ValueError, "boundaries[1] is 2.5"),
        (lambda: Sequence([KERAS_COSINE] * 2, ["3"]), TypeError, "boundaries=['3']"),
        (lambda: Sequence([KERAS_COSINE] * 2, 5), TypeError, "boundaries=5"),
    ],
)
def test_bad_arguments_name_the_argument(make, error, text):
    with pytest.raises(error, match="`") as info:  # names the argument
        make()
    assert text in str(info.value), str(info.value)
