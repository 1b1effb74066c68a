"""lr_tb/_keras_private.py (the adapter: its contracts, and that only it touches Keras
internals) and the rate slot lr_tb attaches to an optimizer, seen from outside.

- One compiled train step serves every fit: after the fit that first attaches the slot, a
  fit with an lr_tb callback (any schedule, any length) compiles no more train functions than
  the same fit without it, and a plain fit reuses the same function (traces counted).
- Checkpoints keep the layout they have without lr_tb (save with lr_tb, load without).
- Keras' own schedules evaluate in one vectorized call, not one call per step.
"""

import os

import keras
import numpy as np
import pytest
from conftest import BACKEND, BiasProbe, assert_applied_exactly, read_scalars, zeros_data

import lr_tb
from lr_tb import _keras_private, _slot
from lr_tb.schedules import evaluate

pytestmark = pytest.mark.backends


class CountingModel(keras.Sequential):
    """Counts how often its train step is traced (run in Python): once per compiled train
    function on TensorFlow and JAX."""

    traces = 0

    def train_step(self, *args, **kwargs):
        type(self).traces += 1
        return super().train_step(*args, **kwargs)


def counting_model(jit_compile):
    if BACKEND == "jax" and not jit_compile:
        pytest.skip("JAX without jit_compile runs the train step eagerly: no trace")
    CountingModel.traces = 0
    model = CountingModel([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit_compile)
    return model


@pytest.mark.skipif(BACKEND == "torch", reason="torch runs the train step eagerly: no trace")
@pytest.mark.parametrize("jit_compile", [False, True])
def test_no_recompile_per_fit(jit_compile, tmp_path):
    x, y = zeros_data()
    model = counting_model(jit_compile)
    fit = lambda *cbs, **kw: model.fit(x, y, batch_size=8, verbose=0, callbacks=list(cbs), **kw)  # noqa: E731
    fit(lr_tb.WarmupCosineDecayScheduler(0.1, warmup_steps=2), epochs=2)
    first = CountingModel.traces
    assert first == 1  # the slot is attached before the first trace: nothing traced twice
    fit(epochs=1)  # a plain fit after an lr_tb fit: the same function
    fit(lr_tb.WarmupCosineDecayScheduler(0.2, warmup_steps=3), epochs=3)
    fit(lr_tb.ExponentialDecayScheduler(0.1, 0.5), epochs=2)
    fit(lr_tb.ScheduleCallback(keras.optimizers.schedules.CosineDecay(0.1, 9)), epochs=2)
    fit(lr_tb.ReduceLROnPlateau(monitor="loss"), epochs=1)
    fit(lr_tb.LearningRateLogger(str(tmp_path)), epochs=1)
    assert CountingModel.traces == first


@pytest.mark.skipif(BACKEND == "torch", reason="torch runs the train step eagerly: no trace")
@pytest.mark.parametrize("jit_compile", [False, True])
def test_no_recompile_per_fit_with_momentum(jit_compile, tmp_path):
    """The momentum slot too: attached before the first trace, then every fit (one-cycle
    with momentum cycling, plain, logging) reuses the same compiled step."""
    x, y = zeros_data()
    model = counting_model(jit_compile)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse", jit_compile=jit_compile
    )
    fit = lambda *cbs, **kw: model.fit(x, y, batch_size=8, verbose=0, callbacks=list(cbs), **kw)  # noqa: E731
    fit(lr_tb.OneCycleScheduler(0.1), epochs=2)
    first = CountingModel.traces  # (SGD with momentum: TF traces its first call twice)
    fit(epochs=1)
    fit(lr_tb.OneCycleScheduler(0.2, pct_start=0.5, log_momentum=True), epochs=3)
    fit(lr_tb.LearningRateLogger(str(tmp_path), log_momentum=True), epochs=1)
    fit(lr_tb.WarmupCosineDecayScheduler(0.1, warmup_steps=2), epochs=1)
    assert CountingModel.traces == first
    assert type(model.optimizer.momentum) is float


