"""`import lr_tb`, when it is what imports Keras (and so TensorFlow), prints none of
TensorFlow's C++ start-up lines, nor the `cuInit` error of a machine without a GPU; a level the
user set is kept, and a Keras imported before lr_tb is left as it is."""

import os
import re
import subprocess
import sys

from conftest import requires_tensorflow

pytestmark = requires_tensorflow

FIT = (
    "import keras, numpy as np, os; "
    "m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]); "
    "m.compile('sgd', 'mse'); "
    "m.fit(np.zeros((8, 2)), np.zeros((8, 1)), verbose=0); "
    "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
)
NOISE = re.compile(r"[IWE]\d{4} |WARNING: All log messages")


def run(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1], result.stderr.splitlines()


def test_import_lr_tb_first_is_quiet():
    level, stderr = run("import lr_tb; " + FIT)
    assert [line for line in stderr if NOISE.match(line) or "cuInit" in line] == []
    assert level == "3"


def test_a_level_the_user_set_is_kept():
    level, stderr = run("import lr_tb; " + FIT, TF_CPP_MIN_LOG_LEVEL="0")
    assert level == "0"
    assert any(NOISE.match(line) for line in stderr)  # what the user asked to see


def test_keras_imported_before_lr_tb_is_left_alone():
    """lr_tb sets no level in a process whose Keras it did not start: the same as Keras
    alone leaves (Keras sets its own default)."""
    alone, _ = run(FIT)
    level, _ = run("import keras, lr_tb; " + FIT)
    assert level == alone
