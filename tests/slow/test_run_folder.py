"""The slow half of test_run_folder.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

from pathlib import Path

import pytest


def _data_was_loaded(executed: Path) -> bool:
    """Whether the cell of the executed 02 notebook that loads MNIST ran."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    cells = [
        c for c in notebook.cells if c.cell_type == "code" and "make_train_val_loaders(" in c.source
    ]
    assert len(cells) == 1
    return cells[0].execution_count is not None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("refused_train_run", "message"),
    [
        ("unknown parameter", "unknown parameter 'epoch' (did you mean 'epochs'?) for 02_train"),
        ("unwritable folder", "artifacts_dir='/proc/x' cannot be written"),
    ],
    indirect=["refused_train_run"],
)
def test_train_notebook_refuses_before_loading_data(refused_train_run, message):
    assert refused_train_run.returncode != 0
    assert message in refused_train_run.stderr
    assert not _data_was_loaded(refused_train_run.output)


@pytest.mark.slow
@pytest.mark.parametrize("refused_train_run", ["held folder"], indirect=True)
def test_train_notebook_refuses_a_folder_another_run_holds(refused_train_run):
    assert refused_train_run.returncode != 0
    assert "is in use by another training run" in refused_train_run.stderr
    assert not _data_was_loaded(refused_train_run.output)
    assert not (refused_train_run.folder / "checkpoints").exists()