@pytest.mark.skipif(BACKEND == "torch", reason="torch runs the train step eagerly: no trace")
def test_model_traced_before_lr_tb_retraces_once():
    x, y = zeros_data()
    model = counting_model(True)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert CountingModel.traces == 1
    for base in (0.1, 0.2, 0.3):
        cb = lr_tb.WarmupCosineDecayScheduler(base, warmup_steps=2)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert CountingModel.traces == 2  # the slot was attached once


def test_checkpoints_keep_their_layout(tmp_path):
    """Weights saved from a model trained with lr_tb load into one that never saw lr_tb, and
    the other way round, optimizer state included."""
    x, y = zeros_data()

    def model(momentum):
        m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        m.compile(optimizer=keras.optimizers.SGD(0.1, momentum=momentum), loss="mse")
        return m

    with_lr_tb = model(0.9)
    cb = lr_tb.ExponentialDecayScheduler(0.1, 0.5)
    with_lr_tb.fit(x, y + 1.0, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    path = str(tmp_path / "a.weights.h5")
    with_lr_tb.save_weights(path)
    plain = model(0.9)
    plain.fit(x, y, batch_size=8, epochs=1, verbose=0)
    with _no_skip_warning():
        plain.load_weights(path)
    assert int(plain.optimizer.iterations.numpy()) == 10
    slot = _slot.slot_of(with_lr_tb.optimizer)
    own = [v for v in with_lr_tb.optimizer.variables if not slot.is_own(v)]
    assert len(own) == len(plain.optimizer.variables)
    for a, b in zip(own, plain.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # and back: a plain checkpoint into a model that has the slot
    path2 = str(tmp_path / "b.weights.h5")
    plain.save_weights(path2)
    with _no_skip_warning():
        with_lr_tb.load_weights(path2)
    full = str(tmp_path / "m.keras")
    with_lr_tb.save(full)
    loaded = keras.saving.load_model(full)
    assert len(loaded.optimizer.variables) == len(plain.optimizer.variables)


class _no_skip_warning:
    """Fails if Keras skipped loading the optimizer's variables (a layout mismatch)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self._seen = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        skipped = [w for w in self._seen if "Skipping variable loading" in str(w.message)]
        assert not skipped, skipped[0].message
        return False


KERAS_SCHEDULES = [
    keras.optimizers.schedules.ExponentialDecay(0.1, 7, 0.5, staircase=True),
    keras.optimizers.schedules.PiecewiseConstantDecay([5, 10], [0.1, 0.05, 0.01]),
    # decay_steps a power of two: with 7, `ceil(21 / 7)` is 3 one step at a time and 4 in a
    # vector on some kernels (JAX's CPU division); the rate applied is then the vector's, and
    # logged as such (see tests/test_truthful.py), but it is no "per-step" reference
    keras.optimizers.schedules.PolynomialDecay(0.1, 8, 0.01, power=1.0, cycle=True),
    keras.optimizers.schedules.InverseTimeDecay(0.1, 5, 0.5, staircase=True),
    keras.optimizers.schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=20),
    keras.optimizers.schedules.CosineDecayRestarts(0.1, 13, t_mul=2.0, m_mul=0.7, alpha=0.01),
]


@pytest.mark.parametrize("schedule", KERAS_SCHEDULES, ids=lambda s: type(s).__name__)
def test_keras_schedules_evaluate_in_one_call(schedule):
    """10,000 steps in one vectorized call (the per-step fallback took 10 s for CosineDecay
    with warmup), equal to per-step calls up to float32 rounding."""
    if BACKEND == "torch" and isinstance(
        schedule, keras.optimizers.schedules.PiecewiseConstantDecay
    ):
        pytest.skip("Keras' torch PiecewiseConstantDecay adds to a 0-d tensor in place")
    calls = []

    class Counted(type(schedule)):
        def __call__(self, step):
            calls.append(step)
            return super().__call__(step)

    counted = Counted.from_config(schedule.get_config())
    steps = np.arange(10_000)
    values = evaluate(counted, steps)
    assert len(calls) == 1 and values.shape == (10_000,)
    # per-step calls are slow on JAX (a traced cond per call): a sample across the schedules'
    # boundaries (warmup end 20, cycle ends 13/39/91, decay ends 8/100/120) and the far end
    sample = np.r_[0:3, 6:10, 12:15, 19:22, 38:41, 90:93, 99:102, 119:122, 5000, 9999]
    per_step = np.float32([float(keras.ops.convert_to_numpy(schedule(int(s)))) for s in sample])
    np.testing.assert_allclose(values[sample], per_step, rtol=1e-6, atol=1e-8)


def test_keras_tensorboard_epoch_rate_is_the_last_applied(tmp_path):
    """Read outside a train step (as Keras' TensorBoard does at epoch end), the optimizer's
    rate is the rate of the last update that ran, not the next one's."""
    x, y = zeros_data()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    seen = []

    class ReadRate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    cb = lr_tb.ExponentialDecayScheduler(0.1, 0.5)
    history = model.fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[ReadRate(), cb, ReadRate()]
    )
    last = [cb.learning_rates[5 * e + 4] for e in range(3)]
    assert seen == [r for r in last for _ in range(2)]
    assert history.history["learning_rate"] == last


def test_interrupted_fit_is_finished_by_the_next(tmp_path):
    """A KeyboardInterrupt in another callback skips lr_tb's train end; the next (plain)
    fit applies the optimizer's own rate, which holds the last applied rate."""
    x, y = zeros_data()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=lambda t, p: keras.ops.mean(p))

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    cb = lr_tb.ExponentialDecayScheduler(0.1, 0.5, log_dir=str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[cb, Interrupt()])
    probe = BiasProbe()
    bias0 = float(model.layers[-1].bias.numpy()[0])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[probe])
    assert_applied_exactly(probe, [np.float32(0.05)] * 5, first_step=10, bias0=bias0)
    assert not cb._fit.open
    # closed by the next fit after writing the 10 steps it ran: nothing to fill in, no record
    steps, rates = read_scalars(os.path.join(str(tmp_path), "train"))
    assert steps == list(range(10))
    assert rates.tolist() == [np.float32(0.1 * 0.5**e) for e in range(2) for _ in range(5)]
    assert not os.path.exists(os.path.join(str(tmp_path), "train", "lr_tb_progress.json"))
    assert _slot.slot_of(model.optimizer).owner is None


