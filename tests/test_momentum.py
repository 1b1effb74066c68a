"""Momentum / beta_1 cycling (lr_tb.OneCycleScheduler) and the momentum and weight-decay
curves (`log_momentum`, `log_weight_decay`) of every lr_tb callback.

- SGD: the momentum each update APPLIED is proved from the bias of a probe model (gradient
  exactly 1: velocity v = f32(f32(m * v) - lr), bias += v, replayed on the host in float32),
  and equals the logged curve and the closed form bit for bit.
- Adam family: the logged beta_1 is the formula's, and the weights equal those of a reference
  run in which beta_1 and the rate are set by hand before each step (run eagerly).
- After the fit the optimizer's attribute is its own plain float again; a plain fit uses it.
"""

import keras
import numpy as np
import pytest
from conftest import BiasProbe, bias_model, read_scalars, zeros_data

import lr_tb
from lr_tb import _slot, tags
from lr_tb.schedules import OneCycle

ULPS = 2 * 2.0**-23  # two float32 ulps of a value in [0.5, 1)


def replay_sgd_momentum(rates, momenta, bias0=0.0, velocity0=0.0, fused=False):
    """-bias after each step of Keras' SGD (non-Nesterov) with a gradient of exactly 1, in
    float32: velocity = momentum * velocity - rate (`fused`: one rounding, as XLA's fused
    multiply-add on CPU computes it), bias += velocity."""
    bias, velocity = np.float32(bias0), np.float32(velocity0)
    out = [-bias]
    for rate, momentum in zip(rates, momenta, strict=True):
        m, r = np.float32(momentum), np.float32(rate)
        if fused:  # the product of two float32 is exact in float64
            velocity = np.float32(np.float64(velocity) * np.float64(m) - np.float64(r))
        else:
            velocity = np.float32(np.float32(velocity * m) - r)
        bias = np.float32(bias + velocity)
        out.append(-bias)
    return out


def assert_probe_replays(probe, rates, momenta, first_step=0, bias0=0.0, velocity0=0.0):
    """Every -bias the probe saw equals the float32 replay (with or without a fused
    multiply-add, the same for every step) of these rates and momenta."""
    assert probe.points
    seen = [np.float32(minus_bias) for _, minus_bias in probe.points]
    replays = [
        [replay[step - first_step] for step, _ in probe.points]
        for replay in (
            replay_sgd_momentum(rates, momenta, bias0, velocity0, fused) for fused in (False, True)
        )
    ]
    assert seen in replays, (seen, replays)


@pytest.mark.backends
def test_one_cycle_sgd_momentum_applied_logged_and_closed_form_agree(tmp_path):
    x, y = zeros_data(40)  # 5 steps per epoch, 2 epochs
    model = bias_model(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    cb = lr_tb.OneCycleScheduler(max_lr=0.5, log_dir=str(tmp_path), log_momentum=True)
    probe = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb, probe])
    schedule = OneCycle(0.5, 10)
    rates, momenta = schedule.values(np.arange(10)), schedule.momentum(np.arange(10))
    assert np.all(np.diff(momenta[:3]) < 0) and np.all(np.diff(momenta[3:]) > 0)
    steps, logged_rates = read_scalars(str(tmp_path / "train"))
    steps_m, logged_momenta = read_scalars(str(tmp_path / "train"), tags.MOMENTUM)
    assert steps == steps_m == list(range(10))
    # the closed form, up to the rounding of a vectorized float32 cosine (the callback
    # evaluates 4,096 steps at a time)
    np.testing.assert_allclose(logged_rates, rates, rtol=0, atol=ULPS * 0.5)
    np.testing.assert_allclose(logged_momenta, momenta, rtol=0, atol=ULPS)
    assert cb.momentums == logged_momenta.tolist() and cb.learning_rates == logged_rates.tolist()
    # what was APPLIED is what was logged, bit for bit
    assert_probe_replays(probe, logged_rates, logged_momenta)
    # after the fit: the optimizer's own plain float, and a plain fit uses it
    assert type(model.optimizer.momentum) is float and model.optimizer.momentum == 0.9
    assert model.optimizer.get_config()["momentum"] == 0.9
    bias0 = float(keras.ops.convert_to_numpy(model.layers[-1].bias)[0])
    velocity0 = keras.ops.convert_to_numpy(model.optimizer.momentums[-1])[0]  # the bias's
    probe2 = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[probe2])
    last = logged_rates[-1]  # the rate variable holds the last applied rate
    assert_probe_replays(probe2, [last] * 5, [0.9] * 5, 10, bias0, velocity0)
    # the momentum slot's variables stay out of checkpoints
    slot = _slot.slot_of(model.optimizer)
    assert all(slot.is_own(v) for v in slot.momentum.variables)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.optimizer.momentum == 0.9
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables) - 6  # 3 + 3


def train_adam(optimizer, callbacks, run_eagerly=False):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", run_eagerly=run_eagerly)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 3)).astype("float32"), rng.normal(size=(24, 1)).astype("float32")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False, callbacks=callbacks)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


class HandSet(keras.callbacks.Callback):
    """The reference: rate and beta_1 set by hand before each step (the model runs eagerly,
    so the Python attribute is read at every step)."""

    def __init__(self, rates, betas):
        super().__init__()
        self.rates, self.betas = rates, betas

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        step = int(keras.ops.convert_to_numpy(optimizer.iterations))
        optimizer.learning_rate.assign(float(self.rates[step]))
        optimizer.beta_1 = float(self.betas[step])


