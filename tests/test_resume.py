"""Exact resume: a crashed-and-resumed run shows the uninterrupted run's rates, every step
once, in learning_rates, in the raw event files as TensorBoard's loader reads them, and in
the real TensorBoard server.

How TensorBoard treats a step that goes back: reading a run's event files in name order, a
point whose step is below the last one seen for its tag drops the points at and after that
step (EventAccumulator's out-of-order purge, and the data server's preemption). lr_tb writes
each fit to a new file that sorts after the crashed run's, so the resumed points win. A
resumed fit that starts *after* the crashed run's last flushed step fills the gap from the
schedule (the rate is a pure function of the step; lr_tb_progress.json says where the run
stopped).
"""

import glob
import os

import keras
import numpy as np
import pytest
import reference as ref
from conftest import bias_model, read_scalars, zeros_data
from tb_server import get_json, scalar_series, tensorboard, wait_for

import lr_tb

pytestmark = pytest.mark.backends

SPE, EPOCHS = 5, 4
TOTAL = SPE * EPOCHS
PEAK = 1e-2


def scheduler(log_dir=None):
    return lr_tb.WarmupCosineDecayScheduler(
        PEAK, warmup_steps=4, hold_steps=2, min_learning_rate=1e-4, log_dir=log_dir
    )


def closed_form(steps):
    return [ref.warmup_cosine(t, PEAK, TOTAL, 0.0, 4, 2, 1e-4) for t in steps]


FAIL = {"at": None}


class FailInStep(keras.layers.Layer):
    """Raises inside the train step (run eagerly) at one optimizer step, once."""

    def call(self, x):
        # Counts its own calls (one per eager train step): the optimizer's counter can't be
        # read inside a JAX step.
        if not FAIL.get("armed"):  # building the model
            return x
        FAIL["calls"] += 1
        if FAIL["at"] is not None and FAIL["calls"] - 1 == FAIL["at"]:
            FAIL["at"] = None
            raise RuntimeError("preempted in a train step")
        return x


class FailInCallback(keras.callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_train_batch_begin(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.at:
            raise RuntimeError("preempted in a callback")


def step_failing_model():
    layer = FailInStep()
    model = keras.Sequential(
        [keras.Input((2,)), layer, keras.layers.Dense(1, kernel_initializer="zeros")]
    )
    model.compile(keras.optimizers.SGD(0.1), loss="mse", run_eagerly=True)
    FAIL.update(armed=True, calls=0)
    return model


def close(values, steps):
    np.testing.assert_allclose(
        values, closed_form(steps), rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * PEAK
    )


def uninterrupted():
    cb = scheduler()
    x, y = zeros_data()
    bias_model().fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[cb])
    return cb


def test_crash_in_a_train_step_then_backup_and_restore(tmp_path):
    x, y = zeros_data()
    backup = str(tmp_path / "backup")
    FAIL["at"] = 2 * SPE + 3  # epoch 3, after the epoch-2 backup
    crashed = scheduler(str(tmp_path))
    model = step_failing_model()
    with pytest.raises(RuntimeError, match="preempted in a train step"):
        model.fit(
            x,
            y,
            batch_size=8,
            epochs=EPOCHS,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), crashed],
        )
    counted = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    assert counted > 2 * SPE  # the crash came in epoch 3, after the epoch-2 backup
    assert crashed.steps == list(range(counted))  # every step the optimizer took is written
    resumed = scheduler(str(tmp_path))
    step_failing_model().fit(
        x,
        y,
        batch_size=8,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup), resumed],
    )
    # the resumed fit starts at the restored step and matches the uninterrupted run
    reference = uninterrupted()
    assert resumed.steps == list(range(2 * SPE, TOTAL))
    np.testing.assert_allclose(
        resumed.learning_rates,
        reference.learning_rates[2 * SPE :],
        rtol=0,
        atol=2 * np.spacing(np.float32(PEAK)),
    )
    # raw event files: the crashed file still holds steps 10..counted-1, the resumed 10..19;
    # TensorBoard's Python loader (EventAccumulator, --load_fast=false) shows both, as it
    # drops a step that goes back only on a SessionLog START event
    run = str(tmp_path / "train")
    assert len(glob.glob(os.path.join(run, "*.lr_tb"))) == 2
    steps, values = read_scalars(run)
    assert steps == list(range(counted)) + list(range(2 * SPE, TOTAL))
    close(values, steps)
    # the real server's default loader lets the resumed points preempt: each step once
    with tensorboard(tmp_path) as base:
        wait_for(lambda: "train" in get_json(base, "/data/runs"))
        served = wait_for(lambda: scalar_series(base, "train"))
    assert [s for s, _ in served] == list(range(TOTAL))
    close([v for _, v in served], range(TOTAL))


