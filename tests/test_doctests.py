"""Every docstring example in lr_tb runs (doctest, as optax does): the examples users copy
are code that works, with the outputs they show.

Each module's examples run in a fresh temporary directory (an example's `log_dir="runs/a"`
writes there) with `lr_tb`, `keras`, `np` and a small compiled `model` with data `x`, `y`
in scope, as an example's reader has them; Keras' progress bar goes to its log, not to the
output an example shows.
"""

import doctest
import importlib
import pkgutil

import keras
import numpy as np
import pytest

import lr_tb


def _modules_with_examples():
    names = ["lr_tb"] + [
        m.name for m in pkgutil.walk_packages(lr_tb.__path__, "lr_tb.") if not m.ispkg
    ]
    found = []
    for name in names:
        if name in ("lr_tb.__main__",):
            continue
        module = importlib.import_module(name)
        with open(module.__file__) as f:
            if ">>>" in f.read():
                found.append(name)
    return found


MODULES = _modules_with_examples()


def _globs():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = np.zeros((1024, 2), np.float32)  # 32 steps an epoch
    y = np.zeros((1024, 1), np.float32)
    return {"lr_tb": lr_tb, "keras": keras, "np": np, "model": model, "x": x, "y": y}


def test_the_modules_with_examples_are_found():
    assert {"lr_tb.schedules.registry", "lr_tb.callbacks.plateau", "lr_tb.finder"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    keras.config.disable_interactive_logging()  # fit's progress bar is not an example's output
    try:
        result = doctest.testmod(
            module,
            extraglobs=_globs(),
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            report=True,
            verbose=False,
        )
    finally:
        keras.config.enable_interactive_logging()
    assert result.attempted > 0
    assert result.failed == 0
