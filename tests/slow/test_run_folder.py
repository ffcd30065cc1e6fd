"""The slow half of test_run_folder.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

from pathlib import Path

import pytest


def _data_was_loaded(executed: Path) -> bool:
    """Whether the executed 02 notebook's refusal came after MNIST started to load (02 loads it
    inside start_training_run, after the folder and resume checks)."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1, "the run stops at one error"
    traceback = "\n".join(errors[0].traceback)
    return any(name in traceback for name in ("make_train_val_loaders", "load_mnist"))


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
