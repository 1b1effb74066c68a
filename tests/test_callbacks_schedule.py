"""ScheduleCallback and the article's schedulers, in real `fit` calls: the rate each step
used (recovered from the weights), `learning_rates`, and the event files read back from disk
must all equal the closed form, one point per step."""

import copy
import os

import keras
import numpy as np
import pytest
import reference as ref
from conftest import (
    EXECUTION_SIZES,
    BiasProbe,
    assert_applied,
    assert_applied_exactly,
    bias_model,
    event_files,
    keras_tags,
    read_scalars,
    requires_tensorflow,
    zeros_data,
)

import lr_tb
from lr_tb import _slot, tags

pytestmark = pytest.mark.backends

# 40 samples, batch 8: 5 steps per epoch; 3 epochs: 15 steps.
SPE, EPOCHS = 5, 3
TOTAL = SPE * EPOCHS


def make(name, log_dir=None, **kw):
    """(callback, closed form rate of absolute step t) for each way of scheduling."""
    if name == "exponential":
        cb = lr_tb.ExponentialDecayScheduler(
            1e-2, 0.5, min_learning_rate=2e-3, log_dir=log_dir, **kw
        )
        return cb, lambda t: ref.exponential(t, 1e-2, 0.5, SPE, 2e-3)
    if name == "warmup_cosine":
        cb = lr_tb.WarmupCosineDecayScheduler(
            1e-2,
            warmup_learning_rate=1e-3,
            warmup_steps=4,
            hold_steps=2,
            min_learning_rate=1e-4,
            log_dir=log_dir,
            **kw,
        )
        return cb, lambda t: ref.warmup_cosine(t, 1e-2, TOTAL, 1e-3, 4, 2, 1e-4)
    if name == "cosine_restarts":
        cb = lr_tb.CosineRestartsScheduler(
            1e-2,
            restarts=[0.2, 0.6],
            warmup_fraction=0.25,
            warmup_learning_rate=1e-3,
            min_learning_rate=1e-4,
            log_dir=log_dir,
            **kw,
        )
        cycles = ref.cycles_from_restarts([0.2, 0.6], TOTAL)
        return cb, lambda t: ref.cosine_restarts(t, 1e-2, TOTAL, cycles, 1.0, 1e-3, 0.25, 0.0, 1e-4)
    if name == "sgdr_epochs":
        cb = lr_tb.CosineRestartsScheduler(
            1e-2, first_cycle_epochs=1, t_mul=2.0, m_mul=0.5, log_dir=log_dir, **kw
        )
        cycles = ref.cycles_sgdr(SPE, 2.0, TOTAL)
        return cb, lambda t: ref.cosine_restarts(t, 1e-2, TOTAL, cycles, 0.5)
    if name == "keras_cosine":
        s = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=12, alpha=0.1)
        cb = lr_tb.ScheduleCallback(s, log_dir=log_dir, **kw)
        return cb, lambda t: 1e-2 * (0.9 * 0.5 * (1 + np.cos(np.pi * min(t, 12) / 12)) + 0.1)
    raise KeyError(name)


NAMES = ["exponential", "warmup_cosine", "cosine_restarts", "sgdr_epochs", "keras_cosine"]


def assert_plain_rate(model):
    """No lr_tb schedule is applied: a plain fit now uses the optimizer's own rate."""
    slot = _slot.slot_of(model.optimizer)
    assert slot is None or (int(slot.base.numpy()) == _slot.OFF and slot.owner is None)


def expected(rate, steps):
    return np.asarray([rate(t) for t in steps], dtype=np.float64)


