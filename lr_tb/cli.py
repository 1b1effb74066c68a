"""`lr-tb`: the article's demo, and schedule previews, from the command line.

    lr-tb demo --logdir runs [--quick] [--data auto|mnist|digits]
    lr-tb preview warmup_cosine --warmup_steps 100 --steps 1000 --logdir runs [--png lr.png]
    lr-tb preview --list

Bad arguments, bad paths included, print one line naming what was wrong and exit with
status 2. An option it does not know is named as typed, with the one probably meant
(`unrecognized option --log-dir; did you mean --logdir?`); options are not abbreviated
(`--log` is not `--logdir`). Everything but the schedule's own checks of its values
(`warmup_steps` <= `total_steps`) is checked before Keras is imported, paths included.

Parsing, `--help` and `--list` import neither Keras nor its backend (the schedules' arguments
are the table `SCHEDULES` below), so they answer at once. TensorFlow's C++ log lines are
silenced unless `TF_CPP_MIN_LOG_LEVEL` is set to a level below 3.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence

from lr_tb import _fs, _quiet, catalog  # the standard library only
from lr_tb.spec import REQUIRED, Preview, ScheduleSpec

# Each schedule's class, the first line of its docstring and its constructor's arguments
# (name, annotation, default), from `lr_tb.catalog`, so that parsing, `--help` and `--list`
# need no Keras. tests/test_cli.py checks this table against the classes themselves.
SCHEDULES: dict[str, tuple[str, str, tuple[tuple[str, str, object], ...]]] = {
    spec.name: (
        spec.schedule,
        spec.summary,
        tuple((a.name, a.annotation, a.default) for a in spec.args),
    )
    for spec in sorted(catalog.SPECS, key=lambda spec: spec.name)
}


class UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line, and which keeps its `--options`."""

    def __init__(self, *args, **kwargs) -> None:
        self.options: list[str] = []  # its --options as typed, --help left out
        self.commands: dict[str, _Parser] = {}  # its subcommands' parsers
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options += [o for o in action.option_strings if o.startswith("--") and o != "--help"]
        return action

    def error(self, message: str) -> None:  # one line, no usage block, no traceback
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> _Parser:
    """`lr-tb`'s parser. The subcommands take no abbreviations (`--log` for `--logdir`):
    a preview's options share their names' space with the schedule's arguments, which
    argparse does not know (`--max`: `--max-points`, or one_cycle's `--max_lr`?), and a
    near miss is answered with what was probably meant instead."""
    parser = _Parser(prog="lr-tb", description="Learning-rate schedules you can see.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        allow_abbrev=False,
        help="train the article's CNN with each of its four schedules, writing TensorBoard runs",
        description="Train the article's CNN (Conv 32, Conv 64, Dense 1024, Dense 256) with "
        "each of its four schedules: one TensorBoard run per schedule under --logdir.",
    )
    demo.add_argument("--logdir", default="runs", help="TensorBoard log directory (runs)")
    demo.add_argument(
        "--quick",
        action="store_true",
        help="600 of scikit-learn's bundled digits (no download), 4 epochs: well under a "
        "minute on 2 CPU cores",
    )
    demo.add_argument(
        "--data",
        choices=["auto", "mnist", "digits"],
        default=None,
        help="auto: MNIST if cached or downloadable, else scikit-learn's digits "
        "(default; --quick defaults to digits)",
    )
    demo.add_argument("--epochs", type=int, default=None, help="epochs (10; --quick: 4)")
    demo.add_argument("--batch-size", type=int, default=None, help="batch size (31)")
    demo.add_argument(
        "--samples", type=int, default=None, help="training samples to use (all; --quick: 600)"
    )
    demo.add_argument(
        "--runs",
        default=None,
        help="comma-separated subset of plateau,exponential,warmup_cosine,cosine_restarts",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep existing runs (default: replace the runs it writes)",
    )
    demo.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=[0, 1, 2],
        help="Keras' fit verbosity: 1 is the progress bar (default)",
    )

    preview = sub.add_parser(
        "preview",
        allow_abbrev=False,
        help="write a schedule's whole curve to TensorBoard without training",
        description="Write a schedule's curve to <logdir>/<run>/train, tag batch_learning_rate, "
        "and optionally a PNG. Schedule arguments are given as --name value (lists "
        "comma-separated, e.g. --restarts 0.05,0.15,0.3,0.5); see --list. total_steps "
        "defaults to --steps; other defaults are the article's settings.",
    )
    preview.add_argument("schedule", nargs="?", help="schedule name (see --list)")
    preview.add_argument("--list", action="store_true", help="list schedules and their arguments")
    preview.add_argument("--steps", type=int, default=None, help="steps to compute (required)")
    preview.add_argument("--logdir", default=None, help="TensorBoard log directory")
    preview.add_argument("--run", default=None, help="run name (default: the schedule's name)")
    preview.add_argument(
        "--png", default=None, help="also save a matplotlib figure here (needs matplotlib)"
    )
    preview.add_argument(
        "--max-points",
        type=int,
        default=1000,
        help="keep at most this many points, the most significant first (default 1000: "
        "TensorBoard shows a sample of 1000 points per scalar unless told otherwise; 0: no "
        "limit)",
    )
    preview.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="0 (default): keep every change point, drop only points on a "
        "straight line; > 0: also drop points while the drawn line stays within "
        "this fraction of (max - min)",
    )
    parser.commands = {"demo": demo, "preview": preview}
    return parser