@pytest.mark.backends
def test_adamw_beta_1_and_weight_decay_match_a_hand_set_reference(tmp_path):
    cb = lr_tb.OneCycleScheduler(
        max_lr=0.05, log_dir=str(tmp_path), log_momentum=True, log_weight_decay=True
    )
    weights = train_adam(keras.optimizers.AdamW(0.01, weight_decay=0.05), [cb])
    schedule = OneCycle(0.05, 6)
    rates, betas = schedule.values(np.arange(6)), schedule.momentum(np.arange(6))
    steps, logged = read_scalars(str(tmp_path / "train"), tags.BETA_1)
    assert steps == list(range(6))
    np.testing.assert_allclose(logged, betas, rtol=0, atol=ULPS)
    logged_rates = np.float32(cb.learning_rates)
    np.testing.assert_allclose(logged_rates, rates, rtol=0, atol=ULPS * 0.05)
    _, decay = read_scalars(str(tmp_path / "train"), tags.EFFECTIVE_WEIGHT_DECAY)
    np.testing.assert_array_equal(decay, np.float32(0.05) * logged_rates)
    assert cb.weight_decays == decay.tolist()
    reference = train_adam(
        keras.optimizers.AdamW(0.01, weight_decay=0.05), [HandSet(logged_rates, logged)], True
    )
    for a, b in zip(weights, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_logging_beta_1_changes_no_bit_of_training(tmp_path):
    """A logger with log_momentum on a plain Adam: beta_1 logged as applied (float32 of 0.9),
    the weights bit-identical to a run without lr_tb (the own path computes `1 - beta_1` as
    Keras does, in double precision)."""
    logger = lr_tb.LearningRateLogger(str(tmp_path), log_momentum=True, log_weight_decay=True)
    weights = train_adam(keras.optimizers.Adam(0.01), [logger])
    plain = train_adam(keras.optimizers.Adam(0.01), [])
    for a, b in zip(weights, plain, strict=True):
        np.testing.assert_array_equal(a, b)
    steps, betas = read_scalars(str(tmp_path / "train"), tags.BETA_1)
    assert steps == list(range(6)) and np.all(betas == np.float32(0.9))
    _, decay = read_scalars(str(tmp_path / "train"), tags.EFFECTIVE_WEIGHT_DECAY)
    assert np.all(decay == 0.0)  # Adam without weight_decay


def test_plateau_logs_the_momentum_it_leaves_alone(tmp_path):
    x, y = zeros_data(40)
    model = bias_model(optimizer=keras.optimizers.SGD(0.1, momentum=0.8))
    cb = lr_tb.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, log_dir=str(tmp_path), log_momentum=True
    )
    probe = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb, probe])
    steps, momenta = read_scalars(str(tmp_path / "train"), tags.MOMENTUM)
    assert steps == list(range(10)) and np.all(momenta == np.float32(0.8))
    assert_probe_replays(probe, cb.learning_rates, momenta)


def test_lr_tb_tensorboard_logs_momentum(tmp_path):
    x, y = zeros_data(16)
    model = bias_model(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    tb = lr_tb.TensorBoard(str(tmp_path), log_momentum=True)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[tb])
    steps, momenta = read_scalars(str(tmp_path / "train"), tags.MOMENTUM)
    assert steps == [0, 1] and np.all(momenta == np.float32(0.5))


def test_a_logger_beside_a_scheduler_writes_only_what_the_scheduler_does_not(tmp_path):
    x, y = zeros_data(16)
    model = bias_model(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    scheduler = lr_tb.OneCycleScheduler(0.5, log_dir=str(tmp_path))
    logger = lr_tb.LearningRateLogger(str(tmp_path), log_momentum=True)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[scheduler, logger])
    run = str(tmp_path / "train")
    steps, rates = read_scalars(run)
    steps_m, momenta = read_scalars(run, tags.MOMENTUM)
    assert steps == steps_m == [0, 1, 2, 3]  # each point once
    assert rates.tolist() == scheduler.learning_rates
    assert momenta.tolist() == logger.momentums
    np.testing.assert_allclose(momenta, OneCycle(0.5, 4).momentum(np.arange(4)), atol=ULPS)


@pytest.mark.parametrize("optimizer", ["Nadam", "Adamax"])
def test_nadam_and_adamax_beta_1_match_a_hand_set_reference(optimizer):
    cb = lr_tb.OneCycleScheduler(max_lr=0.05, log_momentum=True)
    make = getattr(keras.optimizers, optimizer)
    weights = train_adam(make(0.01), [cb])
    reference = train_adam(
        make(0.01), [HandSet(np.float32(cb.learning_rates), np.float32(cb.momentums))], True
    )
    for a, b in zip(weights, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_refused_optimizers_and_arguments():
    x, y = zeros_data(16)
    for optimizer, match in [
        (keras.optimizers.SGD(0.1), r"momentum > 0.*momentum=0.0"),
        (keras.optimizers.RMSprop(0.1, momentum=0.9), "Received: optimizer=RMSprop"),
    ]:
        model = bias_model(optimizer=optimizer)
        with pytest.raises(TypeError, match=match):
            model.fit(x, y, verbose=0, callbacks=[lr_tb.OneCycleScheduler(0.1)])
        assert _slot.slot_of(model.optimizer) is None  # refused before anything
    # without cycling, any optimizer
    model = bias_model(optimizer=keras.optimizers.RMSprop(0.1))
    model.fit(x, y, verbose=0, callbacks=[lr_tb.OneCycleScheduler(0.1, cycle_momentum=False)])
    with pytest.raises(ValueError, match="base_momentum"):
        lr_tb.OneCycleScheduler(0.1, base_momentum=-0.1)
    with pytest.raises(TypeError, match="log_momentum"):
        lr_tb.LearningRateLogger("logs", log_momentum="yes")
    with pytest.raises(ValueError, match="pct_start"):
        lr_tb.OneCycleScheduler(0.1, pct_start=2.0)