@pytest.mark.parametrize("spe", EXECUTION_SIZES)
@pytest.mark.parametrize("name", NAMES)
def test_fit_applies_and_logs_every_step(name, spe, tmp_path):
    log_dir = str(tmp_path / "run")
    cb, rate = make(name, log_dir)
    model = bias_model(steps_per_execution=spe)
    probe = BiasProbe()
    x, y = zeros_data()
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(log_dir), cb, probe],
    )
    want = expected(rate, range(TOTAL))
    # 1. the history list: every step, in order, equal to the closed form
    assert cb.steps == list(range(TOTAL))
    np.testing.assert_allclose(cb.learning_rates, want, rtol=1e-6, atol=1e-9)
    # 2. the rate the optimizer really used at each step (from the weight updates)
    assert_applied(probe, cb.learning_rates)
    # 3. the event files: one point per step, the same float32 values, in Keras' run
    steps, values = read_scalars(os.path.join(log_dir, "train"))
    assert steps == list(range(TOTAL))
    np.testing.assert_array_equal(values, np.float32(cb.learning_rates))
    assert {"epoch_loss", tags.LEARNING_RATE} <= keras_tags(os.path.join(log_dir, "train"))
    assert len(event_files(os.path.join(log_dir, "train"))) == 2  # Keras' and ours
    # 4. the epoch logs (History, Keras' TensorBoard) get the epoch's last rate
    np.testing.assert_allclose(
        history.history["learning_rate"],
        [cb.learning_rates[SPE * (e + 1) - 1] for e in range(EPOCHS)],
    )


MODERN = {
    # total 15 steps: decay 5 (one epoch), stable 7
    "wsd": (
        lambda d: lr_tb.WarmupStableDecayScheduler(
            1e-2, decay_epochs=1, warmup_steps=3, decay_type="1-sqrt", min_lr_ratio=0.1, log_dir=d
        ),
        lambda t: ref.hf_wsd(t, 1e-2, 3, SPE, TOTAL, None, "linear", "1-sqrt", 0.1),
    ),
    "polynomial": (
        lambda d: lr_tb.WarmupPolynomialDecayScheduler(
            1e-2, warmup_epochs=1, end_learning_rate=1e-4, power=2.0, log_dir=d
        ),
        lambda t: ref.hf_polynomial(t, 1e-2, SPE, TOTAL, 1e-4, 2.0),
    ),
    "inverse_sqrt": (
        lambda d: lr_tb.InverseSqrtDecayScheduler(1e-2, warmup_steps=4, log_dir=d),
        lambda t: ref.hf_inverse_sqrt(t, 1e-2, 4),
    ),
    "constant_with_warmup": (
        lambda d: lr_tb.ConstantWithWarmupScheduler(1e-2, warmup_epochs=0.8, log_dir=d),
        lambda t: ref.hf_constant_with_warmup(t, 1e-2, 4),
    ),
    # Keras' own schedule behind lr_tb's warmup, from its own step 0 at step 6
    "warmup_keras_cosine": (
        lambda d: lr_tb.ScheduleCallback(
            lr_tb.schedules.Warmup(
                keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=6, alpha=0.1), 6, 1e-3
            ),
            log_dir=d,
        ),
        lambda t: (
            1e-3 + 9e-3 * t / 6
            if t < 6
            else 1e-2 * (0.9 * 0.5 * (1 + np.cos(np.pi * min(t - 6, 6) / 6)) + 0.1)
        ),
    ),
}


@pytest.mark.parametrize("name", list(MODERN))
def test_modern_schedulers_log_what_they_apply(name, tmp_path):
    """transformers' shapes, and a warmup in front of Keras' cosine: logged == applied (bit for
    bit) == the closed form."""
    make_callback, rate = MODERN[name]
    cb = make_callback(str(tmp_path))
    probe = BiasProbe()
    x, y = zeros_data()
    bias_model().fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb, probe])
    assert_applied_exactly(probe, cb.learning_rates)
    steps, values = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(TOTAL))
    np.testing.assert_array_equal(values, np.float32(cb.learning_rates))
    np.testing.assert_allclose(values, expected(rate, steps), rtol=4 * 2.0**-23, atol=1e-9)


