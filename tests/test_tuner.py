"""lr_tb.tuner: the schedule as a keras-tuner search dimension, with every trial's LR curve
and HParams in TensorBoard. Each tuner runs a handful of tiny trials for real; the chosen
schedule must be in the trial's event file exactly, and in its HParams session data."""

import glob
import os

import keras
import keras_tuner as kt
import numpy as np
import pytest
import reference as ref
from conftest import bias_model, keras_tags, read_scalars, zeros_data
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2

import lr_tb
from lr_tb import tags
from lr_tb import tuner as lt

SPE = 8  # 160 samples, validation_split 0.2, batch 16


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def build(hp):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def session_hparams(execution_dir):
    """The hparams of the HParams session start info written for a trial's run."""
    for path in glob.glob(os.path.join(execution_dir, "events.out.tfevents.*")):
        for event in EventFileLoader(path).Load():
            for value in event.summary.value:
                if value.tag == "_hparams_/session_start_info":
                    data = plugin_data_pb2.HParamsPluginData.FromString(
                        value.metadata.plugin_data.content
                    )
                    info = data.session_start_info.hparams
                    return {k: (v.string_value or v.number_value) for k, v in info.items()}
    return None


def expected_rates(values, steps, epochs):
    """The closed form of the trial's schedule at `steps`, from the plain-Python reference."""
    name, lr, total = values["lr_tb/schedule"], values["lr_tb/learning_rate"], epochs * SPE
    get = {k.split("/")[2]: v for k, v in values.items() if k.startswith(f"lr_tb/{name}/")}
    if name == "constant":
        return [lr] * len(steps)
    if name == "exponential":
        return [ref.exponential(t, lr, get.get("decay_rate", 0.9), SPE) for t in steps]
    if name == "warmup_cosine":
        w = int(round(get.get("warmup_fraction", 0.1) * epochs * SPE))
        h = int(round(get.get("hold_fraction", 0.0) * epochs * SPE))
        return [ref.warmup_cosine(t, lr, total, 0.0, w, h) for t in steps]
    if name == "cosine_restarts":
        first = max(1, int(round(get.get("first_cycle_fraction", 0.25) * epochs * SPE)))
        cycles = ref.cycles_sgdr(first, get.get("t_mul", 2.0), total)
        return [
            ref.cosine_restarts(
                t, lr, total, cycles, get.get("m_mul", 1.0), 0.0, get.get("warmup_fraction", 0.0)
            )
            for t in steps
        ]
    warmup = int(round(get.get("warmup_fraction", 0.1) * total))
    if name == "wsd":
        decay = int(round(get["decay_fraction"] * total))
        return [
            ref.hf_wsd(t, lr, warmup, decay, total, decay_type=get["decay_type"]) for t in steps
        ]
    if name == "polynomial":
        return [ref.hf_polynomial(t, lr, warmup, total, 0.0, get["power"]) for t in steps]
    if name == "inverse_sqrt":
        return [ref.hf_inverse_sqrt(t, lr, warmup) for t in steps]
    if name == "constant_with_warmup":
        return [ref.hf_constant_with_warmup(t, lr, warmup) for t in steps]
    return None  # plateau: checked by its rule


def check_trials(tuner, logdir, min_trials):
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) >= min_trials
    seen = set()
    for trial in trials:
        values = trial.hyperparameters.values
        seen.add(values["lr_tb/schedule"])
        execution = os.path.join(logdir, trial.trial_id, "execution0")
        steps, rates = read_scalars(os.path.join(execution, "train"))
        epochs = values.get("tuner/epochs", 2)
        first = values.get("tuner/initial_epoch", 0)
        # one point per step, on the absolute axis (a continued Hyperband trial goes on)
        assert steps == list(range(first * SPE, epochs * SPE)), trial.trial_id
        want = expected_rates(values, steps, epochs)
        if want is not None:
            np.testing.assert_allclose(
                rates, want, rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * values["lr_tb/learning_rate"]
            )
        else:  # plateau: starts at the trial's rate, constant per epoch, drops by `factor`
            assert rates[0] == pytest.approx(values["lr_tb/learning_rate"], rel=1e-6)
            per_epoch = rates.reshape(-1, SPE)
            assert np.all(per_epoch == per_epoch[:, :1])
            for a, b in zip(per_epoch[:-1, 0], per_epoch[1:, 0], strict=True):
                factor = values["lr_tb/plateau/factor"]
                assert b == pytest.approx(a) or b == pytest.approx(a * factor)
        hparams = session_hparams(execution)
        assert hparams is not None and hparams["lr_tb/schedule"] == values["lr_tb/schedule"]
        assert hparams["lr_tb/learning_rate"] == pytest.approx(values["lr_tb/learning_rate"])
    return trials, seen


