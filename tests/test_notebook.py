"""examples/article.ipynb runs top to bottom in a real kernel, headless, as CI runs it: the
article's four schedules on the offline digits, one TensorBoard run each."""

import os
import time

import numpy as np
import pytest
from conftest import read_scalars

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "examples", "article.ipynb")
RUNS = ["plateau", "exponential", "warmup_cosine", "cosine_restarts"]


def test_article_notebook_runs_headless(tmp_path, monkeypatch):
    # The notebook's `%tensorboard` cell shows TensorBoard in Jupyter; with CI set it only
    # prints the command, so no server is started (or left running) here.
    monkeypatch.setenv("CI", "true")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell's traceback, if a cell fails
    elapsed = time.perf_counter() - start

    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )
    assert "tensorboard --logdir runs/notebook" in printed
    figures = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert len(figures) == 1  # the rates, plotted
    for name in RUNS:
        run = tmp_path / "runs" / "notebook" / name
        steps, rates = read_scalars(str(run / "train"))
        assert steps == list(range(4 * 20)), name  # 600 images, batch 31: 20 steps an epoch
        assert np.all(rates > 0) and f"{name:>16}: 80 steps" in printed
        assert (run / "validation").is_dir()
    _, plateau = read_scalars(str(tmp_path / "runs" / "notebook" / "plateau" / "train"))
    _, restarts = read_scalars(str(tmp_path / "runs" / "notebook" / "cosine_restarts" / "train"))
    assert plateau[-1] < plateau[0]  # halved at least once
    assert np.sum(np.diff(restarts) > 0) >= 4  # climbs back at each restart
    print(f"notebook executed in {elapsed:.1f} s")
