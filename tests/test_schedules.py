"""lr_tb.schedules: closed-form values at every boundary, a sweep against the plain-Python
reference, equality with Keras' own schedules where definitions coincide, serialization,
model.save/load, the registry, and one contract test over every schedule."""

import math

import keras
import numpy as np
import pytest
import reference as ref

import lr_tb
from lr_tb.schedules import (
    Constant,
    CosineRestarts,
    ExponentialDecay,
    OneCycle,
    WarmupCosineDecay,
    evaluate,
)

pytestmark = pytest.mark.backends

F32 = 2.0**-23  # float32 relative precision: the schedules compute in float32


def close(actual, expected, peak):
    np.testing.assert_allclose(actual, expected, rtol=4 * F32, atol=8 * F32 * peak)


def at(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


# -- ExponentialDecay ----------------------------------------------------------------------
def test_exponential_boundaries():
    s = ExponentialDecay(1e-3, 0.9, steps_per_epoch=10, min_learning_rate=5e-4)
    close(at(s, 0), 1e-3, 1e-3)
    close(at(s, 9), 1e-3, 1e-3)  # last step of epoch 0
    close(at(s, 10), 9e-4, 1e-3)  # first step of epoch 1
    close(at(s, 29), 8.1e-4, 1e-3)
    close(at(s, 70), 5e-4, 1e-3)  # 0.9**7 * 1e-3 = 4.78e-4 < floor
    close(at(s, 10_000), 5e-4, 1e-3)


def test_exponential_sweep_matches_reference():
    s = ExponentialDecay(2e-3, 0.7, steps_per_epoch=7, min_learning_rate=1e-5)
    steps = np.arange(0, 300)
    expected = [ref.exponential(t, 2e-3, 0.7, 7, 1e-5) for t in steps]
    close(evaluate(s, steps), expected, 2e-3)


def test_exponential_equals_keras_staircase_without_floor():
    ours = ExponentialDecay(1e-2, 0.8, steps_per_epoch=13)
    keras_s = keras.optimizers.schedules.ExponentialDecay(1e-2, 13, 0.8, staircase=True)
    steps = np.arange(200)
    close(evaluate(ours, steps), evaluate(keras_s, steps), 1e-2)


# -- WarmupCosineDecay ---------------------------------------------------------------------
WC = dict(
    learning_rate_base=1e-3,
    total_steps=100,
    warmup_learning_rate=1e-4,
    warmup_steps=10,
    hold_steps=6,
    min_learning_rate=2e-5,
)


def wc_ref(t):
    return ref.warmup_cosine(t, 1e-3, 100, 1e-4, 10, 6, 2e-5)


@pytest.mark.parametrize(
    "step, expected",
    [
        (0, 1e-4),  # warmup start
        (5, 1e-4 + (1e-3 - 1e-4) * 0.5),  # mid-warmup
        (9, 1e-4 + (1e-3 - 1e-4) * 0.9),  # last warmup step
        (10, 1e-3),  # end of warmup = peak
        (15, 1e-3),  # last hold step
        (16, 1e-3),  # first cosine step (cos(0) = 1)
        (58, 2e-5 + 0.5 * (1e-3 - 2e-5)),  # cosine midpoint: (58 - 16) / 84 = 0.5
        (99, 2e-5 + 0.5 * (1e-3 - 2e-5) * (1 + math.cos(math.pi * 83 / 84))),  # last step
        (100, 2e-5),  # total_steps: floor
        (10**6, 2e-5),  # far past the end
    ],
)
def test_warmup_cosine_boundaries(step, expected):
    close(at(WarmupCosineDecay(**WC), step), expected, 1e-3)


def test_warmup_cosine_sweep_matches_reference():
    steps = np.arange(0, 130)
    close(evaluate(WarmupCosineDecay(**WC), steps), [wc_ref(t) for t in steps], 1e-3)


def test_warmup_cosine_ends_at_floor_not_clipped_zero():
    # The article's version decays to 0 and clips at the floor: flat well before the end.
    s = WarmupCosineDecay(1e-3, total_steps=100, min_learning_rate=5e-4)
    values = evaluate(s, np.arange(100))
    assert np.all(np.diff(values) < 0)  # strictly decreasing all the way: never clipped
    assert values[-1] > 5e-4


def test_warmup_cosine_without_warmup_or_decay_segment():
    close(at(WarmupCosineDecay(1e-3, 10), 0), 1e-3, 1e-3)
    s = WarmupCosineDecay(1e-3, 10, warmup_steps=4, hold_steps=6, min_learning_rate=1e-5)
    close(evaluate(s, [3, 4, 9, 10]), [1e-3 * 3 / 4, 1e-3, 1e-3, 1e-5], 1e-3)


def test_warmup_cosine_equals_keras_cosine_decay_where_they_coincide():
    # Keras: warmup from initial to warmup_target over warmup_steps, then decay_steps more.
    keras_s = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=1e-4, decay_steps=80, alpha=0.1, warmup_target=1e-3, warmup_steps=20
    )
    ours = WarmupCosineDecay(
        1e-3,
        total_steps=100,
        warmup_learning_rate=1e-4,
        warmup_steps=20,
        min_learning_rate=0.1 * 1e-3,
    )
    steps = np.arange(0, 120)
    close(evaluate(ours, steps), evaluate(keras_s, steps), 1e-3)