def test_backup_every_3_batches_and_a_crash_outside_the_step(tmp_path):
    """Keras replays the interrupted epoch from its first batch with the optimizer's step
    restored: the curve goes on from the restored step (the replayed batches take the next
    steps), and the steps the crashed run never flushed are filled from the schedule."""
    x, y = zeros_data()
    backup = str(tmp_path / "backup")
    crashed = scheduler(str(tmp_path))
    with pytest.raises(RuntimeError, match="preempted in a callback"):
        bias_model().fit(
            x,
            y,
            batch_size=8,
            epochs=EPOCHS,
            verbose=0,
            callbacks=[
                keras.callbacks.BackupAndRestore(backup, save_freq=3),
                crashed,
                FailInCallback(2 * SPE + 2),
            ],
        )
    crashed._fit.close()  # what interpreter exit would do for the crashed process
    resumed = scheduler(str(tmp_path))
    bias_model().fit(
        x,
        y,
        batch_size=8,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=3), resumed],
    )
    assert resumed.steps[0] == 2 * SPE + 2 - (2 * SPE + 2) % 3  # the last backed-up step
    close(resumed.learning_rates, resumed.steps)
    steps, values = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(resumed.steps[-1] + 1))  # one curve, no gap, no repeat
    close(values, steps)


def test_gap_is_filled_when_the_crashed_run_flushed_less(tmp_path):
    x, y = zeros_data()
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError):
        bias_model().fit(
            x,
            y,
            batch_size=8,
            epochs=EPOCHS,
            verbose=0,
            callbacks=[
                keras.callbacks.BackupAndRestore(backup, save_freq=3),
                scheduler(str(tmp_path)),
                FailInCallback(2 * SPE + 2),
            ],
        )
    # no _finish: as after a SIGKILL, only the epoch flushes (steps 0..9) are on disk
    resumed = scheduler(str(tmp_path))
    bias_model().fit(
        x,
        y,
        batch_size=8,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=3), resumed],
    )
    assert resumed.steps[0] == 2 * SPE + 2 - (2 * SPE + 2) % 3 > 2 * SPE
    steps, values = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(resumed.steps[-1] + 1))
    close(values, steps)


class StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            self.model.stop_training = True


def test_model_save_load_and_initial_epoch(tmp_path):
    x, y = zeros_data()
    model = bias_model()
    first = scheduler(str(tmp_path))  # a 4-epoch run, stopped (saved) after epoch 2
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[first, StopAfter(2)])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    second = scheduler(str(tmp_path))
    loaded.fit(x, y, batch_size=8, epochs=EPOCHS, initial_epoch=2, verbose=0, callbacks=[second])
    reference = uninterrupted()
    np.testing.assert_allclose(
        first.learning_rates + second.learning_rates,
        reference.learning_rates,
        rtol=0,
        atol=2 * np.spacing(np.float32(PEAK)),
    )
    steps, _ = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(TOTAL))


