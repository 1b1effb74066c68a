"""lr_tb.datasets: the offline digits, and the fallback when MNIST can't be had."""

import hashlib
import io
import os
import socket

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


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fake_mnist() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(
        buffer,
        x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        y_train=np.arange(6, dtype=np.uint8),
        x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        y_test=np.arange(2, dtype=np.uint8),
    )
    return buffer.getvalue()


def test_mnist_download_passes_its_timeout_to_the_call(tmp_path, monkeypatch):
    """The timeout goes to the network call; the process-wide default is never touched (so
    other threads keep theirs), and the file is cached where Keras keeps it."""
    payload = _fake_mnist()
    calls = []

    def urlopen(url, timeout=None):
        calls.append((url, timeout, socket.getdefaulttimeout()))
        return _Response(payload)

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(datasets.urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(datasets, "MNIST_SHA256", hashlib.sha256(payload).hexdigest())
    before = socket.getdefaulttimeout()
    d = datasets.load_mnist(timeout=3.5)
    assert calls == [(datasets.MNIST_URL, 3.5, before)]
    assert socket.getdefaulttimeout() == before
    assert d.source == "mnist" and d.x_train.shape == (6, 28, 28, 1) and d.x_train.max() <= 1
    assert os.listdir(tmp_path / "datasets") == ["mnist.npz"]
    datasets.load_mnist()  # cached now: no second download
    assert len(calls) == 1


def test_a_corrupt_mnist_download_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(
        datasets.urllib.request, "urlopen", lambda url, timeout=None: _Response(b"not mnist")
    )
    with pytest.raises(OSError, match="SHA-256"):
        datasets.load_mnist()
    assert os.listdir(tmp_path / "datasets") == []
    assert datasets.load("auto").source == "digits"  # "auto" falls back to the digits
