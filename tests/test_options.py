"""Keras' training options and entry points, each trained for real: the rate every update
applied (a bias probe under plain SGD) equals lr_tb's curve, in memory and on disk; or the
option is refused with an error naming it before any step.

The cells: `compile()` options that touch the train step, `fit()` options, the ways a fit
ends (normally, `model.stop_training`, an error in a callback or in the step, Ctrl-C) and the
ways to train after it (another fit, `train_on_batch`, a custom loop's `optimizer.apply`, a
fit with a new scheduler), a subclassed model with its own `train_step`, and a `.keras`
checkpoint loaded into a new model and resumed."""

import os
import warnings

import keras
import numpy as np
import pytest
from conftest import (
    BACKEND,
    BiasProbe,
    assert_applied_exactly,
    keras_tags,
    mean_prediction,
    read_scalars,
)

import lr_tb
from lr_tb import tags
from lr_tb.schedules import evaluate

pytestmark = pytest.mark.backends

BATCH, N = 8, 32  # 4 updates an epoch; a power-of-two batch: each bias gradient is exactly 1
SPE = N // BATCH
SCHEDULE = lr_tb.schedules.WarmupCosineDecay(
    1e-2, total_steps=64, warmup_steps=4, hold_steps=2, min_learning_rate=1e-4
)
ULPS = 4 * 2.0**-23


def make_model(layer=None, optimizer=None, **compile_kwargs):
    layers = [keras.Input((2,))]
    if layer is not None:
        layers.append(layer)
    layers.append(keras.layers.Dense(1, kernel_initializer="zeros"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(0.1), loss=mean_prediction, **compile_kwargs
    )
    return model


def data(n=N):
    return np.zeros((n, 2), "float32"), np.zeros((n, 1), "float32")


def iterations(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def bias(model):
    return np.float32(keras.ops.convert_to_numpy(model.layers[-1].bias)[0])


def assert_truthful(
    model, callback, probe, tmp_path, first=0, count=None, raw_first=None, bias0=0.0
):
    """The callback's curve: consecutive steps from `first`, the schedule's rates there, what
    each update applied (bias probe; `raw_first`: the optimizer's own count at the first of
    them, when lr_tb placed a never-stepped optimizer at its epoch), exactly that on disk."""
    raw_first = first if raw_first is None else raw_first
    steps = callback.steps
    if count is not None:
        assert len(steps) == count, steps
    assert steps == list(range(first, first + len(steps)))
    rates = np.float32(callback.learning_rates)
    np.testing.assert_allclose(rates, evaluate(SCHEDULE, steps), rtol=ULPS, atol=0)
    assert iterations(model) == raw_first + len(steps)
    assert_applied_exactly(probe, rates, first_step=raw_first, bias0=bias0)
    disk_steps, disk = read_scalars(os.path.join(str(tmp_path), "train"))
    assert disk_steps == steps
    np.testing.assert_array_equal(disk, rates)
    return rates


def fit_with_schedule(model, tmp_path, epochs=3, x=None, y=None, **fit_kwargs):
    callback, probe = lr_tb.ScheduleCallback(SCHEDULE, log_dir=str(tmp_path)), BiasProbe()
    if x is None:
        x, y = data()
        fit_kwargs.setdefault("batch_size", BATCH)
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[callback, probe], **fit_kwargs)
    return callback, probe


# -- compile() -----------------------------------------------------------------------------------
COMPILE = {
    "steps_per_execution=3": dict(steps_per_execution=3),
    "jit_compile=True": dict(jit_compile=True),
    "jit_compile=False": dict(jit_compile=False),
    "run_eagerly=True": dict(run_eagerly=True),
    "auto_scale_loss=False": dict(auto_scale_loss=False),
}


@pytest.mark.parametrize("option", list(COMPILE))
def test_compile_options(option, tmp_path):
    if BACKEND == "torch" and option in ("steps_per_execution=3", "jit_compile=True"):
        pytest.skip(
            "Keras' torch backend: steps_per_execution=1 only; jit_compile=True is torch.compile"
        )
    model = make_model(**COMPILE[option])
    callback, probe = fit_with_schedule(model, tmp_path)
    assert_truthful(model, callback, probe, tmp_path, count=3 * SPE)


def test_mixed_precision_loss_scale_optimizer_that_skips_updates(tmp_path):
    """mixed_float16 with a loss scale so large that the float16 gradients overflow: the
    LossScaleOptimizer skips those updates (and halves its scale) until they are finite. A
    skipped update changes no weight and is no optimizer step: the curve has the updates
    that ran, each at the rate it applied."""
    optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(0.1), initial_scale=2.0**24
    )
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(1, kernel_initializer="zeros", dtype="mixed_float16"),
        ]
    )
    model.compile(optimizer=optimizer, loss=mean_prediction)
    callback, probe = fit_with_schedule(model, tmp_path, epochs=4)
    ran = iterations(model)
    assert 0 < ran < 4 * SPE, ran  # some updates were skipped (float16 overflow), some ran
    assert_truthful(model, callback, probe, tmp_path, count=ran)


