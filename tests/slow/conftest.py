"""The slow tier's shared runs: a trained checkpoint, the small pipeline, 02's refusal runs.

Every test in this folder is marked ``slow``. Under pytest-xdist (``make test``) the tests that
share one of these session fixtures go to one worker (``xdist_group``), so each is built once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from mnist_helpers.runs.notebook_runner import NotebookRun, child_environment
from tests.helpers import (
    REPO_ROOT,
    baseline_on_mnist,
    fit_quietly,
    hold_run_folder,
    keep_epochs,
)

# Each shared run, by the xdist group whose worker builds it.
SHARED_RUNS = {
    "trained_checkpoint": "trained-checkpoint",
    "small_pipeline": "small-pipeline",
    "refused_train_runs": "refusals",
}


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects, and before xdist reads groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here not in Path(item.path).parents:
            continue
        item.add_marker(pytest.mark.slow)
        fixtures = getattr(item, "fixturenames", ())
        for fixture, group in SHARED_RUNS.items():
            if fixture in fixtures:
                item.add_marker(pytest.mark.xdist_group(group))
                break


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


@dataclass(frozen=True)
class SmallPipeline:
    """The notebooks run once by papermill, in order, as a small run (``small_run=True``, seed 42):
    their artifacts folder and the executed notebooks."""

    artifacts: Path
    executed: Path
    output: str  # what the pipeline printed (its closing summary)


@pytest.fixture(scope="session")
def small_pipeline(tmp_path_factory: pytest.TempPathFactory) -> SmallPipeline:
    """The small pipeline, run as make run runs it (``python -m mnist_helpers.runs.pipeline``);
    every check that needs its files reads this one run."""
    artifacts = tmp_path_factory.mktemp("pipeline") / "artifacts"
    command = [sys.executable, "-m", "mnist_helpers.runs.pipeline", "-p", "small_run", "True"]
    command += ["-p", "artifacts_dir", str(artifacts)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=child_environment(), capture_output=True, text=True
    )
    assert done.returncode == 0, f"the pipeline failed:\n{done.stderr[-3000:]}"
    return SmallPipeline(artifacts, artifacts / "notebooks", done.stdout)


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
