"""lr_tb.ReduceLROnPlateau: Keras' rule on a scripted metric, drops on the exact epochs,
cooldown and min_lr respected, NaN handled, every step logged at the rate it used."""

import os
import shutil
import warnings

import keras
import numpy as np
import pytest
from conftest import BiasProbe, assert_applied, bias_model, read_scalars, zeros_data

import lr_tb

pytestmark = pytest.mark.backends

SPE = 5


class Script(keras.callbacks.Callback):
    """Puts a scripted value of `score` into each epoch's logs (placed before the plateau)."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]


def run(values, tmp_path=None, **kw):
    log_dir = None if tmp_path is None else str(tmp_path)
    kw.setdefault("mode", "min")
    cb = lr_tb.ReduceLROnPlateau(monitor="score", log_dir=log_dir, **kw)
    model = bias_model(learning_rate=1.0)
    probe = BiasProbe()
    x, y = zeros_data()
    model.fit(
        x, y, batch_size=8, epochs=len(values), verbose=0, callbacks=[Script(values), cb, probe]
    )
    return cb, model, probe


def epoch_rates(cb):
    return [cb.learning_rates[i * SPE] for i in range(len(cb.learning_rates) // SPE)]


def test_drops_on_the_exact_epochs_the_rule_says(tmp_path):
    # best 1.0 at epoch 0; epochs 1, 2 no improvement -> patience 2 reached at epoch 2:
    # the rate of epoch 3 on is halved. Epoch 3 improves (0.5), then 4, 5 flat -> drop at 5.
    cb, model, probe = run(
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5], tmp_path, factor=0.5, patience=2, min_delta=0.0
    )
    assert epoch_rates(cb) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert cb.steps == list(range(7 * SPE))
    assert_applied(probe, cb.learning_rates)  # the optimizer used exactly these
    steps, values = read_scalars(os.path.join(str(tmp_path), "train"))
    assert steps == cb.steps
    np.testing.assert_array_equal(values, np.float32(cb.learning_rates))
    assert float(model.optimizer.learning_rate) == 0.25


def test_cooldown_and_min_lr():
    # patience 1: no improvement at epoch 1 -> drop; cooldown 2 runs down at epochs 2 and 3
    # (Keras counts the epoch the counter reaches 0 as out of cooldown) -> drop at 3, then 5
    cb, _, _ = run([1.0] * 8, factor=0.1, patience=1, cooldown=2, min_lr=0.005)
    assert epoch_rates(cb) == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01, 0.01, 0.005, 0.005])
    cb, _, _ = run([1.0] * 8, factor=0.1, patience=1, min_lr=0.005)
    assert epoch_rates(cb) == pytest.approx([1.0, 1.0, 0.1, 0.01, 0.005, 0.005, 0.005, 0.005])


@pytest.mark.parametrize(
    "values, kw",
    [
        ([3, 2, 2, 2, 2, 1.5, 1.5, 1.5, 1.5, 1.5], dict(factor=0.5, patience=2, cooldown=1)),
        ([1] * 10, dict(factor=0.3, patience=0, cooldown=3, min_lr=0.01)),
        ([1, 1.00001, 0.9999, 0.5, 0.5, 0.6, 0.7, 0.4, 0.4, 0.4], dict(patience=1, min_delta=1e-3)),
        ([0.1, 0.3, 0.3, 0.2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], dict(mode="max", patience=2)),
    ],
)
def test_same_decisions_as_keras_own(values, kw):
    ours, _, _ = run(values, **kw)
    theirs = keras.callbacks.ReduceLROnPlateau(monitor="score", **{"mode": "min", **kw})
    model = bias_model(learning_rate=1.0)
    rates = []

    class Rate(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rates.append(float(self.model.optimizer.learning_rate))

    x, y = zeros_data()
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=len(values),
        verbose=0,
        callbacks=[Rate(), Script(values), theirs],
    )
    assert epoch_rates(ours) == pytest.approx(rates, rel=1e-6)


def test_mode_max_and_auto():
    cb, _, _ = run([0.1, 0.2, 0.2, 0.2], mode="max", factor=0.5, patience=1, min_delta=0.0)
    assert epoch_rates(cb) == [1.0, 1.0, 1.0, 0.5]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.zeros((8, 2)), np.zeros((8,))
    for monitor, minimize in [("val_accuracy", False), ("accuracy", False), ("val_loss", True)]:
        cb = lr_tb.ReduceLROnPlateau(monitor=monitor)
        model.fit(x, y, validation_data=(x, y), verbose=0, callbacks=[cb])
        assert cb._minimize is minimize
    with pytest.raises(ValueError, match="mode='min' or mode='max'.*monitor='score'"):
        model.fit(
            x, y, verbose=0, callbacks=[Script([0.5]), lr_tb.ReduceLROnPlateau(monitor="score")]
        )


def test_min_delta_counts():
    cb, _, _ = run([1.0, 0.99, 0.98, 0.97], factor=0.5, patience=2, min_delta=0.05)
    assert epoch_rates(cb) == [1.0, 1.0, 1.0, 0.5]


def test_nan_metric_is_no_improvement_and_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cb, model, _ = run([1.0, float("nan"), float("nan"), 0.5], factor=0.5, patience=2)
    assert any("NaN" in str(w.message) for w in caught)
    assert epoch_rates(cb) == [1.0, 1.0, 1.0, 0.5]
    assert np.isfinite(float(model.optimizer.learning_rate))


def test_missing_metric_warns_and_keeps_rate():
    with pytest.warns(UserWarning, match="`nope` is not in the epoch logs"):
        cb = lr_tb.ReduceLROnPlateau(monitor="nope", patience=0, mode="min")
        x, y = zeros_data()
        bias_model().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    assert cb.learning_rates == [pytest.approx(0.1)] * 2 * SPE


def test_schedule_in_optimizer_is_refused_at_train_begin(tmp_path):
    opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    model = bias_model(optimizer=opt)
    x, y = zeros_data()
    cb = lr_tb.ReduceLROnPlateau(log_dir=str(tmp_path / "r"))
    with pytest.raises(TypeError, match="ReduceLROnPlateau.*float `learning_rate`"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[cb])
    assert not (tmp_path / "r").exists()


def test_verbose_prints_reduction(capsys):
    run([1.0, 1.0, 1.0], factor=0.5, patience=1, verbose=1)
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5." in capsys.readouterr().out


class FailAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("preempted")


def test_state_survives_backup_and_restore(tmp_path):
    """Keras' ReduceLROnPlateau forgets best/wait/cooldown on restore (Keras issue #17012):
    resumed, it would wait `patience` epochs afresh. lr_tb keeps them beside the backup."""
    values = [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]  # improves at epoch 1, flat after
    kw = dict(mode="min", factor=0.5, patience=3, min_delta=0.0)
    straight, _, _ = run(values, **kw)
    kw["monitor"] = "score"  # drops after epoch 4 (wait 1, 2, 3 at epochs 2-4)

    backup = str(tmp_path / "backup")
    x, y = zeros_data()

    def fit(callbacks):
        model = bias_model(learning_rate=1.0)
        model.fit(
            x,
            y,
            batch_size=8,
            epochs=len(values),
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), Script(values), *callbacks],
        )
        return model

    first = lr_tb.ReduceLROnPlateau(backup_dir=backup, **kw)
    with pytest.raises(RuntimeError):
        fit([first, FailAt(3)])  # crashes at the start of epoch 4 (wait is 2 by then)
    resumed = lr_tb.ReduceLROnPlateau(backup_dir=backup, **kw)
    fit([resumed])
    assert epoch_rates(first) + epoch_rates(resumed) == epoch_rates(straight)
    assert not os.path.exists(backup)  # BackupAndRestore removed it (and our state) at the end
    forgetful = lr_tb.ReduceLROnPlateau(**kw)  # without backup_dir: Keras' behaviour
    with pytest.raises(RuntimeError):
        fit([lr_tb.ReduceLROnPlateau(**kw), FailAt(3)])
    fit([forgetful])
    assert epoch_rates(forgetful) != epoch_rates(straight)[3:]


def test_verbose_lines_have_one_format(capsys):
    """The starting rate once, then Keras' wording for each reduction, float32 artifacts
    rounded away (a reduced 1e-3 prints 0.0005, not 0.0005000000237487257)."""
    cb = lr_tb.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=1, verbose=1)
    model = bias_model(learning_rate=1e-3)
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[Script([1.0] * 4), cb])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines == [
        "Epoch 1: ReduceLROnPlateau learning rate 0.001.",
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.0005.",
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.00025.",
        "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.000125.",
    ]


class CrashAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("crash")


@pytest.mark.parametrize("backup_first", [True, False])
def test_resume_in_any_callback_order(tmp_path, backup_first):
    """BackupAndRestore listed first saves the rate *before* the plateau's decision at that
    epoch's end; the plateau's own state (backup_dir) keeps the rate the decision left."""
    x, y = zeros_data()
    backup = str(tmp_path / f"backup-{backup_first}")

    def fit(crash):
        model = bias_model(learning_rate=0.1)
        cb = lr_tb.ReduceLROnPlateau(
            monitor="score", mode="min", factor=0.5, patience=0, min_delta=10.0, backup_dir=backup
        )
        restore = keras.callbacks.BackupAndRestore(backup)
        order = [restore, cb] if backup_first else [cb, restore]
        extra = [CrashAtEpoch(2)] if crash else []
        script = Script([1.0] * 5)
        try:
            model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[script, *order, *extra])
        except RuntimeError:
            pass
        return cb

    straight = lr_tb.ReduceLROnPlateau(
        monitor="score", mode="min", factor=0.5, patience=0, min_delta=10.0
    )
    bias_model(learning_rate=0.1).fit(
        x, y, batch_size=8, epochs=5, verbose=0, callbacks=[Script([1.0] * 5), straight]
    )
    fit(crash=True)
    resumed = fit(crash=False)
    assert resumed.steps == list(range(2 * SPE, 5 * SPE))
    assert resumed.learning_rates == straight.learning_rates[2 * SPE :]


class CrashMidEpoch(keras.callbacks.Callback):
    """Raises after the 3rd batch of epoch 2: 3 steps of that epoch ran, none flushed."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 2 and batch == 2:
            raise RuntimeError("crash")


