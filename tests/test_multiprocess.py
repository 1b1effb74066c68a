"""Past one process: a multi-process fit (Keras' distribution API on JAX) writes one curve,
from process 0, and resumes as one; two independent processes on one `log_dir` never merge
their series into one run.

The multi-process tests spawn JAX processes on 127.0.0.1 (CPU, gloo collectives) whatever
backend this session runs, each bounded by a deadline after which every process is killed.
The fast tests fake the process index through `lr_tb._process.process_index`.
"""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import reference as ref
from conftest import bias_model, event_files, read_scalars, zeros_data
from tb_server import free_port

import lr_tb
from lr_tb import _process, _trial
from lr_tb.callbacks import _run_log

HERE = os.path.dirname(__file__)
SCRIPT = os.path.join(HERE, "multiprocess_training.py")
DEADLINE = 120  # seconds for one phase of a multi-process test: then everything is killed
SPE, EPOCHS, PEAK = 6, 3, 1e-2  # as in multiprocess_training.py
TOL = {"rtol": 4 * 2.0**-23, "atol": 8 * 2.0**-23 * PEAK}


def closed_form(steps, total=SPE * EPOCHS):
    return [ref.warmup_cosine(t, PEAK, total, 0.0, 4, 2, 1e-4) for t in steps]


def scheduler(log_dir):
    return lr_tb.WarmupCosineDecayScheduler(
        PEAK, warmup_steps=4, hold_steps=2, min_learning_rate=1e-4, log_dir=log_dir
    )


def spawn(mode, out, port=0, env=None):
    """The processes of one phase; killed at the deadline (never a hung CI)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    count = 1 if mode == "model_parallel" else 2
    procs = []
    try:
        for k in range(count):
            log = open(os.path.join(out, f"{mode}_{k}.log"), "w")  # noqa: SIM115 - closed below
            procs.append(
                subprocess.Popen(
                    [sys.executable, SCRIPT, mode, str(k), str(port), out],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        deadline = time.monotonic() + DEADLINE
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.1)
            if mode == "crash" and procs[0].poll() is not None and procs[1].poll() is None:
                time.sleep(0.5)  # process 1 waits on a dead peer: it is killed, as a user would
                procs[1].send_signal(signal.SIGKILL)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    return procs


def result(out, mode, k):
    path = os.path.join(out, f"result_{mode}_{k}.json")
    if not os.path.exists(path):
        pytest.fail(open(os.path.join(out, f"{mode}_{k}.log")).read()[-3000:])
    with open(path) as f:
        return json.load(f)


def writer_pids(run_dir):
    """The pids in the names of a run's event files (`...tfevents.<time>.<host>.<pid>.<n>.lr_tb`,
    read from the end: a host name may hold dots)."""
    return {int(os.path.basename(p).split(".")[-3]) for p in event_files(run_dir)}


def steps_written(run_dir):
    """The steps a run's files hold so far: none while its writer has flushed only the
    file's header (a slow process opens its file well before its first points)."""
    try:
        return read_scalars(run_dir)[0]
    except KeyError:  # EventAccumulator: no point of the tag yet
        return []


def fit(callback, epochs=2):
    x, y = zeros_data(16)
    bias_model().fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[callback])
    return callback


