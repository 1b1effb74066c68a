"""`lr-tb`: the article's demo, and schedule previews, from the command line.

    lr-tb demo --logdir runs [--quick] [--data auto|mnist|digits]
    lr-tb preview warmup_cosine --warmup_steps 100 --steps 1000 --logdir runs [--png lr.png]
    lr-tb preview --list

Bad arguments print one line naming what was wrong and exit with status 2.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from collections.abc import Sequence

# Defaults a preview fills in when not given: the article's settings.
ARTICLE_DEFAULTS = {
    "learning_rate": 1e-3,
    "learning_rate_base": 1e-3,
    "decay_rate": 0.9,
}
ARTICLE_RESTARTS = [0.05, 0.15, 0.30, 0.50]


class UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block, no traceback
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lr-tb", description="Learning-rate schedules you can see.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="train the article's CNN with each of its four schedules, writing TensorBoard runs",
        description="Train the article's CNN (Conv 32, Conv 64, Dense 1024, Dense 256) with "
        "each of its four schedules: one TensorBoard run per schedule under --logdir.",
    )
    demo.add_argument("--logdir", default="runs", help="TensorBoard log directory (runs)")
    demo.add_argument(
        "--quick",
        action="store_true",
        help="600 offline digits, 4 epochs: well under a minute on 2 CPU cores",
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
        help="write a schedule's whole curve to TensorBoard without training",
        description="Write a schedule's curve to <logdir>/<run>/train, tag learning_rate, and "
        "optionally a PNG. Schedule arguments are given as --name value (lists "
        "comma-separated, e.g. --restarts 0.05,0.15,0.3,0.5); see --list. total_steps "
        "defaults to --steps; other defaults are the article's settings.",
    )
    preview.add_argument("schedule", nargs="?", help="schedule name (see --list)")
    preview.add_argument("--list", action="store_true", help="list schedules and their arguments")
    preview.add_argument("--steps", type=int, default=None, help="steps to compute (required)")
    preview.add_argument("--logdir", default=None, help="TensorBoard log directory")
    preview.add_argument("--run", default=None, help="run name (default: the schedule's name)")
    preview.add_argument("--png", default=None, help="also save a matplotlib figure here")
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
    return parser


def _convert(name: str, annotation: str, text: str) -> object:
    try:
        if "Sequence" in annotation or "list" in annotation:
            return [float(item) for item in text.split(",") if item.strip()]
        if annotation.startswith("int"):
            return int(text)
        return float(text)
    except ValueError:
        raise UsageError(
            f"lr-tb preview: argument --{name}: expected {annotation}, got {text!r}"
        ) from None


def _schedule_kwargs(name: str, extra: list[str], steps: int) -> dict[str, object]:
    from lr_tb import preview

    params = {p: (ann, default) for p, ann, default in preview.parameters(name)}
    kwargs: dict[str, object] = {}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--"):
            raise UsageError(f"lr-tb preview: unexpected argument {token!r}")
        key, _, value = token[2:].partition("=")
        key = key.replace("-", "_")
        if key not in params:
            raise UsageError(
                f"lr-tb preview: {name} has no argument --{key}; it takes: "
                + ", ".join(f"--{p}" for p in params)
            )
        if not value:
            if i + 1 >= len(extra):
                raise UsageError(f"lr-tb preview: argument --{key} needs a value")
            value = extra[i + 1]
            i += 1
        kwargs[key] = _convert(key, params[key][0], value)
        i += 1
    if "total_steps" in params and "total_steps" not in kwargs:
        kwargs["total_steps"] = steps
    for key, value in ARTICLE_DEFAULTS.items():
        if key in params and params[key][1] is inspect.Parameter.empty:
            kwargs.setdefault(key, value)
    if name == "cosine_restarts" and "restarts" not in kwargs and "first_cycle_steps" not in kwargs:
        kwargs["restarts"] = list(ARTICLE_RESTARTS)
    return kwargs


def _list() -> None:
    from lr_tb import preview
    from lr_tb.schedules import registry

    for name in registry.names():
        cls = registry.schedule_class(name)
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name}: {cls.__name__} - {summary}")
        for param, annotation, default in preview.parameters(name):
            shown = "required" if default is inspect.Parameter.empty else f"default {default!r}"
            if param in ARTICLE_DEFAULTS and default is inspect.Parameter.empty:
                shown = f"preview default {ARTICLE_DEFAULTS[param]!r}"
            if param == "total_steps":
                shown = "preview default --steps"
            print(f"    --{param} ({annotation}; {shown})")


def _preview(args: argparse.Namespace, extra: list[str]) -> int:
    if args.list:
        _list()
        return 0
    from lr_tb import preview
    from lr_tb.schedules import registry

    if args.schedule is None:
        raise UsageError("lr-tb preview: give a schedule name (see lr-tb preview --list)")
    if args.schedule not in registry.names():
        raise UsageError(
            f"lr-tb preview: unknown schedule {args.schedule!r}; valid: "
            + ", ".join(registry.names())
        )
    if args.max_points and args.max_points < 2:
        raise UsageError(f"lr-tb preview: --max-points must be 0 or >= 2, got {args.max_points}")
    if args.steps is None or args.steps < 1:
        raise UsageError(f"lr-tb preview: --steps must be an integer >= 1, got {args.steps}")
    if args.logdir is None and args.png is None:
        raise UsageError("lr-tb preview: give --logdir (TensorBoard) and/or --png")
    kwargs = _schedule_kwargs(args.schedule, extra, args.steps)
    try:
        schedule = registry.get(args.schedule, **kwargs)
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
        run_dir = os.path.join(args.logdir, args.run or args.schedule, "train")
        path = preview.write(points, run_dir)
        print(f"wrote {path} ({os.path.getsize(path) / 1e3:.1f} kB)")
        print(f"See it:\n  tensorboard --logdir {args.logdir}")
    if args.png is not None:
        preview.save_png(
            full if full.steps.size <= 200_000 else points, args.png, preview.title(schedule)
        )
        print(f"wrote {args.png}")
    return 0


def _demo(args: argparse.Namespace, extra: list[str]) -> int:
    if extra:
        raise UsageError(f"lr-tb demo: unrecognized arguments: {' '.join(extra)}")
    from lr_tb import article

    setting = article.Setting.quick() if args.quick else article.Setting()
    for field in ("epochs", "batch_size", "samples"):
        value = getattr(args, field)
        if value is not None:
            if value < 1:
                raise UsageError(
                    f"lr-tb demo: --{field.replace('_', '-')} must be >= 1, got {value}"
                )
            setattr(setting, field, value)
    runs = article.RUNS
    if args.runs:
        runs = tuple(r.strip() for r in args.runs.split(",") if r.strip())
        unknown = [r for r in runs if r not in article.RUNS]
        if unknown:
            raise UsageError(
                f"lr-tb demo: unknown run(s) {unknown}; valid: " + ", ".join(article.RUNS)
            )
    data = args.data or ("digits" if args.quick else "auto")
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
        args, extra = _parser().parse_known_args(argv)
        if args.command == "demo":
            return _demo(args, extra)
        return _preview(args, extra)
    except UsageError as error:
        print(str(error).splitlines()[0], file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
