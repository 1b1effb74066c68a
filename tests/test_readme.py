"""Every shell command the README shows is run here, as a reader would type it, in a fresh
directory: the `lr-tb` ones and `python examples/...` (issue 10: the README's `--png` example
failed after the README's install).

The README's two install commands: the test command is `.ci/run`'s, word for word (CI runs
it), and the demo's install brings what these commands need (checked against pyproject.toml;
the demo after it is run here). `tensorboard --logdir ...` is served and read back by
tests/test_tensorboard_server.py.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import keras_tags, read_scalars

ROOT = os.path.join(os.path.dirname(__file__), "..")
with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    README = f.read()
BIN = os.path.dirname(sys.executable)

# The full demo (10 epochs, all the data) takes minutes: run as shown plus this.
SMALL_DEMO = ["--epochs", "1", "--samples", "62", "--runs", "plateau", "--data", "digits"]
RUNS = ["plateau", "exponential", "warmup_cosine", "cosine_restarts"]


def _bash_blocks():
    return re.findall(r"```bash\n(.*?)```", README, re.S)


def readme_commands():
    """The shell commands the README shows: each `&&` part of its bash blocks, and each
    inline code span that starts like a command."""
    commands = []
    for block in _bash_blocks():
        for line in block.splitlines():
            commands += [part.strip() for part in line.split("&&") if part.strip()]
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if re.match(r"([A-Z_]+=\S+ )*(lr-tb|python3?|pip|tensorboard) ", span):
            commands.append(span.strip())
    return sorted(set(commands))


def _kind(command):
    words = command.split()
    if re.match(r"[A-Z_]+=\S+ ", command) and "tensorboard --logdir" in command:
        return "quiet tensorboard"  # started and read back below
    if words[0] == "lr-tb" and words[1].endswith(":"):
        return "output"  # an error message shown as an example, checked in test_cli.py
    if words[0] in (".", "pip", "python3", "ruff") or "pytest" in command:
        return "install"  # the two install commands' parts: see the module docstring
    if "[" in command or any(w.isupper() and w.isalpha() for w in words):
        return "synopsis"  # `lr-tb preview SCHEDULE --steps N ...`
    if command == "lr-tb demo --quick --logdir runs":
        return "served"  # run as shown, and served, by tests/test_tensorboard_server.py
    if words[0] == "lr-tb" or command.startswith("python examples/"):
        return "run"
    return "tensorboard" if words[0] == "tensorboard" else "unknown"


RUNNABLE = [c for c in readme_commands() if _kind(c) == "run"]


def test_the_readme_shows_these_commands():
    unknown = [c for c in readme_commands() if _kind(c) == "unknown"]
    assert unknown == [], "the README shows commands this file does not run: add them"
    assert "lr-tb demo --quick --logdir runs" in readme_commands()
    from test_tensorboard_server import README_DEMO

    assert _kind(README_DEMO) == "served"
    assert (
        "lr-tb preview cosine_restarts --steps 2000 --warmup_fraction 0.1 --png restarts.png"
        in (RUNNABLE)
    )
    assert "lr-tb preview --list" in RUNNABLE
    assert len([c for c in readme_commands() if _kind(c) == "quiet tensorboard"]) == 1
    installs = [c for c in readme_commands() if _kind(c) == "install"]
    assert 'pip install -e ".[demo]"' in installs and 'pip install -e ".[test,backends]"' in (
        installs
    )


def test_the_readme_test_command_is_what_ci_runs():
    """The README says its test command is exactly what CI runs: `.ci/run` has it verbatim."""
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read().splitlines()
    tests = [line for block in _bash_blocks() for line in block.splitlines() if "pytest" in line]
    assert len(tests) == 1 and tests[0] in ci


def test_the_demo_install_brings_what_the_commands_need():
    """`pip install -e ".[demo]"` then the README's commands: `lr-tb demo` needs Keras' default
    backend and the offline digits, `--png` needs matplotlib. The backend is an extra, not a
    dependency, as Keras leaves it to the user."""
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]

    def names(requirements):
        return {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in requirements}

    extras = project["optional-dependencies"]
    assert {"tensorflow", "scikit-learn", "matplotlib"} <= names(extras["demo"])
    assert {"tensorflow", "jax", "torch"} <= names(extras["backends"])
    assert not {"tensorflow", "jax", "torch"} & names(project["dependencies"])
    assert not {"tensorflow", "jax", "torch"} & names(extras["test"])


def _argv(command):
    words = command.split()
    if words[0] == "lr-tb":
        argv = [os.path.join(BIN, "lr-tb"), *words[1:]]
    else:
        argv = [sys.executable, os.path.join(ROOT, words[1]), *words[2:]]
    is_demo = words[:2] == ["lr-tb", "demo"] or words[1] == "examples/article.py"
    if is_demo and "--quick" not in words:
        argv += SMALL_DEMO
    return argv


@pytest.mark.parametrize("command", RUNNABLE)
def test_readme_command(command, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_HOME"] = str(tmp_path / "keras_home")  # no cached MNIST: as on a new machine
    demo_run = tmp_path / "runs" / "plateau" / "train" / "events.out.tfevents.demo"
    if command.startswith("python examples/quickstart.py"):  # after the demo, as the README
        demo_run.parent.mkdir(parents=True)
        demo_run.write_bytes(b"the demo's run")
    result = subprocess.run(
        _argv(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # TensorFlow's C++ log lines stay quiet (issue 10.4), the examples' too (issue 18)
    noise = [
        line
        for line in result.stderr.splitlines()
        if re.match(r"[IWE]\d{4} |WARNING: All log messages", line)
    ]
    assert noise == []
    out = result.stdout
    if command == "lr-tb demo --quick --logdir runs":
        # "It ends by printing `tensorboard --logdir runs`, which shows four runs ..."
        assert out.rstrip().endswith("tensorboard --logdir runs")
        for name in RUNS:
            steps, rates = read_scalars(str(tmp_path / "runs" / name / "train"))
            assert steps == list(range(4 * 20)) and np.all(rates > 0), name
            assert (tmp_path / "runs" / name / "validation").is_dir()
    elif command.startswith("python examples/quickstart.py"):
        assert f"tensorboard --logdir {command.split()[-1]}" in out
        # its own runs, beside the demo's: the demo's run is untouched
        assert demo_run.read_bytes() == b"the demo's run"
        for name in RUNS:
            run = tmp_path / "runs" / "quickstart" / name
            steps, rates = read_scalars(str(run / "train"))
            assert steps == list(range(6 * 50)), name  # 6 epochs, 3200 samples, batch 64
            assert np.all(np.isfinite(rates)) and np.all(rates > 0)
            assert (run / "validation").is_dir()
            assert "epoch_learning_rate" not in keras_tags(str(run / "train"))  # one LR chart
        _, restarts = read_scalars(
            str(tmp_path / "runs" / "quickstart" / "cosine_restarts" / "train")
        )
        assert np.sum(np.diff(restarts) > 0) >= 4  # climbs back at every restart
    elif "--png" in command:
        png = tmp_path / command.split("--png ")[1].split()[0]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    elif command == "lr-tb preview --list":
        assert "cosine_restarts: CosineRestarts" in out
    elif " demo " in f" {command} " or "article.py" in command:
        steps, _ = read_scalars(str(tmp_path / "runs" / "plateau" / "train"))
        assert steps == list(range(2))  # SMALL_DEMO: 62 samples, batch 31, 1 epoch
    assert "Traceback" not in result.stderr


def test_the_quiet_tensorboard_command_prints_no_tensorflow_lines(tmp_path):
    """The README's way to start TensorBoard without TensorFlow's C++ lines, run as shown in
    bash on a terminal (a pty: what a user's shell gives it), plus a free port: it serves, its
    address shows at once, and nothing it prints is such a line."""
    import pty
    import select
    import signal
    import socket
    import time

    (command,) = [c for c in readme_commands() if _kind(c) == "quiet tensorboard"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = command.replace("--logdir runs", f"--logdir runs --port {port}", 1)
    (tmp_path / "runs").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    printed = b""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and f":{port}/".encode() not in printed:
            if select.select([master], [], [], 1.0)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the command ended
                    break
                if not chunk:
                    break
                printed += chunk
        time.sleep(1.0)  # anything printed right after the address
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            printed += chunk
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        os.close(master)
    lines = printed.decode(errors="replace").replace("\r", "").splitlines()
    assert any(f":{port}/" in line for line in lines), lines  # "TensorBoard 2.x at http://..."
    noise = [line for line in lines if re.match(r"[IWE]\d{4} |WARNING: All log messages", line)]
    assert noise == [] and not any("cuInit" in line for line in lines), lines