def test_rate_read_outside_a_step_with_a_held_schedule_is_the_last_applied():
    """Under LearningRateLogger, an optimizer holding a schedule: Keras' value outside a step
    would be the *next* update's rate; while lr_tb logs, it is the last applied one, as on the
    per-step curve and in History."""
    x, y = zeros_data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.7)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    seen = []

    class ReadRate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    logger = lr_tb.LearningRateLogger("unused", every_n_steps=1)
    logger.log_dir = None  # keep the history only
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[logger, ReadRate()])
    last = [logger.learning_rates[5 * e + 4] for e in range(3)]
    assert seen == last == history.history["learning_rate"]


def test_assigning_the_rate_during_a_schedulers_fit_is_reported():
    """`optimizer.learning_rate` is the optimizer's variable (as in Keras): a callback can
    `.assign` to it; the schedule still sets every step, and the change is reported."""
    x, y = zeros_data()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")

    class Assign(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.optimizer.learning_rate.assign(0.5)

    cb = lr_tb.ExponentialDecayScheduler(0.1, 0.5)
    with pytest.warns(RuntimeWarning, match="something else set the optimizer's learning rate"):
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[cb, Assign()])
    assert cb.learning_rates == [
        float(np.float32(0.1 * 0.5**e)) for e in range(3) for _ in range(5)
    ]


def test_vectorized_cond_can_be_entered_again_from_inside():
    """A schedule wrapping another (lr_tb.schedules.Warmup around a Keras schedule) enters
    the block from inside it: no deadlock, and each exit restores what its entry found."""
    import threading

    from keras.src import ops as src_ops

    original, seen = src_ops.cond, []

    def nested():
        with _keras_private.vectorized_cond():
            outer = src_ops.cond
            with _keras_private.vectorized_cond():
                seen.append(src_ops.cond is not original)
            seen.append(src_ops.cond is outer and outer is not original)

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "vectorized_cond deadlocked when entered twice"
    assert seen == [True, True] and src_ops.cond is original


