"""pytest set-up for nbval's run of the committed notebooks (notebooks/*.ipynb).

It lives at the repository root so that it applies however the notebooks are collected: with the
whole suite, or alone (``pytest notebooks/02_train.ipynb``). It also keeps the record of what
nbval ran (tests/nbval_runs.py), from which the ``small_pipeline`` fixture reuses nbval's run. The
tests' own fixtures are in tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.ipc_kernels import use_ipc_for_nbval
from tests.nbval_runs import NBVAL_RUNS, NBVAL_SCRATCH, NbvalRuns, is_nbval_item
from tests.worker_scopes import make_scheduler, share_the_cores

# nbval runs the committed notebooks unchanged, so it cannot pass them parameters: their kernels,
# and only theirs, get these variables. The notebooks take them only for parameters they were not
# given and print a line for each. Every other notebook run in the tests passes small_run and
# artifacts_dir as papermill parameters instead.
NBVAL_ENVIRONMENT = {
    "MNIST_SMALL_RUN": "1",
    "MNIST_ARTIFACTS_DIR": str(NBVAL_SCRATCH),
    "MPLBACKEND": "Agg",
}


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        share_the_cores(int(config.workerinput["workercount"]))
    use_ipc_for_nbval()
    # The record listens to collection and to every report as a plugin of its own.
    runs = NbvalRuns()
    config.stash[NBVAL_RUNS] = runs
    config.pluginmanager.register(runs, "nbval-runs")


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent without the plugin
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    # -n without --dist means "load": deal the tests out by the scopes that share a fixture.
    if config.getoption("dist") != "load":
        return None
    return make_scheduler(config, log)


def pytest_sessionstart(session: pytest.Session) -> None:
    # The small_pipeline fixture may read this folder as this session's run: nothing an earlier
    # session left there may still be in it. Under pytest-xdist the controller clears it before
    # any worker starts, and the workers leave it alone.
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(NBVAL_SCRATCH, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A notebook cell run by nbval needs a kernel and the small pipeline: the slow tier.
    for item in items:
        if is_nbval_item(item):
            item.add_marker(pytest.mark.slow)


def pytest_report_header(config: pytest.Config) -> str:
    settings = " ".join(f"{key}={value}" for key, value in NBVAL_ENVIRONMENT.items())
    return f"nbval kernels run the committed notebooks with {settings}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    # nbval starts a notebook's kernel while setting up its first cell, and the kernel copies the
    # environment then: set the variables for that moment only, so that in-process tests and the
    # papermill runs never see them.
    if not is_nbval_item(item):
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