def search(tuner_cls, tmp_path, hypermodel, epochs=2, **kw):
    logdir = str(tmp_path / "search")
    tuner = tuner_cls(
        hypermodel, objective="val_accuracy", directory=str(tmp_path / "kt"), project_name="p", **kw
    )
    x, y = data()
    tuner.search(
        x,
        y,
        epochs=epochs,
        batch_size=16,
        validation_split=0.2,
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(logdir)],
    )
    return tuner, logdir


def test_random_search(tmp_path):
    tuner, logdir = search(
        kt.RandomSearch, tmp_path, lt.ScheduleHyperModel(build), max_trials=8, seed=3
    )
    _, seen = check_trials(tuner, logdir, 8)
    assert len(seen) >= 4  # the schedules really vary across trials


def test_grid_search_is_conditional_aware(tmp_path):
    hm = lt.ScheduleHyperModel(
        build,
        schedules=["constant", "exponential", "warmup_cosine"],
        learning_rate=[1e-3, 1e-2],
        space={
            "exponential/decay_rate": [0.5, 0.9],
            "warmup_cosine/warmup_fraction": 0.25,
            "warmup_cosine/hold_fraction": None,
        },
    )
    tuner, logdir = search(kt.GridSearch, tmp_path, hm, max_trials=50)
    trials, _ = check_trials(tuner, logdir, 8)
    # 2 rates x (constant + 2 decay rates + warmup_cosine): 8, not the 2 x 3 x 2 cross product
    combos = {tuple(sorted(t.hyperparameters.values.items())) for t in trials}
    assert len(trials) == len(combos) == 8


def test_transformers_shapes_are_choices(tmp_path):
    """Each of transformers' shapes as the trial's choice: the trial's fit applies it with the
    trial's settings (one fit each, without a tuner's overhead)."""
    names = ["wsd", "polynomial", "inverse_sqrt", "constant_with_warmup"]
    hm = lt.ScheduleHyperModel(
        lambda hp: bias_model(),
        schedules=names,
        learning_rate=1e-2,
        space={
            "wsd/warmup_fraction": 0.125,
            "wsd/decay_fraction": 0.25,
            "wsd/decay_type": "1-sqrt",
            "polynomial/warmup_fraction": 0.25,
            "polynomial/power": 2.0,
            "inverse_sqrt/warmup_fraction": 0.25,
        },
    )
    x, y = zeros_data(16 * SPE)
    for name in names:
        hp = kt.HyperParameters()
        hp.values["lr_tb/schedule"] = name  # the trial's choice
        model = hm.build(hp)
        logdir = str(tmp_path / name)
        board = keras.callbacks.TensorBoard(logdir, write_graph=False)
        hm.fit(hp, model, x, y, epochs=2, batch_size=16, verbose=0, callbacks=[board])
        steps, rates = read_scalars(os.path.join(logdir, "train"))
        assert steps == list(range(2 * SPE))
        want = expected_rates(hp.values, steps, 2)
        np.testing.assert_allclose(rates, want, rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * 1e-2)


def test_bayesian_optimization(tmp_path):
    hm = lt.ScheduleHyperModel(build, schedules=["warmup_cosine", "cosine_restarts", "plateau"])
    tuner, logdir = search(
        kt.BayesianOptimization, tmp_path, hm, max_trials=5, num_initial_points=3, seed=1
    )
    check_trials(tuner, logdir, 5)


