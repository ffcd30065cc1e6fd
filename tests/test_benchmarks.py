"""The benchmarks package: the notebook-time breakdown, and a --quick run of the whole script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.user_command import PARTS, cell_part, last_val_acc, notebook_breakdown
from tests.helpers import REPO_ROOT


def _code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_every_part_of_the_training_notebook_is_recognised() -> None:
    parts = [cell_part(source) for source in _code_cells(REPO_ROOT / "notebooks/02_train.ipynb")]
    assert {"data", "epochs", "figures"} <= set(parts)
    assert parts.count("epochs") == 1  # one cell trains: its time is the epochs'
    assert parts.count("data") == 1  # start_training_run: imports, data and model together
    assert parts.index("data") < parts.index("epochs")


def test_breakdown_sums_to_the_wall_time_with_start_up_as_the_rest(tmp_path: Path) -> None:
    cells = [
        ("import torch", 2.0),
        ("data = make_train_val_loaders(batch_size=64)", 0.5),
        ("history = fit(model, optimizer)", 20.0),
        ("fig = plot_history(history)", 1.5),
        ("print('done')", 0.25),
    ]
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
            *(
                {"cell_type": "code", "metadata": {"papermill": {"duration": d}}, "source": [s]}
                for s, d in cells
            ),
        ]
    }
    path = tmp_path / "out.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    parts = notebook_breakdown(path, wall_seconds=30.0)
    assert list(parts) == list(PARTS)
    assert parts == {
        "start-up": 5.75,
        "imports": 2.0,
        "data": 0.5,
        "epochs": 20.0,
        "figures": 1.5,
        "other": 0.25,
    }


def test_last_val_acc_reads_the_final_epoch_of_the_run(tmp_path: Path) -> None:
    run = tmp_path / "artifacts" / "runs" / "one"
    run.mkdir(parents=True)
    records = [{"epoch": 1, "val_acc": 0.9}, {"epoch": 2, "val_acc": 0.95}]
    (run / "history.json").write_text(json.dumps(records), encoding="utf-8")
    assert last_val_acc(tmp_path) == 0.95
    assert last_val_acc(tmp_path / "artifacts" / "nothing") is None


def test_benchmarks_import_as_a_package_without_path_tricks() -> None:
    for module in (REPO_ROOT / "benchmarks").glob("*.py"):
        assert "sys.path" not in module.read_text(encoding="utf-8"), module.name


@pytest.mark.slow
def test_quick_benchmark_runs_every_section(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--device", "cpu"]
        + ["--output-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = (tmp_path / "benchmark_quick.md").read_text(encoding="utf-8")
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5. What a user waits for"):
        assert heading in report
    raw = json.loads((tmp_path / "benchmark_quick.json").read_text(encoding="utf-8"))
    notebook = raw["user_command"]["runs"]["notebook"][0]
    assert sum(notebook["parts"].values()) == pytest.approx(notebook["seconds"])
    assert notebook["parts"]["epochs"] > 0 and notebook["val_acc"] is not None
    assert raw["user_command"]["runs"]["naive"][0]["val_acc"] is not None


def test_each_compared_training_mix_builds_an_augmentation():
    import torch

    from benchmarks.not_a_digit import TRAININGS
    from mnist_helpers.data import MNIST_MEAN, MNIST_STD

    assert TRAININGS["default"] is None  # 02_train's own loaders
    images, labels = torch.zeros(8, 1, 28, 28), torch.arange(8)
    for name, mix in TRAININGS.items():
        if mix is not None:
            mixed = mix(mean=MNIST_MEAN, std=MNIST_STD)(images, labels)
            assert mixed.shape == images.shape, name