# -- options it does not know -----------------------------------------------------------------


def _is_option(token: str) -> bool:
    """`--name`, `--name=value`, `-x`; not `-` nor a negative number (a value)."""
    if not token.startswith("-") or token == "-":
        return False
    try:
        float(token)
    except ValueError:
        return True
    return False


def _name(option: str) -> str:
    """`--warmup-steps`, `--warmup_steps=3`, `-warmup_steps`: `warmup_steps`."""
    return option.partition("=")[0].lstrip("-").replace("-", "_")


def _did_you_mean(typed: str, candidates: Sequence[str]) -> str | None:
    """`did you mean --x?`, naming the candidates `typed` is probably a slip for: the one it
    names with `-` and `_` swapped, those it is the start of (at most three), else the
    closest (`difflib`); None when none is close."""
    by_name: dict[str, str] = {}
    for candidate in candidates:
        by_name.setdefault(_name(candidate), candidate)
    name = _name(typed)
    if not name:
        return None
    if name in by_name:
        matches = [by_name[name]]
    else:
        matches = [c for n, c in by_name.items() if n.startswith(name)]
        if not 1 <= len(matches) <= 3:
            matches = [by_name[n] for n in difflib.get_close_matches(name, list(by_name), n=1)]
    if not matches:
        return None
    listed = (
        " or ".join(matches) if len(matches) < 3 else f"{matches[0]}, {matches[1]} or {matches[2]}"
    )
    return f"did you mean {listed}?"


def _unrecognized(prog: str, token: str, candidates: Sequence[str], otherwise: str) -> UsageError:
    """`token` is no option of `prog`: name it as typed, and what was probably meant."""
    typed = token.partition("=")[0]
    return UsageError(
        f"{prog}: unrecognized option {typed}; {_did_you_mean(typed, candidates) or otherwise}"
    )


# -- TensorFlow's noise -------------------------------------------------------------------


def _import_keras(prog: str) -> None:
    """Import Keras quietly; a backend that is not installed is one line, naming it."""
    try:
        _quiet.import_keras()
    except ImportError as error:
        raise UsageError(
            f"{prog}: Keras could not load its backend ({error}): pip install "
            "'lr_tb[tensorflow]', or another backend and KERAS_BACKEND=jax or torch"
        ) from None


# -- paths ----------------------------------------------------------------------------------


def _check_not_under_a_file(prog: str, flag: str, path: str) -> None:
    ancestor = os.path.dirname(os.path.normpath(path))
    while ancestor and not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if ancestor and not os.path.isdir(ancestor):
        raise UsageError(f"{prog}: argument {flag}: {path!r} is under {ancestor!r}, a file")