def test_rerun_cell_after_an_interrupted_one_writes_what_ran(tmp_path):
    """A fit interrupted outside the train step (another callback raised), then the cell is
    re-run with a new model and callback on the same run: the steps the interrupted fit ran
    are written before the new fit starts, none is lost. (A dropped callback also writes them
    when it is garbage-collected, at the latest at interpreter exit.)"""
    x, y = zeros_data()

    def cell(crash):
        cb = lr_tb.ReduceLROnPlateau(monitor="score", mode="min", log_dir=str(tmp_path))
        model = bias_model(learning_rate=0.1)
        extra = [CrashMidEpoch()] if crash else []
        try:
            model.fit(
                x, y, batch_size=8, epochs=4, verbose=0,
                callbacks=[Script([1.0] * 4), cb, *extra],
            )  # fmt: skip
        except RuntimeError:
            steps, _ = read_scalars(os.path.join(str(tmp_path), "train"))
            assert steps == list(range(2 * SPE))  # the epoch flushes only
        return cb

    interrupted = cell(crash=True)
    assert interrupted._active  # Keras called no hook of it
    its_file = interrupted._log._writer.path
    cell(crash=False)
    assert not interrupted._active
    assert interrupted.steps == list(range(2 * SPE + 3))  # what the interrupted fit ran
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(its_file, alone)
    steps, values = read_scalars(str(alone))
    assert steps == list(range(2 * SPE + 3))
    np.testing.assert_array_equal(values, np.float32(0.1))
