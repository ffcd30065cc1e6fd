"""Which tests share a pytest-xdist worker, so that each session fixture is built once, and how
many threads each worker takes.

``make test`` runs the suite in parallel workers (``-n auto`` in pyproject.toml), each a pytest
session of its own. A session fixture used in two workers would be built twice, and nbval's items
must run in one kernel per notebook, in order. So the tests are dealt out in scopes: the notebooks
and the modules that read their run go to one worker, the modules of each other shared fixture to
one worker each, and every other test to whichever worker is free.

The scheduler sees only node ids (the controller collects nothing), so the modules are listed
here; tests/conftest.py refuses a test that uses a shared fixture from a module not listed.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

SMALL_PIPELINE = "small-pipeline"
TRAINED_CHECKPOINT = "trained-checkpoint"
REFUSED_TRAIN_RUNS = "refused-train-runs"

# The session fixture of each scope (tests/conftest.py), by the scope that builds it.
FIXTURE_SCOPES = {
    "small_pipeline": SMALL_PIPELINE,
    "trained_checkpoint": TRAINED_CHECKPOINT,
    "refused_train_runs": REFUSED_TRAIN_RUNS,
}

# The test modules that use each fixture (paths from the repository root). The notebooks
# (notebooks/*.ipynb, nbval's items) are in SMALL_PIPELINE as well, ahead of these modules.
SCOPE_MODULES = {
    SMALL_PIPELINE: ("tests/test_interrupted_runs.py", "tests/test_notebooks.py"),
    TRAINED_CHECKPOINT: (
        "tests/test_browser_canvas.py",
        "tests/test_canvas.py",
        "tests/test_export.py",
        "tests/test_not_a_digit.py",
        "tests/test_plain_torch.py",
        "tests/test_preprocess.py",
        "tests/test_train.py",
    ),
    REFUSED_TRAIN_RUNS: ("tests/test_resume.py", "tests/test_run_folder.py"),
}


# Modules whose tests stay together in one worker, one after another: the CUDA tests share one
# GPU and module-scoped data on it.
WHOLE_MODULES = ("tests/test_cuda.py",)


def scope_of(nodeid: str) -> str:
    """The scope of a test: a shared fixture's scope, its module's, or the test's own node id."""
    path = nodeid.partition("::")[0]
    if path.startswith("notebooks/"):
        return SMALL_PIPELINE
    for scope, modules in SCOPE_MODULES.items():
        if path in modules:
            return scope
    if path in WHOLE_MODULES:
        return path
    return nodeid


def unlisted_fixture_use(nodeid: str, fixture_names: tuple[str, ...] | list[str]) -> str | None:
    """Why a test's shared fixture would be built in a second worker, or None if it would not."""
    for fixture in (name for name in FIXTURE_SCOPES if name in fixture_names):
        if scope_of(nodeid) != FIXTURE_SCOPES[fixture]:
            module = nodeid.partition("::")[0]
            return (
                f"{nodeid} uses {fixture}, but {module} is not in "
                f"SCOPE_MODULES[{FIXTURE_SCOPES[fixture]!r}] in tests/worker_scopes.py: add it "
                "there, so that one worker builds the fixture for every test that uses it"
            )
    return None


class SharedFixtureScheduling(LoadScopeScheduling):
    """pytest-xdist's load-by-scope scheduler, with the scopes above."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)


def make_scheduler(config: pytest.Config, log: Any) -> SharedFixtureScheduling:
    return SharedFixtureScheduling(config, log)


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
