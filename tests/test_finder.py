"""lr_tb.finder: the LR range test. fastai's rules against their published code, the sweep
logged = applied = its closed form, the early stop, the user's model left bit for bit, the
TensorBoard run (scalars and the figure as an image), and a suggestion that trains."""

import io
import math
import os
import sys
import types
import warnings

import keras
import numpy as np
import pytest
from conftest import BACKEND, bias_model, read_scalars, requires_tensorflow, zeros_data

import lr_tb
from lr_tb import finder, tags

# -- fastai's published definitions (fastai/callback/schedule.py and AvgSmoothLoss in
# fastai/learner.py, fastai 2.x), verbatim but for torch -> NumPy: the reference. -----------


def fastai_valley(lrs, losses, num_it):
    "Suggests a learning rate from the longest valley and returns its index"
    n = len(losses)
    max_start, max_end = 0, 0

    # find the longest valley
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]

    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)

    return float(lrs[idx]), (float(lrs[idx]), losses[idx])


def fastai_minimum(lrs, losses, num_it):
    "Suggests a learning rate one-tenth the minumum before divergance and returns its index"
    lr_min = lrs[losses.argmin()].item()
    loss_idx = losses[min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr_min))]
    return lr_min / 10, (lr_min, loss_idx)


def fastai_steep(lrs, losses, num_it):
    "Suggests a learning rate when the slope is the steepest and returns its index"
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    lr_steep = lrs[grads.argmin()].item()
    loss_idx = losses[min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr_steep))]
    return lr_steep, (lr_steep, loss_idx)


def fastai_smooth(losses, beta=0.98):
    """AvgSmoothLoss: val = torch.lerp(loss, val, beta); value = val / (1 - beta**count)."""
    val, out = 0.0, []
    for count, loss in enumerate(losses, 1):
        val = loss + beta * (val - loss)  # torch.lerp(start=loss, end=val, weight=beta)
        out.append(val / (1 - beta**count))
    return out


