"""lr_tb installed with JAX alone (`pip install -e ".[test,jax]"`): no TensorFlow in the
environment, and lr_tb imports, previews and writes event files all the same.

`.ci/run` runs this file in such an environment with LR_TB_WITHOUT_TENSORFLOW=1 and
KERAS_BACKEND=jax; elsewhere it is skipped (tests/test_backends.py checks the same with
`import tensorflow` made to fail, in the full environment).
"""

import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import read_scalars

pytestmark = pytest.mark.skipif(
    os.environ.get("LR_TB_WITHOUT_TENSORFLOW") != "1",
    reason="for CI's JAX-only environment (LR_TB_WITHOUT_TENSORFLOW=1)",
)


def test_tensorflow_is_not_installed():
    assert importlib.util.find_spec("tensorflow") is None
    with pytest.raises(ImportError):
        import tensorflow  # noqa: F401
    assert keras.backend.backend() == "jax"


def test_a_fit_writes_every_step(tmp_path):
    import lr_tb

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    callback = lr_tb.WarmupCosineDecayScheduler(1e-2, warmup_steps=3, log_dir=str(tmp_path))
    x = np.zeros((40, 2), "float32")
    model.fit(x, x[:, :1], batch_size=8, epochs=3, verbose=0, callbacks=[callback])
    steps, values = read_scalars(str(tmp_path / "train"))
    assert steps == list(range(15))
    np.testing.assert_array_equal(values, np.float32(callback.learning_rates))
    assert "tensorflow" not in {name.split(".")[0] for name in sys.modules}


def test_the_cli_previews_and_writes(tmp_path):
    lr_tb_command = os.path.join(os.path.dirname(sys.executable), "lr-tb")
    result = subprocess.run(
        [lr_tb_command, "preview", "warmup_cosine", "--steps", "500", "--warmup_steps", "50"]
        + ["--logdir", str(tmp_path), "--png", str(tmp_path / "lr.png")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]
    steps, values = read_scalars(str(tmp_path / "warmup_cosine" / "train"))
    assert steps[0] == 0 and steps[-1] == 499
    assert dict(zip(steps, values, strict=True))[50] == np.float32(1e-3)  # the peak
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"
