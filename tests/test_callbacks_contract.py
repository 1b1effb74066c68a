"""One contract, every lr_tb callback: a real fit with steps_per_execution=2 over two fit
calls; one point per step on disk equal to `learning_rates`; the epoch logs; deepcopy before
and after; the optimizer usable afterwards."""

import copy
import os

import keras
import numpy as np
import pytest
from conftest import EXECUTION_SIZES, bias_model, read_scalars, zeros_data

import lr_tb

pytestmark = pytest.mark.backends

SPE = 5


def build(name, log_dir):
    return {
        "schedule": lambda: lr_tb.ScheduleCallback(
            keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5), log_dir=log_dir
        ),
        "exponential": lambda: lr_tb.ExponentialDecayScheduler(0.1, 0.5, log_dir=log_dir),
        "warmup_cosine": lambda: lr_tb.WarmupCosineDecayScheduler(
            0.1, warmup_steps=2, log_dir=log_dir
        ),
        "cosine_restarts": lambda: lr_tb.CosineRestartsScheduler(
            0.1, first_cycle_steps=3, log_dir=log_dir
        ),
        "plateau": lambda: lr_tb.ReduceLROnPlateau(monitor="loss", patience=0, log_dir=log_dir),
        "logger": lambda: lr_tb.LearningRateLogger(log_dir),
    }[name]()


@pytest.mark.parametrize(
    "name", ["schedule", "exponential", "warmup_cosine", "cosine_restarts", "plateau", "logger"]
)
def test_contract(name, tmp_path):
    log_dir = str(tmp_path / name)
    cb = build(name, log_dir)
    fresh = copy.deepcopy(cb)
    assert isinstance(cb, keras.callbacks.Callback)
    model = bias_model(steps_per_execution=EXECUTION_SIZES[-1])
    x, y = zeros_data()
    seen = []
    for _ in range(2):
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
        assert len(cb.learning_rates) == len(cb.steps) == 2 * SPE
        assert cb.steps == list(range(len(seen), len(seen) + 2 * SPE))
        assert np.all(np.isfinite(cb.learning_rates)) and min(cb.learning_rates) >= 0
        assert history.history["learning_rate"] == [
            cb.learning_rates[SPE - 1],
            cb.learning_rates[-1],
        ]
        seen += cb.learning_rates
    steps, values = read_scalars(os.path.join(log_dir, "train"))
    assert steps == list(range(4 * SPE))
    np.testing.assert_array_equal(values, np.float32(seen))
    after = copy.deepcopy(cb)
    assert after.model is None and after.learning_rates == cb.learning_rates
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # plain fit still works
    for c in (fresh, after):
        c.log_dir = None
        bias_model().fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[c])
        assert c.steps == list(range(SPE))
