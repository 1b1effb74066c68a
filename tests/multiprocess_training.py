"""One process of a Keras fit on JAX across processes (run by test_multiprocess.py).

    python multiprocess_training.py crash|resume <process_id> <port> <out>
    python multiprocess_training.py model_parallel 0 0 <out>

crash / resume: two processes on 127.0.0.1 (JAX on CPU, gloo collectives,
`jax.distributed.initialize`, `DataParallel(auto_shard_dataset=False)`), each with its own
lr_tb scheduler on one `log_dir` and its own `BackupAndRestore` directory. In "crash",
process 0 kills itself (SIGKILL) in the middle of the second epoch; "resume" restarts the fit,
then runs a second fit with lr_tb's ReduceLROnPlateau and LearningRateLogger on data that
differs from process to process. model_parallel: one process, `ModelParallel` on 2 virtual
CPU devices. Each process writes what it saw to `<out>/result_<mode>_<process_id>.json`.
"""

import json
import os
import signal
import sys
import warnings

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402

jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_cpu_collectives_implementation", "gloo")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import lr_tb  # noqa: E402

SPE, EPOCHS = 6, 3
LOCAL_BATCH = 4
KILL_AT = 9  # process 0 dies after this step (epoch 1); the last backup is after step 7
PEAK = 1e-2


def bias_loss(y_true, y_pred):
    # y = bias (x = 0): under plain SGD every step subtracts exactly its rate from the bias.
    return ops.mean(y_pred)


def scheduler(log_dir):
    return lr_tb.WarmupCosineDecayScheduler(
        PEAK,
        warmup_steps=4,
        hold_steps=2,
        min_learning_rate=1e-4,
        log_dir=log_dir,
        flush_secs=1e-3,  # a flush point at every step: the killed writer lost nothing
    )


class KillAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.seen == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
        self.seen += 1


def bias_model(units=1):
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(units, kernel_initializer="zeros", name="dense")]
    )
    model.compile(keras.optimizers.SGD(0.1), bias_loss)
    return model


def data_parallel(mode, process_id, port, out):
    # What keras.distribution.initialize(f"127.0.0.1:{port}", 2, process_id) does on JAX,
    # less its seeding of every backend (which imports TensorFlow: seconds per process).
    jax.distributed.initialize(f"127.0.0.1:{port}", 2, process_id)
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    )
    x = np.zeros((SPE * LOCAL_BATCH, 2), "float32")
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(out, "backup", f"p{process_id}"), 4),
        scheduler(os.path.join(out, "lr")),
    ]
    if mode == "crash" and process_id == 0:
        callbacks.insert(0, KillAt(KILL_AT))  # before the backup: no backup at the kill
    model = bias_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(
            x, x[:, :1], batch_size=LOCAL_BATCH, epochs=EPOCHS, verbose=0, callbacks=callbacks
        )
    result = {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "steps": callbacks[-1].steps,
        "rates": callbacks[-1].learning_rates,
        "bias": float(model.get_weights()[1][0]),
        "warnings": [str(w.message) for w in caught if "lr_tb" in str(w.message)],
    }
    # A second fit: the plateau's decision comes from the epoch logs, which are the global
    # metric on every process, though each process feeds different data.
    rng = np.random.default_rng(process_id)
    x = rng.normal(size=(SPE * LOCAL_BATCH, 2)).astype("float32")
    y = rng.normal(size=(SPE * LOCAL_BATCH, 1)).astype("float32") * (1 + 3 * process_id)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.05), "mse")  # the same initial weights everywhere
    plateau = lr_tb.ReduceLROnPlateau(
        "loss", factor=0.5, patience=0, min_delta=0.05, log_dir=os.path.join(out, "plateau")
    )
    logger = lr_tb.LearningRateLogger(os.path.join(out, "logger"))
    history = model.fit(
        x, y, batch_size=LOCAL_BATCH, epochs=4, verbose=0, callbacks=[plateau, logger]
    )
    result.update(
        plateau_rates=plateau.learning_rates,
        logger_rates=logger.learning_rates,
        loss=history.history["loss"],
        local_loss=float(np.mean((x @ model.get_weights()[0] + model.get_weights()[1] - y) ** 2)),
    )
    return result


def model_parallel(out):
    devices = jax.devices()
    mesh = keras.distribution.DeviceMesh((1, 2), ["batch", "model"], devices)
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[".*dense/kernel"] = (None, "model")
    layout_map[".*dense/bias"] = ("model",)
    keras.distribution.set_distribution(
        keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    )
    model = bias_model(units=2)
    callback = scheduler(os.path.join(out, "mp"))
    x = np.zeros((SPE * LOCAL_BATCH, 2), "float32")
    model.fit(x, x, batch_size=LOCAL_BATCH, epochs=EPOCHS, verbose=0, callbacks=[callback])
    kernel = model.layers[0].kernel.value
    return {
        "devices": len(devices),
        "kernel_spec": str(kernel.sharding.spec),
        "steps": callback.steps,
        "rates": callback.learning_rates,
        "bias": [float(b) for b in model.get_weights()[1]],
    }


def main(mode, process_id, port, out):
    if mode == "model_parallel":
        result = model_parallel(out)
    else:
        result = data_parallel(mode, process_id, port, out)
    with open(os.path.join(out, f"result_{mode}_{process_id}.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