def _check_dir(prog: str, flag: str, path: str) -> None:
    """Make sure `path` is a directory a file can be written in, creating it if needed;
    else a `UsageError` naming `flag`. A URL is left to the writer."""
    if _fs.is_remote(path):  # gs://bucket/runs: left to the writer
        return
    if not path:
        raise UsageError(f"{prog}: argument {flag}: must not be empty")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{prog}: argument {flag}: {path!r} is a file, not a directory")
    _check_not_under_a_file(prog, flag, path)
    try:
        os.makedirs(path, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=path, prefix=".lr_tb_probe")
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"{prog}: argument {flag}: cannot write in {path!r}: {reason}") from None


def _check_run_dirs(prog: str, logdir: str, runs: Sequence[str]) -> None:
    """Each run directory to be written under `logdir` must not be a file."""
    if _fs.is_remote(logdir):
        return
    for run in runs:
        for path in (os.path.join(logdir, run), os.path.join(logdir, run, "train")):
            if os.path.exists(path) and not os.path.isdir(path):
                raise UsageError(
                    f"{prog}: argument --logdir: {path!r} is a file; the run's directory goes there"
                )


def _check_png(path: str) -> None:
    prog = "lr-tb preview"
    if _fs.is_remote(path):
        raise UsageError(f"{prog}: argument --png: must be a local file, got {path!r}")
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        raise UsageError(f"{prog}: argument --png: {path!r} is a directory, not a file name")
    try:
        import matplotlib
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError(
            f"{prog}: argument --png needs matplotlib: pip install matplotlib"
        ) from None
    extension = os.path.splitext(path)[1][1:].lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension and extension not in formats:
        raise UsageError(
            f"{prog}: argument --png: matplotlib {matplotlib.__version__} cannot write "
            f".{extension} files; it writes " + ", ".join(f".{f}" for f in sorted(formats))
        )
    _check_not_under_a_file(prog, "--png", path)
    _check_dir(prog, "--png", os.path.dirname(path) or ".")


# -- preview --------------------------------------------------------------------------------


def _convert(name: str, annotation: str, text: str) -> object:
    try:
        if "Sequence" in annotation or "list" in annotation:
            return [float(item) for item in text.split(",") if item.strip()]
        if annotation == "str":
            return text
        if annotation.startswith("int"):
            return int(text)
        return float(text)
    except ValueError:
        raise UsageError(
            f"lr-tb preview: argument --{name}: expected {annotation}, got {text!r}"
        ) from None


def _show(value: object) -> str:
    """A value as it is typed on the command line."""
    if isinstance(value, (list, tuple)):
        return ",".join(f"{item:g}" for item in value)
    return "none" if value is None else f"{value!r}"


def _preview_default(spec: ScheduleSpec, arg: str) -> Preview | None:
    """What a preview of `spec` uses for `arg` when not given: the spec's, or for
    `total_steps`, `--steps` unless another argument fixing the length is given."""
    if arg == "total_steps" and arg in spec.length_from:
        others = [name for name in spec.length_from if name != arg]
        return Preview(steps_divisor=1, unless=others[0] if others else "")
    return spec.preview.get(arg)


def preview_defaults(name: str) -> dict[str, str]:
    """What a preview of `name` uses for each argument not given, as `--list` shows it."""
    spec = catalog.spec(name)
    shown = {}
    for arg in spec.args:
        preview = _preview_default(spec, arg.name)
        if preview is None:
            shown[arg.name] = (
                "required" if arg.default is REQUIRED else f"default {_show(arg.default)}"
            )
            continue
        divisor = preview.steps_divisor
        value = (
            "--steps"
            if divisor == 1
            else f"--steps // {divisor}"
            if divisor
            else _show(preview.value)
        )
        unless = f", unless --{preview.unless} is given" if preview.unless else ""
        shown[arg.name] = f"default {value}{preview.note}{unless}"
    return shown