# -- CosineRestarts ------------------------------------------------------------------------
ARTICLE = [0.05, 0.15, 0.30, 0.50]


def test_restarts_article_form_cycles_and_boundaries():
    s = CosineRestarts(
        1e-3,
        200,
        restarts=ARTICLE,
        warmup_learning_rate=1e-4,
        warmup_fraction=0.1,
        hold_fraction=0.1,
        min_learning_rate=1e-5,
    )
    assert s.cycle_starts() == [0.0, 10.0, 30.0, 60.0, 100.0]
    cycles = ref.cycles_from_restarts(ARTICLE, 200)
    assert cycles == [(0, 10), (10, 30), (30, 60), (60, 100), (100, 200)]

    def r(t):
        return ref.cosine_restarts(t, 1e-3, 200, cycles, 1.0, 1e-4, 0.1, 0.1, 1e-5)

    # each restart jumps back to the warmup start; warmup ends at the peak
    for start, end in cycles:
        length = end - start
        close(at(s, start), 1e-4, 1e-3)
        close(at(s, start + 0.1 * length), 1e-3, 1e-3) if (0.1 * length) % 1 == 0 else None
        close(at(s, end - 1), r(end - 1), 1e-3)
    close(at(s, 12), 1e-3, 1e-3)  # warmup of cycle 1 is 2 steps: step 12 is the peak
    close(at(s, 200), 1e-5, 1e-3)
    steps = np.arange(0, 230)
    close(evaluate(s, steps), [r(t) for t in steps], 1e-3)


def test_restarts_are_placed_like_the_article_truncated():
    # the article restarts at int(f * total): 3.85, 11.55, 23.1, 38.5 -> 3, 11, 23, 38
    s = CosineRestarts(1.0, 77, restarts=ARTICLE, warmup_fraction=0.25, min_learning_rate=0.1)
    assert s.cycle_starts() == [0.0, 3.0, 11.0, 23.0, 38.0]
    assert ref.cycles_from_restarts(ARTICLE, 77) == [(0, 3), (3, 11), (11, 23), (23, 38), (38, 77)]
    assert lr_tb.schedules.cosine_restarts.restart_steps(ARTICLE, 77) == [3, 11, 23, 38]
    for restart in (3, 11, 23, 38):  # each restart steps back down to the warmup start
        assert at(s, restart - 1) > at(s, restart) == pytest.approx(0.0, abs=1e-7)
    cycles = ref.cycles_from_restarts(ARTICLE, 77)
    steps = np.arange(0, 80)
    expected = [
        ref.cosine_restarts(t, 1.0, 77, cycles, warmup_fraction=0.25, floor=0.1) for t in steps
    ]
    close(evaluate(s, steps), expected, 1.0)


@pytest.mark.parametrize(
    ("restarts", "total", "expected"),
    [
        ([0.07, 0.14], 100, [7, 14]),  # 7.000000000000001, 14.000000000000002
        ([0.29], 100, [28]),  # 28.999999999999996: the article's float64 product, truncated
        ([0.57, 0.58], 100, [56, 57]),  # 56.99999999999999, 57.99999999999999
        ([0.5, 0.999], 1000, [500, 999]),
    ],
)
def test_restart_steps_are_the_float64_product_truncated(restarts, total, expected):
    assert [int(r * total) for r in restarts] == expected  # what the article's Python gives
    assert lr_tb.schedules.cosine_restarts.restart_steps(restarts, total) == expected
    s = CosineRestarts(1.0, total, restarts=restarts)
    assert s.cycle_starts() == [0.0, *map(float, expected)]