def test_mixed_bfloat16_policy(tmp_path):
    """mixed_bfloat16 (no loss scaling): float32 variables, bfloat16 compute; the mean
    gradient over a power-of-two batch is still exactly 1."""
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(1, kernel_initializer="zeros", dtype="mixed_bfloat16"),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=mean_prediction)
    callback, probe = fit_with_schedule(model, tmp_path)
    assert_truthful(model, callback, probe, tmp_path, count=3 * SPE)


# -- fit() ---------------------------------------------------------------------------------------
class Rows(keras.utils.PyDataset):
    def __init__(self, batches, **kwargs):
        super().__init__(**kwargs)
        self.batches = batches

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        return data(BATCH)


def endless():
    while True:
        yield data(BATCH)


def sized(batches):
    for _ in range(batches):
        yield data(BATCH)


FIT = {
    "class_weight": lambda: dict(class_weight={0: 1.0}),
    "sample_weight": lambda: dict(sample_weight=np.ones(N, "float32")),
    "validation_freq=2": lambda: dict(validation_data=data(16), validation_freq=2),
    "initial_epoch=1": lambda: dict(initial_epoch=1),
    "steps_per_epoch, endless generator": lambda: dict(x=endless(), steps_per_epoch=SPE),
    "PyDataset, 2 worker threads": lambda: dict(x=Rows(SPE, workers=2)),
}


@pytest.mark.parametrize("option", list(FIT))
def test_fit_options(option, tmp_path):
    model = make_model()
    kwargs = FIT[option]()
    callback, probe = fit_with_schedule(model, tmp_path, y=None, **kwargs)
    if option == "initial_epoch=1":  # a never-stepped optimizer placed at epoch 1's first step
        assert_truthful(model, callback, probe, tmp_path, first=SPE, count=2 * SPE, raw_first=0)
    else:
        assert_truthful(model, callback, probe, tmp_path, count=3 * SPE)


def test_a_generator_of_unknown_size(tmp_path):
    """No length, no steps_per_epoch: Keras learns the epoch's size as it runs out. On
    TensorFlow the call that finds it empty still advances the step counter and records a
    rate, but updates no weight (README, Known limits): that step shows, and it is the only
    one the bias did not pay."""
    model = make_model()
    callback, probe = fit_with_schedule(model, tmp_path, epochs=1, x=sized(SPE))
    if BACKEND != "tensorflow":
        assert_truthful(model, callback, probe, tmp_path, count=SPE)
        return
    assert callback.steps == list(range(SPE + 1))
    rates = np.float32(callback.learning_rates)
    np.testing.assert_allclose(rates, evaluate(SCHEDULE, range(SPE + 1)), rtol=ULPS, atol=0)
    value = np.float32(0)
    for rate in rates[:SPE]:
        value = np.float32(value - rate)
    assert bias(model) == value  # the empty call's step updated nothing
    assert_applied_exactly(probe, rates[:SPE])


# -- after a fit, ended any way -------------------------------------------------------------------
class Stop(keras.callbacks.Callback):
    """Ends the fit after epoch 1: by model.stop_training, or by raising `error` there."""

    def __init__(self, error=None):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            if self.error is None:
                self.model.stop_training = True
            else:
                raise self.error


class FailingLayer(keras.layers.Layer):
    armed = False

    def call(self, x):
        if self.armed:
            self.armed = False
            raise RuntimeError("preempted in a train step")
        return x


