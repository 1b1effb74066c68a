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
