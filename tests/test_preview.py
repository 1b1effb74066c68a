"""lr_tb.preview: the whole curve without training, decimation, and the PNG."""

import numpy as np
import pytest
from conftest import read_scalars

from lr_tb import preview
from lr_tb.schedules import CosineRestarts, ExponentialDecay, WarmupCosineDecay


def test_lossless_decimation_keeps_every_change_point():
    s = ExponentialDecay(1e-3, 0.5, steps_per_epoch=100, min_learning_rate=1e-4)
    full = preview.curve(s, 1000)
    points = preview.decimate(full)
    # constant epochs collapse to their two ends; each epoch edge keeps both sides
    assert points.max_error == 0.0
    assert points.steps.size < 30
    for edge in range(100, 500, 100):  # the rate changes at 100, 200, 300 (floor from 400)
        assert edge - 1 in points.steps and edge in points.steps
    drawn = np.interp(full.steps, points.steps, points.values)
    np.testing.assert_array_equal(np.float32(drawn), full.values)


def test_lossless_on_a_linear_warmup_and_hold():
    s = WarmupCosineDecay(1.0, 1000, warmup_learning_rate=0.0, warmup_steps=512, hold_steps=200)
    full = preview.curve(s, 1000)
    points = preview.decimate(full)
    # kinks: end of warmup (512) and where the cosine leaves the peak (712 is still the peak)
    assert {0, 512, 712, 999} <= set(points.steps.tolist())
    assert not set(range(1, 512)) & set(points.steps.tolist())  # the linear warmup is 2 points
    drawn = np.interp(full.steps, points.steps, points.values.astype(np.float64))
    np.testing.assert_allclose(drawn, full.values, rtol=0, atol=2 * np.spacing(np.float32(1.0)))


def test_tolerance_and_max_points_bound_the_drawn_error():
    # no warmup: each restart jumps from the floor straight back to the peak
    s = CosineRestarts(1e-3, 100_000, restarts=[0.05, 0.15, 0.3, 0.5])
    full = preview.curve(s, 100_000)
    loose = preview.decimate(full, tolerance=1e-3)
    assert loose.max_error <= 1e-3 * 1e-3 + 1e-12
    capped = preview.decimate(full, max_points=300)
    assert capped.steps.size <= 300
    drawn = np.interp(full.steps, capped.steps, capped.values.astype(np.float64))
    assert np.max(np.abs(drawn - full.values)) == pytest.approx(capped.max_error)
    for restart in [5000, 15000, 30000, 50000]:  # both sides of every jump are kept
        assert restart - 1 in capped.steps and restart in capped.steps


def test_bad_decimation_arguments():
    full = preview.curve(ExponentialDecay(1e-3, 0.9), 10)
    with pytest.raises(ValueError, match="tolerance"):
        preview.decimate(full, tolerance=-1)
    with pytest.raises(ValueError, match="max_points"):
        preview.decimate(full, max_points=1)


def test_write_and_png(tmp_path):
    s = WarmupCosineDecay(1e-3, 500, warmup_steps=50)
    points = preview.decimate(preview.curve(s, 500), max_points=100)
    preview.write(points, str(tmp_path / "train"))
    steps, values = read_scalars(str(tmp_path / "train"))
    assert steps == points.steps.tolist()
    np.testing.assert_array_equal(values, points.values)
    png = tmp_path / "lr.png"
    preview.save_png(points, str(png), preview.title(s))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        preview.title(s) == "WarmupCosineDecay(learning_rate_base=0.001, total_steps=500, "
        "warmup_steps=50)"
    )