class ArmInEpoch2(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            self.model.layers[0].armed = True


ENDINGS = {
    "normally": (None, None),
    "stop_training": (lambda: Stop(), None),
    "error in a callback": (lambda: Stop(ValueError("a callback failed")), ValueError),
    "error in the step": (lambda: ArmInEpoch2(), RuntimeError),
    "KeyboardInterrupt": (lambda: Stop(KeyboardInterrupt()), KeyboardInterrupt),
}


def train_again(model, then, tmp_path):
    """One more way to train; returns the updates it made and, for `new_scheduler`, its rates."""
    if then == "fit":
        model.fit(*data(), batch_size=BATCH, epochs=1, verbose=0)
        return SPE, None
    if then == "train_on_batch":
        model.train_on_batch(*data(BATCH))
        return 1, None
    if then == "apply":
        grads = [keras.ops.zeros(v.shape) for v in model.trainable_variables]
        grads[-1] = keras.ops.ones(model.trainable_variables[-1].shape)
        model.optimizer.apply(grads, model.trainable_variables)
        return 1, None
    again = lr_tb.ScheduleCallback(lr_tb.schedules.Constant(0.03125))
    model.fit(*data(), batch_size=BATCH, epochs=1, verbose=0, callbacks=[again])
    return SPE, again.learning_rates


@pytest.mark.parametrize("then", ["fit", "train_on_batch", "apply", "new_scheduler"])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_after_an_lr_tb_fit_ended_any_way(ending, then, tmp_path):
    """Whatever ended the fit, the next training of any kind applies the optimizer's own rate
    (the last one the fit applied) or the new callback's; never a stale table."""
    make_stopper, raised = ENDINGS[ending]
    layer = FailingLayer() if ending == "error in the step" else None
    model = make_model(layer=layer, run_eagerly=layer is not None)
    callback, probe = lr_tb.ScheduleCallback(SCHEDULE, log_dir=str(tmp_path)), BiasProbe()
    callbacks = [callback, probe] + ([make_stopper()] if make_stopper else [])
    if raised is None:
        model.fit(*data(), batch_size=BATCH, epochs=3, verbose=0, callbacks=callbacks)
    else:
        with pytest.raises(raised):
            model.fit(*data(), batch_size=BATCH, epochs=3, verbose=0, callbacks=callbacks)
    before = bias(model)
    updates, new_rates = train_again(model, then, tmp_path)
    rates = np.float32(callback.learning_rates)
    ran = len(rates)
    assert callback.steps == list(range(ran))
    np.testing.assert_allclose(rates, evaluate(SCHEDULE, range(ran)), rtol=ULPS, atol=0)
    assert_applied_exactly(probe, rates)
    disk_steps, disk = read_scalars(os.path.join(str(tmp_path), "train"))
    assert disk_steps == list(range(ran)) and np.array_equal(disk, rates)
    expected = new_rates if new_rates is not None else [rates[-1]] * updates
    assert iterations(model) == ran + updates
    value = np.float32(before)
    for rate in np.float32(expected):
        value = np.float32(value - rate)
    assert bias(model) == value


# -- a subclassed model's own train_step; a checkpoint resumed -------------------------------------
def test_checkpoint_loaded_into_a_new_model_resumes_the_curve(tmp_path):
    model = make_model()
    callback, probe = fit_with_schedule(model, tmp_path / "a", epochs=2)
    assert_truthful(model, callback, probe, tmp_path / "a", count=2 * SPE)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, custom_objects={"mean_prediction": mean_prediction})
    callback, probe = lr_tb.ScheduleCallback(SCHEDULE, log_dir=str(tmp_path / "b")), BiasProbe()
    resumed_from = bias(loaded)
    assert resumed_from == bias(model)
    loaded.fit(
        *data(), batch_size=BATCH, epochs=4, initial_epoch=2, verbose=0, callbacks=[callback, probe]
    )
    assert_truthful(
        loaded, callback, probe, tmp_path / "b", first=2 * SPE, count=2 * SPE, bias0=resumed_from
    )