@pytest.mark.parametrize("outside", ["fit", "train_on_batch"])
def test_updates_outside_lr_tb_after_an_interrupted_fit_are_not_filled_in(tmp_path, outside):
    """An lr_tb fit raised from a callback (closed only at the next training call), then
    updates outside any lr_tb fit at a rate set by hand, then a new lr_tb fit of the same
    run: the interrupted fit wrote every step it ran when it was closed, so the new fit
    fills no gap: the outside steps are not on disk (TensorBoard draws a line across them),
    rather than given the new schedule's rates (found by a user-eye check). Every point on
    disk is the rate its step applied."""
    from conftest import BiasProbe

    class Boom(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("boom")

    model = bias_model(learning_rate=0.5)
    x, y = zeros_data(16)  # 4 steps an epoch at batch 4
    log_dir = str(tmp_path)
    applied = {}

    class Probe(BiasProbe):  # one for every fit: each step's rate from consecutive steps
        def on_train_batch_end(self, batch, logs=None):
            previous = self.points[-1] if self.points else (0, 0.0)
            super().on_train_batch_end(batch, logs)
            step, minus_bias = self.points[-1]
            if previous[0] == step - 1:
                applied[step - 1] = np.float32(minus_bias) - np.float32(previous[1])

    probe = Probe()
    first = lr_tb.ScheduleCallback(lr_tb.schedules.Constant(0.0625), log_dir=log_dir)
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[first, Boom(), probe])
    model.optimizer.learning_rate.assign(0.25)
    if outside == "fit":
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[probe])
    else:
        model.train_on_batch(x[:4], y[:4])
    outside_steps = set(range(4, int(model.optimizer.iterations)))
    again = lr_tb.ScheduleCallback(lr_tb.schedules.Constant(0.0078125), log_dir=log_dir)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[again, probe])
    steps, values = read_scalars(os.path.join(log_dir, "train"))
    assert len(steps) == len(set(steps))
    assert outside_steps and not outside_steps & set(steps)
    assert steps == [0, 1, 2, 3] + again.steps
    assert list(values[:4]) == [0.0625] * 4 and set(values[4:].tolist()) == {0.0078125}
    checked = [step for step in steps if step in applied]
    assert len(checked) >= len(steps) - 2  # (a step after train_on_batch has no "before")
    for step, value in zip(steps, values, strict=True):
        if step in applied:
            assert np.float32(value) == applied[step], step


def test_progress_record_is_kept_while_a_fit_runs_and_removed_when_it_wrote_every_step(
    tmp_path,
):
    """`lr_tb_progress.json` says how far the run is on disk while a fit runs (a SIGKILL
    leaves it for the resumed fit's gap fill); a fit that closes having written every step
    it ran removes it, at its normal end and when an interrupted fit is closed later."""
    import json

    progress = tmp_path / "train" / lr_tb.callbacks.base.PROGRESS_FILE
    seen = []

    class Look(keras.callbacks.Callback):  # after the scheduler's epoch-end flush
        def on_epoch_end(self, epoch, logs=None):
            seen.append(json.loads(progress.read_text()) if progress.exists() else None)
            if epoch == 2 and FAIL.get("boom"):
                raise RuntimeError("boom")

    x, y = zeros_data()
    model = bias_model()
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0,
              callbacks=[scheduler(str(tmp_path)), Look()])  # fmt: skip
    # flushed at every epoch end but the last (the fit's end closes the file right after)
    flushed = [{"next_step": SPE * (e + 1), "finished": False} for e in range(3)]
    assert seen == [*flushed, flushed[-1]]
    assert not progress.exists()
    seen.clear()
    FAIL["boom"] = True
    try:
        with pytest.raises(RuntimeError, match="boom"):
            model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0,
                      callbacks=[scheduler(str(tmp_path)), Look()])  # fmt: skip
    finally:
        FAIL["boom"] = False
    assert json.loads(progress.read_text())["next_step"] == TOTAL + 3 * SPE  # still open
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # closes the interrupted fit first
    assert not progress.exists()
    steps, _ = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(TOTAL + 3 * SPE))
