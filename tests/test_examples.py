"""The examples run end to end (small settings) and write the runs the README promises.

The commands the README shows (`python examples/quickstart.py --logdir runs`, ...) run as
shown in test_readme.py; examples/article.ipynb runs in test_notebook.py."""

import os
import sys

import numpy as np
import pytest
from conftest import keras_tags, read_scalars

from lr_tb import tags

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))


def test_tuner_search_example(tmp_path, capsys):
    import tuner_search

    logdir = tmp_path / "search"
    assert tuner_search.main(["--logdir", str(logdir), "--trials", "2", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Best trial's schedule:" in out and f"tensorboard --logdir {logdir}" in out
    trials = sorted(os.listdir(logdir))
    assert len(trials) == 2
    for trial in trials:
        steps, _ = read_scalars(os.path.join(str(logdir), trial, "execution0", "train"))
        assert steps == list(range(45))  # 1,437 digits, batch 32


def test_gan_example(tmp_path, capsys):
    """Two optimizers of a model's own, each scheduled by an lr_tb callback (`optimizer=`),
    both curves written by lr_tb.TensorBoard under `batch_learning_rate/<attribute>`."""
    import keras

    if keras.backend.backend() == "jax":
        pytest.skip("the example's train_step is for TensorFlow or torch")
    import gan

    assert gan.main(["--logdir", str(tmp_path), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "g_optimizer: 23 steps" in out and "d_optimizer: 23 steps" in out
    run = str(tmp_path / "gan" / "train")
    for name in ("g_optimizer", "d_optimizer"):
        steps, rates = read_scalars(run, f"{tags.LEARNING_RATE}/{name}")
        assert steps == list(range(23)) and np.all(np.isfinite(rates))  # 1,437 digits, batch 64
    found = keras_tags(run)
    assert tags.LEARNING_RATE not in found
    assert not [t for t in found if t.startswith("epoch_learning_rate")]
    assert {"epoch_d_loss", "epoch_g_loss"} <= found