class OwnTrainStep(keras.Model):
    """A subclassed model with its own `train_step` (Keras' "customizing fit" guide, on
    TensorFlow and torch): the optimizer it applies is the compiled one."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, kernel_initializer="zeros")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, _ = data
        if BACKEND == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                loss = keras.ops.mean(self(x, training=True))
            grads = tape.gradient(loss, self.trainable_variables)
        else:
            self.zero_grad()
            loss = keras.ops.mean(self(x, training=True))
            loss.backward()
            grads = [v.value.grad for v in self.trainable_variables]
        self.optimizer.apply(grads, self.trainable_variables)
        return {"loss": loss}


@pytest.mark.skipif(BACKEND == "jax", reason="a JAX train_step is stateless: another guide")
def test_a_subclassed_model_with_its_own_train_step(tmp_path):
    model = OwnTrainStep()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    callback, probe = fit_with_schedule(model, tmp_path)
    assert_truthful(model, callback, probe, tmp_path, count=3 * SPE)


class TwoOptimizers(keras.Model):
    """Keras' GAN examples' shape: `compile()` overridden with two optimizers of its own,
    `super().compile()` with none (so `model.optimizer` is a default that never steps), and
    a `train_step` that applies both."""

    def __init__(self):
        super().__init__()
        self.a = keras.layers.Dense(1, kernel_initializer="zeros")
        self.b = keras.layers.Dense(1, kernel_initializer="zeros")

    def call(self, x):
        return self.a(x) + self.b(x)

    def compile(self, a_optimizer, b_optimizer):
        super().compile()
        self.a_optimizer, self.b_optimizer = a_optimizer, b_optimizer

    def train_step(self, data):
        x, _ = data
        for layer, optimizer in ((self.a, self.a_optimizer), (self.b, self.b_optimizer)):
            if BACKEND == "tensorflow":
                import tensorflow as tf

                with tf.GradientTape() as tape:
                    loss = keras.ops.mean(layer(x))
                grads = tape.gradient(loss, layer.trainable_variables)
            else:
                self.zero_grad()
                loss = keras.ops.mean(layer(x))
                loss.backward()
                grads = [v.value.grad for v in layer.trainable_variables]
            optimizer.apply(grads, layer.trainable_variables)
        return {"loss": loss}


def two_optimizer_model():
    model = TwoOptimizers()
    model.compile(
        keras.optimizers.SGD(keras.optimizers.schedules.CosineDecay(0.1, 16)),
        keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.2, 4, 0.5)),
    )
    return model


def replayed(rates):
    value = np.float32(0)
    for rate in np.float32(rates):
        value = np.float32(value - rate)
    return value


@pytest.mark.skipif(BACKEND == "jax", reason="a JAX train_step is stateless: another guide")
@pytest.mark.parametrize("make", ["logger", "tensorboard"])
def test_every_optimizer_a_train_step_applies_is_logged(make, tmp_path):
    """Keras' GAN shape: LearningRateLogger and lr_tb.TensorBoard follow every optimizer the
    model holds, each under `batch_learning_rate/<attribute>`, one point per step, equal to
    the rates it applied (each layer's bias replays its optimizer's curve bit for bit); the
    compiled default that never steps writes nothing, and nothing warns."""
    model = two_optimizer_model()
    callback = (
        lr_tb.LearningRateLogger(str(tmp_path))
        if make == "logger"
        else lr_tb.TensorBoard(str(tmp_path))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.fit(*data(), batch_size=BATCH, epochs=2, verbose=0, callbacks=[callback])
    logger = callback if make == "logger" else callback._rate_logger
    assert set(logger.by_optimizer) == {"a_optimizer", "b_optimizer"}
    run = os.path.join(str(tmp_path), "train")
    for name, layer in (("a_optimizer", model.a), ("b_optimizer", model.b)):
        steps, rates = logger.by_optimizer[name]
        assert steps == list(range(2 * SPE))
        disk_steps, disk = read_scalars(run, f"{tags.LEARNING_RATE}/{name}")
        assert disk_steps == steps and np.array_equal(disk, np.float32(rates))
        bias_now = np.float32(keras.ops.convert_to_numpy(layer.bias)[0])
        assert bias_now == replayed(rates), name
    schedule = keras.optimizers.schedules.CosineDecay(0.1, 16)
    np.testing.assert_allclose(
        logger.by_optimizer["a_optimizer"][1], evaluate(schedule, range(2 * SPE)), rtol=1e-6
    )
    written = keras_tags(run)
    assert tags.LEARNING_RATE not in written and f"{tags.LEARNING_RATE}/optimizer" not in written
    assert callback.learning_rates == logger.by_optimizer["a_optimizer"][1]


@pytest.mark.skipif(BACKEND == "jax", reason="a JAX train_step is stateless: another guide")
def test_a_logger_given_one_optimizer_follows_it(tmp_path):
    model = two_optimizer_model()
    callback = lr_tb.LearningRateLogger(str(tmp_path), optimizer="b_optimizer")
    model.fit(*data(), batch_size=BATCH, epochs=2, verbose=0, callbacks=[callback])
    run = os.path.join(str(tmp_path), "train")
    steps, rates = read_scalars(run, f"{tags.LEARNING_RATE}/b_optimizer")
    assert steps == list(range(2 * SPE))
    assert np.array_equal(rates, np.float32(callback.learning_rates))
    assert np.float32(keras.ops.convert_to_numpy(model.b.bias)[0]) == replayed(rates)
    assert keras_tags(run) == {f"{tags.LEARNING_RATE}/b_optimizer"}


@pytest.mark.skipif(BACKEND == "jax", reason="a JAX train_step is stateless: another guide")
@pytest.mark.parametrize("given", ["name", "object"])
def test_a_scheduler_given_one_optimizer_of_several_schedules_it(given, tmp_path):
    """`optimizer="a_optimizer"` (or the object): the schedule is what that optimizer
    applies, bit for bit, under `batch_learning_rate/a_optimizer`; the other optimizer keeps
    its own rate; beside lr_tb.TensorBoard each curve is written once."""
    model = TwoOptimizers()
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.25))
    chosen = "a_optimizer" if given == "name" else model.a_optimizer
    ours = lr_tb.ScheduleCallback(SCHEDULE, log_dir=str(tmp_path), optimizer=chosen)
    board = lr_tb.TensorBoard(str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.fit(*data(), batch_size=BATCH, epochs=2, verbose=0, callbacks=[ours, board])
    run = os.path.join(str(tmp_path), "train")
    rates = np.float32(ours.learning_rates)
    assert ours.steps == list(range(2 * SPE))
    np.testing.assert_allclose(rates, evaluate(SCHEDULE, range(2 * SPE)), rtol=ULPS, atol=0)
    assert np.float32(keras.ops.convert_to_numpy(model.a.bias)[0]) == replayed(rates)
    assert np.float32(keras.ops.convert_to_numpy(model.b.bias)[0]) == replayed([0.25] * 2 * SPE)
    steps, disk = read_scalars(run, f"{tags.LEARNING_RATE}/a_optimizer")
    assert steps == ours.steps and np.array_equal(disk, rates)
    steps, disk = read_scalars(run, f"{tags.LEARNING_RATE}/b_optimizer")
    assert steps == list(range(2 * SPE)) and np.all(disk == np.float32(0.25))
    assert keras.ops.convert_to_numpy(model.a_optimizer.learning_rate) == rates[-1]


def test_an_optimizer_argument_naming_nothing_is_refused_before_any_step(tmp_path):
    model = make_model()
    callback = lr_tb.LearningRateLogger(str(tmp_path), optimizer="g_optimizer")
    with pytest.raises(
        ValueError, match=r"`optimizer` names no optimizer.*'optimizer'.*g_optimizer"
    ):
        model.fit(*data(), batch_size=BATCH, epochs=1, verbose=0, callbacks=[callback])
    assert iterations(model) == 0
    with pytest.raises(TypeError, match=r"Argument `optimizer` must be.*Received: optimizer=3"):
        lr_tb.LearningRateLogger(str(tmp_path), optimizer=3)


@pytest.mark.skipif(BACKEND == "jax", reason="a JAX train_step is stateless: another guide")
def test_a_scheduler_of_an_optimizer_that_never_steps_says_so(tmp_path):
    """Schedulers follow model.optimizer (issue 19's next step: `optimizer=` for them too):
    beside a train_step that applies other optimizers it warns once a fit, at the first epoch
    end, naming the optimizers that did step."""
    model = two_optimizer_model()
    callback = lr_tb.ScheduleCallback(SCHEDULE, log_dir=str(tmp_path))
    with pytest.warns(RuntimeWarning, match=r"took no step") as caught:
        model.fit(*data(), batch_size=BATCH, epochs=2, verbose=0, callbacks=[callback])
    idle = [w for w in caught if "took no step" in str(w.message)]
    assert len(idle) == 1, [str(w.message) for w in idle]  # once a fit
    assert "model.a_optimizer, model.b_optimizer" in str(idle[0].message)
    assert "epoch 1" in str(idle[0].message)
    assert callback.learning_rates == []


EVERY_SCHEDULER = {
    "ScheduleCallback": lambda **kw: lr_tb.ScheduleCallback(SCHEDULE, **kw),
    "ExponentialDecayScheduler": lambda **kw: lr_tb.ExponentialDecayScheduler(0.1, 0.5, **kw),
    "WarmupCosineDecayScheduler": lambda **kw: lr_tb.WarmupCosineDecayScheduler(
        0.1, warmup_steps=2, **kw
    ),
    "CosineRestartsScheduler": lambda **kw: lr_tb.CosineRestartsScheduler(
        0.1, first_cycle_steps=3, **kw
    ),
    "OneCycleScheduler": lambda **kw: lr_tb.OneCycleScheduler(0.1, **kw),
    "WarmupStableDecayScheduler": lambda **kw: lr_tb.WarmupStableDecayScheduler(
        0.1, decay_steps=3, **kw
    ),
    "WarmupPolynomialDecayScheduler": lambda **kw: lr_tb.WarmupPolynomialDecayScheduler(
        0.1, warmup_steps=2, **kw
    ),
    "InverseSqrtDecayScheduler": lambda **kw: lr_tb.InverseSqrtDecayScheduler(
        0.1, warmup_steps=2, **kw
    ),
    "ConstantWithWarmupScheduler": lambda **kw: lr_tb.ConstantWithWarmupScheduler(
        0.1, warmup_steps=2, **kw
    ),
    "ReduceLROnPlateau": lambda **kw: lr_tb.ReduceLROnPlateau(
        monitor="loss", mode="max", patience=0, factor=0.5, **kw
    ),
}


@pytest.mark.skipif(BACKEND == "jax", reason="a JAX train_step is stateless: another guide")
@pytest.mark.parametrize("name", list(EVERY_SCHEDULER))
def test_every_scheduler_takes_the_optimizer_it_schedules(name, tmp_path):
    """Every rate-setting lr_tb callback, given `optimizer="a_optimizer"` of a model whose
    train_step applies two optimizers of its own: that optimizer applies the callback's curve
    bit for bit (its bias replays it), under `batch_learning_rate/a_optimizer`; the other
    keeps its own rate."""
    model = TwoOptimizers()
    model.compile(keras.optimizers.SGD(0.1, momentum=0.0), keras.optimizers.SGD(0.25))
    callback = EVERY_SCHEDULER[name](log_dir=str(tmp_path), optimizer="a_optimizer")
    if name == "OneCycleScheduler":  # cycles SGD's momentum, which needs momentum > 0
        model.a_optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.fit(*data(), batch_size=BATCH, epochs=3, verbose=0, callbacks=[callback])
    rates = np.float32(callback.learning_rates)
    assert callback.steps == list(range(3 * SPE))
    assert len(set(rates.tolist())) > 1  # a curve, not the optimizer's own constant
    steps, disk = read_scalars(
        os.path.join(str(tmp_path), "train"), f"{tags.LEARNING_RATE}/a_optimizer"
    )
    assert steps == callback.steps and np.array_equal(disk, rates)
    if name != "OneCycleScheduler":  # plain SGD: the bias replays the rates exactly
        assert np.float32(keras.ops.convert_to_numpy(model.a.bias)[0]) == replayed(rates)
    assert np.float32(keras.ops.convert_to_numpy(model.b.bias)[0]) == replayed([0.25] * 3 * SPE)


@pytest.mark.skipif(BACKEND == "jax", reason="a JAX train_step is stateless: another guide")
def test_a_second_fit_runs_a_given_optimizers_inferred_schedule_anew(tmp_path):
    """As for model.optimizer (README, "TensorBoard layout"): a second `fit` from epoch 0 runs
    a schedule of inferred length anew from its first step, for the optimizer given, whose
    step counter (not model.optimizer's, idle here) says where the fit started."""
    model = TwoOptimizers()
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.25))
    callback = lr_tb.WarmupCosineDecayScheduler(
        0.1, warmup_steps=2, log_dir=str(tmp_path), optimizer="a_optimizer"
    )
    runs = []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            model.fit(*data(), batch_size=BATCH, epochs=2, verbose=0, callbacks=[callback])
        runs.append((list(callback.steps), np.float32(callback.learning_rates)))
    (first_steps, first), (second_steps, second) = runs
    assert first_steps == list(range(2 * SPE)) and second_steps == list(range(2 * SPE, 4 * SPE))
    np.testing.assert_array_equal(second, first)  # anew, not past the end at the floor
    assert np.float32(keras.ops.convert_to_numpy(model.a.bias)[0]) == replayed(
        np.concatenate([first, second])
    )
    steps, disk = read_scalars(
        os.path.join(str(tmp_path), "train"), f"{tags.LEARNING_RATE}/a_optimizer"
    )
    assert steps == list(range(4 * SPE)) and np.array_equal(disk, np.concatenate([first, second]))
