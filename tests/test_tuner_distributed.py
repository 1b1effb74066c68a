"""keras-tuner's own distributed search (a chief oracle and two workers, separate processes
on 127.0.0.1, one shared directory) with ScheduleHyperModel: every trial runs once, on one
worker, with its own LR run in TensorBoard equal to its schedule's closed form. Bounded in
time: every process is killed at the deadline, so a dead worker fails the test, never hangs
it."""

import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import read_scalars
from tb_server import free_port
from test_tuner import SPE, expected_rates, session_hparams

pytestmark = pytest.mark.heavy

MAX_TRIALS = 6
DEADLINE = 300  # seconds for the whole search


def test_chief_and_two_workers(tmp_path):
    port = free_port()
    script = os.path.join(os.path.dirname(__file__), "distributed_search.py")
    processes = {}
    logs = {}
    try:
        for role in ["chief", "tuner0", "tuner1"]:
            env = dict(
                os.environ,
                KERASTUNER_TUNER_ID=role,
                KERASTUNER_ORACLE_IP="127.0.0.1",
                KERASTUNER_ORACLE_PORT=str(port),
                TF_CPP_MIN_LOG_LEVEL="3",
            )
            logs[role] = open(tmp_path / f"{role}.log", "w")  # noqa: SIM115 - closed below
            processes[role] = subprocess.Popen(
                [sys.executable, script, str(tmp_path), str(MAX_TRIALS)],
                env=env,
                stdout=logs[role],
                stderr=subprocess.STDOUT,
            )
            if role == "chief":
                time.sleep(3)  # let the oracle server bind before workers call it
        deadline = time.monotonic() + DEADLINE
        for role in ["tuner0", "tuner1"]:
            processes[role].wait(timeout=max(1, deadline - time.monotonic()))
            assert processes[role].returncode == 0, (tmp_path / f"{role}.log").read_text()[-3000:]
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
            process.wait()
        for log in logs.values():
            log.close()

    trial_files = sorted(glob.glob(str(tmp_path / "kt" / "dist" / "trial_*" / "trial.json")))
    trials = [json.load(open(path)) for path in trial_files]
    completed = [t for t in trials if t["status"] == "COMPLETED"]
    assert len(completed) == MAX_TRIALS, [t["status"] for t in trials]
    ids = [t["trial_id"] for t in completed]
    assert len(set(ids)) == MAX_TRIALS
    for trial in completed:
        values = trial["hyperparameters"]["values"]
        trial_run = tmp_path / "search" / trial["trial_id"]
        assert sorted(os.listdir(trial_run)) == ["execution0"]  # ran once, nothing lost
        steps, rates = read_scalars(str(trial_run / "execution0" / "train"))
        assert steps == list(range(2 * SPE))
        want = expected_rates(values, steps, 2)
        if want is not None:
            np.testing.assert_allclose(
                rates, want, rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * values["lr_tb/learning_rate"]
            )
        hparams = session_hparams(str(trial_run / "execution0"))
        assert hparams["lr_tb/schedule"] == values["lr_tb/schedule"]
