"""Training under tf.distribute.MirroredStrategy on two logical CPU devices (run by
test_multi_device.py: logical devices must be set before TensorFlow starts). Prints JSON."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from conftest import mean_prediction  # noqa: E402

import lr_tb  # noqa: E402


class Probe(keras.callbacks.Callback):
    """-bias on every replica after each step (SGD on a bias with gradient 1)."""

    def on_train_batch_end(self, batch, logs=None):
        mirrored = self.model.layers[-1].bias.value  # Keras wraps tf's MirroredVariable
        per_replica = [float(v.numpy()[0]) for v in mirrored.values]
        self.points.append((int(self.model.optimizer.iterations.numpy()), per_replica))

    def on_train_begin(self, logs=None):
        self.points = []


def main(log_dir, steps_per_execution):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")]
        )
        model.compile(
            keras.optimizers.SGD(0.1), loss=mean_prediction, steps_per_execution=steps_per_execution
        )
    callback = lr_tb.WarmupCosineDecayScheduler(
        1e-2,
        warmup_learning_rate=1e-3,
        warmup_steps=4,
        hold_steps=2,
        min_learning_rate=1e-4,
        log_dir=log_dir,
    )
    probe = Probe()
    x = np.zeros((80, 2), "float32")
    model.fit(x, x[:, :1], batch_size=16, epochs=3, verbose=0, callbacks=[callback, probe])
    print(
        json.dumps(
            {
                "replicas": strategy.num_replicas_in_sync,
                "steps": callback.steps,
                "rates": callback.learning_rates,
                "probe": probe.points,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
