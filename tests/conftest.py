"""Shared fixtures. Every test writes under a temporary folder, never into artifacts/; helpers
that are plain functions live in tests/support.py, nbval's set-up in the root conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from mnist_helpers.runs.notebook_runner import NotebookRun
from tests.nbval_runs import NBVAL_RUNS, NBVAL_SCRATCH
from tests.support import (
    NOTEBOOKS,
    REPO_ROOT,
    baseline_on_mnist,
    fit_quietly,
    hold_run_folder,
    keep_epochs,
)
from tests.worker_scopes import FIXTURE_SCOPES, unlisted_fixture_use


def pytest_configure(config: pytest.Config) -> None:
    # Figures drawn in-process need no display.
    os.environ.setdefault("MPLBACKEND", "Agg")


# Fixtures that train on the real MNIST files or run notebooks: only slow tests may use them.
SLOW_FIXTURES = tuple(FIXTURE_SCOPES)


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects: every test is seen
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixture_names = getattr(item, "fixturenames", ())
        used = [name for name in SLOW_FIXTURES if name in fixture_names]
        # Keep the tiers true: a fast test that pulls in a training run would make it slow.
        if used and item.get_closest_marker("slow") is None:
            raise pytest.UsageError(
                f"{item.nodeid} uses {', '.join(used)} (a real training or notebook run) but "
                "is not marked slow; add @pytest.mark.slow"
            )
        # One worker builds each of them (tests/worker_scopes.py).
        if reason := unlisted_fixture_use(item.nodeid, fixture_names):
            raise pytest.UsageError(reason)


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
    from mnist_helpers.runs.keeper import CheckpointKeeper
    from mnist_helpers.runs.parameters import TrainParams

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


@dataclass(frozen=True)
class SmallPipeline:
    """The four notebooks run once, in order, as a small run (``small_run=True``, seed 42).

    ``source`` says who ran them. "nbval": the artifacts are nbval's scratch folder and
    ``cells_passed`` holds how many of each notebook's cells nbval passed. "papermill": the
    executed notebooks are in ``executed``.
    """

    artifacts: Path
    source: Literal["nbval", "papermill"]
    executed: Path | None = None
    cells_passed: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="session")
def small_pipeline(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SmallPipeline:
    """The small pipeline; every check that needs its files reads this one run.

    nbval runs the committed notebooks as this very run (the root conftest.py gives them
    small_run and their artifacts folder, and testpaths puts notebooks/ before tests/). When it
    ran every code cell of the four in this session and all passed, that run is returned;
    otherwise (e.g. ``pytest tests/test_notebooks.py``) papermill runs them here.

    Both runs start in notebooks/, where Jupyter starts a notebook (nbval starts each kernel in
    its notebook's folder, see ``IPyNbFile.setup`` in nbval/plugin.py), so either shows that the
    notebooks find the package's files from there.
    """
    from mnist_helpers.runs.notebook_runner import notebook_path, run_notebook

    runs = request.config.stash.get(NBVAL_RUNS, None)
    notebooks = {name: notebook_path(name) for name in NOTEBOOKS}
    if runs is not None and all(runs.ran_every_cell(path) for path in notebooks.values()):
        passed = {name: len(runs.cells(path).clean_passes()) for name, path in notebooks.items()}
        return SmallPipeline(NBVAL_SCRATCH, "nbval", cells_passed=passed)

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
    return SmallPipeline(artifacts, "papermill", executed=artifacts / "notebooks")


# --- 02_train's refusals through papermill --------------------------------------------------------
# Each refusal stops in an early cell, so a run is mostly its kernel's start-up: the runs the
# session's tests need start together, and each test waits for its own. A test names its case by
# parametrising ``refused_train_run`` indirectly.

REFUSAL_CASES = ("unknown parameter", "unwritable folder", "held folder", "changed recipe")


def _start_refusal(case: str, folder: Path, stack: ExitStack) -> NotebookRun:
    """Start the 02_train run of ``case`` into ``folder`` (its artifacts folder)."""
    from mnist_helpers.runs.parameters import TrainParams

    parameters: dict[str, object] = {"small_run": True, "artifacts_dir": folder}
    if case == "unknown parameter":
        parameters["epoch"] = 1  # a typo of epochs
    elif case == "unwritable folder":
        parameters["artifacts_dir"] = "/proc/x"
    elif case == "held folder":
        holder = hold_run_folder(folder)
        stack.callback(holder.wait)
        stack.callback(holder.kill)
    else:  # "changed recipe": a baseline small run's checkpoint, resumed with another recipe
        keep_epochs(
            TrainParams(
                artifacts_dir=str(folder),
                recipe="default",
                augment=True,
                small_run=True,
                epochs=5,
                device="cpu",
                precision="fp32",
            ),
            [0.5],
        )
        parameters.update(recipe="strong", resume="checkpoints/last.pt")
    run = NotebookRun("02_train", folder.parent / "out.ipynb", parameters)
    stack.callback(run.stop)
    return run


@pytest.fixture(scope="session")
def refused_train_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[Path, NotebookRun]]]:
    """The refusal runs that this session's selected tests name, all started at once, by case:
    (artifacts folder, run)."""
    wanted = {
        item.callspec.params["refused_train_run"]
        for item in request.session.items
        if "refused_train_run" in getattr(getattr(item, "callspec", None), "params", {})
    }
    if unknown := wanted.difference(REFUSAL_CASES):
        raise ValueError(f"no refusal case {sorted(unknown)}; the cases are {REFUSAL_CASES}")
    root = tmp_path_factory.mktemp("refusals")
    with ExitStack() as stack:
        runs = {}
        for case in (case for case in REFUSAL_CASES if case in wanted):  # unprepared ones first
            folder = root / case.replace(" ", "-") / "artifacts"
            runs[case] = (folder, _start_refusal(case, folder, stack))
        yield runs


@dataclass(frozen=True)
class RefusedTrainRun:
    """A finished 02_train papermill run that was meant to refuse."""

    folder: Path  # its artifacts folder
    output: Path  # the executed notebook, as far as it ran
    returncode: int
    stderr: str  # papermill's log: the refusal's traceback is in it


@pytest.fixture
def refused_train_run(
    request: pytest.FixtureRequest, refused_train_runs: dict[str, tuple[Path, NotebookRun]]
) -> RefusedTrainRun:
    """The finished refusal run of the case this test is parametrised with."""
    folder, run = refused_train_runs[request.param]
    result = run.wait()
    return RefusedTrainRun(folder, run.output, result.returncode, result.stderr)