def test_restarts_a_cycle_truncated_to_nothing_is_refused():
    # 0.19 * 10 = 1.9 and 0.2 * 10 = 2.0 truncate to 1 and 2: fine; 0.05 * 10 = 0.5 -> 0 is not
    CosineRestarts(1.0, 10, restarts=[0.19, 0.2])
    with pytest.raises(
        ValueError, match=r"restart steps int\(fraction \* total_steps\) are \[0, 1\]"
    ):
        CosineRestarts(1.0, 10, restarts=[0.05, 0.15])
    with pytest.raises(ValueError, match=r"are \[1, 1\] for total_steps=10"):
        CosineRestarts(1.0, 10, restarts=[0.15, 0.19])


def test_restarts_sgdr_form_matches_reference_with_warmup_and_floor():
    s = CosineRestarts(
        1e-3,
        700,
        first_cycle_steps=20,
        t_mul=2.0,
        m_mul=0.5,
        warmup_learning_rate=1e-4,
        warmup_fraction=0.2,
        min_learning_rate=1e-5,
    )
    cycles = ref.cycles_sgdr(20, 2.0, 700)
    assert s.cycle_starts() == [c[0] for c in cycles] == [0, 20, 60, 140, 300, 620]
    steps = np.arange(0, 720)
    expected = [ref.cosine_restarts(t, 1e-3, 700, cycles, 0.5, 1e-4, 0.2, 0.0, 1e-5) for t in steps]
    close(evaluate(s, steps), expected, 1e-3)
    # peaks after each warmup: 1e-3 * 0.5**i
    for i, (start, end) in enumerate(cycles[:4]):
        close(at(s, start + 0.2 * (end - start)), 1e-3 * 0.5**i, 1e-3)


def test_restarts_sgdr_equals_keras_cosine_decay_restarts():
    keras_s = keras.optimizers.schedules.CosineDecayRestarts(1e-3, 10, t_mul=2.0, m_mul=0.5)
    ours = CosineRestarts(1e-3, total_steps=10_000, first_cycle_steps=10, t_mul=2.0, m_mul=0.5)
    steps = np.arange(0, 1300)
    close(evaluate(ours, steps), evaluate(keras_s, steps), 1e-3)


def test_restarts_sgdr_constant_length():
    s = CosineRestarts(1.0, 50, first_cycle_steps=10)
    cycles = ref.cycles_sgdr(10, 1.0, 50)
    steps = np.arange(60)
    close(evaluate(s, steps), [ref.cosine_restarts(t, 1.0, 50, cycles) for t in steps], 1.0)


def test_restarts_non_integer_t_mul_indexes_cycles_exactly():
    s = CosineRestarts(1.0, 2000, first_cycle_steps=7, t_mul=1.5)
    cycles = ref.cycles_sgdr(7, 1.5, 2000)
    steps = np.arange(2000)
    close(evaluate(s, steps), [ref.cosine_restarts(t, 1.0, 2000, cycles) for t in steps], 1.0)


# -- every schedule: one contract ----------------------------------------------------------
EVERY = {
    "constant": Constant(3e-4),
    "exponential": ExponentialDecay(1e-3, 0.9, steps_per_epoch=5, min_learning_rate=1e-5),
    "warmup_cosine": WarmupCosineDecay(**WC),
    "cosine_restarts": CosineRestarts(
        1e-3,
        120,
        restarts=[0.25, 0.5],
        warmup_fraction=0.2,
        warmup_learning_rate=1e-5,
        min_learning_rate=1e-6,
    ),
    "sgdr": CosineRestarts(1e-3, 150, first_cycle_steps=10, t_mul=2.0, m_mul=0.8),
    "one_cycle": OneCycle(1e-2, 150, pct_start=0.25, anneal_strategy="linear"),
}