def test_hyperband_continues_the_schedule_at_the_absolute_epoch(tmp_path):
    hm = lt.ScheduleHyperModel(build, schedules=["exponential", "cosine_restarts", "plateau"])
    tuner, logdir = search(kt.Hyperband, tmp_path, hm, epochs=None, max_epochs=3, factor=3, seed=2)
    trials, _ = check_trials(tuner, logdir, 4)
    assert any(t.hyperparameters.values.get("tuner/initial_epoch", 0) > 0 for t in trials)


def test_build_on_empty_hyperparameters_declares_the_whole_space():
    hp = kt.HyperParameters()
    model = lt.ScheduleHyperModel(build).build(hp)
    assert isinstance(model, keras.Model)
    # only the active ones
    assert hp.values == {"lr_tb/schedule": "constant", "lr_tb/learning_rate": 1e-3}
    names = [p.name for p in hp.space]
    assert names == [
        "lr_tb/schedule",
        "lr_tb/learning_rate",
        "lr_tb/exponential/decay_rate",
        "lr_tb/warmup_cosine/warmup_fraction",
        "lr_tb/warmup_cosine/hold_fraction",
        "lr_tb/cosine_restarts/first_cycle_fraction",
        "lr_tb/cosine_restarts/t_mul",
        "lr_tb/cosine_restarts/m_mul",
        "lr_tb/cosine_restarts/warmup_fraction",
        "lr_tb/plateau/factor",
        "lr_tb/plateau/patience",
    ]
    defaults = {p.name: p.default for p in hp.space}
    assert defaults["lr_tb/exponential/decay_rate"] == 0.9
    assert defaults["lr_tb/plateau/patience"] == 2


def test_overrides_range_fixed_choice_off():
    hp = kt.HyperParameters()
    lt.declare_schedule(
        hp,
        schedules=["exponential", "plateau"],
        learning_rate=0.01,
        space={
            "exponential/decay_rate": (0.8, 0.95),
            "plateau/factor": 0.3,
            "plateau/patience": None,
        },
    )
    space = {p.name: p for p in hp.space}
    assert isinstance(space["lr_tb/learning_rate"], kt.engine.hyperparameters.Fixed)
    decay = space["lr_tb/exponential/decay_rate"]
    assert (decay.min_value, decay.max_value) == (0.8, 0.95)
    assert isinstance(space["lr_tb/plateau/factor"], kt.engine.hyperparameters.Fixed)
    assert "lr_tb/plateau/patience" not in space


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        (dict(schedules=["cosine"]), ValueError, "names from ['constant', 'exponential'"),
        (dict(schedules=[]), ValueError, "schedules=[]"),
        (dict(schedules="constant"), ValueError, "schedules='constant'"),
        (dict(schedules=["constant", "constant"]), ValueError, "without repeats"),
        (dict(learning_rate=(1e-2, 1e-4)), ValueError, "learning_rate=(0.01, 0.0001)"),
        (dict(learning_rate=-1.0), ValueError, "learning_rate=-1.0"),
        (dict(learning_rate="fast"), TypeError, "learning_rate='fast'"),
        (dict(learning_rate=[]), ValueError, "learning_rate=[]"),
        (dict(space={"exponential/rate": 0.9}), ValueError, "unknown key 'exponential/rate'"),
        (dict(space={"exponential/decay_rate": 1.5}), ValueError, "in (0, 1]"),
        (dict(space={"exponential/decay_rate": (0.9, 0.5)}), ValueError, "low < high"),
        (dict(space={"plateau/patience": 1.5}), ValueError, "an integer"),
        (dict(space={"plateau/factor": "big"}), TypeError, "'big'"),
        (dict(schedules=["wsd"], space={"wsd/decay_type": "exp"}), ValueError, "one of ["),
        (
            dict(space={"warmup_cosine/warmup_fraction": 0.7, "warmup_cosine/hold_fraction": 0.5}),
            ValueError,
            "add up to more than 1",
        ),
        (
            dict(schedules=["constant"], space={"plateau/factor": 0.5}),
            ValueError,
            "'plateau' is not in `schedules`",
        ),
        (dict(monitor=3), TypeError, "monitor=3"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, text):
    with pytest.raises(error) as info:
        lt.ScheduleHyperModel(build, **kwargs)
    assert text in str(info.value), str(info.value)


