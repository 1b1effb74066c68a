import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import glob  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import ops  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

from lr_tb import tags  # noqa: E402

BACKEND = keras.backend.backend()
# Tests that use TensorFlow itself (tf.data, tf.debugging, tf.distribute).
requires_tensorflow = pytest.mark.skipif(BACKEND != "tensorflow", reason="uses TensorFlow ops")
# Keras' torch backend allows only steps_per_execution=1.
EXECUTION_SIZES = [1] if BACKEND == "torch" else [1, 3]


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def read_scalars(run_dir, tag=tags.LEARNING_RATE):
    """(steps, values) of a scalar tag in a run directory, read back with TensorBoard's own
    EventAccumulator from every event file there."""
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    events = acc.Scalars(tag)
    return [e.step for e in events], np.array([e.value for e in events], dtype=np.float32)


def keras_tags(run_dir):
    acc = EventAccumulator(run_dir)
    acc.Reload()
    return set(acc.Tags()["tensors"]) | set(acc.Tags()["scalars"])


def event_files(run_dir):
    return sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*")))


@keras.saving.register_keras_serializable(package="lr_tb_tests")
def mean_prediction(y_true, y_pred):
    return ops.mean(y_pred)


def bias_model(steps_per_execution=1, learning_rate=0.1, optimizer=None):
    """y = bias with x = 0 and loss = mean(y): under plain SGD each step subtracts exactly the
    rate it used from the bias, so the bias reveals every rate the optimizer applied."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(learning_rate),
        loss=mean_prediction,
        steps_per_execution=steps_per_execution,
    )
    return model


def zeros_data(n=40):
    return np.zeros((n, 2), "float32"), np.zeros((n, 1), "float32")


class BiasProbe(keras.callbacks.Callback):
    """Records (optimizer step, -bias) after every train-function call."""

    def __init__(self):
        super().__init__()
        self.points = []

    def on_train_batch_end(self, batch, logs=None):
        step = int(ops.convert_to_numpy(self.model.optimizer.iterations))
        bias = float(ops.convert_to_numpy(self.model.layers[-1].bias)[0])
        self.points.append((step, -bias))


def assert_applied(probe, rates, first_step=0, bias0=0.0):
    """Every recorded -bias equals the sum of the rates of the steps before it."""
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(rates, dtype=np.float64))])
    assert probe.points, "the probe saw no step"
    for step, minus_bias in probe.points:
        expected = cumulative[step - first_step] - bias0
        assert minus_bias == pytest.approx(expected, rel=1e-5, abs=1e-7), step


def assert_applied_exactly(probe, rates, first_step=0, bias0=0.0):
    """Bit for bit: under plain SGD with a gradient of exactly 1, each update subtracts its
    float32 rate from the float32 bias (IEEE, so replayable on the host); every recorded
    -bias must equal that replay of `rates`."""
    assert probe.points, "the probe saw no step"
    bias = np.float32(bias0)
    replay = [-bias]
    for rate in np.asarray(rates, dtype=np.float32):
        bias = np.float32(bias - rate)
        replay.append(-bias)
    for step, minus_bias in probe.points:
        assert np.float32(minus_bias) == replay[step - first_step], (step, minus_bias)