@pytest.mark.parametrize("name", sorted(EVERY))
def test_contract(name):
    s = EVERY[name]
    steps = np.arange(0, 200)
    values = evaluate(s, steps)
    assert values.dtype == np.float32 and values.shape == (200,)
    assert np.all(np.isfinite(values))
    assert np.all(values <= s.peak_learning_rate * (1 + 4 * F32))
    assert np.all(values >= s.floor_learning_rate * (1 - 4 * F32))
    # scalar calls agree with the vector call
    for t in (0, 1, 57, 199):
        assert at(s, t) == pytest.approx(float(values[t]), rel=4 * F32)
    # a LearningRateSchedule Keras can serialize and rebuild
    assert isinstance(s, keras.optimizers.schedules.LearningRateSchedule)
    config = keras.saving.serialize_keras_object(s)
    assert config["registered_name"].startswith("lr_tb>")
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(s) and clone.get_config() == s.get_config()
    np.testing.assert_array_equal(evaluate(clone, steps), values)
    # get_config returns exactly the constructor's arguments
    assert type(s)(**s.get_config()).get_config() == s.get_config()
    # usable directly by an optimizer
    assert float(keras.optimizers.Adam(learning_rate=s).learning_rate) == pytest.approx(
        float(values[0]), rel=4 * F32
    )


@pytest.mark.parametrize("name", sorted(EVERY))
def test_model_save_load_continues_with_same_rate(name, tmp_path):
    from conftest import bias_model, zeros_data

    s = EVERY[name]
    model = bias_model(optimizer=keras.optimizers.SGD(learning_rate=s))
    x, y = zeros_data(24)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)  # 6 steps
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert int(loaded.optimizer.iterations) == 6
    assert loaded.optimizer._learning_rate.get_config() == s.get_config()
    bias_before = float(loaded.layers[-1].bias.numpy()[0])
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)  # steps 6, 7, 8
    used = float(loaded.layers[-1].bias.numpy()[0]) - bias_before
    assert -used == pytest.approx(
        float(np.sum(evaluate(s, [6, 7, 8]).astype(np.float64))), rel=1e-5
    )


# -- registry ------------------------------------------------------------------------------
def test_registry_names_and_get():
    assert lr_tb.schedules.names() == [
        "constant",
        "constant_with_warmup",
        "cosine_restarts",
        "exponential",
        "inverse_sqrt",
        "one_cycle",
        "polynomial",
        "warmup_cosine",
        "wsd",
    ]
    s = lr_tb.schedules.get("warmup_cosine", **WC)
    assert s == WarmupCosineDecay(**WC)
    assert isinstance(lr_tb.schedules.get("constant", learning_rate=0.1), Constant)


def test_registry_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"one of \['constant', .*'cosine_restarts'.*'cosin'"):
        lr_tb.schedules.get("cosin")
    with pytest.raises(TypeError, match="name"):
        lr_tb.schedules.get(3)


@pytest.mark.parametrize("name", ["cosine_restarts", "sgdr"])
def test_restarts_bulk_path_equals_the_train_step_path(name):
    # `values` evaluates each cycle with Python-float coefficients; the train step looks the
    # coefficients up per step. The same formula in float32: they may differ only where a
    # vectorized kernel (cos) rounds differently from the scalar one: by 1 ulp of the cosine,
    # i.e. at most 2 float32 ulps of the peak rate.
    s = EVERY[name]
    steps = np.arange(0, 200)
    per_step = np.float32([at(s, int(t)) for t in steps])
    peak_ulp = float(np.spacing(np.float32(s.peak_learning_rate)))
    np.testing.assert_allclose(s.values(steps), per_step, rtol=0, atol=2 * peak_ulp)
    np.testing.assert_allclose(
        s.values(steps), super(CosineRestarts, s).values(steps), rtol=0, atol=2 * peak_ulp
    )
    shuffled = np.random.default_rng(0).permutation(steps)
    # (even the order matters by an ulp: SIMD packets vs the scalar tail of a kernel)
    np.testing.assert_allclose(
        s.values(shuffled), s.values(steps)[shuffled], rtol=0, atol=2 * peak_ulp
    )


