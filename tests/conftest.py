"""Fixtures every test may use. Every test writes under a temporary folder, never into artifacts/.

Helpers that are plain functions live in tests/helpers.py; the fixtures that train a model or run
notebooks (the slow ones) in tests/slow/conftest.py, where only the slow tests can reach them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT


def pytest_configure(config: pytest.Config) -> None:
    # Figures drawn in-process need no display.
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    """A folder kept after the run, for screenshots and logs worth looking at."""
    path = REPO_ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def mnist_test_split():
    """The real 10,000 MNIST test images and labels."""
    from mnist_helpers.data import load_mnist

    return load_mnist(train=False)
