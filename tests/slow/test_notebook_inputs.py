"""Inputs a user hands the notebooks through papermill: a bad image_path stops 04 before any work,
and 03 evaluates a checkpoint made outside training."""

from __future__ import annotations

import os

import pytest

from mnist_helpers.checkpoint import make_checkpoint, save_checkpoint
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.notebook_runner import NotebookRun


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "no such file"),
        ("fifo", "is not a regular file: it is a FIFO"),  # the one that used to hang
    ],
)
def test_04_refuses_a_bad_image_path_before_anything_runs(kind, message, tmp_path):
    artifacts = tmp_path / "artifacts"
    target = tmp_path / "input"
    if kind == "fifo":
        os.mkfifo(target)  # reading it would hang forever
    parameters = {"small_run": True, "artifacts_dir": artifacts, "image_path": str(target)}
    result = NotebookRun("04_inference", tmp_path / "04.ipynb", parameters).wait(timeout=240)
    assert result.returncode != 0
    assert "ImageInputError" in result.stderr and message in result.stderr
    assert not (artifacts / "samples").exists()  # stopped before the notebook wrote anything


@pytest.mark.timeout(300)
def test_03_evaluates_a_checkpoint_made_outside_training(tmp_path):
    artifacts = tmp_path / "artifacts"
    save_checkpoint(make_checkpoint(MnistCNN()), artifacts / "checkpoints" / "best.pt")
    parameters = {"small_run": True, "artifacts_dir": artifacts}
    result = NotebookRun("03_evaluate", tmp_path / "03.ipynb", parameters).wait(timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no training record" in (tmp_path / "03.ipynb").read_text()
