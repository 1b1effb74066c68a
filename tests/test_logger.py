"""lr_tb.LearningRateLogger: logs whatever rate the optimizer has without changing it."""

import os

import keras
import numpy as np
import pytest
from conftest import (
    EXECUTION_SIZES,
    BiasProbe,
    assert_applied,
    assert_applied_exactly,
    bias_model,
    read_scalars,
    zeros_data,
)

import lr_tb
from lr_tb.schedules import evaluate

pytestmark = pytest.mark.backends

SPE, EPOCHS = 5, 3


def fit(model, cb, epochs=EPOCHS, **kw):
    x, y = zeros_data()
    probe = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[cb, probe], **kw)
    return probe


@pytest.mark.parametrize("spe", EXECUTION_SIZES)
def test_keras_schedule_in_optimizer(spe, tmp_path):
    schedule = keras.optimizers.schedules.CosineDecay(
        0.1, decay_steps=10, warmup_target=0.2, warmup_steps=3
    )
    model = bias_model(steps_per_execution=spe, optimizer=keras.optimizers.SGD(schedule))
    cb = lr_tb.LearningRateLogger(str(tmp_path))
    probe = fit(model, cb)
    want = evaluate(schedule, range(EPOCHS * SPE))
    assert cb.steps == list(range(EPOCHS * SPE))
    # what Keras computed in the step, bit for bit (a host evaluation may differ by an ulp)
    assert_applied_exactly(probe, cb.learning_rates)
    np.testing.assert_allclose(cb.learning_rates, want, rtol=1e-6)
    steps, values = read_scalars(os.path.join(str(tmp_path), "train"))
    assert steps == cb.steps
    np.testing.assert_array_equal(values, np.float32(cb.learning_rates))


def test_float_rate_changed_by_keras_learning_rate_scheduler(tmp_path):
    model = bias_model(learning_rate=0.1)
    keras_cb = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    cb = lr_tb.LearningRateLogger(str(tmp_path))
    x, y = zeros_data()
    probe = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[keras_cb, cb, probe])
    want = np.float32([0.1 / (e + 1) for e in range(EPOCHS) for _ in range(SPE)])
    np.testing.assert_array_equal(np.float32(cb.learning_rates), want)
    assert_applied(probe, cb.learning_rates)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 / EPOCHS)  # unchanged


def test_logs_what_an_lr_tb_scheduler_applies_and_every_n_steps(tmp_path):
    model = bias_model()
    scheduler = lr_tb.WarmupCosineDecayScheduler(1e-2, warmup_steps=3)
    logger = lr_tb.LearningRateLogger(str(tmp_path), every_n_steps=4)
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[logger, scheduler])
    assert logger.steps == [0, 4, 8, 12]
    np.testing.assert_array_equal(
        logger.learning_rates, [scheduler.learning_rates[s] for s in logger.steps]
    )
    steps, _ = read_scalars(os.path.join(str(tmp_path), "train"))
    assert steps == [0, 4, 8, 12]


def test_loss_scale_optimizer_and_initial_epoch(tmp_path):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5, staircase=True)
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(schedule))
    model = bias_model(optimizer=opt)
    cb = lr_tb.LearningRateLogger(str(tmp_path))
    fit(model, cb, epochs=3, initial_epoch=1)
    # the axis starts at initial_epoch * spe = 5; Keras' schedule sees iterations 0..9
    assert cb.steps == list(range(5, 15))
    np.testing.assert_array_equal(cb.learning_rates, evaluate(schedule, range(10)).tolist())


def test_log_dir_is_required():
    with pytest.raises(TypeError, match="log_dir"):
        lr_tb.LearningRateLogger(None)


def test_int32_step_counter_at_its_end_applies_the_own_rate(tmp_path):
    # JAX's and torch's counter is an int32: its last step (index 0 of a switched-off table,
    # base = the largest int32) and the steps after it wraps must apply the optimizer's rate
    model = bias_model(learning_rate=0.1)
    model.optimizer.build(model.trainable_variables)
    first = 2**31 - 3
    model.optimizer.iterations.assign(first)
    cb = lr_tb.LearningRateLogger(str(tmp_path))
    x, y = zeros_data(n=48)  # 6 steps: 3 before the int32 wrap, 3 after
    probe = BiasProbe()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[cb, probe])
    applied = np.diff([0.0] + [minus_bias for _, minus_bias in probe.points])
    np.testing.assert_allclose(applied, 0.1, rtol=1e-5)
    assert len(applied) == 6
    # TensorFlow's counter is an int64: every step logged. A wrapped int32 counter reads as
    # negative: nothing after the last step read before the wrap is logged (README, limits)
    if keras.backend.backend() == "tensorflow":
        assert cb.steps == list(range(first, first + 6))
    else:
        assert cb.steps == list(range(first, first + len(cb.steps)))
    np.testing.assert_array_equal(np.float32(cb.learning_rates), np.float32(0.1))