def test_a_short_cosine_late_in_the_run_keeps_float32_precision():
    """The README quick start's schedule: a 20-step cosine after 300 steps. Its angle is
    computed from the steps since the cosine began (exact), not as `t * a - start * a`,
    whose cancellation left 10.7 float32 ulps of the peak (a user's check found it)."""
    s = WarmupCosineDecay(1e-3, 320, warmup_steps=200, hold_steps=100, min_learning_rate=1e-6)
    steps = np.arange(280, 330)
    t = np.clip(steps - 300, 0, 20).astype(np.float64)
    expected = 1e-6 + 0.5 * (1e-3 - 1e-6) * (1 + np.cos(np.pi * t / 20))
    peak_ulp = float(np.spacing(np.float32(1e-3)))
    np.testing.assert_allclose(s.values(steps), expected, rtol=0, atol=1.5 * peak_ulp)
    scalar = np.float64([at(s, int(u)) for u in steps[::7]])  # the train step's path
    np.testing.assert_allclose(scalar, expected[::7], rtol=0, atol=1.5 * peak_ulp)


# -- tables on the host ----------------------------------------------------------------------
HOST = {
    **EVERY,
    "one_cycle_cos": OneCycle(1e-2, 150, pct_start=0.25),
    "constant_with_warmup": lr_tb.schedules.ConstantWithWarmup(1e-3, 20),
    "inverse_sqrt": lr_tb.schedules.InverseSqrtDecay(1e-3, warmup_steps=20),
    "polynomial": lr_tb.schedules.WarmupPolynomialDecay(1e-3, 150, 20, 1e-6, power=2.0),
    "wsd": lr_tb.schedules.WarmupStableDecay(
        1e-3, 60, 150, 20, warmup_type="cosine", decay_type="1-sqrt", min_lr_ratio=0.01
    ),
    "wsd_sqrt": lr_tb.schedules.WarmupStableDecay(1e-3, 60, 150, 20, warmup_type="1-sqrt"),
    "warmup": lr_tb.schedules.Warmup(ExponentialDecay(1e-3, 0.9, 7), 30, 1e-5),
    "sequence": lr_tb.schedules.Sequence(
        [Constant(5e-4), WarmupCosineDecay(1e-3, 100, 0.0, 10)], [60]
    ),
    "sgdr_many_cycles": CosineRestarts(1e-3, 2000, first_cycle_steps=20),  # > 64: `_rate`
}


@pytest.mark.parametrize("name", sorted(HOST))
def test_tables_on_the_host_agree_with_the_train_step(name):
    """`values` (a callback's table, a preview) runs the schedule's formula in NumPy; the
    train step runs it with the backend's ops. The same float32 arithmetic: they differ only
    where `cos`, `sqrt` or `power` round differently, by at most 2 float32 ulps of the peak."""
    s = HOST[name]
    steps = np.arange(0, 2100)
    host = s.values(steps)
    assert host.dtype == np.float32 and host.shape == steps.shape
    peak_ulp = float(np.spacing(np.float32(s.peak_learning_rate)))
    np.testing.assert_allclose(host, s._backend_values(steps), rtol=0, atol=2 * peak_ulp)
    some = np.array([0, 1, 19, 20, 59, 60, 61, 149, 150, 1999])
    scalar = np.float32([at(s, int(t)) for t in some])  # one step, in the train step's path
    np.testing.assert_allclose(host[some], scalar, rtol=0, atol=2 * peak_ulp)
    two_d = steps[:200].reshape(20, 10)  # any shape
    np.testing.assert_array_equal(s.values(two_d), host[:200].reshape(20, 10))


def test_tables_are_computed_without_a_backend_op(monkeypatch):
    """A table of lr_tb's schedules costs no backend op (tens of microseconds, where a dozen
    eager ops cost milliseconds at every fit): every `keras.ops` function raises here."""
    calls = []

    def forbidden(name):
        def raise_(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"keras.ops.{name} called while computing a table")

        return raise_

    for name in dir(keras.ops):
        if not name.startswith("_") and callable(getattr(keras.ops, name)):
            monkeypatch.setattr(keras.ops, name, forbidden(name))
    steps = np.arange(0, 300)
    for s in HOST.values():
        evaluate(s, steps)
    HOST["one_cycle_cos"].momentum(steps)
    assert calls == []


def test_a_subclass_written_without_ops_is_evaluated_through_the_backend():
    """A `StepSchedule` subclass whose `_rate(step, dtype)` predates the `ops` argument (it
    uses `keras.ops` itself) still gives its tables, through the backend."""

    class Halving(lr_tb.schedules.StepSchedule):
        def _rate(self, step, dtype):
            return 0.1 * keras.ops.power(0.5, keras.ops.floor_divide(step, 10.0))

    values = evaluate(Halving(), np.arange(30))
    np.testing.assert_array_equal(values, np.float32([0.1] * 10 + [0.05] * 10 + [0.025] * 10))
    warmed = evaluate(lr_tb.schedules.Warmup(Halving(), 10, 0.0), np.arange(0, 30, 5))
    np.testing.assert_array_equal(warmed, np.float32([0.0, 0.05, 0.1, 0.1, 0.05, 0.05]))


