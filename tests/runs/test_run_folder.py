"""The run folder: one owner at a time, leftovers cleaned, and every parameter checked up front.

Two runs must never mix one folder, and a bad parameter must fail before any data loads: checked
through the functions 02_train calls before it loads any data (the papermill runs are in
tests/slow/test_run_folder.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from mnist_helpers.data import split_indices
from mnist_helpers.errors import ParameterError, RunFolderBusyError, RunFolderLostError
from mnist_helpers.loaders import TensorBatches
from mnist_helpers.runs.parameters import (
    NOTEBOOK_PARAMS,
    SEED_MAX,
    EvaluateParams,
    ExploreParams,
    InferenceParams,
    TrainParams,
)
from mnist_helpers.runs.run_folder import LOCK_NAME, open_run_folder, prepare_artifacts_dir
from mnist_helpers.support.atomic_files import TEMP_SUFFIX
from tests.helpers import HOLD_THE_FOLDER, REPO_ROOT, hold_run_folder


@pytest.fixture
def other_process_holding(tmp_path):
    """A second Python process that has opened ``tmp_path / "artifacts"`` for a run."""
    folder = tmp_path / "artifacts"
    process = hold_run_folder(folder)
    yield folder, process
    process.kill()
    process.wait()


# --- 1. two runs into one artifacts_dir ----------------------------------------------------------


def test_second_run_into_a_held_folder_is_refused_at_once(other_process_holding):
    folder, process = other_process_holding
    with pytest.raises(RunFolderBusyError) as caught:
        open_run_folder(folder)
    message = str(caught.value)
    assert str(folder) in message
    assert f"process {process.pid}" in message  # who holds it
    assert "-p artifacts_dir" in message  # and what to do


def test_killed_owner_frees_the_folder(other_process_holding):
    folder, process = other_process_holding
    process.send_signal(signal.SIGKILL)
    process.wait()
    run = open_run_folder(folder)  # no stale lock: the kernel dropped it with the process
    try:
        assert run.locked
    finally:
        run.release()


def test_released_folder_can_be_taken_by_another_process(tmp_path):
    folder = tmp_path / "artifacts"
    run = open_run_folder(folder)
    assert (folder / LOCK_NAME).is_file()
    assert open_run_folder(folder) is run  # a notebook cell run twice in one kernel
    run.release()
    assert not run.locked
    taken = subprocess.run(
        [sys.executable, "-c", HOLD_THE_FOLDER.replace("time.sleep(120)", ""), str(folder)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.returncode == 0, taken.stderr


def _temp_of(path: Path, pid: int) -> Path:
    """The temporary name process ``pid`` would write ``path`` under (``temp_path_for``)."""
    return path.with_name(f".{path.name}.{pid}-0a1b2c3d{TEMP_SUFFIX}")


def test_next_run_removes_temp_files_that_killed_writes_left_in_every_run_folder(tmp_path):
    folder = tmp_path / "artifacts"
    for sub in ("checkpoints", "figures", "model"):
        (folder / sub).mkdir(parents=True)
    dead = _finished_pid()
    leftovers = [
        _temp_of(folder / "checkpoints" / "last.pt", dead),
        _temp_of(folder / "history.json", dead),
        _temp_of(folder / "figures" / "02_history.png", dead),  # a killed figure write
        _temp_of(folder / "model" / "mnist_cnn.onnx", dead),  # a killed export
        folder / ".metrics.json.planted.tmp",  # a name no writer of ours gives
    ]
    for path in leftovers:
        path.write_bytes(b"half a file")
    keep = folder / "checkpoints" / "last.pt"
    keep.write_bytes(b"finished file")
    writer = subprocess.Popen(["sleep", "60"])  # another process, writing right now
    try:
        live = _temp_of(folder / "metrics.json", writer.pid)
        live.write_bytes(b"being written")
        with open_run_folder(folder) as run:
            assert sorted(run.removed_temps) == sorted(leftovers)
        assert not any(path.exists() for path in leftovers)
        assert keep.read_bytes() == b"finished file"
        assert live.read_bytes() == b"being written"
    finally:
        writer.kill()
        writer.wait()


def _finished_pid() -> int:
    """The process id of a process that has ended."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_a_file_where_a_run_folder_belongs_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    (folder / "figures").write_text("not a folder")
    with pytest.raises(ParameterError, match="holds a file named figures"):
        prepare_artifacts_dir(folder)