BOUND_COND = keras.ops.cond  # bound before lr_tb could patch the module: never selected


class UsersCondSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A user's schedule written for one scalar step with `keras.ops.cond` (looked up in the
    public module at call time, or a binding of it made earlier: `bound`)."""

    def __init__(self, bound=False):
        self.bound, self.calls = bound, 0

    def __call__(self, step):
        self.calls += 1
        cond = BOUND_COND if self.bound else keras.ops.cond
        return cond(step < 10, lambda: 0.01, lambda: 0.001)


def test_a_users_cond_schedule_evaluates_in_one_call():
    """`keras.ops.cond` selects element-wise in lr_tb's evaluation too (a user's schedule,
    alone or inside lr_tb.schedules.Warmup: one call for 4,096 steps); one bound before lr_tb
    could see it does not vectorize, and is mapped over the steps in one compiled call on
    JAX rather than called 4,096 times (22 ms each there: minutes per table refill)."""
    for bound in [False, True]:
        # a bound cond is called step by step off JAX: fewer steps there (CI time)
        steps = np.arange(300 if bound and BACKEND != "jax" else 4096)
        sample = np.r_[0:3, 9:12, steps[-1]]
        inner = UsersCondSchedule(bound)
        for schedule in [inner, lr_tb.schedules.Warmup(inner, 3)]:
            inner.calls = 0
            values = evaluate(schedule, steps)
            calls = inner.calls
            per_step = [float(keras.ops.convert_to_numpy(schedule(int(s)))) for s in sample]
            np.testing.assert_array_equal(values[sample], np.float32(per_step))
            if not bound:  # Warmup calls it twice: at its step 0 (the warmup's end) and on t
                assert calls <= 2, (schedule, calls)
            elif BACKEND == "jax":  # the vector try, then one trace under vmap
                assert calls <= 3, (schedule, calls)


def test_vectorized_cond_replaces_every_cond_keras_schedules_call():
    """The contract behind Keras' schedules evaluating in one call: every `<name>.cond(...)`
    in keras/src/optimizers/schedules/learning_rate_schedule.py, looked up through that
    module's globals as Keras does at call time (`ops.cond` up to Keras 3.15,
    `backend.ops.cond` in keras-nightly 3.16.0.dev), is lr_tb's select inside
    `vectorized_cond`, and Keras' own function again after it. A Keras that calls `cond`
    through a module lr_tb does not replace fails here, by name, rather than as 10,000
    per-step calls in test_keras_schedules_evaluate_in_one_call."""
    import ast
    import inspect

    from keras.src.optimizers.schedules import learning_rate_schedule as module

    def dotted(node):
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            inner = dotted(node.value)
            return None if inner is None else f"{inner}.{node.attr}"
        return None

    owners = {
        dotted(node.func.value)
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "cond"
    }
    assert owners and None not in owners, owners  # CosineDecay (warmup), CosineDecayRestarts

    def cond_of(owner):
        head, *rest = owner.split(".")
        obj = vars(module)[head]
        for name in rest:
            obj = getattr(obj, name)
        return obj.cond

    before = {owner: cond_of(owner) for owner in owners}
    with _keras_private.vectorized_cond():
        select = keras.ops.cond
        inside = {owner: cond_of(owner) for owner in owners}
    assert select is not BOUND_COND
    assert inside == {owner: select for owner in owners}, (keras.__version__, inside)
    assert {owner: cond_of(owner) for owner in owners} == before


# -- the adapter's contracts ------------------------------------------------------------------
# Private names of Keras that lr_tb relies on: only lr_tb/_keras_private.py may use them.
KERAS_PRIVATE_NAMES = {
    "_get_current_learning_rate",
    "_learning_rate",
    "_iterations",
    "_track_variable",
    "_untrack_variable",
    "_backend_update_step",
    "_jax_state",
    "_jax_state_synced",
    "_compile_config",
    "_collect_learning_rate",
    "_direction",
    "jax_state_sync",
    "make_train_function",
    "train_function",
}


def _lr_tb_sources():
    root = os.path.dirname(lr_tb.__file__)
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(folder, name), root), os.path.join(folder, name)


def test_only_the_adapter_touches_keras_internals():
    """No module but `_keras_private` imports `keras.src` or reads a private Keras name (a
    name of lr_tb's own on `self` is not Keras')."""
    import ast

    offending = []
    for relative, path in _lr_tb_sources():
        if relative == "_keras_private.py":
            continue
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras.src"):
                offending.append(f"{relative}:{node.lineno} from {node.module}")
            elif isinstance(node, ast.Import):
                offending += [
                    f"{relative}:{node.lineno} import {a.name}"
                    for a in node.names
                    if a.name.startswith("keras.src")
                ]
            elif isinstance(node, ast.Attribute) and node.attr in KERAS_PRIVATE_NAMES:
                on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
                if not on_self:
                    offending.append(f"{relative}:{node.lineno} .{node.attr}")
    assert offending == []


def test_the_adapter_never_imports_lr_tb():
    """The adapter calls nothing of lr_tb's: what runs at a hook is a function passed in."""
    import ast

    with open(_keras_private.__file__) as f:
        tree = ast.parse(f.read())
    imported = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lr_tb")
    ] + [
        a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
        if a.name.startswith("lr_tb")
    ]
    assert imported == []


