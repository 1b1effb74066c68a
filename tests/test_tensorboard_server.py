"""What `tensorboard --logdir` shows a user: the real server, asked over HTTP.

The article demo (--quick) and a preview write a log directory; the TensorBoard server
started on it must serve, for every run, a `learning_rate` point at every step equal to the
closed form, next to Keras' own curves. A second test grows two event files of one run while
the server watches and checks it picks up the new points of both. A third opens the server's
first page in headless Chromium, as a newcomer would, and asks which curves it draws.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import reference as ref
from tb_server import get_json, scalar_series, tensorboard, wait_for

from lr_tb import cli
from lr_tb.callbacks._run_log import TAG
from lr_tb.event_writer import EventWriter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools"))
from screenshots import default_view, find_chromium  # noqa: E402

pytestmark = pytest.mark.heavy

QUICK_STEPS_PER_EPOCH = 20  # 600 samples, batch 31
QUICK_EPOCHS = 4


README_DEMO = "lr-tb demo --quick --logdir runs"  # the README's main command, run as shown


@pytest.fixture(scope="module")
def demo_logdir(tmp_path_factory):
    """The README's demo command, typed in a fresh directory on a machine with no cached
    MNIST (tests/test_readme.py leaves this one command to this fixture)."""
    cwd = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_HOME"] = str(cwd / "keras_home")
    words = README_DEMO.split()
    argv = [os.path.join(os.path.dirname(sys.executable), words[0]), *words[1:]]
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    # "It ends by printing `tensorboard --logdir runs`"; TensorFlow's C++ lines stay quiet
    assert result.stdout.rstrip().endswith("tensorboard --logdir runs")
    noise = [
        line
        for line in result.stderr.splitlines()
        if re.match(r"[IWE]\d{4} |WARNING: All log messages", line)
    ]
    assert noise == []
    for name in ("plateau", "exponential", "warmup_cosine", "cosine_restarts"):
        assert (cwd / "runs" / name / "validation").is_dir(), name
    return cwd / "runs"


def closed_forms():
    """The rate of each scheduled demo run at step t, from the plain-Python reference."""
    spe, total = QUICK_STEPS_PER_EPOCH, QUICK_STEPS_PER_EPOCH * QUICK_EPOCHS
    cycles = ref.cycles_from_restarts([0.05, 0.15, 0.30, 0.50], total)
    return {
        "exponential": lambda t: ref.exponential(t, 1e-3, 0.9, spe, 1e-6),
        "warmup_cosine": lambda t: ref.warmup_cosine(t, 1e-3, total, 1e-5, spe, spe // 2, 1e-6),
        "cosine_restarts": lambda t: ref.cosine_restarts(
            t, 1e-3, total, cycles, 1.0, 1e-5, 0.1, 0.0, 1e-6
        ),
    }


RUNS = ["plateau", "exponential", "warmup_cosine", "cosine_restarts"]


def test_server_serves_every_step_equal_to_the_closed_form(demo_logdir):
    forms = closed_forms()
    total = QUICK_STEPS_PER_EPOCH * QUICK_EPOCHS
    with tensorboard(demo_logdir) as base:
        runs = wait_for(
            lambda: (r := set(get_json(base, "/data/runs"))) >= {f"{n}/train" for n in RUNS} and r
        )
        tags = get_json(base, "/data/plugin/scalars/tags")
        series = {name: scalar_series(base, f"{name}/train") for name in RUNS}
    for name in RUNS:
        assert {TAG, "epoch_loss"} <= set(tags[f"{name}/train"]), name  # one run
        assert f"{name}/validation" in runs
        steps = [s for s, _ in series[name]]
        values = np.array([v for _, v in series[name]])
        assert steps == list(range(total)), name  # every step, exactly once
        if name in forms:
            expected = [forms[name](t) for t in steps]
            # float32 rounding, as in test_schedules: 4 ulps relative, 8 ulps of the peak absolute
            np.testing.assert_allclose(
                values, expected, rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * 1e-3, err_msg=name
            )
        if name == "plateau":  # the article's step decay: constant per epoch, drops by halves
            per_epoch = values.reshape(QUICK_EPOCHS, -1)
            assert np.all(per_epoch == per_epoch[:, :1])
            assert per_epoch[0, 0] == pytest.approx(1e-3)
            assert np.sum(np.diff(per_epoch[:, 0]) < 0) >= 1
            for a, b in zip(per_epoch[:-1, 0], per_epoch[1:, 0], strict=True):
                assert b == pytest.approx(a) or b == pytest.approx(a / 2)
        if name == "cosine_restarts":  # climbs back at every restart
            assert np.sum(np.diff(values) > 0) >= 2


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        # CI installs Debian's package (.ci/run); elsewhere say why, in the summary (-ra)
        pytest.skip("needs Chromium: apt-get install --no-install-recommends chromium")
    return path


# The first screen of a newcomer's browser window (issue 18: 1600x1200)
FIRST_SCREEN = "1600,1200"


def test_first_view_draws_the_per_step_rate(chromium, demo_logdir, tmp_path):
    """The page `tensorboard --logdir runs` opens on, in a fresh browser profile with nothing
    in the address, draws lr_tb's per-step curve, so a newcomer sees it without typing or
    clicking: its card is drawn first, a line through every step for each of the four runs,
    and it is the page's only learning-rate chart (no `epoch_learning_rate`). The screenshot
    of that view is the evidence (`default_view.png` in tmp_path)."""
    png = tmp_path / "default_view.png"
    with tensorboard(demo_logdir) as base:

        def loaded():
            tags = get_json(base, "/data/plugin/scalars/tags")
            return all({TAG, "epoch_loss"} <= set(tags.get(f"{n}/train", {})) for n in RUNS)

        wait_for(loaded)
        view = default_view(base, chromium, str(png), size=FIRST_SCREEN)
    assert png.stat().st_size > 10_000  # a picture of the page, not a blank one
    assert "epoch_loss" in view.groups and TAG in view.groups, view  # Keras' curves and ours
    assert view.groups[0] == TAG, view.groups  # listed first, so opened first
    assert not [g for g in view.groups if "learning_rate" in g and g != TAG], view.groups
    assert TAG in view.cards, f"first view draws {list(view.cards)} of {view.groups}; see {png}"
    assert next(iter(view.cards)) == TAG, view.cards  # the first card on the page
    lines = view.cards[TAG]  # each run's line (and its smoothed twin), one point per step
    assert len(lines) >= len(RUNS), (lines, png)
    assert set(lines) == {QUICK_STEPS_PER_EPOCH * QUICK_EPOCHS}, (lines, png)


def test_preview_run_through_the_server(tmp_path):
    assert (
        cli.main(
            [
                "preview",
                "cosine_restarts",
                "--steps",
                "5000",
                "--first_cycle_steps",
                "500",
                "--t_mul",
                "2",
                "--m_mul",
                "0.5",
                "--logdir",
                str(tmp_path),
            ]
        )
        == 0
    )
    cycles = ref.cycles_sgdr(500, 2.0, 5000)
    with tensorboard(tmp_path) as base:
        series = wait_for(lambda: scalar_series(base, "cosine_restarts/train"))
    steps = np.array([s for s, _ in series])
    values = np.array([v for _, v in series])
    # at most 1,000 points (TensorBoard's default sample), so the server shows all of them
    assert steps[0] == 0 and steps[-1] == 4999 and np.all(np.diff(steps) > 0)
    assert len(steps) <= 1000
    # and the line it draws through them follows the curve: every restart jump is kept
    drawn = np.interp(np.arange(5000), steps, values)
    expected = np.array([ref.cosine_restarts(t, 1e-3, 5000, cycles, 0.5) for t in range(5000)])
    assert np.max(np.abs(drawn - expected)) < 2e-3 * 1e-3
    for start, _ in cycles[1:]:
        assert start in steps and start - 1 in steps  # both sides of each restart


@pytest.mark.parametrize(
    "loader", [["--load_fast=auto"], ["--load_fast=false", "--reload_multifile=true"]]
)
def test_two_files_growing_in_one_run_are_both_read(tmp_path, loader):
    """Keras' event file and lr_tb's grow side by side in `<log_dir>/train`; the server keeps
    reading both: with its default (Rust) loader as it is, with the Python loader when told
    to poll every file (`--reload_multifile=true`; without it, it reads only the newest)."""
    import tensorflow as tf

    run_dir = str(tmp_path / "run" / "train")
    ours = EventWriter(run_dir)
    keras_like = tf.summary.create_file_writer(run_dir)
    ours.write(TAG, [0, 1], [1.0, 0.5])
    ours.flush()
    with keras_like.as_default():
        tf.summary.scalar("epoch_loss", 3.0, step=0)
    keras_like.flush()
    with tensorboard(tmp_path, *loader, "--reload_interval", "1") as base:
        wait_for(lambda: len(scalar_series(base, "run/train")) == 2)
        # both files grow after the server has read them
        ours.write(TAG, [2, 3], [0.25, 0.125])
        ours.flush()
        with keras_like.as_default():
            tf.summary.scalar("epoch_loss", 2.0, step=1)
        keras_like.flush()
        lr = wait_for(
            lambda: (s := scalar_series(base, "run/train")) and len(s) == 4 and s, timeout=30
        )
        loss = wait_for(
            lambda: len(scalar_series(base, "run/train", "epoch_loss")) == 2, timeout=30
        )
    ours.close()
    keras_like.close()
    assert [s for s, _ in lr] == [0, 1, 2, 3] and loss