def test_one_cycle_is_selectable_but_not_in_the_default_space():
    hp = kt.HyperParameters()
    lt.declare_schedule(hp)
    assert "one_cycle" not in hp.space[0].values
    hp = kt.HyperParameters()
    lt.declare_schedule(hp, schedules=["one_cycle", "constant"])
    hp.values["lr_tb/schedule"] = "one_cycle"
    made = lt.scheduler_from_hp(hp, epochs=4, steps_per_epoch=10)
    assert isinstance(made, lr_tb.OneCycleScheduler)
    assert (made.max_lr, made.total_steps, made.pct_start) == (1e-3, 40, 0.3)
    assert made.cycle_momentum is False


def test_scheduler_from_hp_for_each_schedule():
    made = {}
    for name in lt.SCHEDULES:
        hp = kt.HyperParameters()
        lt.declare_schedule(hp)
        hp.values["lr_tb/schedule"] = name
        made[name] = lt.scheduler_from_hp(hp, epochs=4, steps_per_epoch=10)
    assert isinstance(made["constant"], lr_tb.ScheduleCallback)
    assert made["constant"].schedule.learning_rate == 1e-3
    assert made["exponential"].decay_rate == 0.9
    assert (made["warmup_cosine"].total_steps, made["warmup_cosine"].warmup_steps) == (40, 4)
    assert made["cosine_restarts"].first_cycle_steps == 10
    assert (made["plateau"].factor, made["plateau"].patience, made["plateau"].monitor) == (
        0.5,
        2,
        "val_loss",
    )
    with pytest.raises(ValueError, match="epochs"):
        lt.scheduler_from_hp(hp, epochs=0)
    with pytest.raises(ValueError, match="declare_schedule"):
        lt.scheduler_from_hp(kt.HyperParameters(), epochs=2)


def test_trials_get_their_own_runs_and_hparams_without_tensorflow_tensorboard(
    tmp_path, monkeypatch
):
    """On JAX and torch keras-tuner moves no TensorBoard callback and writes no HParams; lr_tb
    does it. Simulated here: keras-tuner told it runs on JAX, lr_tb's check likewise."""
    import keras_tuner.src.backend.config as kt_config

    monkeypatch.setattr(kt_config, "backend", lambda: "jax")
    monkeypatch.setattr(lt.keras.backend, "backend", lambda: "jax")
    tuner, logdir = search(
        kt.RandomSearch, tmp_path, lt.ScheduleHyperModel(build), max_trials=3, seed=5
    )
    check_trials(tuner, logdir, 3)


# -- lr_tb's hyperparameter names ------------------------------------------------------------
def build_with_own_learning_rate(hp):
    model = build(hp)
    model.optimizer.learning_rate.assign(hp.Float("learning_rate", 0.5, 0.9))  # the user's own
    hp.Int("units", 4, 16)
    return model


def test_a_users_learning_rate_is_their_own(tmp_path):
    hm = lt.ScheduleHyperModel(build_with_own_learning_rate)
    hp = kt.HyperParameters()
    hm.build(hp)
    space = {p.name: p for p in hp.space}
    assert (space["learning_rate"].min_value, space["learning_rate"].max_value) == (0.5, 0.9)
    assert (space["lr_tb/learning_rate"].min_value, space["lr_tb/learning_rate"].max_value) == (
        1e-4,
        1e-2,
    )
    tuner = kt.RandomSearch(
        hm, objective="val_accuracy", max_trials=20, directory=str(tmp_path), seed=4
    )
    for i in range(20):  # the oracle's draws, no training needed
        values = tuner.oracle.create_trial(f"t{i}").hyperparameters.values
        assert 0.5 <= values["learning_rate"] <= 0.9
        assert 1e-4 <= values["lr_tb/learning_rate"] <= 1e-2


