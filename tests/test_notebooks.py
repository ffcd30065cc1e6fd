"""The four notebooks run headless with papermill, the way `make run` runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO_ROOT

NOTEBOOKS = ("01_data_exploration", "02_train", "03_evaluate", "04_inference")
PAPERMILL = [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3"]


def _env() -> dict[str, str]:
    # The parameters under test must decide, not the overrides conftest sets for nbval.
    env = dict(os.environ)
    env.pop("MNIST_ARTIFACTS_DIR", None)
    env.pop("MNIST_SMALL_RUN", None)
    return env


def _papermill(notebook: str, output: Path, *params: str, cwd: Path = REPO_ROOT):
    return subprocess.run(
        [*PAPERMILL, str(REPO_ROOT / "notebooks" / f"{notebook}.ipynb"), str(output), *params],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def small_pipeline(tmp_path_factory) -> Path:
    """All four notebooks in order, small run, into a temporary artifacts folder."""
    artifacts = tmp_path_factory.mktemp("pipeline") / "artifacts"
    (artifacts / "notebooks").mkdir(parents=True)  # papermill does not create the output folder
    for name in NOTEBOOKS:
        result = _papermill(
            name,
            artifacts / "notebooks" / f"{name}.ipynb",
            "-p",
            "small_run",
            "True",
            "-p",
            "artifacts_dir",
            str(artifacts),
        )
        assert result.returncode == 0, f"{name} failed:\n{result.stderr[-3000:]}"
    return artifacts


@pytest.mark.slow
def test_pipeline_writes_every_artifact(small_pipeline):
    for name in NOTEBOOKS:
        executed = nbformat.read(small_pipeline / "notebooks" / f"{name}.ipynb", as_version=4)
        errors = [
            o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"
        ]
        assert not errors
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
        assert (small_pipeline / relative).is_file(), relative


@pytest.mark.slow
def test_pipeline_metrics_are_real(small_pipeline):
    metrics = json.loads((small_pipeline / "metrics.json").read_text())
    history = json.loads((small_pipeline / "history.json").read_text())
    assert metrics["num_images"] == 1000  # small run: the first 1,000 test images
    # Five epochs on 4,096 images land near 95 %; far below means the pipeline is broken.
    assert 0.90 <= metrics["acc"] <= 1.0
    assert sum(row["support"] for row in metrics["per_class"]) == 1000
    assert [record["epoch"] for record in history] == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_train_notebook_runs_from_inside_notebooks_folder(tmp_path):
    result = _papermill(
        "02_train",
        tmp_path / "out.ipynb",
        "-p",
        "small_run",
        "True",
        "-p",
        "artifacts_dir",
        str(tmp_path / "artifacts"),
        cwd=REPO_ROOT / "notebooks",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "artifacts" / "checkpoints" / "best.pt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("epochs", "0", "epochs must be an integer >= 1"),
        ("device", "cuda:7", "device='cuda:7' is not available"),
    ],
)
def test_bad_parameter_fails_before_loading_data(tmp_path, name, value, message):
    artifacts = tmp_path / "artifacts"
    result = _papermill(
        "02_train", tmp_path / "out.ipynb", "-p", name, value, "-p", "artifacts_dir", str(artifacts)
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert not artifacts.exists()  # nothing was trained or written
