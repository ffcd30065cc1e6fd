"""pytest set-up for nbval's run of the committed notebooks (notebooks/*.ipynb).

It lives at the repository root so that it applies however the notebooks are collected: with the
whole suite, or alone (``pytest notebooks/02_train.ipynb``). The tests' own fixtures are in
tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# nbval runs the committed notebooks unchanged, so it cannot pass them parameters: their kernels,
# and only theirs, get these variables. The notebooks take them only for parameters they were not
# given and print a line for each. Every other notebook run in the tests passes small_run and
# artifacts_dir as papermill parameters instead.
NBVAL_SCRATCH = Path(__file__).resolve().parent / "test-output" / "nbval-artifacts"
NBVAL_ENVIRONMENT = {
    "MNIST_SMALL_RUN": "1",
    "MNIST_ARTIFACTS_DIR": str(NBVAL_SCRATCH),
    "MPLBACKEND": "Agg",
}


def _is_nbval_item(item: pytest.Item) -> bool:
    return type(item).__module__.split(".")[0] == "nbval"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A notebook cell run by nbval needs a kernel and the small pipeline: the slow tier.
    for item in items:
        if _is_nbval_item(item):
            item.add_marker(pytest.mark.slow)


def pytest_report_header(config: pytest.Config) -> str:
    settings = " ".join(f"{key}={value}" for key, value in NBVAL_ENVIRONMENT.items())
    return f"nbval kernels run the committed notebooks with {settings}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    # nbval starts a notebook's kernel while setting up its first cell, and the kernel copies the
    # environment then: set the variables for that moment only, so that in-process tests and the
    # papermill runs never see them.
    if not _is_nbval_item(item):
        yield
        return
    saved = {key: os.environ.get(key) for key in NBVAL_ENVIRONMENT}
    NBVAL_SCRATCH.mkdir(parents=True, exist_ok=True)
    os.environ.update(NBVAL_ENVIRONMENT)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
