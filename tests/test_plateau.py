"""lr_tb.ReduceLROnPlateau: Keras' rule on a scripted metric, drops on the exact epochs,
cooldown and min_lr respected, NaN handled, every step logged at the rate it used."""

import json
import os
import shutil
import uuid
import warnings

import keras
import numpy as np
import pytest
from conftest import (
    BiasProbe,
    assert_applied,
    assert_applied_exactly,
    bias_model,
    read_scalars,
    requires_tensorflow,
    zeros_data,
)

import lr_tb
from lr_tb import _fs, tags

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
        assert cb._rule.minimize is minimize
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
    assert (
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5 from epoch 3 on (epoch 2's "
        "learning_rate, 1, is the rate it trained at)." in capsys.readouterr().out
    )


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
    rounded away (a reduced 1e-3 prints 0.0005, not 0.0005000000237487257), saying in the
    same line which epoch the new rate starts at and what the epoch's `learning_rate` (the
    progress bar shows it right after) is, so the two numbers don't read as a contradiction."""
    cb = lr_tb.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=1, verbose=1)
    model = bias_model(learning_rate=1e-3)
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[Script([1.0] * 4), cb])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines == [
        "Epoch 1: ReduceLROnPlateau learning rate 0.001.",
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.0005 from epoch 3 on "
        "(epoch 2's learning_rate, 0.001, is the rate it trained at).",
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.00025 from epoch 4 on "
        "(epoch 3's learning_rate, 0.0005, is the rate it trained at).",
        "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.000125 from epoch 5 on "
        "(epoch 4's learning_rate, 0.00025, is the rate it trained at).",
    ]


class CrashAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("crash")


@requires_tensorflow  # ram:// is TensorFlow's file system
@pytest.mark.parametrize("scheduled", [False, True])
def test_state_survives_in_a_url_backup_dir(tmp_path, monkeypatch, scheduled):
    """backup_dir may be a URL, as a log_dir may (gs://; here TensorFlow's ram://): the state
    goes through that file system, not into a local folder named "ram:". A fit crashed at
    the start of epoch 4 and resumed there (initial_epoch=3: Keras' BackupAndRestore can't
    run on ram://, whose GFile(path, "w") appends to its metadata file instead of replacing
    it) takes best/wait from the URL and continues as the straight run."""
    monkeypatch.chdir(tmp_path)  # a local "ram:" folder, if one were made, goes here
    backup = f"ram://{uuid.uuid4().hex}/backup"
    values = [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]  # best at epoch 1; a drop after epoch 4
    kw = dict(monitor="score", mode="min", factor=0.5, patience=3, min_delta=0.0)
    if scheduled:
        kw["schedule"] = lr_tb.schedules.ExponentialDecay(1.0, 0.9, steps_per_epoch=SPE)
    x, y = zeros_data()

    def fit(model, callbacks, initial_epoch=0):
        model.fit(
            x, y, batch_size=8, epochs=len(values), initial_epoch=initial_epoch, verbose=0,
            callbacks=[Script(values), *callbacks],
        )  # fmt: skip

    straight = lr_tb.ReduceLROnPlateau(**kw)
    fit(bias_model(learning_rate=1.0), [straight])
    model = bias_model(learning_rate=1.0)
    first = lr_tb.ReduceLROnPlateau(backup_dir=backup, **kw)
    with pytest.raises(RuntimeError):
        fit(model, [first, FailAt(3)])
    states = json.loads(_fs.read_text(_fs.join(backup, "lr_tb_plateau.json")))
    assert sorted(states) == ["0", "1", "2"]
    assert states["2"] == {
        "best": 0.5, "wait": 1, "cooldown_counter": 0, "minimize": True, "mode_known": True,
        **({"scale": 1.0} if scheduled else {"rate": 1.0}),
    }  # fmt: skip
    resumed = lr_tb.ReduceLROnPlateau(backup_dir=backup, **kw)
    fit(model, [resumed], initial_epoch=3)
    assert resumed.steps == list(range(3 * SPE, 7 * SPE))
    assert first.learning_rates + resumed.learning_rates == straight.learning_rates
    assert resumed.best == 0.5 and resumed.wait == straight.wait == 2
    assert resumed.scale == straight.scale == (0.5 if scheduled else 1.0)
    if not scheduled:  # without the state it would wait 3 epochs afresh: no drop at all
        assert epoch_rates(resumed) == [1.0, 1.0, 0.5, 0.5]
    assert sorted(json.loads(_fs.read_text(_fs.join(backup, "lr_tb_plateau.json")))) == [
        str(epoch) for epoch in range(7)
    ]
    assert os.listdir(tmp_path) == []


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
    assert interrupted._fit.open  # Keras called no hook of it
    its_file = interrupted._fit.log._writer.path
    cell(crash=False)
    assert not interrupted._fit.open
    assert interrupted.steps == list(range(2 * SPE + 3))  # what the interrupted fit ran
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(its_file, alone)
    steps, values = read_scalars(str(alone))
    assert steps == list(range(2 * SPE + 3))
    np.testing.assert_array_equal(values, np.float32(0.1))


