"""`lr-tb`: --help, --list, preview, and one-line errors with exit status 2."""

import os
import subprocess
import sys

import numpy as np
import pytest
import reference as ref
from conftest import read_scalars

from lr_tb import cli

ROOT = os.path.join(os.path.dirname(__file__), "..")


def run(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "lr_tb.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


def test_help_for_each_subcommand():
    for args in [["--help"], ["demo", "--help"], ["preview", "--help"]]:
        result = run(*args)
        assert result.returncode == 0 and "usage: lr-tb" in result.stdout
    result = subprocess.run(
        [sys.executable, "examples/article.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "--quick" in result.stdout


def test_bad_arguments_one_line_no_traceback_exit_2():
    result = run("preview", "cosin", "--steps", "10", "--logdir", "x")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("lr-tb")]
    assert lines == [
        "lr-tb preview: unknown schedule 'cosin'; valid: constant, "
        "cosine_restarts, exponential, warmup_cosine"
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            [
                "preview",
                "warmup_cosine",
                "--steps",
                "100",
                "--logdir",
                "x",
                "--warmup_steps",
                "200",
            ],
            "warmup_steps=200, total_steps=100",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdir", "x", "--warmup", "2"],
            "has no argument --warmup",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdir", "x", "--warmup_steps", "x"],
            "expected int, got 'x'",
        ),
        (["preview", "warmup_cosine", "--steps", "0", "--logdir", "x"], "--steps must be"),
        (["preview", "warmup_cosine", "--steps", "10"], "--logdir"),
        (["preview", "--steps", "10", "--logdir", "x"], "give a schedule name"),
        (
            ["preview", "constant", "--steps", "10", "--logdir", "x", "--max-points", "1"],
            "--max-points",
        ),
        (
            ["preview", "exponential", "--steps", "10", "--logdir", "x", "--decay_rate", "2"],
            "decay_rate=2.0",
        ),
        (["demo", "--epochs", "0"], "--epochs must be >= 1"),
        (["demo", "--runs", "plateau,nope"], "unknown run(s) ['nope']"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["demo", "--data", "web"], "invalid choice: 'web'"),
        ([], "required: command"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err


def test_list_shows_every_schedule_and_its_arguments(capsys):
    assert cli.main(["preview", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ["constant", "cosine_restarts", "exponential", "warmup_cosine"]:
        assert f"{name}: " in out
    assert "--first_cycle_steps" in out and "--hold_steps" in out


def test_preview_writes_the_closed_form(tmp_path, capsys):
    png = tmp_path / "wc.png"
    assert (
        cli.main(
            [
                "preview",
                "warmup_cosine",
                "--steps",
                "300",
                "--logdir",
                str(tmp_path),
                "--warmup_steps",
                "30",
                "--hold-steps",
                "20",
                "--min_learning_rate=1e-5",
                "--max-points",
                "0",
                "--png",
                str(png),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"tensorboard --logdir {tmp_path}" in out and png.exists()
    steps, values = read_scalars(str(tmp_path / "warmup_cosine" / "train"))
    assert steps[0] == 0 and steps[-1] == 299
    expected = [ref.warmup_cosine(t, 1e-3, 300, 0.0, 30, 20, 1e-5) for t in steps]
    np.testing.assert_allclose(values, expected, rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * 1e-3)
    drawn = np.interp(np.arange(300), steps, values.astype(np.float64))
    full = [ref.warmup_cosine(t, 1e-3, 300, 0.0, 30, 20, 1e-5) for t in range(300)]
    np.testing.assert_allclose(drawn, full, rtol=0, atol=1e-9)


def test_preview_article_defaults(tmp_path, capsys):
    assert (
        cli.main(
            [
                "preview",
                "cosine_restarts",
                "--steps",
                "1000",
                "--logdir",
                str(tmp_path),
                "--run",
                "restarts",
            ]
        )
        == 0
    )
    assert "restarts=[0.05, 0.15, 0.3, 0.5]" in capsys.readouterr().out
    steps, _ = read_scalars(str(tmp_path / "restarts" / "train"))
    assert {49, 50, 149, 150, 299, 300, 499, 500} <= set(steps)
