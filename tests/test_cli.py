"""`lr-tb`: --help, --list, preview, and one-line errors with exit status 2."""

import importlib.util
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
    assert lines == ["lr-tb preview: unknown schedule 'cosin'; valid: " + ", ".join(cli.SCHEDULES)]
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
            "lr-tb preview: unrecognized option --warmup; "
            "did you mean --warmup_learning_rate or --warmup_steps?",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdir", "x", "--warmup_steps", "x"],
            "expected int, got 'x'",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "0", "--logdir", "x"],
            "lr-tb preview: --steps must be an integer >= 1, got 0",
        ),
        (
            ["preview", "warmup_cosine", "--logdir", "x"],
            "lr-tb preview: --steps is required (how many steps to compute)",
        ),
        (
            ["preview", "constant", "--steps", "10", "--logdir", "x", "--tolerance", "-1"],
            "lr-tb preview: --tolerance must be >= 0, got -1.0",
        ),
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
        (["demo", "--bogus"], "lr-tb demo: unrecognized option --bogus; see lr-tb demo --help"),
        (["demo", "stray"], "lr-tb demo: unexpected argument 'stray'"),
        (["demo", "--data", "web"], "invalid choice: 'web'"),
        ([], "required: command"),
    ],
)
def test_bad_arguments(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the paths are checked, and made, before the schedule's values
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err


WARMUP_COSINE_TAKES = (
    "warmup_cosine takes: --learning_rate_base, --total_steps, --warmup_learning_rate, "
    "--warmup_steps, --hold_steps, --min_learning_rate"
)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["preview", "warmup_cosine", "--steps", "100", "--log-dir", "x"],
            "lr-tb preview: unrecognized option --log-dir; did you mean --logdir?",
        ),
        # before "give --logdir and/or --png", which it would otherwise say
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdri", "x"],
            "lr-tb preview: unrecognized option --logdri; did you mean --logdir?",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "100", "--png", "x.png", "--tolerence=0.1"],
            "lr-tb preview: unrecognized option --tolerence; did you mean --tolerance?",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdir", "x", "--max_points", "5"],
            "lr-tb preview: unrecognized option --max_points; did you mean --max-points?",
        ),
        # a schedule's argument, typed with dashes
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdir", "x", "--hold-step", "5"],
            "lr-tb preview: unrecognized option --hold-step; did you mean --hold_steps?",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdir", "x", "-warmup_steps", "5"],
            "lr-tb preview: unrecognized option -warmup_steps; did you mean --warmup_steps?",
        ),
        # the typo before the schedule name: argparse takes its value for the schedule's name
        (
            ["preview", "--stesp", "10", "warmup_cosine", "--logdir", "x"],
            "lr-tb preview: unrecognized option --stesp; did you mean --steps?",
        ),
        (
            ["preview", "warmup_cosine", "--steps", "100", "--logdir", "x", "--bogus", "1"],
            f"lr-tb preview: unrecognized option --bogus; {WARMUP_COSINE_TAKES}",
        ),
        (
            ["demo", "--logdri", "x"],
            "lr-tb demo: unrecognized option --logdri; did you mean --logdir?",
        ),
        (
            ["demo", "--epoch", "3"],
            "lr-tb demo: unrecognized option --epoch; did you mean --epochs?",
        ),
        (
            ["demo", "--batch_size=3"],
            "lr-tb demo: unrecognized option --batch_size; did you mean --batch-size?",
        ),
    ],
)
def test_an_unknown_option_is_named_with_the_one_meant(
    argv, message, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == message + "\n"
    assert os.listdir(tmp_path) == []  # said before any path is made


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["preview", "warmup_cosine", "--steps", "10", "--log", "x"],
            "lr-tb preview: unrecognized option --log; did you mean --logdir?",
        ),
        (
            ["preview", "warmup_cosine", "--st", "10", "--logdir", "x"],
            "lr-tb preview: unrecognized option --st; did you mean --steps?",
        ),
        # --max-points, or one_cycle's --max_lr?
        (
            ["preview", "one_cycle", "--steps", "10", "--logdir", "x", "--max", "0.01"],
            "lr-tb preview: unrecognized option --max; did you mean --max-points or --max_lr?",
        ),
        # --tolerance, or one of cosine_restarts' arguments?
        (
            ["preview", "cosine_restarts", "--steps", "10", "--logdir", "x", "--t", "2"],
            "lr-tb preview: unrecognized option --t; "
            "did you mean --tolerance, --total_steps or --t_mul?",
        ),
        (
            ["preview", "wsd", "--steps", "10", "--logdir", "x", "--warmup", "2"],
            "lr-tb preview: unrecognized option --warmup; "
            "did you mean --warmup_steps or --warmup_type?",
        ),
        (["demo", "--log", "x"], "lr-tb demo: unrecognized option --log; did you mean --logdir?"),
        (["demo", "--ep", "3"], "lr-tb demo: unrecognized option --ep; did you mean --epochs?"),
    ],
)
def test_options_are_not_abbreviated(argv, message, capsys, tmp_path, monkeypatch):
    """argparse would take `--log` for `--logdir`, and `--max` for `--max-points` where
    one_cycle's `--max_lr` was meant: an abbreviation is said, with what it may stand for."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == message + "\n"
    assert os.listdir(tmp_path) == []


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


def test_preview_wsd_with_a_string_argument(tmp_path, capsys):
    argv = ["preview", "wsd", "--steps", "200", "--logdir", str(tmp_path), "--max-points", "0"]
    assert cli.main([*argv, "--warmup_steps", "20", "--decay_type", "1-sqrt"]) == 0
    steps, values = read_scalars(str(tmp_path / "wsd" / "train"))
    full = np.interp(np.arange(200), steps, values.astype(np.float64))
    # the decay is the last fifth of --steps by default
    expected = [ref.hf_wsd(t, 1e-3, 20, 40, 200, decay_type="1-sqrt") for t in range(200)]
    np.testing.assert_allclose(full, expected, rtol=4 * 2.0**-23, atol=8 * 2.0**-23 * 1e-3)


def test_preview_one_cycle_takes_a_string_argument(tmp_path, capsys):
    from lr_tb.schedules import OneCycle

    argv = ["preview", "one_cycle", "--steps", "50", "--logdir", str(tmp_path)]
    assert cli.main([*argv, "--anneal_strategy", "linear", "--max-points", "0"]) == 0
    steps, values = read_scalars(str(tmp_path / "one_cycle" / "train"))
    expected = OneCycle(1e-3, 50, anneal_strategy="linear").values(np.array(steps))
    np.testing.assert_allclose(values, expected, rtol=4 * 2.0**-23, atol=1e-12)
    assert values.max() == np.float32(1e-3) and steps[-1] == 49


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


# -- --help and --list answer without Keras -----------------------------------------------

HEAVY = {"keras", "tensorflow", "jax", "torch", "tensorboard", "keras_tuner"}
# As the `lr-tb` console script starts: its sys.argv[0] is the script's path.
PROBE = """
import sys
heavy = sys.argv[0]
sys.argv[0] = "/venv/bin/lr-tb"
from lr_tb import cli
try:
    code = cli.main(sys.argv[1:])
