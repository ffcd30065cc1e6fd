"""pytest set-up for nbval's run of the committed notebooks (notebooks/*.ipynb), and for workers.

It lives at the repository root so that it applies however the notebooks are collected: with the
whole suite, or alone (``pytest notebooks/02_train.ipynb``). The tests' own fixtures are in
tests/conftest.py (every test) and tests/slow/conftest.py (the slow tier's shared runs).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

NBVAL_SCRATCH = Path(__file__).resolve().parent / "test-output" / "nbval-artifacts"
# nbval runs the committed notebooks unchanged, so it cannot pass them parameters: their kernels,
# and only theirs, get these variables. The notebooks take them only for parameters they were not
# given and print a line for each. Every other notebook run in the tests passes small_run and
# artifacts_dir as papermill parameters instead.
NBVAL_ENVIRONMENT = {
    "MNIST_SMALL_RUN": "1",
    "MNIST_ARTIFACTS_DIR": str(NBVAL_SCRATCH),
    "MPLBACKEND": "Agg",
}


def is_nbval_item(item: pytest.Item) -> bool:
    return type(item).__module__.split(".")[0] == "nbval"


def share_the_cores(workers: int) -> None:
    """Give this pytest-xdist worker, and every process it starts, its share of the CPU cores.

    Processes whose thread pools each want every core slow each other down several times over
    (OpenMP threads spin while they wait for each other), where pools that fit the cores just share
    them: on 2 cores and 2 workers, one thread each. Kernels, papermill and JupyterLab inherit the
    variables; torch may already be imported here, so it is told directly as well.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, (cores or 1) // workers)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


def kernels_on_socket_files_for_nbval() -> None:
    """Make nbval start its kernels as every kernel of the project's runs starts: on socket
    files, so that no other process of the suite can take a kernel's port first (see
    mnist_helpers/support/socket_kernels.py). nbval has no setting for it, so its module's name
    for the class is replaced."""
    import nbval.kernel

    from mnist_helpers.support.socket_kernels import SocketFileKernelManager

    nbval.kernel.KernelManager = SocketFileKernelManager  # type: ignore[misc]


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        share_the_cores(int(config.workerinput["workercount"]))
    kernels_on_socket_files_for_nbval()


def pytest_sessionstart(session: pytest.Session) -> None:
    # Nothing an earlier session left in nbval's folder may be read as this run's. Under
    # pytest-xdist only the controller clears it, before any worker starts.
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(NBVAL_SCRATCH, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A notebook cell run by nbval needs a kernel and the small pipeline: the slow tier. The
    # cells of all notebooks run in one worker, in order (each notebook's kernel is shared).
    for item in items:
        if is_nbval_item(item):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("nbval"))


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
