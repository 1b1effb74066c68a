"""On the JAX and torch backends lr_tb writes TensorBoard without TensorFlow: a fit runs in a
process where `import tensorflow` fails, and its event file reads back exact."""

import importlib.util
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import sys
sys.modules["tensorflow"] = None  # any `import tensorflow` now raises ImportError
import os, numpy as np, keras, lr_tb
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
assert keras.backend.backend() == os.environ["KERAS_BACKEND"]
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(keras.optimizers.SGD(0.1), "mse")
cb = lr_tb.WarmupCosineDecayScheduler(1e-2, warmup_steps=3, log_dir=sys.argv[1])
x = np.zeros((40, 2), "float32")
model.fit(x, x[:, :1], batch_size=8, epochs=3, verbose=0, callbacks=[cb])
acc = EventAccumulator(os.path.join(sys.argv[1], "train")); acc.Reload()
events = acc.Scalars("batch_learning_rate")
assert [e.step for e in events] == list(range(15)), [e.step for e in events]
assert np.array_equal(np.float32([e.value for e in events]), np.float32(cb.learning_rates))
assert "tensorflow" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
print("ok")
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_writing_needs_no_tensorflow(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[backends]')")
    env = dict(os.environ, KERAS_BACKEND=backend)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