def test_modern_schedulers_check_arguments():
    with pytest.raises(ValueError, match="`decay_steps` and `decay_epochs`"):
        lr_tb.WarmupStableDecayScheduler(1e-3)
    with pytest.raises(ValueError, match="`warmup_steps` or `warmup_epochs`"):
        lr_tb.ConstantWithWarmupScheduler(1e-3, 5, warmup_epochs=1)
    with pytest.raises(ValueError, match="end_learning_rate=1.0"):
        lr_tb.WarmupPolynomialDecayScheduler(1e-3, end_learning_rate=1.0)
    with pytest.raises(TypeError, match="timescale='x'"):
        lr_tb.InverseSqrtDecayScheduler(1e-3, timescale="x")
    cb = lr_tb.WarmupStableDecayScheduler(1e-2, decay_steps=10, warmup_steps=8)
    model = bias_model()
    with pytest.raises(ValueError, match=r"warmup_steps=8, decay_steps=10, total_steps=15.*3 \* 5"):
        model.fit(*zeros_data(), batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb])
    assert int(model.optimizer.iterations) == 0


def test_two_fits_continue_the_step_axis(tmp_path):
    log_dir = str(tmp_path)
    cb, rate = make("warmup_cosine", log_dir)
    model = bias_model()
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb])
    first = list(cb.learning_rates)
    probe = BiasProbe()
    bias0 = float(model.layers[-1].bias.numpy()[0])
    # second fit from epoch 0 ("three more epochs"): the inferred length spans this fit, so
    # its schedule runs anew from its own first step; the steps go on from 15
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb, probe])
    assert cb.steps == list(range(TOTAL, 2 * TOTAL))
    np.testing.assert_allclose(cb.learning_rates, expected(rate, range(TOTAL)), rtol=1e-6)
    assert_applied(probe, cb.learning_rates, first_step=TOTAL, bias0=bias0)
    steps, values = read_scalars(os.path.join(log_dir, "train"))
    assert steps == list(range(2 * TOTAL))  # each step exactly once, across both fits
    np.testing.assert_array_equal(values, np.float32(first + cb.learning_rates))


def test_already_traced_model_then_plain_fit_after(tmp_path):
    model = bias_model(learning_rate=0.5)
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # traces the train function at lr 0.5
    assert model.train_function is not None
    cb, rate = make("warmup_cosine")
    probe = BiasProbe()
    bias0 = float(model.layers[-1].bias.numpy()[0])
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb, probe])
    # the fit started at iterations=5 (> initial_epoch * spe = 0); its inferred length spans
    # this fit, so its schedule starts there
    assert cb.steps == list(range(SPE, SPE + TOTAL))
    np.testing.assert_allclose(cb.learning_rates, expected(rate, range(TOTAL)), rtol=1e-6)
    assert_applied(probe, cb.learning_rates, first_step=SPE, bias0=bias0)
    # afterwards: a plain fit works, at the rate of the last applied step
    last = cb.learning_rates[-1]
    assert float(model.optimizer.learning_rate) == pytest.approx(last, rel=1e-6)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(last, rel=1e-6)
    probe = BiasProbe()
    bias0 = float(model.layers[-1].bias.numpy()[0])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[probe])
    assert_applied(probe, [last] * SPE, first_step=SPE + TOTAL, bias0=bias0)
    model.optimizer.learning_rate = 0.25  # still settable
    assert float(model.optimizer.learning_rate) == 0.25


def test_initial_epoch_beyond_iterations_shifts_the_axis(tmp_path):
    # a continued run whose optimizer was rebuilt (iterations back at 0), as Hyperband does
    cb, rate = make("exponential", str(tmp_path))
    model = bias_model()
    probe = BiasProbe()
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=4, initial_epoch=2, verbose=0, callbacks=[cb, probe])
    assert cb.steps == list(range(2 * SPE, 4 * SPE))
    np.testing.assert_allclose(cb.learning_rates, expected(rate, range(10, 20)), rtol=1e-6)
    assert_applied(probe, cb.learning_rates)  # the optimizer's steps 0..9 used rates of 10..19
    steps, _ = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(10, 20))