def fastai_lr_find_suggestions(lrs, losses, num_it):
    """Learner.lr_find: `lrs[num_it//10:-5]`, cut at the first NaN, each rule."""
    lrs, losses = np.asarray(lrs[num_it // 10 : -5]), np.asarray(losses[num_it // 10 : -5])
    nan_idxs = np.flatnonzero(np.isnan(losses))
    if len(nan_idxs) > 0:
        lrs, losses = lrs[: nan_idxs.min()], losses[: nan_idxs.min()]
    return {
        "valley": fastai_valley(lrs, losses, num_it),
        "steep": fastai_steep(lrs, losses, num_it),
        "minimum": fastai_minimum(lrs, losses, num_it),
    }


# A recorded curve, by hand: 13 rates half a decade apart; the loss falls from index 2 to 9,
# then diverges.
HAND_LRS = 10.0 ** (-6 + 0.5 * np.arange(13))
HAND_LOSSES = np.array([2.0, 2.1, 1.9, 1.5, 0.8, 0.6, 0.5, 0.45, 0.42, 0.4, 0.7, 3.0, 9.0])


def test_rules_give_the_answers_worked_by_hand():
    # valley: the longest decreasing run is indices 0, 2..9 (lds[9] = 9), found with max_end = 9
    # and max_start = 9 - 9 = 0; sections = 3, idx = 0 + 3 + 1 = 4.
    assert finder.valley(HAND_LRS, HAND_LOSSES) == (HAND_LRS[4], (HAND_LRS[4], 0.8))
    # steep: the steepest drop per log-rate is 1.5 -> 0.8 (segment 3..4): its left end, 3.
    assert finder.steep(HAND_LRS, HAND_LOSSES) == (HAND_LRS[3], (HAND_LRS[3], 1.5))
    # minimum: the lowest loss 0.4 is at index 9; a tenth of its rate.
    assert finder.minimum(HAND_LRS, HAND_LOSSES) == (HAND_LRS[9] / 10, (HAND_LRS[9], 0.4))
    for name, rule in [("valley", fastai_valley), ("steep", fastai_steep)]:
        assert finder.RULES[name](HAND_LRS, HAND_LOSSES) == rule(HAND_LRS, HAND_LOSSES, 13)
    assert finder.minimum(HAND_LRS, HAND_LOSSES) == fastai_minimum(HAND_LRS, HAND_LOSSES, 13)
    # fastai's smoothing, worked by hand: 1.0, then (0.98 * 0.02 + 0.02 * 2) / (1 - 0.98**2).
    np.testing.assert_allclose(finder.smooth_losses([1.0, 2.0]), [1.0, 0.0596 / 0.0396], rtol=1e-12)


def test_rules_and_window_match_fastai_on_recorded_and_random_curves():
    rng = np.random.default_rng(0)
    curves = []
    for k in range(60):
        n = int(rng.integers(8, 70))
        lrs = np.geomspace(1e-7, 10, n)
        t = np.linspace(-1, 1, n)
        raw = 2 - np.tanh(3 * t + 1) + np.exp(4 * t) * rng.uniform(0, 2) + rng.normal(0, 0.3, n)
        if k % 3 == 0:
            raw = np.round(raw, 1)  # ties: strict comparisons must match too
        if k % 5 == 0:
            raw[int(rng.integers(n // 2, n))] = np.nan  # a NaN loss: cut there
        curves.append((lrs, raw, n))
    for lrs, raw, n in curves:
        smoothed = finder.smooth_losses(raw)
        np.testing.assert_allclose(smoothed, fastai_smooth(raw), rtol=1e-12)
        window = np.asarray(lrs[n // 10 : -5])
        cut = np.flatnonzero(np.isnan(smoothed[n // 10 : -5]))
        if (cut.min() if cut.size else window.size) < 2:
            continue  # fastai fails there; lr_tb falls back (tested below)
        suggestions, points = finder.suggest(lrs, smoothed, n)
        expected = fastai_lr_find_suggestions(lrs, smoothed, n)
        for name, (lr, point) in expected.items():
            assert suggestions[name] == lr and points[name] == point, (name, n)
        # each rule on the raw curve too (ties where it is rounded), before its NaN
        end = int(np.argmax(np.isnan(raw))) if np.isnan(raw).any() else n
        for name, reference in [
            ("valley", fastai_valley),
            ("steep", fastai_steep),
            ("minimum", fastai_minimum),
        ]:
            assert finder.RULES[name](lrs[:end], raw[:end]) == reference(lrs[:end], raw[:end], n)
    # A short sweep: fastai's window [1:-5] of 6 points is empty; every point is used.
    lrs, losses = HAND_LRS[:6], HAND_LOSSES[:6]
    suggestions, _ = finder.suggest(lrs, losses, 6)
    assert suggestions["minimum"] == fastai_minimum(lrs, losses, 6)[0]
    assert finder.suggest([1e-3], [1.0], 2)[0] == dict.fromkeys(finder.RULES)  # one point


def test_sweep_schedule_closed_form_and_config():
    steps = np.arange(12)
    exp = lr_tb.schedules.evaluate(finder.RangeSweep(1e-3, 1.0, 12), steps)
    np.testing.assert_allclose(exp, 1e-3 * 1000.0 ** (steps / 11), rtol=2e-6)
    assert exp[0] == np.float32(1e-3)
    lin = finder.RangeSweep(0.1, 2.0, 5, mode="linear")
    np.testing.assert_allclose(
        lr_tb.schedules.evaluate(lin, np.arange(7)),
        [0.1, 0.575, 1.05, 1.525, 2.0, 2.0, 2.0],
        rtol=1e-6,
    )
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lin)) == lin


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"min_lr": 0}, ValueError, "Argument `min_lr` must be > 0. Received: min_lr=0"),
        (
            {"max_lr": 1e-8},
            ValueError,
            "Argument `max_lr` must be > min_lr. Received: max_lr=1e-08",
        ),
        (
            {"num_steps": 1},
            ValueError,
            "`num_steps` must be an integer >= 2. Received: num_steps=1",
        ),
        ({"num_steps": 2.5}, ValueError, "`num_steps` must be an integer >= 2"),
        ({"mode": "cosine"}, ValueError, "`mode` must be one of ['exponential', 'linear']. Rec"),
        ({"early_stop_factor": 1.0}, ValueError, "must be > 1 or None. Received: early_stop_f"),
        ({"early_stop_factor": "4"}, TypeError, "`early_stop_factor` must be a real number"),
        ({"batch_size": 0}, ValueError, "`batch_size` must be an integer >= 1. Received: batch"),
    ],
)
def test_bad_arguments_are_refused_before_training(kwargs, error, message):
    model = bias_model()
    x, y = zeros_data(8)
    with pytest.raises(error) as info:
        lr_tb.find_learning_rate(model, x, y, **kwargs)
    assert message in str(info.value)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


def test_uncompiled_model_is_refused():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(TypeError, match="Argument `model` must be a compiled model"):
        lr_tb.find_learning_rate(model, *zeros_data(8))
    with pytest.raises(TypeError, match="Argument `model` must be a keras.Model"):
        lr_tb.find_learning_rate("model", *zeros_data(8))

    class Subclassed(keras.Model):  # its config is not its constructor's arguments
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model.compile("sgd", "mse")
    with pytest.raises(
        TypeError, match="could not copy this one with keras.models.clone_m"
    ) as info:
        lr_tb.find_learning_rate(model, *zeros_data(8))
    cause = info.value.__cause__  # the real cause is named, and the subclass's remedy
    assert f"{type(cause).__name__}: {str(cause).splitlines()[0][:60]}" in str(info.value)
    assert "needs a `get_config`" in str(info.value)


class _StubModel:
    """What `_LossRecorder` uses of a model: `reset_metrics`, `stop_training` and the
    optimizer's step counter."""

    stop_training = False
    resets = 0

    def __init__(self):
        self.optimizer = types.SimpleNamespace(iterations=0)

    def reset_metrics(self):
        self.resets += 1


def _record(losses, num_steps=100, factor=4.0):
    """Feed `_LossRecorder` these batch losses until it stops; (steps taken, its reason)."""
    recorder = finder._LossRecorder(num_steps, factor)
    model = _StubModel()
    recorder.set_model(model)
    for step, loss in enumerate(losses):
        model.optimizer.iterations = step
        recorder.on_train_batch_begin(step)
        recorder.on_train_batch_end(step, {"loss": loss})
        if model.stop_training:
            break
    assert model.resets == len(recorder.losses)  # the metrics are reset before every step
    assert recorder.steps == list(range(len(recorder.losses)))
    return len(recorder.losses), recorder.stop_reason


def test_early_stop_rule_on_recorded_losses():
    rng = np.random.default_rng(0)
    losses = np.concatenate([np.linspace(2.0, 0.5, 30), 0.5 * 1.5 ** np.arange(1, 40)])
    losses = losses * rng.uniform(0.9, 1.1, losses.size)
    smoothed = finder.smooth_losses(losses)
    first = int(np.argmax(smoothed > 4 * np.minimum.accumulate(smoothed)))
    assert 30 < first < losses.size - 1
    assert _record(losses) == (first + 1, "diverged")
    factor_8 = int(np.argmax(smoothed > 8 * np.minimum.accumulate(smoothed)))
    assert _record(losses, factor=8.0) == (factor_8 + 1, "diverged") and factor_8 > first
    assert _record(losses, num_steps=20) == (20, "num_steps")
    assert _record(list(losses[:5]) + [math.nan, 1.0], factor=None) == (6, "not_finite")
    assert _record([1.0, 2.0, math.inf, 1.0]) == (3, "not_finite")
    # the divergence rule needs a positive best loss (a loss that can go below 0 never stops)
    assert _record(-np.arange(10.0), num_steps=10) == (10, "num_steps")


class _Batches(keras.utils.PyDataset):
    """A PyDataset of `n` batches (cycled by the finder)."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]


@pytest.mark.backends
def test_logged_rate_is_applied_rate_is_closed_form_and_run_has_the_figure(tmp_path):
    # The bias model (x = 0, loss = mean(prediction) = bias) under plain SGD: each step
    # subtracts exactly the rate it applied from the bias, and the per-batch loss is the bias,
    # so the recorded losses replay the applied rates bit for bit (batches of 2: the mean of
    # two equal predictions and Keras' loss tracker's loss * 2 / 2 are exact, in any order).
    # 10 samples are 5 batches: 12 steps cycle the data.
    model = bias_model()
    x, y = zeros_data(10)
    result = lr_tb.find_learning_rate(
        model,
        x,
        y,
        min_lr=1e-3,
        max_lr=1.0,
        num_steps=12,
        batch_size=2,
        early_stop_factor=None,
        log_dir=str(tmp_path),
    )
    assert len(result.losses) == 12 and result.stop_reason == "num_steps"
    assert result.steps == list(range(12))
    rates = np.float32(result.learning_rates)
    np.testing.assert_allclose(rates, 1e-3 * 1000.0 ** (np.arange(12) / 11), rtol=2e-6)
    bias, replay = np.float32(0.0), []
    for rate in rates:
        replay.append(bias)
        bias = np.float32(bias - rate)
    np.testing.assert_array_equal(np.float32(result.losses), replay)  # applied == logged
    run = str(tmp_path / "train")
    steps, logged = read_scalars(run)
    assert steps == list(range(12))
    np.testing.assert_array_equal(logged, rates)
    steps, losses = read_scalars(run, tags.FINDER_LOSS)
    assert steps == list(range(12))
    np.testing.assert_array_equal(losses, np.float32(result.losses))
    _, smoothed = read_scalars(run, tags.FINDER_SMOOTHED_LOSS)
    np.testing.assert_array_equal(smoothed, np.float32(result.smoothed_losses))
    # The figure, as TensorBoard's image plugin reads it (what its Images tab shows).
    from tensorboard.backend.event_processing import plugin_event_accumulator

    acc = plugin_event_accumulator.EventAccumulator(run, size_guidance={"tensors": 0})
    acc.Reload()
    assert "lr_finder" in acc.PluginTagToContent("images")
    (event,) = acc.Tensors("lr_finder")
    assert event.step == 11
    width, height, png = event.tensor_proto.string_val
    image = pytest.importorskip("matplotlib.image").imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (int(height), int(width)) and image.shape[2] in (3, 4)
    assert float(keras.ops.convert_to_numpy(model.layers[-1].bias)[0]) == 0.0  # the user's


@requires_tensorflow
def test_an_input_of_unknown_length_pairs_each_loss_with_its_step():
    # On TensorFlow the call that finds the end of a generator counts an optimizer step that
    # applies nothing (Keras 3.15): each loss is paired with its own step's rate, which the
    # bias replays exactly (the phantom steps took no rate off the bias).
    def batches():
        for _ in range(3):
            yield np.zeros((2, 2), "float32"), np.zeros((2, 1), "float32")

    result = lr_tb.find_learning_rate(
        bias_model(), batches(), min_lr=1e-3, max_lr=1.0, num_steps=8, early_stop_factor=None
    )
    assert len(result.losses) == 8 and np.all(np.diff(result.steps) > 0)
    rates = np.float32(result.learning_rates)
    np.testing.assert_array_equal(
        rates, finder.RangeSweep(1e-3, 1.0, 8).values(np.array(result.steps))
    )
    bias, replay = np.float32(0.0), []
    for rate in rates:
        replay.append(bias)
        bias = np.float32(bias - rate)
    np.testing.assert_array_equal(np.float32(result.losses), replay)


@pytest.mark.backends
def test_users_model_and_every_optimizer_variable_are_bit_identical(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = x @ rng.normal(size=(4, 1)).astype("float32")

    def local_mse(y_true, y_pred):  # not registered: the copy is compiled with this object
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)  # functional
    model.compile(
        keras.optimizers.Adam(1e-2),
        local_mse,
        metrics=["mae", keras.metrics.RootMeanSquaredError(), lambda t, p: p - t],
    )
    # trained a few steps first (moments and step counter non-zero), under an lr_tb callback
    # (so the optimizer carries lr_tb's rate slot too)
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=1,
        verbose=0,
        callbacks=[lr_tb.ScheduleCallback(lr_tb.schedules.Constant(5e-3))],
    )

    def snapshot():  # the weights and metric states; the optimizer's variables
        state = model.variables + [v for m in model.metrics for v in m.variables]
        return [np.array(keras.ops.convert_to_numpy(v)) for v in state], [
            np.array(keras.ops.convert_to_numpy(v)) for v in model.optimizer.variables
        ]

    weights, optimizer_state = snapshot()
    assert int(optimizer_state[0]) == 4  # iterations
    result = lr_tb.find_learning_rate(
        model, _Batches(x, y, 8), min_lr=1e-4, max_lr=1.0, num_steps=10
    )
    assert len(result.losses) == 10 and result.suggestion is not None
    assert model.compiled and model.loss is local_mse
    after_weights, after_state = snapshot()
    assert len(after_weights) == len(weights) and len(after_state) == len(optimizer_state)
    for before, after in zip(weights + optimizer_state, after_weights + after_state, strict=True):
        assert before.dtype == after.dtype and np.array_equal(before, after)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # and it still trains as before
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 8


def test_a_lambda_loss_is_the_loss_the_copy_trains_on():
    # The copy is compiled with the user's lambda itself (Keras' clone_model would compile it
    # from the serialized config, where a lambda does not deserialize): loss = mean(y_pred) =
    # the bias with x = 0, so every recorded loss is the bias replayed from the rates.
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="zeros")(inputs))
    model.compile(keras.optimizers.SGD(0.1), loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    result = lr_tb.find_learning_rate(
        model,
        *zeros_data(8),
        min_lr=1e-3,
        max_lr=1.0,
        num_steps=6,
        batch_size=4,
        early_stop_factor=None,
    )
    bias, replay = np.float32(0.0), []
    for rate in np.float32(result.learning_rates):
        replay.append(bias)
        bias = np.float32(bias - rate)
    assert len(replay) == 6
    np.testing.assert_array_equal(np.float32(result.losses), replay)


def test_a_dataset_or_generator_is_fed_without_keras_shuffle_warning():
    x, y = zeros_data(8)
    assert not any(finder._yields_batches(a) for a in (x, [x, x], {"a": x}, x.tolist()))
    assert finder._yields_batches(_Batches(x, y, 4))

    def batches():
        for _ in range(2):
            yield x[:4], y[:4]

    inputs = [batches()]
    if BACKEND == "tensorflow":
        import tensorflow as tf

        inputs.append(tf.data.Dataset.from_tensor_slices((x, y)).batch(4))
    for data in inputs:
        assert finder._yields_batches(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # Keras warns with warnings.warn
            lr_tb.find_learning_rate(bias_model(), data, num_steps=3, early_stop_factor=None)
        assert not [w for w in caught if "shuffle" in str(w.message)], type(data)


def _regression(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.01 * rng.normal(size=(256, 1))).astype("float32")
    return x, y


def _linear_model():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


@requires_tensorflow
def test_stops_on_divergence_and_its_suggestion_trains(tmp_path):
    import tensorflow as tf

    x, y = _regression()
    model = _linear_model()
    initial = model.get_weights()
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)  # 8 batches: cycled
    result = lr_tb.find_learning_rate(model, data, min_lr=1e-4, max_lr=100.0, num_steps=80)
    # fastai's rule, replayed on the recorded losses: the first step whose smoothed loss
    # exceeds 4x the best so far is the last step run.
    smoothed = finder.smooth_losses(result.losses)
    best = np.minimum.accumulate(smoothed)
    diverged = np.flatnonzero(smoothed > 4 * best)
    assert result.stop_reason == "diverged" and len(result.losses) < 80
    assert diverged.tolist() == [len(result.losses) - 1]
    np.testing.assert_allclose(result.smoothed_losses, smoothed, rtol=0)

    # The model itself (left as it was) trained from its initial weights with the suggested
    # rate, then again with 100x that rate: one compiled train step, the rate set between.
    def final_loss(rate):
        keras.utils.set_random_seed(0)
        model.set_weights(initial)
        model.optimizer.learning_rate.assign(rate)
        history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
        return history.history["loss"][-1]

    start = float(np.mean((x @ initial[0] + initial[1] - y) ** 2))
    good = final_loss(result.suggestion)
    assert good < 0.01 * start, (result, good, start)
    bad = final_loss(100 * result.suggestion)
    assert not math.isfinite(bad) or bad > start, (result, bad)


def test_plot_marks_the_suggestion_on_a_log_axis(monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    result = finder.LRFinderResult(list(HAND_LRS), list(HAND_LOSSES), 13, "num_steps")
    assert result.suggestions == {
        name: rule(*finder.suggestion_window(HAND_LRS, result.smoothed_losses, 13))[0]
        for name, rule in finder.RULES.items()
    }
    assert result.suggestion == result.suggestions["valley"]
    fig, ax = result.plot()
    assert ax.get_xscale() == "log" and ax.figure is fig
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert f"valley: {result.suggestion:.2g} (suggestion)" in labels
    assert result.to_png().startswith(b"\x89PNG")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="needs matplotlib: pip install matplotlib"):
        result.plot()


def test_example_runs_offline(tmp_path, capsys):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    import lr_find

    png, logdir = tmp_path / "lr_find.png", tmp_path / "runs"
    argv = ["--quick", "--steps", "12", "--png", str(png), "--logdir", str(logdir)]
    assert lr_find.main(argv) == 0
    out = capsys.readouterr().out
    assert "suggested learning rate (valley):" in out and "steep:" in out and "minimum:" in out
    assert png.read_bytes().startswith(b"\x89PNG")
    steps, _ = read_scalars(str(logdir / "train"))
    assert steps == list(range(len(steps))) and 2 <= len(steps) <= 12
    assert BACKEND in out
