"""Property tests (hypothesis) over every schedule's arguments.

For any valid arguments: every rate is finite and within [floor, peak]; the warmup ends at
the peak (continuous: no jump at the end of a warmup larger than one warmup step); the rate
never rises inside a cosine segment; and a step gives the same rate evaluated alone, in a
vector, or in float64. Tolerance: the schedules compute in float32, so "the same" and
"never rises" allow 4 float32 ulps of the peak (4 * 2**-23 * peak), and float64 agrees with
float32 within that plus 4 ulps relative.
"""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lr_tb.schedules import CosineRestarts, ExponentialDecay, WarmupCosineDecay, evaluate
from lr_tb.schedules.cosine_restarts import MAX_CYCLES

pytestmark = pytest.mark.backends

ULP = 2.0**-23
# 40 examples on TensorFlow (the full run); 15 on JAX and torch, which check the same math
# through their own kernels (CI time: JAX compiles each new shape)
EXAMPLES = 40 if keras.backend.backend() == "tensorflow" else 15
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

rates = st.floats(1e-6, 1.0)
fractions = st.floats(0.0, 1.0)
piece = st.one_of(st.just(0.0), st.floats(1e-6, 0.5))  # CosineRestarts refuses (0, 1e-6)


@st.composite
def warmup_cosine(draw):
    base = draw(rates)
    total = draw(st.integers(1, 3000))
    warmup = draw(st.integers(0, total))
    hold = draw(st.integers(0, total - warmup))
    return WarmupCosineDecay(
        base,
        total,
        warmup_learning_rate=base * draw(fractions),
        warmup_steps=warmup,
        hold_steps=hold,
        min_learning_rate=base * draw(fractions),
    )


@st.composite
def exponential(draw):
    base = draw(rates)
    return ExponentialDecay(
        base, draw(st.floats(0.01, 1.0)), draw(st.integers(1, 100)), base * draw(fractions)
    )


@st.composite
def cosine_restarts(draw):
    base = draw(rates)
    total = draw(st.integers(20, 3000))
    common = dict(
        warmup_learning_rate=base * draw(fractions),
        warmup_fraction=draw(piece),
        hold_fraction=draw(piece),
        min_learning_rate=base * draw(fractions),
        m_mul=draw(st.floats(0.05, 1.0)),
    )
    if draw(st.booleans()):
        cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=1, max_size=6)))
        # (c + 0.5) / total: the restart lands on step c under int(fraction * total_steps)
        return CosineRestarts(base, total, restarts=[(c + 0.5) / total for c in cuts], **common)
    first = draw(st.integers(1, total))
    t_mul = draw(st.floats(0.5, 3.0))
    try:
        return CosineRestarts(base, total, first_cycle_steps=first, t_mul=t_mul, **common)
    except ValueError as error:  # more than MAX_CYCLES cycles: refused by design
        assert str(MAX_CYCLES) in str(error)
        return CosineRestarts(base, total, first_cycle_steps=total, **common)


any_schedule = st.one_of(warmup_cosine(), exponential(), cosine_restarts())


def segments(schedule):
    """(start, warmup end, cosine start, end) of each warmup-cosine piece, in steps."""
    if isinstance(schedule, WarmupCosineDecay):
        w, h, t = schedule.warmup_steps, schedule.hold_steps, schedule.total_steps
        return [(0.0, float(w), float(w + h), float(t))]
    if isinstance(schedule, CosineRestarts):
        starts, lengths = schedule._cycles()
        out = []
        for start, length in zip(starts, lengths, strict=True):
            w, h = schedule.warmup_fraction * length, schedule.hold_fraction * length
            out.append((start, start + w, start + w + h, min(start + length, schedule.total_steps)))
        return out
    return []


@SETTINGS
@given(any_schedule)
def test_finite_and_within_floor_and_peak(schedule):
    steps = np.arange(0, 3100)
    values = evaluate(schedule, steps)
    tol = 4 * ULP * schedule.peak_learning_rate
    assert np.all(np.isfinite(values))
    assert values.max() <= schedule.peak_learning_rate + tol
    assert values.min() >= schedule.floor_learning_rate - tol


def jax_x64():
    import jax

    return bool(jax.config.jax_enable_x64)


def rate_at(schedule, t):
    """The schedule at a (possibly fractional) step, as a Python float."""
    return float(keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(t, "float32"))))


@SETTINGS
@given(st.one_of(warmup_cosine(), cosine_restarts()))
def test_warmup_continuous_and_cosine_non_increasing(schedule):
    values = evaluate(schedule, np.arange(0, 3100)).astype(np.float64)
    peak = schedule.peak_learning_rate
    tol = 4 * ULP * peak
    for start, warm_end, cos_start, end in segments(schedule):
        # continuous at the end of the warmup: just before and just after agree, up to the
        # slope across the gap (the warmup's, or the cosine's if there is no hold)
        # (a warmup of at least one step: below that, float32 positions, not continuity, rule)
        if warm_end - start >= 1.0 and warm_end < end - 0.01:
            gap = 1e-3 * (warm_end - start)
            slope = peak / max(warm_end - start, 1e-9) + np.pi * peak / max(end - cos_start, 1)
            before, after = rate_at(schedule, warm_end - gap), rate_at(schedule, warm_end + gap)
            assert after == pytest.approx(before, abs=tol + 2 * gap * slope + 4 * ULP * peak)
        # from the end of the warmup to the end of the piece the rate never rises
        inside = values[int(np.ceil(warm_end)) : int(np.ceil(end))]
        if inside.size >= 2:
            assert np.all(np.diff(inside) <= tol)


@SETTINGS
@given(any_schedule, st.lists(st.integers(0, 3500), min_size=1, max_size=8))
def test_one_step_vector_and_float64_agree(schedule, picks):
    steps = np.array(picks)
    peak = schedule.peak_learning_rate
    vector = evaluate(schedule, steps).astype(np.float64)
    single = np.array([float(keras.ops.convert_to_numpy(schedule(int(s)))) for s in steps])
    np.testing.assert_allclose(single, vector, rtol=0, atol=4 * ULP * peak)
    keras.config.set_floatx("float64")
    try:
        wide = np.asarray(keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(steps))))
    finally:
        keras.config.set_floatx("float32")
    if keras.backend.backend() != "jax" or jax_x64():  # JAX without x64 has no float64
        assert wide.dtype == np.float64
    np.testing.assert_allclose(vector, wide, rtol=4 * ULP, atol=8 * ULP * peak)
