"""Shared fixtures. Every test writes under a temporary folder, never into artifacts/; helpers
that are plain functions live in tests/support.py, nbval's set-up in the root conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import NOTEBOOKS, REPO_ROOT, baseline_on_mnist, fit_quietly


def pytest_configure(config: pytest.Config) -> None:
    # Figures drawn in-process need no display.
    os.environ.setdefault("MPLBACKEND", "Agg")


# Fixtures that train on the real MNIST files or run notebooks: only slow tests may use them.
SLOW_FIXTURES = ("trained_checkpoint", "small_pipeline")


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects: every test is seen
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Keep the tiers true: a fast test that pulls in a training run would make the fast tier slow.
    for item in items:
        used = [name for name in SLOW_FIXTURES if name in getattr(item, "fixturenames", ())]
        if used and item.get_closest_marker("slow") is None:
            raise pytest.UsageError(
                f"{item.nodeid} uses {', '.join(used)} (a real training or notebook run) but "
                "is not marked slow; add @pytest.mark.slow"
            )


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    """A folder kept after the run, for screenshots and logs worth looking at."""
    path = REPO_ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint from a short real training run: the default recipe and augmentation, 2 epochs
    on all 51,000 training images."""
    from mnist_helpers.checkpoint import CheckpointKeeper
    from mnist_helpers.config import TrainParams

    setup, data = baseline_on_mnist(seed=0, epochs=2, augment=TrainParams().augment)
    keeper = CheckpointKeeper(
        tmp_path_factory.mktemp("trained"), setup.model, setup.optimizer, seed=0
    )
    fit_quietly(setup, data, 2, on_epoch_end=keeper)
    return keeper.best_path


@pytest.fixture(scope="session")
def mnist_test_split():
    """The real 10,000 MNIST test images and labels."""
    from mnist_helpers.data import load_mnist

    return load_mnist(train=False)


@pytest.fixture(scope="session")
def small_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four notebooks run once, in order, with ``small_run=True`` into a temporary artifacts
    folder; every check that needs executed notebooks or their files reads this one run.

    The run starts in notebooks/, where Jupyter starts a notebook, so it also shows that the
    notebooks find the package's files from there. Returns the artifacts folder; the executed
    notebooks are in its ``notebooks/`` folder.
    """
    from mnist_helpers.notebook_runner import run_notebook

    artifacts = tmp_path_factory.mktemp("pipeline") / "artifacts"
    for name in NOTEBOOKS:
        result = run_notebook(
            name,
            artifacts / "notebooks" / f"{name}.ipynb",
            {"small_run": True, "artifacts_dir": artifacts},
            cwd=REPO_ROOT / "notebooks",
            timeout=600,
        )
        assert result.returncode == 0, f"{name} failed:\n{result.stderr[-3000:]}"
    return artifacts
