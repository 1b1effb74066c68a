"""Start the real `tensorboard` server on a free loopback port and ask its HTTP data API."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from lr_tb import tags


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(base, path, **query):
    url = f"{base}{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def tensorboard(logdir, *extra, timeout=90):
    """Yield the base URL of a TensorBoard serving `logdir`; always stopped afterwards."""
    port = free_port()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(logdir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError("tensorboard exited: " + process.stderr.read().decode()[-2000:])
            try:
                get_json(base, "/data/runs")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"tensorboard did not answer within {timeout}s") from None
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate, timeout=60, interval=0.5):
    """Poll until `predicate()` is truthy (and return it), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)


def scalar_series(base, run, tag=tags.LEARNING_RATE):
    """[(step, value)] of a scalar as TensorBoard's scalars plugin serves it."""
    try:
        rows = get_json(base, "/data/plugin/scalars/scalars", run=run, tag=tag)
    except OSError:
        return []
    return [(int(step), float(value)) for _, step, value in rows]
