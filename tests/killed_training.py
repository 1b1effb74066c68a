"""Trains with lr_tb until killed (run by test_durability.py): one long epoch of slow steps,
flushing every `flush_secs`."""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lr_tb  # noqa: E402


class Slow(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.01)  # ~100 steps a second: many flush points inside the one epoch


def main(log_dir, flush_secs):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.zeros((100_000, 2), "float32")
    callback = lr_tb.WarmupCosineDecayScheduler(
        1e-2, total_steps=100_000, warmup_steps=100, log_dir=log_dir, flush_secs=flush_secs
    )
    print("training", flush=True)
    model.fit(x, x[:, :1], batch_size=1, epochs=1, verbose=0, callbacks=[callback, Slow()])


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