# -- on top of a schedule: rate = f32(max(S(t) * scale, min(S(t), min_lr))) ----------------
tf_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="host-side logic: the backends' part is in the bit-exact and model.save tests",
)


def scaled(schedule, scales, min_lr=0.0, first_step=0):
    """The closed form: each epoch's steps at `S(t) * scale`, floored by min(S(t), min_lr).
    S is evaluated as the rate table is, 4,096 steps at once: TensorFlow's vectorized cos
    may round the tail of a short vector differently (by one ulp)."""
    n = len(scales) * SPE
    window = np.arange(first_step, first_step + 4096)
    values = lr_tb.schedules.evaluate(schedule, window)[:n].astype(np.float64)
    scale = np.repeat(np.asarray(scales, np.float64), SPE)
    return np.maximum(values * scale, np.minimum(values, min_lr)).astype(np.float32)


def test_a_keras_schedule_times_the_scale_bit_exact(tmp_path):
    """Keras' CosineDecay under the plateau: the scale halves after epochs 1 and 2 (flat
    score, patience 1); epoch 3 improves; epoch 4 is flat again but its last rate is at the
    min_lr floor, so no reduction. The floor holds the product (steps 22-25) until the
    schedule itself falls below it (26-29). Logged == applied, rate and scale per step."""
    schedule = keras.optimizers.schedules.CosineDecay(1.0, decay_steps=30)
    cb = lr_tb.ReduceLROnPlateau(
        monitor="score", mode="min", factor=0.5, patience=1, min_lr=0.05,
        schedule=schedule, log_dir=str(tmp_path),
    )  # fmt: skip
    model = bias_model(learning_rate=0.1)  # the compiled rate is replaced
    probe = BiasProbe()
    x, y = zeros_data()
    values = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    model.fit(x, y, batch_size=8, epochs=6, verbose=0, callbacks=[Script(values), cb, probe])
    scales = [1, 1, 0.5, 0.25, 0.25, 0.25]
    expected = scaled(schedule, scales, min_lr=0.05)
    np.testing.assert_array_equal(np.float32(cb.learning_rates), expected)
    assert list(expected[22:26]) == [np.float32(0.05)] * 4 and expected[26] < np.float32(0.05)
    assert_applied_exactly(probe, cb.learning_rates)
    run_dir = os.path.join(str(tmp_path), "train")
    steps, rates = read_scalars(run_dir)
    assert steps == list(range(30))
    np.testing.assert_array_equal(rates, expected)
    steps, logged_scales = read_scalars(run_dir, tags.LR_SCALE)
    assert steps == list(range(30))
    np.testing.assert_array_equal(logged_scales, np.float32(np.repeat(scales, SPE)))
    assert cb.scale == 0.25 and float(model.optimizer.learning_rate) == expected[-1]


