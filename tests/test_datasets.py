"""lr_tb.datasets: the offline digits, and the fallback when MNIST can't be had."""

import numpy as np
import pytest

from lr_tb import datasets


def test_offline_digits_look_like_mnist():
    d = datasets.load("digits")
    assert d.source == "digits"
    assert d.x_train.shape[1:] == (28, 28, 1) and d.x_train.dtype == np.float32
    assert len(d.x_train) + len(d.x_test) == 1797
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10))
    assert np.all(d.x_train[:, :2] == 0) and np.all(d.x_train[:, -2:] == 0)  # the border


def test_auto_falls_back_with_a_one_line_notice(monkeypatch, capsys):
    monkeypatch.setattr(datasets, "_mnist_cached", lambda: False)

    def offline(timeout=20.0):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(datasets, "load_mnist", offline)
    d = datasets.load("auto")
    assert d.source == "digits"
    notice = capsys.readouterr().err.strip()
    assert "no network" in notice and "offline digits" in notice and "\n" not in notice


def test_unknown_source():
    with pytest.raises(ValueError, match="source.*'web'"):
        datasets.load("web")
