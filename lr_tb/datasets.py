"""Handwritten digits for the article's demo: MNIST when it can be had, offline digits if not.

MNIST is the file `keras.datasets.mnist` uses (`$KERAS_HOME/datasets/mnist.npz`, by default
`~/.keras/datasets`): read from there when cached, else downloaded there (11 MB, its SHA-256
checked) with a timeout on each network call. Where it is neither cached nor downloadable (an
offline machine, CI), the demo uses scikit-learn's bundled 8x8 digits (1,797 images, shipped
inside the package), scaled 3x and padded to MNIST's 28x28 so the article's CNN runs
unchanged.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
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


MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def _mnist_path() -> str:
    """Where `keras.datasets.mnist.load_data()` keeps the file."""
    home = os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras"))
    return os.path.join(home, "datasets", "mnist.npz")


def _mnist_cached() -> bool:
    return os.path.exists(_mnist_path())


def _download(url: str, path: str, sha256: str, timeout: float) -> None:
    """Fetch `url` to `path`, `timeout` seconds at most for each network call; the file
    appears only whole and with the expected SHA-256."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}.part"
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise OSError(f"{url}: SHA-256 {digest.hexdigest()}, expected {sha256}")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def load_mnist(timeout: float = 20.0) -> Digits:
    """Real MNIST, as `keras.datasets.mnist` has it: cached, or downloaded (each network
    call within `timeout` seconds)."""
    path = _mnist_path()
    if not os.path.exists(path):
        _download(MNIST_URL, path, MNIST_SHA256, timeout)
    with np.load(path, allow_pickle=False) as f:
        x_train, y_train = f["x_train"], f["y_train"]
        x_test, y_test = f["x_test"], f["y_test"]
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