def test_later_fits_of_a_shifted_optimizer_stay_on_its_axis(tmp_path):
    # the optimizer placed at 2 * SPE by its first fit: its later fits go on from 4 * SPE,
    # not back at its own counter (which would write steps 10.. twice, and go backwards)
    x, y = zeros_data()
    model = bias_model()
    cb, rate = make("exponential", str(tmp_path))
    model.fit(x, y, batch_size=8, epochs=4, initial_epoch=2, verbose=0, callbacks=[cb])
    bias0 = float(model.layers[-1].bias.numpy()[0])
    second, _ = make("exponential", str(tmp_path))
    probe = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=6, initial_epoch=4, verbose=0, callbacks=[second, probe])
    assert second.steps == list(range(4 * SPE, 6 * SPE))
    np.testing.assert_allclose(second.learning_rates, expected(rate, range(20, 30)), rtol=1e-6)
    # the optimizer's own steps 10..19 applied the rates of steps 20..29
    assert_applied(probe, second.learning_rates, first_step=2 * SPE, bias0=bias0)
    logger = lr_tb.LearningRateLogger(str(tmp_path))
    model.fit(x, y, batch_size=8, epochs=7, initial_epoch=6, verbose=0, callbacks=[logger])
    assert logger.steps == list(range(6 * SPE, 7 * SPE))
    steps, _ = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(2 * SPE, 7 * SPE))  # each step once, in order


def test_total_steps_follows_epochs_as_keras_means_it():
    cb = lr_tb.WarmupCosineDecayScheduler(1e-2, warmup_epochs=1, hold_epochs=0.4)
    model = bias_model()
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=4, initial_epoch=1, verbose=0, callbacks=[cb])
    assert cb.schedule.total_steps == 4 * SPE
    assert (cb.schedule.warmup_steps, cb.schedule.hold_steps) == (SPE, 2)


def test_deepcopy_before_and_after_training(tmp_path):
    cb, rate = make("cosine_restarts", str(tmp_path / "a"))
    clone = copy.deepcopy(cb)
    x, y = zeros_data()
    model = bias_model()
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb])
    after = copy.deepcopy(cb)  # holds a model and a closed writer: neither is copied
    assert after.learning_rates == cb.learning_rates and after.model is None
    for c in (clone, after):
        c.log_dir = None
        bias_model().fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[c])
        np.testing.assert_allclose(c.learning_rates, expected(rate, range(TOTAL)), rtol=1e-6)


@requires_tensorflow
def test_train_step_error_leaves_computed_points_on_disk(tmp_path):
    """A train step raises in epoch 2 (batch 3): every step the optimizer counted (epoch 1,
    the good batches of epoch 2 and, TF's stateful ops running unordered, possibly the failing
    one) is on disk, the file is closed and readable, and the optimizer is restored."""
    import tensorflow as tf

    class FailOnSignal(keras.layers.Layer):
        def call(self, x):
            check = tf.debugging.assert_less(tf.reduce_max(x), 100.0, message="bad batch")
            with tf.control_dependencies([check]):  # fail before the update is applied
                return tf.identity(x)

    model = keras.Sequential(
        [keras.Input((2,)), FailOnSignal(), keras.layers.Dense(1, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = zeros_data(EPOCHS * SPE * 8)  # with steps_per_epoch, epochs walk through the data
    x[SPE * 8 + 2 * 8] = 1000.0  # first sample of the 3rd batch of epoch 2
    cb, rate = make("warmup_cosine", str(tmp_path))
    with pytest.raises(tf.errors.InvalidArgumentError, match="bad batch"):
        model.fit(
            x,
            y,
            batch_size=8,
            epochs=EPOCHS,
            steps_per_epoch=SPE,
            shuffle=False,
            verbose=0,
            callbacks=[cb],
        )
    steps, values = read_scalars(str(tmp_path / "train"))
    counted = int(model.optimizer.iterations)
    assert counted >= SPE + 2 and steps == list(range(counted))
    np.testing.assert_allclose(values, expected(rate, steps), rtol=1e-6)
    assert cb._fit.log._writer is None and not cb._fit.open
    assert_plain_rate(model)  # the optimizer applies its own rate again
    model.fit(np.zeros_like(x), y, batch_size=8, epochs=1, verbose=0)  # usable again


def test_optimizer_holding_a_schedule_is_refused_at_train_begin(tmp_path):
    opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    model = bias_model(optimizer=opt)
    x, y = zeros_data()
    cb = lr_tb.WarmupCosineDecayScheduler(1e-2, log_dir=str(tmp_path / "r"))
    with pytest.raises(TypeError, match="float `learning_rate`.*Received: learning_rate="):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[cb])
    assert int(model.optimizer.iterations) == 0
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_fit_too_short_for_warmup_is_refused_before_any_step(tmp_path):
    cb = lr_tb.WarmupCosineDecayScheduler(
        1e-2, warmup_steps=10, hold_steps=8, log_dir=str(tmp_path / "r")
    )
    model = bias_model()
    x, y = zeros_data()
    with pytest.raises(ValueError, match=r"warmup_steps.*hold_steps.*total_steps=15.*3 \* 5"):
        model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb])
    assert int(model.optimizer.iterations) == 0 and not (tmp_path / "r").exists()


