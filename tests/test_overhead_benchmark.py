"""benchmarks/overhead.py prints one table, a row per backend and scenario, whose ratios come
from every backend's worker process; `--markdown` prints the README's rows. Nothing here
asserts a time: the machine's speed is not under test."""

import importlib.util
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
SCRIPT = os.path.join(ROOT, "benchmarks", "overhead.py")
spec = importlib.util.spec_from_file_location("overhead", SCRIPT)
overhead = importlib.util.module_from_spec(spec)
spec.loader.exec_module(overhead)  # the parent's half imports no Keras

LABELS = {  # how each scenario's row begins
    "first": "first fit, tiny MLP,",
    "later": "later fit, tiny MLP,",
    "deep": "later fit, 41-layer MLP,",
    "xla": "later fit, 24-layer MLP, `jit_compile=True`",
}


def markdown_rows(out):
    """{(backend, scenario): cells} of the table's body rows."""
    found = {}
    for line in out.splitlines():
        if not line.startswith("| ") or line.startswith("| backend |"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        scenario = [s for s, label in LABELS.items() if cells[1].startswith(label)]
        assert len(scenario) == 1, line
        key = (cells[0], scenario[0])
        assert key not in found, line
        found[key] = cells
    return found


def check_table(out, backends, scenarios=tuple(LABELS)):
    found = markdown_rows(out)
    names = [overhead.BACKEND_NAMES[b] for b in backends]
    assert set(found) == {(b, s) for b in names for s in scenarios}, sorted(found)
    for (backend, scenario), cells in found.items():
        assert len(cells) == 8, cells
        if backend == "torch" and scenario == "xla":
            assert cells[3].startswith("skipped (torch"), cells
            continue
        ratios = [float(c.strip("*").rstrip("x")) for c in cells[3:]]
        assert ratios[0] == 1.0 and all(math.isfinite(r) and r > 0 for r in ratios), cells
    lines = out.splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith("| backend |")]
    assert len(header) == 1 and lines[header[0] + 1] == "|---|---|---|---|---|---|---|---|"


def test_table_from_reports(capsys):
    """The parent's table, from worker reports as the workers print them: a row per backend
    and scenario, lr_tb / floor = lr_tb's median over keras_cosine's, torch's XLA skipped."""
    medians = {"constant": 2.0, "keras_cosine": 2.2, "article": 3.0, "lr_tb": 2.31}
    reports = [
        {
            "backend": backend,
            "versions": {"keras": "3"},
            "rounds": 2,
            "results": [
                {"scenario": s, "steps": 10, "fits": 1 if s == "first" else 3, "medians": medians}
                for s in overhead.SCENARIOS
                if not overhead.skipped(backend, s)
            ],
        }
        for backend in overhead.BACKENDS
    ]
    table = overhead.rows(reports, list(overhead.SCENARIOS))
    assert len(table) == 12
    assert [r["lr_tb_over_floor"] for r in table if "ratios" in r] == pytest.approx([1.05] * 11)
    overhead.print_markdown(table)
    out = capsys.readouterr().out
    check_table(out, overhead.BACKENDS)
    assert "| JAX | later fit, 41-layer MLP, 10 steps (2.00 s) | 2 x 3 fits | 1.000x | 1.1" in out
    assert "| JAX | first fit, tiny MLP, 10 steps (2.00 s) | 2 | 1.000x" in out
    overhead.print_plain(table)
    plain = capsys.readouterr().out
    assert plain.count("\ntorch ") == 4 and "skipped (torch: jit_compile" in plain


@pytest.mark.heavy
def test_overhead_runs_every_backend(tmp_path):
    """The script itself, smallest settings, on the backends installed, for one scenario:
    each backend's worker runs and reports (every variant's model compiles once per
    scenario, so all four scenarios would take ~100 s of CI's two cores; the table's
    assembly for all of them is `test_table_from_reports`)."""
    backends = [b for b in overhead.BACKENDS if importlib.util.find_spec(b) is not None]
    path = [os.path.abspath(ROOT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in path if p))
    env.pop("KERAS_BACKEND", None)  # each worker gets its own
    result = subprocess.run(
        [sys.executable, SCRIPT, "--rounds", "1", "--fits", "2", "--scale", "0.02", "--markdown"]
        + ["--scenario", "later"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    check_table(result.stdout, backends, ["later"])
    assert result.stdout.count("| 1 x 2 fits |") == len(backends), result.stdout
    for backend in backends:
        assert f"{backend}: done in" in result.stderr


def test_readme_cost_table_is_the_scripts_output():
    """The README's cost table is what `overhead.py --markdown` prints: its header, a row for
    every backend and scenario in the script's order, each row's ratio over the floor being
    lr_tb's ratio over the floor's (so a hand edit that breaks one is caught)."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    start = readme.index("| backend | fit, whole call |")
    block = readme[start : readme.index("\n\n", start)]
    check_table(block, overhead.BACKENDS)
    for (backend, scenario), cells in markdown_rows(block).items():
        if cells[3].startswith("skipped"):
            continue
        floor, lr_tb_ratio, over = (float(cells[i].strip("*").rstrip("x")) for i in (4, 6, 7))
        assert over == pytest.approx(lr_tb_ratio / floor, abs=0.0015), (backend, scenario)
    assert "`benchmarks/overhead.py --torch-threads 1 --markdown --rounds 12 --fits 4`" in readme
