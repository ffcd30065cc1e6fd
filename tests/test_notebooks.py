"""The four notebooks run headless as a small run, the way `make run` runs them.

The pipeline itself runs once per session (the ``small_pipeline`` fixture in conftest): it is
nbval's run of the committed notebooks when the session ran all of them, else a papermill run.
The tests here read what it left.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from mnist_helpers.runs.notebook_runner import notebook_path
from tests.nbval_runs import NBVAL_RUNS, code_cell_count
from tests.support import NOTEBOOKS, read_history

pytestmark = pytest.mark.slow  # every test here starts a kernel or reads the pipeline's run


def test_a_session_that_runs_the_notebooks_reads_nbval_run(small_pipeline, request):
    # Under pytest-xdist this holds only if nbval's items and this module share a worker.
    runs = request.config.stash[NBVAL_RUNS]
    if not all(runs.selected_every_cell(notebook_path(name)) for name in NOTEBOOKS):
        pytest.skip("this session does not run every notebook cell with nbval")
    assert small_pipeline.source == "nbval"


def test_pipeline_runs_every_cell_and_writes_every_artifact(small_pipeline):
    for name in NOTEBOOKS:
        if small_pipeline.source == "nbval":
            # nbval makes one item of each code cell and fails it on an error; skipped cells and
            # cells allowed to raise are not counted as passed.
            passed = small_pipeline.cells_passed[name]
            assert passed == code_cell_count(notebook_path(name)), name
            continue
        executed = nbformat.read(small_pipeline.executed / f"{name}.ipynb", as_version=4)
        errors = [
            o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"
        ]
        assert not errors, name
        unexecuted = [c for c in executed.cells if c.cell_type == "code" and not c.execution_count]
        assert not unexecuted, name
    for relative in (
        "checkpoints/best.pt",
        "checkpoints/last.pt",
        "history.json",
        "metrics.json",
        "model/mnist_cnn.pt",
        "figures/02_history.png",
        "figures/03_confusion_matrix.png",
        "figures/01_samples.png",
        "samples/scan_like_digit.png",
    ):
        assert (small_pipeline.artifacts / relative).is_file(), relative


def test_pipeline_metrics_are_real(small_pipeline):
    metrics = json.loads((small_pipeline.artifacts / "metrics.json").read_text())
    history = read_history(small_pipeline.artifacts)
    assert metrics["num_images"] == 1000  # small run: the first 1,000 test images
    # Five epochs on 4,096 images land near 95 %; far below means the pipeline is broken.
    assert 0.90 <= metrics["acc"] <= 1.0
    assert sum(row["support"] for row in metrics["per_class"]) == 1000
    assert [record["epoch"] for record in history] == [1, 2, 3, 4, 5]