@tf_only
def test_threshold_mode_rel_and_warmup_epochs():
    """PyTorch's relative rule decides differently from Keras' absolute one on the same
    values (min_delta 0.01: 99.5 is an improvement on 100 absolutely, not relatively); the
    warmup epochs are not looked at, not even as the best."""
    kw = dict(factor=0.5, patience=1, min_delta=0.01)
    values = [100.0, 99.5, 99.5, 99.5]
    assert epoch_rates(run(values, **kw)[0]) == [1.0, 1.0, 1.0, 0.5]
    assert epoch_rates(run(values, threshold_mode="rel", **kw)[0]) == [1.0, 1.0, 0.5, 0.25]
    values = [100.0, 100.5, 102.0]  # max: 100.5 > 100 + 0.01, but not > 100 * 1.01
    assert epoch_rates(run(values, mode="max", **kw)[0]) == [1.0, 1.0, 1.0]
    rel = run(values, mode="max", threshold_mode="rel", **kw)[0]
    assert epoch_rates(rel) == [1.0, 1.0, 0.5] and rel.best == 102.0
    # without warmup: best 0.1 at epoch 0, a reduction after each epoch from 1 on
    cb = run([0.1, 0.5, 1.0, 1.0, 1.0], factor=0.5, patience=1, warmup_epochs=2)[0]
    assert epoch_rates(cb) == [1.0, 1.0, 1.0, 1.0, 0.5]  # best 1.0 at epoch 2, flat at 3


@pytest.mark.parametrize(
    "kw, error, match",
    [
        (dict(schedule="cosine"), TypeError, "`schedule`.*LearningRateSchedule.*'cosine'"),
        (dict(schedule=0.1), TypeError, "schedule=0.1"),
        (dict(threshold_mode="relative"), ValueError, "threshold_mode='relative'"),
        (dict(warmup_epochs=-1), ValueError, "`warmup_epochs`.*>= 0.*-1"),
        (dict(warmup_epochs=1.5), ValueError, "warmup_epochs=1.5"),
    ],
)
def test_bad_new_arguments_raise_at_construction(kw, error, match):
    with pytest.raises(error, match=match):
        lr_tb.ReduceLROnPlateau(**kw)


def fit_scheduled(values, schedule, log_dir=None, model=None, initial_epoch=0, extra=(), **kw):
    kw = dict(monitor="score", mode="min", factor=0.5, patience=1, schedule=schedule) | kw
    cb = lr_tb.ReduceLROnPlateau(log_dir=log_dir, **kw)
    model = model or bias_model(learning_rate=1.0)
    x, y = zeros_data()
    model.fit(
        x, y, batch_size=8, initial_epoch=initial_epoch, epochs=len(values), verbose=0,
        callbacks=[*extra[:1], Script(values), cb, *extra[1:]],
    )  # fmt: skip
    return cb, model