def _schedule_args(
    name: str, extra: Sequence[str], options: Sequence[str] = ()
) -> dict[str, object]:
    """The schedule's arguments given on the command line (`--name value`, `--name=value`;
    `-` or `_` in names), converted: what argparse left in `extra`. An option that is neither
    the schedule's nor in `options` (the preview's own, for the suggestion) is a
    `UsageError` naming it."""
    params = {p: annotation for p, annotation, _ in SCHEDULES[name][2]}
    kwargs: dict[str, object] = {}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not _is_option(token):
            raise UsageError(f"lr-tb preview: unexpected argument {token!r}")
        key, equals, value = token.partition("=")
        key = _name(key)
        if not token.startswith("--") or key not in params:
            raise _unrecognized(
                "lr-tb preview",
                token,
                [*options, *(f"--{p}" for p in params)],
                f"{name} takes: " + ", ".join(f"--{p}" for p in params),
            )
        if not equals:
            if i + 1 >= len(extra):
                raise UsageError(f"lr-tb preview: argument --{key} needs a value")
            value = extra[i + 1]
            i += 1
        kwargs[key] = _convert(key, params[key], value)
        i += 1
    return kwargs


def _schedule_kwargs(
    name: str, extra: Sequence[str], steps: int, options: Sequence[str] = ()
) -> dict[str, object]:
    """The schedule's arguments for a preview of `steps` steps: those given, else the
    defaults `preview_defaults` shows."""
    spec = catalog.spec(name)
    given = _schedule_args(name, extra, options)
    kwargs = dict(given)
    for arg in spec.args:
        preview = _preview_default(spec, arg.name)
        if preview is None or arg.name in given or preview.unless in given:
            continue
        if preview.steps_divisor:
            kwargs[arg.name] = steps // preview.steps_divisor
        elif preview.value is not None:  # None: the argument's own default
            kwargs[arg.name] = (
                list(preview.value) if isinstance(preview.value, list) else preview.value
            )
    return kwargs


def _list() -> None:
    for name, (cls, summary, params) in SCHEDULES.items():
        print(f"{name}: {cls} - {summary}")
        shown = preview_defaults(name)
        for param, annotation, _ in params:
            print(f"    --{param} ({annotation}; {shown[param]})")


def _preview(args: argparse.Namespace, extra: list[str], options: Sequence[str] = ()) -> int:
    """Every argument, and every path, is checked before Keras is imported (seconds)."""
    if args.list:
        _list()
        return 0
    if args.schedule not in SCHEDULES:
        # `--stesp 10 warmup_cosine` reads as schedule '10': a near miss is said first
        every = [*options, *(f"--{p}" for _, _, ps in SCHEDULES.values() for p, _, _ in ps)]
        known = {_name(option) for option in every}
        for token in extra:
            if _is_option(token) and _name(token) not in known:
                if _did_you_mean(token, every):
                    raise _unrecognized("lr-tb preview", token, every, "")
    if args.schedule is None:
        raise UsageError("lr-tb preview: give a schedule name (see lr-tb preview --list)")
    if args.schedule not in SCHEDULES:
        raise UsageError(
            f"lr-tb preview: unknown schedule {args.schedule!r}; valid: " + ", ".join(SCHEDULES)
        )
    _schedule_args(args.schedule, extra, options)  # names and values, before the rest
    if args.steps is None:
        raise UsageError("lr-tb preview: --steps is required (how many steps to compute)")
    if args.steps < 1:
        raise UsageError(f"lr-tb preview: --steps must be an integer >= 1, got {args.steps}")
    if args.max_points and args.max_points < 2:
        raise UsageError(f"lr-tb preview: --max-points must be 0 or >= 2, got {args.max_points}")
    if not (args.tolerance >= 0 and math.isfinite(args.tolerance)):
        raise UsageError(f"lr-tb preview: --tolerance must be >= 0, got {args.tolerance}")
    if args.logdir is None and args.png is None:
        raise UsageError("lr-tb preview: give --logdir (TensorBoard) and/or --png")
    kwargs = _schedule_kwargs(args.schedule, extra, args.steps, options)
    run = args.run or args.schedule
    if args.png is not None:
        _check_png(args.png)
    if args.logdir is not None:
        _check_dir("lr-tb preview", "--logdir", args.logdir)
        _check_run_dirs("lr-tb preview", args.logdir, [run])
    _import_keras("lr-tb preview")
    from lr_tb import preview
    from lr_tb.schedules import registry

    try:
        schedule = registry.get(args.schedule, **kwargs)
    except (TypeError, ValueError) as error:
        raise UsageError(f"lr-tb preview: {error}") from None
    try:
        start = time.perf_counter()
        full = preview.curve(schedule, args.steps)
        computed = time.perf_counter() - start
        points = preview.decimate(full, args.tolerance, args.max_points or None)
    except (TypeError, ValueError) as error:
        raise UsageError(f"lr-tb preview: {error}") from None
    print(f"{schedule!r}")
    print(
        f"{args.steps} steps computed in {computed * 1000:.1f} ms; {points.steps.size} points "
        f"kept; the line through them is within {points.max_error:.3g} of every step's rate"
    )
    if args.logdir is not None:
        run_dir = os.path.join(args.logdir, run, "train")
        try:
            path = preview.write(points, run_dir)
        except OSError as error:
            raise UsageError(
                f"lr-tb preview: argument --logdir: cannot write in {run_dir!r}: "
                f"{error.strerror or error}"
            ) from None
        size = f" ({os.path.getsize(path) / 1e3:.1f} kB)" if os.path.exists(path) else ""
        print(f"wrote {path}{size}")
        print(f"See it:\n  tensorboard --logdir {args.logdir}")
    if args.png is not None:
        try:
            preview.save_png(
                full if full.steps.size <= 200_000 else points, args.png, preview.title(schedule)
            )
        except OSError as error:
            raise UsageError(
                f"lr-tb preview: argument --png: cannot write {args.png!r}: "
                f"{error.strerror or error}"
            ) from None
        print(f"wrote {args.png}")
    return 0