def test_restarts_cycle_count_is_bounded_at_construction():
    with pytest.raises(ValueError, match="at most 10000 cycles"):
        CosineRestarts(1.0, 10**6, first_cycle_steps=1)


# -- OneCycle ------------------------------------------------------------------------------
def torch_one_cycle(total, **kwargs):
    """Rates and momenta of torch.optim.lr_scheduler.OneCycleLR (SGD with momentum), steps
    0..total-1 (float64)."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, total_steps=total, **kwargs)
    rates, momenta = [], []
    for step in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        if step < total - 1:
            scheduler.step()
    return np.array(rates), np.array(momenta)


def one_cycle_reference(t, total, max_lr, pct_start=0.3, div=25.0, final_div=1e4, cos=True):
    """OneCycleLR.get_lr (three_phase=False), transcribed in plain Python."""
    initial = max_lr / div
    phases = [
        (float(pct_start * total) - 1, initial, max_lr),
        (total - 1, max_lr, initial / final_div),
    ]
    start_step = 0.0
    for i, (end_step, a, b) in enumerate(phases):
        if t <= end_step or i == len(phases) - 1:
            pct = (t - start_step) / (end_step - start_step)
            if cos:
                return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
            return (b - a) * pct + a
        start_step = end_step


@pytest.mark.parametrize(
    "total, kwargs",
    [
        (100, {}),
        (37, {"pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0}),
        (5, {"pct_start": 0.5, "final_div_factor": 100.0}),
        (1, {}),
    ],
)
def test_one_cycle_matches_torch_one_cycle_lr(total, kwargs):
    """Rate and momentum equal torch's OneCycleLR and its published formula, up to float32
    (torch itself is not imported on JAX: its import alone takes seconds of CI there)."""
    max_lr = 0.5
    schedule = OneCycle(max_lr, total, **kwargs)
    steps = np.arange(total)
    cos = kwargs.get("anneal_strategy", "cos") == "cos"
    args = {k: v for k, v in kwargs.items() if k != "anneal_strategy"}
    args = {
        {"div_factor": "div", "final_div_factor": "final_div"}.get(k, k): v for k, v in args.items()
    }
    formula = [one_cycle_reference(t, total, max_lr, cos=cos, **args) for t in steps]
    close(evaluate(schedule, steps), formula, max_lr)
    if keras.backend.backend() != "jax":
        rates, momenta = torch_one_cycle(total, max_lr=max_lr, **kwargs)
        np.testing.assert_allclose(rates, formula, rtol=1e-12)
        close(evaluate(schedule, steps), rates, max_lr)
        np.testing.assert_allclose(schedule.momentum(steps), momenta, rtol=0, atol=4 * F32)
    # past the end: the final rate, held
    final = max_lr / kwargs.get("div_factor", 25.0) / kwargs.get("final_div_factor", 1e4)
    assert at(schedule, total + 5) == pytest.approx(final, rel=1e-3)


def test_one_cycle_boundaries_and_arguments():
    s = OneCycle(1.0, 100)  # rise over steps 0..29, peak at step 29
    assert at(s, 0) == pytest.approx(1.0 / 25.0, rel=4 * F32)
    assert at(s, 29) == pytest.approx(1.0, rel=4 * F32)
    assert at(s, 99) == pytest.approx(1.0 / 25.0 / 1e4, rel=1e-3)
    np.testing.assert_allclose(s.momentum([0, 29, 99]), [0.95, 0.85, 0.95], atol=4 * F32)
    with pytest.raises(ValueError, match=r"pct_start.*\[0, 1\].*1.5"):
        OneCycle(1.0, 100, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy.*'cosine'"):
        OneCycle(1.0, 100, anneal_strategy="cosine")
    with pytest.raises(TypeError, match="total_steps"):
        OneCycle(1.0, None)
    with pytest.raises(ValueError, match="max_momentum"):
        s.momentum([0], max_momentum=1.5)