@requires_tensorflow
def test_unknown_steps_per_epoch_needs_total_steps():
    import tensorflow as tf

    ds = tf.data.Dataset.from_generator(
        lambda: iter([(np.zeros((8, 2), "float32"), np.zeros((8, 1), "float32"))] * 3),
        output_signature=(tf.TensorSpec((None, 2)), tf.TensorSpec((None, 1))),
    )
    model = bias_model()
    with pytest.raises(ValueError, match="steps per epoch.*total_steps"):
        model.fit(ds, epochs=2, verbose=0, callbacks=[lr_tb.WarmupCosineDecayScheduler(1e-2)])
    cb = lr_tb.WarmupCosineDecayScheduler(1e-2, total_steps=6)
    model.fit(ds, epochs=2, verbose=0, callbacks=[cb])
    # On TF, the call that meets the end of such a dataset still advances the optimizer's
    # step counter (Keras' own schedules see that step too): the axis follows the counter.
    assert cb.steps == list(range(int(model.optimizer.iterations)))
    np.testing.assert_allclose(
        cb.learning_rates, [ref.warmup_cosine(t, 1e-2, 6) for t in cb.steps], rtol=1e-6
    )


def test_loss_scale_optimizer_is_looked_through():
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
    model = bias_model(optimizer=opt)
    cb, rate = make("warmup_cosine")
    probe = BiasProbe()
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb, probe])
    np.testing.assert_allclose(cb.learning_rates, expected(rate, range(TOTAL)), rtol=1e-6)
    assert_applied(probe, cb.learning_rates)


def test_two_schedulers_on_one_optimizer_are_refused():
    model = bias_model()
    x, y = zeros_data()
    a, _ = make("warmup_cosine")
    b, _ = make("exponential")
    with pytest.raises(TypeError, match="one scheduler per optimizer"):
        model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[a, b])
    assert_plain_rate(model)  # nothing was applied, nothing is left applied
    probe = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[probe])
    assert_applied(probe, [0.1] * SPE)


def test_verbose_prints_changes(capsys):
    cb = lr_tb.ExponentialDecayScheduler(1e-2, 0.5, verbose=1)
    x, y = zeros_data()
    bias_model().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    out = capsys.readouterr().out
    assert "Epoch 1: ExponentialDecayScheduler learning rate 0.01." in out
    assert "Epoch 2: ExponentialDecayScheduler learning rate 0.005." in out


def test_schedule_callback_rejects_non_schedule():
    with pytest.raises(TypeError, match=r"`schedule` must be .*Received: schedule=0.1"):
        lr_tb.ScheduleCallback(0.1)