# -- demo -----------------------------------------------------------------------------------

RUNS = ("plateau", "exponential", "warmup_cosine", "cosine_restarts")  # = lr_tb.article.RUNS


def _demo(args: argparse.Namespace, extra: list[str], options: Sequence[str] = ()) -> int:
    if extra:
        if not _is_option(extra[0]):
            raise UsageError(f"lr-tb demo: unexpected argument {extra[0]!r}")
        raise _unrecognized("lr-tb demo", extra[0], options, "see lr-tb demo --help")
    settings = {}
    for field in ("epochs", "batch_size", "samples"):
        value = getattr(args, field)
        if value is not None:
            if value < 1:
                raise UsageError(
                    f"lr-tb demo: --{field.replace('_', '-')} must be >= 1, got {value}"
                )
            settings[field] = value
    runs = RUNS
    if args.runs:
        runs = tuple(r.strip() for r in args.runs.split(",") if r.strip())
        unknown = [r for r in runs if r not in RUNS]
        if unknown:
            raise UsageError(f"lr-tb demo: unknown run(s) {unknown}; valid: " + ", ".join(RUNS))
    _check_dir("lr-tb demo", "--logdir", args.logdir)
    _check_run_dirs("lr-tb demo", args.logdir, runs)
    data = args.data or ("digits" if args.quick else "auto")
    if data == "digits" and importlib.util.find_spec("sklearn") is None:
        raise UsageError(
            "lr-tb demo: the offline digits (--quick, --data digits) need scikit-learn: "
            "pip install 'lr_tb[demo]'"
        )
    _import_keras("lr-tb demo")
    from lr_tb import article

    setting = article.Setting.quick() if args.quick else article.Setting()
    for field, value in settings.items():
        setattr(setting, field, value)
    results = article.run(
        args.logdir, setting, data=data, runs=runs, verbose=args.verbose, keep=args.keep
    )
    print()
    for name, callback in results.items():
        rates = callback.learning_rates
        print(f"{name:>16}: {len(rates)} steps, learning rate {rates[0]:.3g} -> {rates[-1]:.3g}")
    longest = max(len(callback.learning_rates) for callback in results.values())
    flag = ""
    if longest > 1000:  # TensorBoard shows a sample of 1,000 points per scalar by default
        flag = " --samples_per_plugin scalars=0"
    print(f"\nSee the curves:\n  tensorboard --logdir {args.logdir}{flag}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = _parser()
        args, extra = parser.parse_known_args(argv)
        handler = _demo if args.command == "demo" else _preview
        code = handler(args, extra, parser.commands[args.command].options)
        sys.stdout.flush()  # here, so that a closed pipe (`lr-tb preview --list | head`) is caught
        return code
    except UsageError as error:
        print(str(error).splitlines()[0], file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away: stop quietly, as `cat` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
