"""The examples run end to end (small settings) and write the runs the README promises.

The commands the README shows (`python examples/quickstart.py --logdir runs`, ...) run as
shown in test_readme.py; examples/article.ipynb runs in test_notebook.py."""

import os
import sys

from conftest import read_scalars

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
