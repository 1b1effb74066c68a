"""Nothing computed is lost: a training process killed hard (SIGKILL) in the middle of an
epoch leaves a valid event file holding every step up to its last flush point, and the flush
policy bounds what it loses to `flush_secs` of steps."""

import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
import reference as ref
from conftest import event_files, read_scalars
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

pytestmark = pytest.mark.heavy

FLUSH_SECS = 0.5


def test_sigkill_mid_epoch_keeps_every_flushed_step(tmp_path):
    run_dir = tmp_path / "train"
    script = os.path.join(os.path.dirname(__file__), "killed_training.py")
    process = subprocess.Popen(
        [sys.executable, script, str(tmp_path), str(FLUSH_SECS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        seen = 0
        while seen < 150:  # a few flushes in, far from the end of the 100,000-step epoch
            assert process.poll() is None, "training ended early"
            assert time.monotonic() < deadline, "no flushed points within 120 s"
            time.sleep(0.2)
            if run_dir.exists() and event_files(str(run_dir)):
                try:
                    seen = len(read_scalars(str(run_dir))[0])
                except KeyError:  # the file is there, no point flushed yet
                    seen = 0
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    (path,) = event_files(str(run_dir))
    steps, values = read_scalars(str(run_dir))
    # every step from 0 to the last flush point, once each, as the schedule says
    assert len(steps) >= seen and steps == list(range(len(steps)))
    want = [ref.warmup_cosine(t, 1e-2, 100_000, 0.0, 100, 0) for t in steps]
    np.testing.assert_allclose(values, want, rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * 1e-2)
    # every whole record in the file is intact (CRCs), and only a torn tail may follow
    data = open(path, "rb").read()
    offset, records = 0, 0
    while offset + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        if offset + 16 + length > len(data):
            break
        payload = data[offset + 12 : offset + 12 + length]
        (crc,) = struct.unpack("<I", data[offset + 12 + length : offset + 16 + length])
        assert crc == masked_crc32c(payload)
        offset += 16 + length
        records += 1
    assert records == len(steps) + 1  # the version record and one record per point
    assert len(data) - offset < 16 + 64  # at most part of one more record