def test_one_folder_spelled_two_ways_is_one_run_folder(tmp_path):
    folder = tmp_path / "a"
    with open_run_folder(folder) as first:
        assert open_run_folder(tmp_path / "a" / ".." / "a") is first


def test_two_processes_preparing_one_folder_never_refuse_it(tmp_path):
    folder = tmp_path / "shared"
    code = (
        "import sys\n"
        "from mnist_helpers.runs.run_folder import prepare_artifacts_dir\n"
        "for _ in range(150):\n"
        "    prepare_artifacts_dir(sys.argv[1])\n"
    )
    runs = [subprocess.Popen([sys.executable, "-c", code, str(folder)]) for _ in range(2)]
    assert [run.wait(timeout=120) for run in runs] == [0, 0]
    assert [p.name for p in folder.iterdir() if p.name.startswith(".write-probe")] == []


def test_a_run_folder_deleted_during_training_stops_the_run(tmp_path):
    import shutil

    folder = tmp_path / "artifacts"
    run = open_run_folder(folder)
    try:
        run.check_still_ours()
        shutil.rmtree(folder)
        folder.mkdir()  # a second run could now lock this new folder
        with pytest.raises(RunFolderLostError, match="deleted or replaced"):
            run.check_still_ours()
    finally:
        run.release()


# --- 4. parameters that passed validation and failed late or never -------------------------------


def test_artifacts_dir_under_proc_is_refused_before_any_work():
    with pytest.raises(ParameterError, match=r"artifacts_dir='/proc/x' cannot be written"):
        prepare_artifacts_dir("/proc/x")


def test_artifacts_dir_below_a_file_is_refused(tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ParameterError, match="cannot be written"):
        prepare_artifacts_dir(tmp_path / "a_file" / "artifacts")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_artifacts_dir_is_refused(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ParameterError, match="cannot be written"):
            prepare_artifacts_dir(folder)
    finally:
        folder.chmod(0o755)


def test_writable_artifacts_dir_is_created_and_left_clean(tmp_path):
    folder = prepare_artifacts_dir(tmp_path / "new" / "artifacts")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_seed_that_would_overflow_the_shuffle_seeding_is_refused():
    with pytest.raises(ParameterError, match=f"seed must be an integer >= 0 and <= {SEED_MAX}"):
        TrainParams(seed=9223372036854775807)


def test_largest_allowed_seed_shuffles_every_epoch():
    batches = TensorBatches(
        torch.zeros(10, 1, 28, 28), torch.arange(10), 4, shuffle=True, seed=SEED_MAX
    )
    batches.set_epoch(1000)  # the largest epoch count TrainParams allows
    labels = torch.cat([labels for _, labels in batches])
    assert sorted(labels.tolist()) == list(range(10))


@pytest.mark.parametrize("params_class", [TrainParams, ExploreParams])
def test_val_fraction_leaving_no_validation_batch_is_refused(params_class):
    with pytest.raises(ParameterError, match="val_fraction=1e-06 leaves"):
        params_class(val_fraction=0.000001)


def test_val_fraction_at_the_limit_leaves_one_batch_each_side():
    # 64 of 60,000 images is the smallest validation share that holds one batch of 64.
    params = TrainParams(val_fraction=64 / 60_000)
    train, val = split_indices(60_000, params.val_fraction, params.seed)
    assert len(val) == params.batch_size and len(train) >= params.batch_size
    with pytest.raises(ParameterError, match="val_fraction"):
        TrainParams(val_fraction=63 / 60_000)
    with pytest.raises(ParameterError, match="val_fraction"):
        TrainParams(val_fraction=1 - 63 / 60_000)


