"""The four notebooks run headless as a small run, the way `make run` runs them.

The pipeline itself runs once per session (the ``small_pipeline`` fixture in
tests/slow/conftest.py, papermill from notebooks/); the tests here read what it left. nbval checks
the committed notebooks' cells separately.
"""

from __future__ import annotations

import json

import nbformat

from tests.helpers import NOTEBOOKS, read_history


def test_pipeline_runs_every_cell_and_writes_every_artifact(small_pipeline):
    for name in NOTEBOOKS:
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


def test_the_closing_summary_reads_the_run_folder_it_was_given(small_pipeline):
    metrics = json.loads((small_pipeline.artifacts / "metrics.json").read_text())
    assert f"test accuracy {metrics['acc']:.2%} on 1,000 images" in small_pipeline.output
    assert "notebooks/04_inference.ipynb" in small_pipeline.output
