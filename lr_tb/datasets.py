"""Handwritten digits for the article's demo: MNIST when it can be had, offline digits if not.

`keras.datasets.mnist` downloads on first use. Where it is neither cached nor downloadable
(an offline machine, CI), the demo uses scikit-learn's bundled 8x8 digits (1,797 images,
shipped inside the package), scaled 3x and padded to MNIST's 28x28 so the article's CNN runs
unchanged.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

import numpy as np

SOURCES = ("auto", "mnist", "digits")


@dataclass
class Digits:
    """Images as float32 in [0, 1], shape (n, 28, 28, 1); labels 0-9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def _mnist_cached() -> bool:
    cache = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "datasets")
    return os.path.exists(os.path.join(cache, "mnist.npz"))


def load_mnist(timeout: float = 20.0) -> Digits:
    """Real MNIST through `keras.datasets.mnist` (cached, or downloaded within `timeout`)."""
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    finally:
        socket.setdefaulttimeout(previous)
    scale = np.float32(1 / 255)
    return Digits(
        (x_train[..., None] * scale).astype("float32"),
        y_train.astype("int64"),
        (x_test[..., None] * scale).astype("float32"),
        y_test.astype("int64"),
        "mnist",
    )


def load_offline_digits(test_fraction: float = 0.2, seed: int = 0) -> Digits:
    """scikit-learn's bundled digits, upsampled to 28x28x1 (3x nearest, 2-pixel border)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "The offline digits need scikit-learn: pip install 'lr_tb[demo]'"
        ) from error
    bunch = load_digits()
    images = bunch.images.astype("float32") / 16.0
    images = np.kron(images, np.ones((3, 3), dtype="float32"))  # 8x8 -> 24x24
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None]  # -> 28x28x1
    order = np.random.default_rng(seed).permutation(len(images))
    cut = int(len(images) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    labels = bunch.target.astype("int64")
    return Digits(images[train], labels[train], images[test], labels[test], "digits")


def load(source: str = "auto") -> Digits:
    """Digits from `source`: "mnist", "digits" (offline), or "auto" (MNIST if cached or
    downloadable, else the offline digits with a one-line notice on stderr)."""
    if source not in SOURCES:
        raise ValueError(f"Argument `source` must be one of {list(SOURCES)}. Received: {source!r}")
    if source == "digits":
        return load_offline_digits()
    if source == "mnist" or _mnist_cached():
        return load_mnist()
    try:
        return load_mnist()
    except Exception as error:  # noqa: BLE001 - any failure to fetch means "offline"
        reason = str(error).splitlines()[0][:80] if str(error) else type(error).__name__
        print(
            f"MNIST is not cached and could not be downloaded ({reason}); "
            "using scikit-learn's offline digits (8x8, upsampled to 28x28).",
            file=sys.stderr,
        )
        return load_offline_digits()
