"""lr_tb.TensorBoard: Keras' TensorBoard plus every step's applied rate, as the run's one
learning-rate chart; and Keras' per-batch names (`batch_<name>`) for every per-step tag."""

import copy
import glob
import os
from collections import Counter

import keras
import numpy as np
import pytest
from conftest import (
    BiasProbe,
    assert_applied_exactly,
    bias_model,
    keras_tags,
    read_scalars,
    zeros_data,
)
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

import lr_tb
from lr_tb import tags
from lr_tb.schedules import evaluate

SPE, EPOCHS = 5, 3
SCHEDULE = lr_tb.schedules.WarmupCosineDecay(0.1, total_steps=SPE * EPOCHS, warmup_steps=3)


def scheduler(**kwargs):
    return lr_tb.WarmupCosineDecayScheduler(0.1, warmup_steps=3, **kwargs)


def fit(callbacks, model=None, epochs=EPOCHS):
    model = model or bias_model()
    x, y = zeros_data()
    probe = BiasProbe()
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[*callbacks, probe])
    return history, probe


def points(run_dir):
    """Every (tag, step) written to the run, from every event file, duplicates kept."""
    found = Counter()
    for path in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
        for event in EventFileLoader(path).Load():
            for value in event.summary.value:
                found[(value.tag, event.step)] += 1
    return found


def test_tags_take_keras_per_batch_names():
    """`batch_*` as `keras.callbacks.TensorBoard` names per-batch values; each sorts before
    Keras' `epoch_*` groups, so TensorBoard lists (and opens) lr_tb's curves first."""
    per_step = [
        tags.LEARNING_RATE,
        tags.MOMENTUM,
        tags.BETA_1,
        tags.EFFECTIVE_WEIGHT_DECAY,
        tags.LR_SCALE,
        tags.FINDER_LOSS,
        tags.FINDER_SMOOTHED_LOSS,
    ]
    assert tags.LEARNING_RATE == "batch_learning_rate"
    assert all(tag.startswith("batch_") for tag in per_step)
    assert all(tag < "epoch_" for tag in per_step)
    assert tags.momentum("beta_1") == "batch_beta_1"
    assert tags.EPOCH_LOG_KEY == "learning_rate"  # History's key stays Keras'


def test_one_learning_rate_chart_the_applied_one(tmp_path):
    """A scheduler with no log_dir beside lr_tb.TensorBoard: the run holds Keras' epoch
    curves and `batch_learning_rate` at every step, equal to what each update applied, and
    no `epoch_learning_rate`; History still has each epoch's `learning_rate`."""
    ours = scheduler()
    board = lr_tb.TensorBoard(str(tmp_path))
    history, probe = fit([ours, board])
    run = os.path.join(str(tmp_path), "train")
    found = keras_tags(run)
    assert "epoch_loss" in found and tags.LEARNING_RATE in found
    assert "epoch_learning_rate" not in found and "learning_rate" not in found
    rates = np.float32(board.learning_rates)
    np.testing.assert_allclose(rates, evaluate(SCHEDULE, range(SPE * EPOCHS)), rtol=1e-6)
    assert_applied_exactly(probe, rates)
    written = points(run)
    assert sorted(s for (t, s) in written if t == tags.LEARNING_RATE) == list(range(SPE * EPOCHS))
    assert all(n == 1 for n in written.values())
    np.testing.assert_array_equal(
        np.float32(history.history["learning_rate"]), rates[SPE - 1 :: SPE]
    )


@pytest.mark.parametrize("order", ["board_first", "board_last"])
def test_write_epoch_learning_rate_keeps_keras_curve(tmp_path, order):
    ours = scheduler()
    board = lr_tb.TensorBoard(str(tmp_path), write_epoch_learning_rate=True)
    callbacks = [board, ours] if order == "board_first" else [ours, board]
    history, probe = fit(callbacks)
    run = os.path.join(str(tmp_path), "train")
    written = points(run)
    assert sorted(s for (t, s) in written if t == "epoch_learning_rate") == list(range(EPOCHS))
    assert sorted(s for (t, s) in written if t == tags.LEARNING_RATE) == list(range(SPE * EPOCHS))
    assert_applied_exactly(probe, board.learning_rates)


def test_without_the_epoch_rate_whatever_the_callback_order(tmp_path):
    """An lr_tb callback before lr_tb.TensorBoard puts `learning_rate` in the epoch logs;
    it is not written as `epoch_learning_rate` either, and History keeps it."""
    history, _ = fit([lr_tb.TensorBoard(str(tmp_path)), scheduler()])
    assert "epoch_learning_rate" not in keras_tags(os.path.join(str(tmp_path), "train"))
    assert len(history.history["learning_rate"]) == EPOCHS