except SystemExit as exit:  # argparse's --help
    code = exit.code
print("imported:", sorted({m.split(".")[0] for m in sys.modules} & set(heavy.split(","))))
sys.exit(code)
"""


def _probe(*args):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE.replace("heavy = sys.argv[0]", f"heavy = {','.join(HEAVY)!r}"),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    "args", [["--help"], ["demo", "--help"], ["preview", "--help"], ["preview", "--list"]]
)
def test_help_and_list_import_no_keras(args):
    result = _probe(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("imported: []"), result.stdout[-500:]
    assert result.stderr == ""


@pytest.mark.parametrize(
    "problem", ["--logdir a file", "--png a directory", "a bad value", "an unknown option"]
)
def test_a_preview_checks_its_arguments_and_paths_before_importing_keras(problem, tmp_path):
    """Keras takes seconds to import: a bad path or argument is said before it is."""
    afile = tmp_path / "afile"
    afile.write_text("")
    argv = ["preview", "warmup_cosine", "--steps", "100"]
    argv, expected = {
        "--logdir a file": (
            [*argv, "--logdir", str(afile)],
            f"lr-tb preview: argument --logdir: {str(afile)!r} is a file, not a directory",
        ),
        "--png a directory": (
            [*argv, "--png", str(tmp_path)],
            f"lr-tb preview: argument --png: {str(tmp_path)!r} is a directory, not a file name",
        ),
        "a bad value": (
            [*argv, "--png", str(tmp_path / "lr.png"), "--warmup-steps", "ten"],
            "lr-tb preview: argument --warmup_steps: expected int, got 'ten'",
        ),
        "an unknown option": (
            [*argv, "--log-dir", str(tmp_path)],
            "lr-tb preview: unrecognized option --log-dir; did you mean --logdir?",
        ),
    }[problem]
    result = _probe(*argv)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [expected]
    assert result.stdout.strip().endswith("imported: []"), result.stdout[-500:]


def test_the_static_table_is_the_schedules_signatures():
    """`cli.SCHEDULES` (what --list shows and preview parses, without Keras) is each class's
    real name, docstring summary and constructor arguments."""
    from lr_tb import preview
    from lr_tb.schedules import registry

    assert sorted(cli.SCHEDULES) == registry.names()
    for name, (cls_name, summary, params) in cli.SCHEDULES.items():
        cls = registry.schedule_class(name)
        assert cls.__name__ == cls_name
        assert (cls.__doc__ or "").strip().splitlines()[0] == summary
        assert list(params) == preview.parameters(name), name


def test_cli_runs_are_the_articles():
    from lr_tb import article

    assert cli.RUNS == article.RUNS


def _shown_defaults(out):
    """{(schedule, argument): the default --list shows} from --list's output."""
    shown, schedule = {}, None
    for line in out.splitlines():
        if not line.startswith(" "):
            schedule = line.split(":")[0]
            continue
        param, _, rest = line.strip().partition(" (")
        value = rest.removesuffix(")").split("; ", 1)[1]
        if value.startswith("default "):
            shown[schedule, param[2:]] = value[len("default ") :].split(", ")[0].split(":")[0]
    return shown


