"""What per-step learning-rate logging costs, timed as the user waits: whole `fit` calls, on
every Keras backend, beside the floor (Keras' own in-graph schedule), in one table.

Variants, trained on the same data with the same model shape:
  constant      constant rate, no callbacks (the baseline)
  keras_cosine  Keras' CosineDecay inside the optimizer (in-graph, nothing logged): the floor
  article       the article's design: a Python callback that sets the rate before each batch
                and writes the rate after it: `tf.summary.scalar` on TensorFlow; on JAX and
                torch (no TensorFlow) lr_tb's TF-free `EventWriter`, one point a batch (about
                half tf.summary's per-call cost on this machine, so if anything it flatters
                the article there). The rate it assigns takes effect on every backend (a rate
                of 0 set each batch leaves the weights unchanged on TF, JAX and torch).
  lr_tb         lr_tb.WarmupCosineDecayScheduler with every step written to TensorBoard

Scenarios, each timing the whole `model.fit(...)` call:
  first   a tiny MLP's first fit (tracing and compiling included)
  later   the tiny MLP trained one epoch the same way, then `--fits` later one-epoch fits,
          `fit(epochs=k + 1, initial_epoch=k)` for k = 1, 2, ..., each with a new, identical
          callback (a re-run notebook cell, a fine-tuning stage), each timed
  deep    the same later fit on a 41-layer MLP (as benchmarks/logger_overhead.py builds it: a
          large training state, so copying it to the host every batch would show)
  xla     the same later fit with `jit_compile=True` and a 24-layer MLP, where a recompile is
          dear; not on torch (its `jit_compile` means torch.compile, not XLA)
The others compile without XLA on TensorFlow and torch (TensorFlow's graph step, torch's eager
one; Keras' default "auto" would mean XLA on TensorFlow too) and jitted on JAX (its
`jit_compile=False` runs the step op by op).

Each backend runs in its own subprocess (KERAS_BACKEND is read when Keras is imported): this
script with `--worker`, which prints its medians as JSON. Rounds are interleaved (every
variant once per round, in a rotating order) so drift in the machine's speed hits all alike;
a later scenario times `--fits` fits of each round's model (a model's compile costs ~15x its
later fit, and one fit's time swings by +-5-8% on 2 cores, so more fits a model is what makes
a 2% difference visible). The table shows the median seconds of `constant`, every variant's
median over it, and lr_tb's median over the floor's.

    python benchmarks/overhead.py                      # every installed backend and scenario
    python benchmarks/overhead.py --quick              # 1 round, 1/4 of the data: a smoke run
    python benchmarks/overhead.py --backends jax --scenario later --rounds 24 --fits 8
    python benchmarks/overhead.py --markdown           # the README's table rows
    python benchmarks/overhead.py --torch-threads 1    # torch on a machine shared with others
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BASE, WARMUP = 1e-3, 50
BACKENDS = ["tensorflow", "jax", "torch"]
BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "torch"}
VARIANTS = ["constant", "keras_cosine", "article", "lr_tb"]
# name: (model, samples, first-fit epochs or None for a later fit, jit_compile)
SCENARIOS = {
    "first": ("tiny MLP", 8000, 3, False),
    "later": ("tiny MLP", 8000, None, False),
    "deep": ("41-layer MLP", 3200, None, False),
    "xla": ("24-layer MLP", 640, None, True),
}
BATCH = 32
RESULT_MARK = "OVERHEAD_RESULT "
PROGRESS_MARK = "OVERHEAD_PROGRESS "


def scenario_label(name: str, steps: int) -> str:
    model, _, epochs, jit = SCENARIOS[name]
    kind = "first fit" if epochs else "later fit"
    return f"{kind}, {model}{', `jit_compile=True`' if jit else ''}, {steps} steps"


def skipped(backend: str, scenario: str) -> str | None:
    """Why a scenario does not run on a backend, or None."""
    if scenario == "xla" and backend == "torch":
        return "torch: jit_compile means torch.compile, not XLA"
    return None


# ---------------------------------------------------------------- worker (one backend) -------


def worker(
    scenarios: list[str], rounds: int, fits: int, scale: float, torch_threads: int | None
) -> dict:
    """Runs in a process whose KERAS_BACKEND is already set; returns the medians."""
    import keras
    import numpy as np

    import lr_tb

    backend = keras.backend.backend()
    if backend == "torch" and torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    if backend == "tensorflow":
        import tensorflow as tf

        def make_writer(run_dir):
            writer = tf.summary.create_file_writer(run_dir)

            def write(value, step):
                with writer.as_default():
                    tf.summary.scalar("learning_rate", value, step=step)

            return write
    else:
        from lr_tb.event_writer import EventWriter

        def make_writer(run_dir):
            writer = EventWriter(run_dir)
            return lambda value, step: writer.write("learning_rate", [step], [value])

    class ArticleScheduler(keras.callbacks.Callback):
        """The article's per-batch warmup-cosine callback, plus one written point a batch."""

        def __init__(self, total_steps, log_dir):
            super().__init__()
            self.total_steps = total_steps
            self.global_step = 0
            self.write = make_writer(os.path.join(log_dir, "train"))

        def on_train_batch_begin(self, batch, logs=None):
            t = self.global_step
            if t < WARMUP:
                lr = BASE * t / WARMUP
            else:
                progress = (t - WARMUP) / max(self.total_steps - WARMUP, 1)
                lr = 0.5 * BASE * (1 + np.cos(np.pi * min(progress, 1.0)))
            self.model.optimizer.learning_rate = lr
            self.lr = lr

        def on_train_batch_end(self, batch, logs=None):
            self.write(self.lr, self.global_step)
            self.global_step += 1

    def build(name):
        depth = {"tiny MLP": 0, "41-layer MLP": 40, "24-layer MLP": 23}[name]
        if depth == 0:
            hidden = [keras.layers.Dense(256, activation="relu") for _ in range(2)]
        else:
            hidden = [keras.layers.Dense(64, activation="relu") for _ in range(depth)]
        return keras.Sequential([keras.Input((32,)), *hidden, keras.layers.Dense(10)])

    def compiled(name, variant, total, warmup, jit_compile):
        model = build(name)
        lr = BASE
        if variant == "keras_cosine":
            lr = keras.optimizers.schedules.CosineDecay(
                0.0, total - warmup, warmup_target=BASE, warmup_steps=warmup
            )
        model.compile(
            keras.optimizers.Adam(lr),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            # not XLA: TensorFlow's and torch's graph/eager step; JAX is always jitted (its
            # jit_compile=False runs op by op). Keras' "auto" would be XLA on TensorFlow too.
            jit_compile=jit_compile or keras.backend.backend() == "jax",
        )
        return model

    def callbacks_for(variant, total, warmup, log_dir):
        if variant == "article":
            return [ArticleScheduler(total, log_dir)]
        if variant == "lr_tb":
            return [lr_tb.WarmupCosineDecayScheduler(BASE, warmup_steps=warmup, log_dir=log_dir)]
        return []

    rng = np.random.default_rng(0)
    results = []
    with tempfile.TemporaryDirectory() as root:
        # One untimed fit of every variant first: the process's one-time costs (lazy imports,
        # the compiler's start, the first event file) would otherwise land on whichever
        # variant round 0 times first.
        x = rng.normal(size=(BATCH * 4, 32)).astype("float32")
        y = rng.integers(0, 10, size=len(x))
        for variant in VARIANTS:
            model = compiled("tiny MLP", variant, 8, 2, False)
            callbacks = callbacks_for(variant, 8, 2, os.path.join(root, f"warmup-{variant}"))
            model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=callbacks)
        for scenario in scenarios:
            began = time.perf_counter()
            if skipped(backend, scenario):
                continue
            name, samples, first_epochs, jit = SCENARIOS[scenario]
            n = max(BATCH * 4, int(samples * scale) // BATCH * BATCH)
            x = rng.normal(size=(n, 32)).astype("float32")
            y = rng.integers(0, 10, size=n)
            steps_per_epoch = n // BATCH
            if first_epochs:  # the fits timed on each round's model
                timed_fits = [{"epochs": first_epochs}]
            else:  # later one-epoch fits after an untimed first epoch
                timed_fits = [{"epochs": k + 1, "initial_epoch": k} for k in range(1, fits + 1)]
            total = steps_per_epoch * (first_epochs or (1 + fits))
            warmup = min(WARMUP, steps_per_epoch // 2)  # within the untimed first epoch
            times = {v: [] for v in VARIANTS}
            for r in range(rounds):
                for variant in VARIANTS[r % 4 :] + VARIANTS[: r % 4]:
                    keras.utils.set_random_seed(r)
                    model = compiled(name, variant, total, warmup, jit)
                    log_dir = os.path.join(root, f"{scenario}-{variant}-{r}")
                    if not first_epochs:  # a later fit: train one epoch, untimed, then time
                        first = callbacks_for(variant, total, warmup, log_dir)
                        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=first)
                    for kw in timed_fits:
                        callbacks = callbacks_for(variant, total, warmup, log_dir)
                        start = time.perf_counter()
                        model.fit(x, y, batch_size=BATCH, verbose=0, callbacks=callbacks, **kw)
                        times[variant].append(time.perf_counter() - start)
            steps = steps_per_epoch * (first_epochs or 1)
            medians = {v: statistics.median(times[v]) for v in VARIANTS}
            results.append(
                {"scenario": scenario, "steps": steps, "fits": len(timed_fits), "medians": medians}
            )
            print(
                f"{PROGRESS_MARK}{backend}: {scenario_label(scenario, steps)}: medians "
                + ", ".join(f"{v} {m:.4f} s" for v, m in medians.items())
                + f" ({time.perf_counter() - began:.0f} s)",
                flush=True,
            )
    versions = {"keras": keras.__version__}
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    versions[module] = sys.modules[module].__version__
    return {"backend": backend, "versions": versions, "rounds": rounds, "results": results}


def rounds_cell(row: dict) -> str:
    """The rounds column: rounds, times the fits timed a round where more than one."""
    fits = row.get("fits", 1)
    return f"{row['rounds']}" + (f" x {fits} fits" if fits > 1 else "")


# ---------------------------------------------------------------- parent (the table) ---------


def run_worker(backend: str, args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--worker"]
    command += [f"--scenario={s}" for s in args.scenario]
    command += [f"--rounds={args.rounds}", f"--fits={args.fits}", f"--scale={args.scale}"]
    if args.torch_threads:
        command.append(f"--torch-threads={args.torch_threads}")
    env = dict(os.environ, KERAS_BACKEND=backend)
    start = time.perf_counter()
    lines = []
    with tempfile.TemporaryFile("w+") as errors:
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        ) as p:
            for line in p.stdout:  # the worker's progress, relayed as it comes
                if line.startswith(PROGRESS_MARK):
                    print(line[len(PROGRESS_MARK) :].rstrip(), file=sys.stderr, flush=True)
                elif line.startswith(RESULT_MARK):
                    lines.append(line)
        if p.returncode or not lines:
            errors.seek(0)
            sys.exit(f"{backend} worker failed (exit {p.returncode}):\n{errors.read()[-4000:]}")
    print(f"{backend}: done in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return json.loads(lines[-1][len(RESULT_MARK) :])


def rows(reports: list[dict], scenarios: list[str]) -> list[dict]:
    """One row per backend and scenario: the label, the constant's seconds, ratios to it and
    lr_tb's ratio to the floor; a skipped scenario has `skipped` instead."""
    table = []
    for report in reports:
        backend = report["backend"]
        found = {r["scenario"]: r for r in report["results"]}
        for scenario in scenarios:
            row = {"backend": backend, "scenario": scenario, "rounds": report["rounds"]}
            if scenario not in found:
                row["skipped"] = skipped(backend, scenario) or "not run"
                row["label"] = scenario_label(scenario, 0).rsplit(",", 1)[0]
                table.append(row)
                continue
            medians = found[scenario]["medians"]
            base = medians["constant"]
            row["label"] = scenario_label(scenario, found[scenario]["steps"])
            row["seconds"] = base
            row["fits"] = found[scenario].get("fits", 1)
            row["ratios"] = {v: medians[v] / base for v in VARIANTS}
            row["lr_tb_over_floor"] = medians["lr_tb"] / medians["keras_cosine"]
            table.append(row)
    return table


def print_plain(table: list[dict]) -> None:
    header = ["backend", "scenario", "rounds", "constant", "floor", "article", "lr_tb"]
    lines = [[*header, "lr_tb/floor"]]
    for row in table:
        cells = [BACKEND_NAMES[row["backend"]], row["label"], rounds_cell(row)]
        if "skipped" in row:
            cells.append(f"skipped ({row['skipped']})")
        else:
            cells.append(f"{row['seconds']:.3f} s")
            cells += [f"{row['ratios'][v]:.3f}x" for v in VARIANTS[1:]]
            cells.append(f"{row['lr_tb_over_floor']:.3f}x")
        lines.append(cells)
    full = [line for line in lines if len(line) == len(header) + 1]
    widths = [max(len(line[i]) for line in full) for i in range(len(header) + 1)]
    for line in lines:
        if len(line) < len(widths):  # a skipped scenario: its reason, unaligned
            print("  ".join(c.ljust(w) for c, w in zip(line[:3], widths[:3], strict=True)), end="")
            print("  " + line[3])
            continue
        padded = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(padded))
    print("constant: median seconds per whole fit call; the rest: median over constant's;")
    print("rounds: models a variant compiled, x the later fits timed on each")
    print(
        "floor: Keras' CosineDecay in the optimizer; lr_tb/floor: lr_tb's median over the floor's"
    )


def print_markdown(table: list[dict]) -> None:
    print(
        "| backend | fit, whole call | rounds | constant | Keras `CosineDecay` in the optimizer"
        " (the floor) | article's per-batch callback | **lr_tb**, every step logged"
        " | lr_tb / floor |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in table:
        name = BACKEND_NAMES[row["backend"]]
        if "skipped" in row:
            print(f"| {name} | {row['label']} | | skipped ({row['skipped']}) | | | | |")
            continue
        r = row["ratios"]
        print(
            f"| {name} | {row['label']} ({row['seconds']:.2f} s) | {rounds_cell(row)} | 1.000x"
            f" | {r['keras_cosine']:.3f}x | {r['article']:.3f}x | **{r['lr_tb']:.3f}x**"
            f" | {row['lr_tb_over_floor']:.3f}x |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backends",
        default=None,
        help="comma-separated, run in this order (default: every installed one of "
        + ",".join(BACKENDS)
        + ")",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 round on a quarter of the data: a smoke run (~3 min on 2 cores), not a measurement",
    )
    parser.add_argument("--rounds", type=int, default=None, help="default 8 (--quick: 1)")
    parser.add_argument(
        "--fits",
        type=int,
        default=None,
        help="later fits timed per model and round in the later scenarios (default 4; --quick: 1)",
    )
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        action="append",
        help="run only these scenarios (repeatable; default: all four)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="fraction of each scenario's data (smoke tests; the table is for 1.0)",
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch.set_num_threads in the torch worker (default: torch's own). On a machine "
        "shared with other work, 1: torch's spinning intra-op threads then slow its fits "
        "10-40x and erratically (measured on 2 cores), which the table would show as noise",
    )
    parser.add_argument("--markdown", action="store_true", help="print the README's table rows")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.scenario = [s for s in SCENARIOS if s in (args.scenario or SCENARIOS)]
    args.rounds = args.rounds or (1 if args.quick else 8)
    args.fits = args.fits or (1 if args.quick else 4)
    args.scale = args.scale or (0.25 if args.quick else 1.0)
    if args.worker:
        report = worker(args.scenario, args.rounds, args.fits, args.scale, args.torch_threads)
        print(RESULT_MARK + json.dumps(report), flush=True)
        return 0
    if args.backends:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        unknown = sorted(set(backends) - set(BACKENDS))
        if unknown:
            parser.error(f"unknown backends {unknown}; choose from {BACKENDS}")
    else:
        backends = [b for b in BACKENDS if importlib.util.find_spec(b) is not None]
    reports = [run_worker(b, args) for b in backends]
    table = rows(reports, args.scenario)
    versions = {k: v for report in reports for k, v in report["versions"].items()}
    print(", ".join(f"{k} {v}" for k, v in versions.items()) + f"; {os.cpu_count()} CPUs")
    if args.markdown:
        print_markdown(table)
    else:
        print_plain(table)
    bad = [r for r in table if "ratios" in r and not all(map(math.isfinite, r["ratios"].values()))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