def test_names_under_lr_tb_are_reserved():
    def build_reserved(hp):
        hp.Float("lr_tb/momentum", 0.8, 0.99)
        return build(hp)

    with pytest.raises(ValueError, match=r"'lr_tb/' are lr_tb's own.*lr_tb/momentum"):
        lt.ScheduleHyperModel(build_reserved).build(kt.HyperParameters())
    hp = kt.HyperParameters()
    hp.Int("lr_tb/exponential/steps", 1, 4)
    with pytest.raises(ValueError, match="lr_tb/exponential/steps"):
        lt.declare_schedule(hp)


def test_space_keys_short_or_full_names():
    hp = kt.HyperParameters()
    lt.declare_schedule(
        hp,
        schedules=["exponential", "plateau"],
        space={"lr_tb/exponential/decay_rate": 0.7, "plateau/factor": 0.3},
    )
    assert hp.values["lr_tb/exponential/decay_rate"] == 0.7
    assert {p.name: p.default for p in hp.space}["lr_tb/plateau/factor"] == 0.3
    with pytest.raises(ValueError, match="twice"):
        lt.Space(
            ["exponential"],
            space={"exponential/decay_rate": 0.7, "lr_tb/exponential/decay_rate": 0.8},
        )
    with pytest.raises(TypeError, match="space=3"):
        lt.Space(["exponential"], space=3)


def test_plateau_direction_is_lr_tbs_auto_rule():
    """`val_mae` is minimized (the old rule maximized any name without "loss")."""
    hp = kt.HyperParameters()
    lt.declare_schedule(hp, schedules=["plateau"], learning_rate=0.05)
    callback = lt.scheduler_from_hp(hp, epochs=3, monitor="val_mae")
    assert callback.mode == "auto"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    x, y = data()
    history = model.fit(
        x,
        y.astype("float32"),
        epochs=3,
        batch_size=16,
        validation_split=0.2,
        verbose=0,
        callbacks=[callback],
    )
    assert callback.best == pytest.approx(min(history.history["val_mae"]))


# -- lr_tb callbacks passed to search() yourself ---------------------------------------------
def keras_steps(run_dir, tag="epoch_loss"):
    """The steps of a scalar Keras wrote with tf.summary (stored as tensors)."""
    acc = EventAccumulator(run_dir, size_guidance={"tensors": 0})
    acc.Reload()
    return [e.step for e in acc.Tensors(tag)]


def build_units(hp):
    model = build(hp)
    hp.Int("units", 2, 64)  # something for the tuner to vary
    return model


def exponential(steps):
    return lr_tb.schedules.evaluate(lr_tb.schedules.ExponentialDecay(0.1, 0.5, SPE), steps)


def search_with_callbacks(tuner, tmp_path, epochs=2):
    """Callbacks passed to search(): an lr_tb scheduler writing beside Keras' TensorBoard in
    `plain/`, and lr_tb.TensorBoard (logging the rate the scheduler applies) in `board/`."""
    plain, board = str(tmp_path / "plain"), str(tmp_path / "board")
    x, y = data()
    tuner.search(
        x,
        y,
        epochs=epochs,
        batch_size=16,
        validation_split=0.2,
        verbose=0,
        callbacks=[
            lr_tb.ExponentialDecayScheduler(0.1, 0.5, log_dir=plain),
            keras.callbacks.TensorBoard(plain),
            lr_tb.TensorBoard(board),
        ],
    )
    return plain, board


def check_trial_runs(tuner, plain, board, min_trials):
    """Every trial's rate is in its own run, each step once, equal to the closed form, next
    to that trial's epoch_loss; nothing in the shared `<log_dir>/train`."""
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) >= min_trials
    tensorflow = keras.backend.backend() == "tensorflow"
    for trial in trials:
        values = trial.hyperparameters.values
        first, last = values.get("tuner/initial_epoch", 0), values.get("tuner/epochs", 2)
        for root in [plain, board]:
            run = os.path.join(root, trial.trial_id, "execution0", "train")
            steps, rates = read_scalars(run)
            assert steps == list(range(first * SPE, last * SPE)), (root, trial.trial_id)
            np.testing.assert_allclose(rates, exponential(steps), rtol=2.0**-23)
            if root == board or tensorflow:  # keras-tuner moves Keras' own only on TensorFlow
                assert keras_steps(run) == list(range(first, last))
    assert not os.path.exists(os.path.join(board, "train"))
    if tensorflow:
        assert not os.path.exists(os.path.join(plain, "train"))
    else:
        assert tags.LEARNING_RATE not in keras_tags(os.path.join(plain, "train"))
    return trials