def test_list_shows_the_defaults_a_preview_uses(capsys):
    """Each default --list shows is the value the preview's schedule gets (issue 10.4: it
    showed `--restarts (default None)` while the preview used the article's restarts)."""
    from lr_tb.schedules import registry

    assert cli.main(["preview", "--list"]) == 0
    shown = _shown_defaults(capsys.readouterr().out)
    assert shown["cosine_restarts", "restarts"] == "0.05,0.15,0.3,0.5"
    assert len(shown) == sum(len(params) for _, _, params in cli.SCHEDULES.values())
    for name in cli.SCHEDULES:
        config = registry.get(name, **cli._schedule_kwargs(name, [], 123)).get_config()
        for (schedule, param), text in shown.items():
            if schedule != name:
                continue
            used = config[param]
            if text == "--steps":
                assert used == 123
            elif text.startswith("--steps // "):
                assert used == 123 // int(text.split()[-1]), (name, param)
            elif text.startswith("'"):
                assert used == text.strip("'"), (name, param)
            elif text == "none":
                assert used is None, (name, param)
            elif "," in text:
                assert used == pytest.approx([float(v) for v in text.split(",")]), (name, param)
            elif text.startswith("'"):  # a string, shown as typed in Python
                assert used == text.strip("'"), (name, param)
            else:
                assert used == pytest.approx(float(text)), (name, param)