def test_what_the_adapter_relies_on_is_in_this_keras():
    """Each contract `_keras_private` documents, checked on the installed Keras."""
    from keras.src.callbacks.callback_list import CallbackList
    from keras.src.utils import io_utils

    optimizer = keras.optimizers.Adam(0.1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    model.fit(*zeros_data(8), epochs=1, verbose=0)
    for method in ("_get_current_learning_rate", "_backend_update_step", "_track_variable"):
        assert callable(getattr(type(optimizer), method)), method
    assert callable(type(optimizer).apply)
    assert isinstance(_keras_private.held_rate(optimizer), keras.Variable)
    assert int(_keras_private.iterations_variable(optimizer).numpy()) == 1
    assert float(_keras_private.read(model, optimizer, [optimizer._learning_rate])[0]) == (
        np.float32(0.1)
    )
    assert callable(type(model).make_train_function) and model.train_function is not None
    assert _keras_private.direction_of(model, "mae") == "down"
    assert _keras_private.compile_arguments(model)["metrics"] == ["mae"]
    assert callable(io_utils.print_msg) and callable(CallbackList.on_train_begin)
    assert callable(keras.callbacks.TensorBoard._collect_learning_rate)
    assert _keras_private.cond_modules()  # where Keras' schedules look `cond` up
    if BACKEND == "jax":
        assert hasattr(model, "jax_state_sync")


def test_the_adapters_optimizer_hooks_run_what_is_passed():
    """`set_rate_getter`, `before_apply` and `set_update_step` take plain functions, on the
    instance only; `keep_checkpoint_layout` leaves the given variables out of the layout."""
    optimizer = keras.optimizers.SGD(0.5)
    other = keras.optimizers.SGD(0.5)
    seen = []
    _keras_private.set_rate_getter(optimizer, lambda own: own * 0.5)
    _keras_private.before_apply(optimizer, lambda: seen.append("apply"))
    _keras_private.set_update_step(
        optimizer, lambda original: lambda g, v, lr: (seen.append(float(lr)), original(g, v, lr))
    )
    extra = keras.Variable(0.0, trainable=False)
    variable = keras.Variable([1.0])
    optimizer.build([variable])
    _keras_private.track_variables(optimizer, [extra])
    _keras_private.keep_checkpoint_layout(optimizer, lambda v: v is extra)
    optimizer.apply([keras.ops.ones((1,))], [variable])
    assert seen == ["apply", 0.25]
    assert float(np.asarray(variable.numpy())[0]) == np.float32(1.0) - np.float32(0.25)
    assert float(other.learning_rate) == 0.5  # another instance is untouched
    store = {}
    optimizer.save_own_variables(store)
    assert len(store) == len(optimizer.variables) - 1