@pytest.mark.heavy
def test_two_processes_write_one_curve_and_resume_as_one(tmp_path):
    """DataParallel over two processes, each with its own scheduler on one log_dir and its
    own BackupAndRestore directory; process 0 (the writer) is SIGKILLed mid-epoch, process 1
    is killed too, both are restarted: one curve, every step once, as the schedule says, and
    every process applied the same rates. Then a plateau and a logger on data that differs
    per process: the same decisions everywhere, written once."""
    out = str(tmp_path)
    crash = spawn("crash", out, free_port())
    assert crash[0].returncode == -signal.SIGKILL, open(f"{out}/crash_0.log").read()[-3000:]
    run = os.path.join(out, "lr", "train")
    assert writer_pids(run) == {crash[0].pid}  # process 1 wrote nothing
    assert os.path.exists(os.path.join(run, _run_log.OWNER_FILE))  # the killed writer's record
    resume = spawn("resume", out, free_port())
    assert [p.returncode for p in resume] == [0, 0], open(f"{out}/resume_0.log").read()[-3000:]
    first, second = result(out, "resume", 0), result(out, "resume", 1)
    assert (first["process_index"], second["process_index"]) == (0, 1)
    assert first["process_count"] == second["process_count"] == 2
    # every process keeps the history, the same one; the applied rates were the same (the
    # bias, restored at step 8 and stepped by each rate, is the same everywhere)
    for key in ["steps", "rates", "bias", "plateau_rates", "logger_rates", "loss"]:
        assert first[key] == second[key], key
    assert first["steps"][0] == 8  # the last backup: resumed, not restarted
    assert first["warnings"] == []  # the dead writer's record did not send it elsewhere
    np.testing.assert_allclose(first["rates"], closed_form(first["steps"]), **TOL)
    applied = -(sum(closed_form(range(8))) + sum(first["rates"]))
    np.testing.assert_allclose(first["bias"], applied, rtol=1e-6)
    # the raw files: the killed writer's steps 0..n-1 (flushed at every step), then the
    # resumed 8..19; TensorBoard's server lets the resumed points preempt (test_resume), so
    # it shows one curve, each step once: what the uninterrupted run writes
    steps, values = read_scalars(run)
    # where the resumed points start: where the steps go back, or (when the killed writer's
    # last flush, or the resumed fit's gap fill, ended exactly at step 7: flush_secs=1e-3
    # skips a flush point when two batches begin within a millisecond) right after step 7
    drops = [i for i in range(1, len(steps)) if steps[i] <= steps[i - 1]]
    cut = drops[0] if drops else len(steps) - len(first["steps"])
    assert cut >= 8 and steps == list(range(cut)) + first["steps"]
    assert first["steps"] == list(range(8, SPE * EPOCHS + 2))  # Keras replays the epoch
    np.testing.assert_allclose(values, closed_form(steps), **TOL)
    assert writer_pids(run) == {crash[0].pid, resume[0].pid}
    # no owner record, and no progress record: the last fit wrote every step it ran
    assert sorted(os.listdir(run)) == sorted(os.path.basename(p) for p in event_files(run))
    # the plateau: each process fed its own data, the epoch losses are the global ones
    assert first["local_loss"] != second["local_loss"]
    assert len(set(first["plateau_rates"])) > 1  # it reduced the rate
    assert first["logger_rates"] == first["plateau_rates"]
    for name in ["plateau", "logger"]:
        train = os.path.join(out, name, "train")
        assert writer_pids(train) == {resume[0].pid}
        steps, values = read_scalars(train)
        assert steps == list(range(len(first["plateau_rates"])))
        assert values.tolist() == first["plateau_rates"]
    assert not glob.glob(os.path.join(out, "*", "train", "process_*"))


@pytest.mark.heavy
def test_model_parallel_on_two_virtual_devices(tmp_path):
    out = str(tmp_path)
    (proc,) = spawn(
        "model_parallel", out, env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    )
    assert proc.returncode == 0, open(f"{out}/model_parallel_0.log").read()[-3000:]
    got = result(out, "model_parallel", 0)
    assert got["devices"] == 2 and "model" in got["kernel_spec"]  # the kernel is sharded
    assert got["steps"] == list(range(SPE * EPOCHS))
    np.testing.assert_allclose(got["rates"], closed_form(got["steps"]), **TOL)
    steps, values = read_scalars(os.path.join(out, "mp", "train"))
    assert steps == got["steps"] and values.tolist() == got["rates"]
    # y = bias, loss = mean over 2 outputs: each step moved each bias by half its rate
    np.testing.assert_allclose(got["bias"], [-sum(got["rates"]) / 2] * 2, rtol=1e-6)