@tf_only
def test_scale_and_decisions_survive_backup_and_restore(tmp_path):
    """Crashed at the start of epoch 3 and resumed: the same rates and scales as the run
    that was not interrupted. The resumed plateau needs both the scale (0.5) and the
    decision state (best 0.5, so epoch 3 is no improvement) kept in backup_dir."""
    schedule = lr_tb.schedules.ExponentialDecay(1.0, 0.9, steps_per_epoch=SPE)
    values = [1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    straight, _ = fit_scheduled(values, schedule, log_dir=str(tmp_path / "straight"))
    backup = str(tmp_path / "backup")
    log_dir = str(tmp_path / "resumed")

    def fit(extra):
        restore = keras.callbacks.BackupAndRestore(backup)  # listed first: saves before us
        return fit_scheduled(values, schedule, log_dir, extra=[restore, *extra], backup_dir=backup)

    with pytest.raises(RuntimeError):
        fit([FailAt(3)])
    resumed, _ = fit([])
    assert resumed.steps == list(range(3 * SPE, 6 * SPE))
    assert resumed.learning_rates == straight.learning_rates[3 * SPE :]
    assert resumed.scale == straight.scale == 0.0625
    for tag in (tags.LEARNING_RATE, tags.LR_SCALE):
        want = read_scalars(str(tmp_path / "straight" / "train"), tag)
        got = read_scalars(os.path.join(log_dir, "train"), tag)
        assert got[0] == want[0] == list(range(6 * SPE))
        np.testing.assert_array_equal(got[1], want[1])


def test_model_save_and_load_continue_at_the_scale(tmp_path):
    """A reduction decided at the last epoch's end of a fit is kept in the optimizer's rate
    variable (the last step's schedule rate times the new scale), so `model.save` keeps it
    and a new plateau on the loaded model continues there, bit for bit: the held rate over
    the schedule's is 0.3**2 to float32 precision only, taken as the power of the factor."""
    schedule = lr_tb.schedules.WarmupCosineDecay(1.0, total_steps=40, warmup_steps=3)
    values = [1.0, 1.0, 1.0, 0.5, 0.5]  # reductions after epochs 1, 2 (pending at 3's end), 4
    straight, _ = fit_scheduled(values, schedule, factor=0.3)
    first, model = fit_scheduled(values[:3], schedule, factor=0.3)
    scale = 0.3 * 0.3
    assert first.scale == scale  # decided at the end of epoch 2, after its last step:
    held = float(model.optimizer.learning_rate)  # step 14's rate at the new scale
    assert held == scaled(schedule, [scale], first_step=10)[-1] != first.learning_rates[-1]
    assert held / float(lr_tb.schedules.evaluate(schedule, np.arange(10, 4106))[4]) != scale
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    later, loaded = fit_scheduled(values, schedule, model=loaded, initial_epoch=3, factor=0.3)
    assert later.steps == list(range(15, 25))
    assert later.learning_rates == straight.learning_rates[15:]
    np.testing.assert_array_equal(
        np.float32(later.learning_rates), scaled(schedule, [scale, scale], first_step=15)
    )
    assert later.scale == straight.scale == scale * 0.3


def test_a_rate_no_plateau_left_starts_the_scale_at_1():
    """A model trained before with another rate (a plain fit, another schedule): the held
    rate over the schedule's is no power of `factor`, so the plateau's scale starts at 1, as
    the formula says (it used to take that ratio: 0.37 x the schedule, silently); a held
    rate a plateau with this schedule and factor left (0.5**2) is continued."""
    schedule = lr_tb.schedules.Constant(0.01)
    model = bias_model(learning_rate=0.0037)
    x, y = zeros_data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # a plain fit at 0.0037
    fresh, model = fit_scheduled([1.0, 0.5], schedule, model=model)  # improving: no reduction
    assert fresh.learning_rates == [float(np.float32(0.01))] * (2 * SPE)
    assert fresh.scale == 1.0
    model.optimizer.learning_rate.assign(0.0025)  # what a plateau at scale 0.25 leaves
    later, _ = fit_scheduled([1.0, 0.5], schedule, model=model)
    assert later.scale == 0.25
    assert later.learning_rates == [float(np.float32(0.01 * 0.25))] * (2 * SPE)


# -- one public class, two implementations, one decision rule ------------------------------
def test_the_rule_alone_counts_as_keras_does():
    """PlateauRule without a model or a rate: (due, wait, cooldown_counter) after each epoch
    of Keras' rule (patience 2, cooldown 2; the callback reduces whenever a reduction is
    due), and a rule restored from `state()` mid-way continues identically."""
    from lr_tb.callbacks._plateau_rule import PlateauRule

    def rule():
        return PlateauRule("score", 2, "min", 0.0, 2, "abs", warmup_epochs=1)

    values = [9.0, 3.0, 2.0, 2.0, 2.0, 2.0, 1.5, float("nan"), 1.5, 1.5]
    seen, straight = [], rule()
    with pytest.warns(UserWarning, match="`score` is NaN at epoch 8"):
        for epoch, value in enumerate(values):
            due = straight.update(epoch, {"score": value}, model=None)
            if due:
                straight.reduced()
            seen.append((due, straight.wait, straight.cooldown_counter))
    assert seen == [
        (False, 0, 0),  # warmup: 9.0 is not even the best
        (False, 0, 0),
        (False, 0, 0),
        (False, 1, 0),
        (True, 0, 2),
        (False, 0, 1),  # in cooldown: not counted
        (False, 0, 0),  # the counter reaches 0: counted (an improvement here)
        (False, 1, 0),  # NaN: no improvement
        (True, 0, 2),
        (False, 0, 1),
    ]
    assert straight.best == 1.5 and straight.minimize and straight.mode_known
    resumed = rule()
    first = rule()
    for epoch, value in enumerate(values[:4]):
        first.update(epoch, {"score": value}, model=None)
    resumed.load_state(json.loads(json.dumps(first.state())))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch, value in enumerate(values[4:], start=4):
            if resumed.update(epoch, {"score": value}, model=None):
                resumed.reduced()
    assert resumed.state() == straight.state()


class Mine(lr_tb.ReduceLROnPlateau):
    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self.seen = getattr(self, "seen", 0) + 1


@pytest.mark.parametrize("scheduled", [False, True])
def test_one_public_class_for_both(scheduled, capsys):
    """`lr_tb.ReduceLROnPlateau(...)` is the plateau alone or on a schedule, an instance of
    ReduceLROnPlateau (and ScheduleCallback) either way, named so in every message; copies
    (keras-tuner deep-copies callbacks) and pickles keep their kind; the rule's arguments
    stay attributes that can be set; a user's subclass works both ways, its methods first."""
    import copy
    import pickle

    kw = dict(schedule=lr_tb.schedules.Constant(1.0)) if scheduled else {}
    cb = lr_tb.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=5, **kw)
    assert isinstance(cb, (lr_tb.ReduceLROnPlateau, lr_tb.ScheduleCallback))
    assert type(cb).__name__ == "ReduceLROnPlateau" and (cb.schedule is not None) is scheduled
    for clone in (copy.deepcopy(cb), pickle.loads(pickle.dumps(cb))):
        assert type(clone) is type(cb) and clone.patience == 5 and clone._rule is not cb._rule
    cb.patience = 1  # read at each epoch end, as Keras' own attribute
    cb.verbose = 1
    x, y = zeros_data()
    bias_model(learning_rate=1.0).fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Script([1.0] * 3), cb]
    )
    assert epoch_rates(cb) == [1.0, 1.0, 0.5]
    assert "Epoch 1: ReduceLROnPlateau learning rate 1." in capsys.readouterr().out

    mine = Mine(monitor="score", mode="min", factor=0.5, patience=1, verbose=1, **kw)
    assert isinstance(mine, Mine) and type(mine).__name__ == "Mine"
    for clone in (copy.deepcopy(mine), pickle.loads(pickle.dumps(mine))):
        assert type(clone) is type(mine) and clone.patience == 1
    bias_model(learning_rate=1.0).fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Script([1.0] * 3), mine]
    )
    assert epoch_rates(mine) == [1.0, 1.0, 0.5] and mine.seen == 3
    assert "Epoch 1: Mine learning rate 1." in capsys.readouterr().out


def test_docstring_examples_run():
    import doctest

    from lr_tb.callbacks import _plateau_rule, plateau

    for module in (plateau, _plateau_rule):
        result = doctest.testmod(module, extraglobs={"lr_tb": lr_tb, "keras": keras})
        assert result.failed == 0
    assert doctest.testmod(plateau, extraglobs={"lr_tb": lr_tb, "keras": keras}).attempted == 3
