"""The examples run end to end (small settings) and write the runs the README promises."""

import os
import sys

import numpy as np
from conftest import keras_tags, read_scalars

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import quickstart  # noqa: E402


def test_quickstart_writes_one_run_per_schedule(tmp_path, capsys):
    assert quickstart.main(["--logdir", str(tmp_path), "--epochs", "3", "--samples", "640"]) == 0
    out = capsys.readouterr().out
    assert f"tensorboard --logdir {tmp_path}" in out
    steps_per_epoch = 640 * 4 // 5 // 64  # validation_split=0.2, batch 64: 8 steps
    for name in ["plateau", "exponential", "warmup_cosine", "cosine_restarts"]:
        train = os.path.join(str(tmp_path), name, "train")
        steps, values = read_scalars(train)
        assert steps == list(range(3 * steps_per_epoch)), name
        assert np.all(np.isfinite(values)) and np.all(values > 0)
        assert "epoch_loss" in keras_tags(train)
        assert os.path.isdir(os.path.join(str(tmp_path), name, "validation"))
    _, restarts = read_scalars(os.path.join(str(tmp_path), "cosine_restarts", "train"))
    assert np.sum(np.diff(restarts) > 0) >= 4  # climbs back at every restart


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