@pytest.mark.backends
def test_callbacks_passed_to_search_write_to_each_trials_run(tmp_path):
    tuner = kt.RandomSearch(
        build_units, objective="val_accuracy", max_trials=3, seed=1, directory=str(tmp_path)
    )
    plain, board = search_with_callbacks(tuner, tmp_path)
    trials = check_trial_runs(tuner, plain, board, 3)
    for trial in trials:  # lr_tb.TensorBoard's trials have HParams on every backend
        hparams = session_hparams(os.path.join(board, trial.trial_id, "execution0"))
        assert hparams["units"] == trial.hyperparameters.values["units"]


def test_callbacks_passed_to_hyperband_keep_the_absolute_axis(tmp_path):
    tuner = kt.Hyperband(
        build_units,
        objective="val_accuracy",
        max_epochs=3,
        factor=3,
        seed=2,
        directory=str(tmp_path),
    )
    plain, board = search_with_callbacks(tuner, tmp_path, epochs=None)
    trials = check_trial_runs(tuner, plain, board, 4)
    assert any(t.hyperparameters.values.get("tuner/initial_epoch", 0) > 0 for t in trials)


def test_lr_tb_tensorboard_with_the_hypermodel_without_tensorflow_tensorboard(
    tmp_path, monkeypatch
):
    """lr_tb.TensorBoard moves itself and writes HParams where keras-tuner doesn't (JAX,
    torch; simulated as above); the HyperModel's scheduler then writes nothing itself."""
    import keras_tuner.src.backend.config as kt_config

    monkeypatch.setattr(kt_config, "backend", lambda: "jax")
    logdir = str(tmp_path / "search")
    tuner = kt.RandomSearch(
        lt.ScheduleHyperModel(build, schedules=["exponential", "warmup_cosine"]),
        objective="val_accuracy",
        max_trials=3,
        seed=5,
        directory=str(tmp_path / "kt"),
    )
    x, y = data()
    tuner.search(
        x,
        y,
        epochs=2,
        batch_size=16,
        validation_split=0.2,
        verbose=0,
        callbacks=[lr_tb.TensorBoard(logdir)],
    )
    check_trials(tuner, logdir, 3)  # each step once: no second writer of the rate


def test_trial_log_dir_outside_a_search(tmp_path):
    from lr_tb import _trial

    assert _trial.trial_log_dir(lr_tb.LearningRateLogger(str(tmp_path))) is None
    assert _trial.trial_log_dir(lr_tb.ScheduleCallback(lr_tb.schedules.Constant(0.1))) is None


@pytest.mark.backends
def test_lr_tb_tensorboard_outside_a_search(tmp_path):
    schedule = lr_tb.schedules.ExponentialDecay(0.1, 0.5, 4)
    model = bias_model(optimizer=keras.optimizers.SGD(schedule))
    board = lr_tb.TensorBoard(str(tmp_path))
    assert type(board).__name__ == "TensorBoard"  # the name keras-tuner moves callbacks by
    x, y = zeros_data(40)
    model.fit(x, y, epochs=3, batch_size=10, verbose=0, callbacks=[board])
    steps, rates = read_scalars(str(tmp_path / "train"))
    assert steps == board.steps == list(range(12))
    np.testing.assert_array_equal(rates, lr_tb.schedules.evaluate(schedule, steps))
    assert keras_steps(str(tmp_path / "train")) == [0, 1, 2]
    with pytest.raises(TypeError, match="log_dir=None"):
        lr_tb.TensorBoard(None)
