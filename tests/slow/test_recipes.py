"""Every recipe runs through 02 and 03 as a user runs them (papermill), on a small run."""

from __future__ import annotations

import json

import pytest

from mnist_helpers.runs.notebook_runner import NotebookRun


@pytest.mark.parametrize("recipe", ["strong"])
def test_02_and_03_complete_with_the_recipe(recipe, tmp_path):
    artifacts = tmp_path / "artifacts"
    common = {"small_run": True, "artifacts_dir": artifacts}
    for name, parameters in (
        ("02_train", {**common, "recipe": recipe, "epochs": 1}),
        ("03_evaluate", common),
    ):
        result = NotebookRun(name, tmp_path / f"{name}.ipynb", parameters).wait(timeout=600)
        assert result.returncode == 0, f"{name}, recipe {recipe}:\n{result.stderr[-3000:]}"
    metrics = json.loads((artifacts / "metrics.json").read_text())
    assert metrics["num_images"] == 1000 and 0.5 < metrics["acc"] <= 1.0