@pytest.mark.heavy
def test_an_independent_writer_on_the_same_log_dir_is_never_merged(tmp_path):
    """Another training (its own process, not part of this fit) writes `<log_dir>/train`:
    this fit warns and writes its own run beside it; once that process is dead, its record
    does not stand in the way (a resume after a crash writes the same run)."""
    run = tmp_path / "train"
    other = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "killed_training.py"), str(tmp_path), "0.2"],
        env=dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + DEADLINE
        while not (run / _run_log.OWNER_FILE).exists() or not event_files(str(run)):
            assert other.poll() is None and time.monotonic() < deadline, "no writer started"
            time.sleep(0.1)
        with pytest.warns(RuntimeWarning, match=f"pid {other.pid} on host"):
            mine = fit(scheduler(str(tmp_path)))
        own = run / f"{socket.gethostname()}-{os.getpid()}"
        steps, values = read_scalars(str(own))
        assert steps == mine.steps == list(range(8))
        np.testing.assert_allclose(values, closed_form(steps, 8), **TOL)
        assert writer_pids(str(own)) == {os.getpid()}
        assert not (own / _run_log.PROGRESS_FILE).exists()  # every step written: removed
        assert not (own / _run_log.OWNER_FILE).exists()  # released at the end of the fit
        assert writer_pids(str(run)) == {other.pid}  # the other run holds one series
        steps = steps_written(str(run))
        while len(steps) <= 8:  # it flushes every 0.2 s; a loaded machine runs it slowly
            assert other.poll() is None and time.monotonic() < deadline, "the other stalled"
            time.sleep(0.1)
            steps = steps_written(str(run))
        assert steps == list(range(len(steps)))
    finally:
        other.kill()
        other.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a dead writer's record: no warning
        again = fit(scheduler(str(tmp_path)))
    assert writer_pids(str(run)) == {other.pid, os.getpid()}
    steps, values = read_scalars(str(run))
    # the dead writer's file, then this fit's (the server shows the later one from step 0)
    assert again.steps == steps[-8:] == list(range(8))
    assert steps[:-8] == list(range(len(steps) - 8))
    assert not (run / _run_log.OWNER_FILE).exists()


def test_processes_other_than_0_keep_the_history_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_process, "process_index", lambda: 1)
    quiet = fit(scheduler(str(tmp_path / "chief")))
    np.testing.assert_allclose(quiet.learning_rates, closed_form(range(8), 8), **TOL)
    assert not (tmp_path / "chief").exists()
    logger = fit(lr_tb.LearningRateLogger(str(tmp_path / "logger")))
    assert (
        logger.learning_rates == [float(np.float32(0.1))] * 8 and not (tmp_path / "logger").exists()
    )
    _trial.write_hparams_start(str(tmp_path / "trial"), "0", {"a": 1})
    _trial.write_hparams_end(str(tmp_path / "trial"))
    assert not (tmp_path / "trial").exists()  # the HParams session is process 0's
    # LR_TB_WRITE_ON=all: each process its own run, process k in <log_dir>/train/process_<k>
    monkeypatch.setenv(_process.WRITE_ON_ENV, "all")
    each = fit(scheduler(str(tmp_path / "all")))
    steps, values = read_scalars(str(tmp_path / "all" / "train" / "process_1"))
    assert steps == each.steps and values.tolist() == each.learning_rates
    assert event_files(str(tmp_path / "all" / "train")) == []


def test_write_on_is_checked_before_any_step(tmp_path, monkeypatch):
    monkeypatch.setenv(_process.WRITE_ON_ENV, "everyone")
    model = bias_model()
    x, y = zeros_data(16)
    with pytest.raises(ValueError, match="LR_TB_WRITE_ON.*'chief', 'all'.*'everyone'"):
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[scheduler(str(tmp_path))])
    assert int(model.optimizer.iterations.numpy()) == 0
    assert (_process.process_index(), _process.process_count()) == (0, 1)  # no distribution


def test_a_writer_on_another_host(tmp_path):
    """A record from another host counts while its heartbeat is fresh."""
    run = tmp_path / "train"
    run.mkdir()
    record = {"host": "elsewhere", "pid": 1, "start": None, "token": "x", "time": time.time()}
    (run / _run_log.OWNER_FILE).write_text(json.dumps(record))
    with pytest.warns(RuntimeWarning, match="pid 1 on host 'elsewhere'"):
        fit(scheduler(str(tmp_path)))
    assert read_scalars(str(run / f"{socket.gethostname()}-{os.getpid()}"))[0] == list(range(8))
    assert json.loads((run / _run_log.OWNER_FILE).read_text()) == record  # left alone
    record["time"] -= _run_log.STALE_AFTER + 1  # silent for too long: gone
    (run / _run_log.OWNER_FILE).write_text(json.dumps(record))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fit(scheduler(str(tmp_path)))
    assert read_scalars(str(run))[0] == list(range(8))
    assert not (run / _run_log.OWNER_FILE).exists()