def _namespace(injected: str, **values) -> dict:
    """A notebook's globals after papermill injected ``injected`` (its parameter lines)."""
    return {"In": ["", "epochs = 5\nseed = 42", f"# Parameters\n{injected}\n"], **values}


@pytest.mark.parametrize("typo", ["epoch = 1", "foo = 1"])
def test_unknown_parameter_name_is_refused_with_the_known_ones(typo):
    name = typo.split()[0]
    with pytest.raises(ParameterError, match=f"unknown parameter '{name}'") as caught:
        TrainParams.from_notebook(_namespace(typo, epochs=5, **{name: 1}))
    assert "epochs" in str(caught.value) and "val_fraction" in str(caught.value)


def test_unknown_parameter_suggests_the_close_name():
    with pytest.raises(ParameterError, match="did you mean 'epochs'"):
        TrainParams.from_notebook(_namespace("epoch = 1"))


def test_parameter_of_another_notebook_is_noted_not_refused(capsys):
    params = ExploreParams.from_notebook(_namespace("epochs = 3\nseed = 7", seed=7, epochs=3))
    assert params.seed == 7
    assert (
        "epochs is a parameter of 02_train, not of 01_data_exploration" in capsys.readouterr().out
    )


def test_notebook_values_fill_the_parameters():
    namespace = _namespace("lr = 0.01", lr=0.01, epochs=2, recipe="strong", In_extra=1)
    params = TrainParams.from_notebook(namespace)
    assert (params.lr, params.epochs, params.recipe) == (0.01, 2, "strong")


@pytest.mark.parametrize("params_class", [TrainParams, EvaluateParams, InferenceParams])
def test_explicit_small_run_beats_the_environment(params_class, capsys):
    namespace = _namespace("small_run = False", small_run=False)
    params = params_class.from_notebook(namespace, environ={"MNIST_SMALL_RUN": "1"})
    assert params.small_run is False
    assert "MNIST_SMALL_RUN=1 ignored: small_run was given explicitly" in capsys.readouterr().out


def test_environment_fills_what_was_not_given_and_says_so(capsys):
    environ = {"MNIST_SMALL_RUN": "1", "MNIST_ARTIFACTS_DIR": "/tmp/elsewhere"}
    params = TrainParams.from_notebook(_namespace("epochs = 1", epochs=1), environ=environ)
    assert params.small_run is True and params.artifacts_dir == "/tmp/elsewhere"
    out = capsys.readouterr().out
    assert "small_run = True, set by the environment (MNIST_SMALL_RUN=1)" in out
    assert "artifacts_dir = '/tmp/elsewhere', set by the environment" in out


def test_explicit_artifacts_dir_beats_the_environment():
    namespace = _namespace("artifacts_dir = '/tmp/mine'", artifacts_dir="/tmp/mine")
    params = TrainParams.from_notebook(namespace, environ={"MNIST_ARTIFACTS_DIR": "/tmp/env"})
    assert params.artifacts == Path("/tmp/mine")


def test_direct_construction_ignores_the_environment(monkeypatch):
    monkeypatch.setenv("MNIST_SMALL_RUN", "1")
    assert TrainParams().small_run is False


def test_unreadable_small_run_variable_is_refused():
    with pytest.raises(ParameterError, match="MNIST_SMALL_RUN must be 1 or 0"):
        TrainParams.from_notebook(_namespace(""), environ={"MNIST_SMALL_RUN": "maybe"})


@pytest.mark.parametrize("params_class", NOTEBOOK_PARAMS)
def test_notebook_parameter_cell_repeats_the_dataclass_defaults(params_class):
    # Papermill needs literals in the notebook; this keeps them equal to the one source.
    import ast

    import nbformat

    notebook = nbformat.read(
        REPO_ROOT / "notebooks" / f"{params_class.NOTEBOOK}.ipynb", as_version=4
    )
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    literals = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign)
    }
    assert literals == {f.name: f.default for f in fields(params_class)}


# --- the same failures through papermill ----------------------------------
# The runs start together (the ``refused_train_runs`` fixture in conftest); each test waits for
# its own.