def test_survives_deepcopy_as_keras_tuner_copies_it(tmp_path):
    board = copy.deepcopy(lr_tb.TensorBoard(str(tmp_path)))
    fit([board])
    found = keras_tags(os.path.join(str(tmp_path), "train"))
    assert tags.LEARNING_RATE in found and "epoch_learning_rate" not in found


@pytest.mark.parametrize("board", ["keras", "lr_tb"])
def test_per_batch_logging_writes_one_batch_learning_rate(tmp_path, board):
    """`update_freq="batch"` makes Keras' TensorBoard write `batch_<key>` for every key of the
    batch logs: nothing lr_tb puts there may give a second `batch_learning_rate`. One point a
    step, lr_tb's, beside Keras' `batch_loss`."""
    if board == "keras":
        callbacks = [keras.callbacks.TensorBoard(str(tmp_path), update_freq="batch")]
        callbacks.append(scheduler(log_dir=str(tmp_path)))
    else:
        callbacks = [scheduler(), lr_tb.TensorBoard(str(tmp_path), update_freq="batch")]
    _, probe = fit(callbacks)
    written = points(os.path.join(str(tmp_path), "train"))
    assert sorted(s for (t, s) in written if t == tags.LEARNING_RATE) == list(range(SPE * EPOCHS))
    assert sum(1 for (t, _) in written if t == "batch_loss") == SPE * EPOCHS
    assert all(n == 1 for n in written.values()), [k for k, n in written.items() if n > 1]
    assert "learning_rate" not in {t for t, _ in written}


def test_write_epoch_learning_rate_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match=r"`write_epoch_learning_rate` must be a bool.*'yes'"):
        lr_tb.TensorBoard(str(tmp_path), write_epoch_learning_rate="yes")


def test_writes_the_momentum_a_scheduler_without_log_dir_asks_for(tmp_path):
    """The Quick start's pattern (a scheduler with no `log_dir` beside lr_tb.TensorBoard)
    with `log_momentum=True` on the scheduler: lr_tb.TensorBoard writes `batch_momentum`,
    the values the scheduler recorded in the step (it has no run of its own)."""
    ours = lr_tb.OneCycleScheduler(max_lr=0.1, log_momentum=True)
    board = lr_tb.TensorBoard(str(tmp_path))
    model = bias_model(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    fit([board, ours], model=model)
    run = os.path.join(str(tmp_path), "train")
    steps, momenta = read_scalars(run, tags.MOMENTUM)
    assert steps == list(range(SPE * EPOCHS))
    np.testing.assert_array_equal(momenta, np.float32(ours.momentums))
    assert len(set(ours.momentums)) > 2  # cycled, not the optimizer's constant
    assert all(n == 1 for n in points(run).values())


class OnDisk(keras.callbacks.Callback):
    """How many steps of the run are on disk when each batch ends (what a hard kill keeps)."""

    def __init__(self, run):
        super().__init__()
        self.run, self.seen = run, []

    def on_train_batch_end(self, batch, logs=None):
        try:
            self.seen.append(len(read_scalars(self.run)[0]))
        except (KeyError, OSError):  # no file, or no point in it yet
            self.seen.append(0)


@pytest.mark.parametrize("where", ["scheduler", "board"])
def test_flushes_inside_an_epoch_at_the_shortest_flush_secs(tmp_path, where):
    """A scheduler without `log_dir` beside lr_tb.TensorBoard (the quick start's pattern):
    the board writes its rate and flushes at the scheduler's `flush_secs` if shorter than its
    own, or at its own `flush_secs`: mid-epoch, the steps before each batch are on disk
    (a user's SIGKILL check found only the epoch ends on disk: the board flushed every 30 s
    whatever the scheduler asked)."""
    run = os.path.join(str(tmp_path), "train")
    ours = scheduler(flush_secs=1e-9) if where == "scheduler" else scheduler()
    board = lr_tb.TensorBoard(str(tmp_path), **({"flush_secs": 1e-9} if where == "board" else {}))
    disk = OnDisk(run)
    history, probe = fit([ours, board, disk], epochs=1)
    # flushed at the begin of every batch after the first: batch k ends with k steps on disk
    assert disk.seen == list(range(SPE))
    steps, rates = read_scalars(run)
    assert steps == list(range(SPE))
    assert_applied_exactly(probe, rates)


def test_flush_secs_is_checked_at_construction(tmp_path):
    with pytest.raises(ValueError, match=r"`flush_secs` must be > 0.*flush_secs=0"):
        lr_tb.TensorBoard(str(tmp_path), flush_secs=0)
    assert lr_tb.TensorBoard(str(tmp_path), flush_secs=None).flush_secs is None


def test_a_log_dir_that_is_a_file_is_refused_at_construction(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(ValueError, match="log_dir"):
        lr_tb.TensorBoard(str(afile))