# -- TensorFlow's log lines -----------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="TensorFlow is not installed"
)
def test_tensorflow_logs_are_quiet_unless_asked_for(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_BACKEND"] = "tensorflow"
    argv = ["preview", "exponential", "--steps", "10", "--logdir", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "lr_tb.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]
    # A level the user set is left as it is, for TensorFlow to read.
    script = "import os, sys; from lr_tb import cli; cli.main(sys.argv[1:]); "
    script += "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    result = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        env=dict(env, TF_CPP_MIN_LOG_LEVEL="1"),
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "1", result.stderr


# -- bad paths: one line naming the argument, status 2 --------------------------------------


def _unwritable_dir(tmp_path):
    """An existing directory this process cannot create files in."""
    locked = tmp_path / "locked"
    locked.mkdir(exist_ok=True)
    locked.chmod(0o500)
    try:
        (locked / "probe").touch()
    except OSError:
        return str(locked)  # not root: permissions hold
    (locked / "probe").unlink()
    if os.path.isdir("/proc"):
        return "/proc"  # root: the permissions don't hold, but nobody creates files in /proc
    pytest.skip("no directory here that this process cannot write in")


@pytest.mark.parametrize("command", ["preview", "demo"])
@pytest.mark.parametrize("problem", ["a file", "under a file", "not writable", "under it", ""])
def test_logdir_problems(command, problem, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    logdir, expected = {
        "a file": (lambda: str(afile), "is a file, not a directory"),
        "under a file": (lambda: str(afile / "sub" / "runs"), f"is under {str(afile)!r}, a file"),
        "not writable": (lambda: _unwritable_dir(tmp_path), "cannot write in"),
        "under it": (lambda: os.path.join(_unwritable_dir(tmp_path), "runs"), "cannot write in"),
        "": (lambda: "", "must not be empty"),
    }[problem]
    logdir = logdir()
    if command == "preview":
        argv = ["preview", "exponential", "--steps", "10", "--logdir", logdir]
    else:
        argv = ["demo", "--quick", "--logdir", logdir]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lr-tb {command}: argument --logdir: ") and expected in err, err
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", ["preview", "demo"])
def test_a_file_where_a_run_directory_goes(command, tmp_path, capsys):
    (tmp_path / "exponential").write_text("")
    if command == "preview":
        argv = ["preview", "exponential", "--steps", "10", "--logdir", str(tmp_path)]
    else:
        argv = ["demo", "--quick", "--runs", "exponential", "--logdir", str(tmp_path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "argument --logdir: " in err and "exponential' is a file" in err, err


@pytest.mark.parametrize(
    "png, expected",
    [
        ("{tmp}", "is a directory, not a file name"),
        ("{tmp}/afile/lr.png", "is under"),
        ("{tmp}/afile/more/lr.png", "is under"),
        ("{tmp}/lr.notaformat", "cannot write .notaformat files"),
        ("gs://bucket/lr.png", "must be a local file"),
    ],
)
def test_png_problems(png, expected, tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    png = png.format(tmp=tmp_path)
    assert cli.main(["preview", "exponential", "--steps", "10", "--png", png]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lr-tb preview: argument --png") and expected in err, err
    assert err.count("\n") == 1


def test_png_into_a_missing_directory_makes_it(tmp_path, capsys):
    png = tmp_path / "new" / "dir" / "lr.png"
    assert cli.main(["preview", "exponential", "--steps", "10", "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_path_problem_from_the_command_line_has_no_traceback(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    for args in (
        ["demo", "--logdir", str(afile)],
        ["preview", "constant", "--steps", "5", "--logdir", str(afile)],
    ):
        result = run(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"lr-tb {args[0]}: argument --logdir: {str(afile)!r} is a file, not a directory"
        ]


def test_a_closed_pipe_ends_quietly():
    """`lr-tb preview --list | head -1`: the reader leaves before the writer is done."""
    read, write = os.pipe()
    os.close(read)  # nobody reads: every write gets EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "lr_tb.cli", "preview", "--list"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    finally:
        os.close(write)
    assert result.returncode == 1 and result.stderr == "", result.stderr
