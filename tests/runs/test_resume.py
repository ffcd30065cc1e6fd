"""Honest resume and a consistent set of files after a stop at any moment.

Runs go through the calls 02_train makes (open_run_folder, resume_checkpoint, build_training,
restore_training_state, CheckpointKeeper, fit). The fast tests feed the keeper epoch records
with chosen accuracies instead of training; the slow ones train on 128 random images.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import torch

from mnist_helpers import checkpoint as checkpoint_module
from mnist_helpers.checkpoint import load_checkpoint, save_checkpoint
from mnist_helpers.errors import CheckpointError, ResumeError
from mnist_helpers.runs import keeper as keeper_module
from mnist_helpers.runs.keeper import CheckpointKeeper
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.resume import FROZEN_ON_RESUME, resume_checkpoint
from mnist_helpers.runs.run_folder import open_run_folder
from mnist_helpers.runs.start import start_training_run
from tests.helpers import CPU, keep_epochs, tiny_loaders


class KilledError(Exception):
    """Stands in for a kill at a chosen moment of a run."""


def _params(folder: Path, **changes) -> TrainParams:
    values = {"artifacts_dir": str(folder), "augment": False, "epochs": 3, "device": "cpu"}
    return TrainParams(**{**values, "precision": "fp32", **changes})


def _train(params: TrainParams, *, stop_after_epoch: int | None = None) -> CheckpointKeeper:
    """One 02_train run; ``stop_after_epoch`` interrupts it once that epoch is saved."""
    run = start_training_run(params, device=CPU, data=tiny_loaders(params.batch_size))

    def stop(record):
        if record["epoch"] == stop_after_epoch:
            raise KilledError

    with contextlib.suppress(KilledError):
        run.fit(stop, show_progress=False)
    return run.keeper


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model_state"]


def _same_weights(a: Path, b: Path) -> bool:
    first, second = _weights(a), _weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.fixture(scope="module")
def three_epoch_run(tmp_path_factory) -> Path:
    """A finished 3-epoch run of the constant-rate recipe."""
    folder = tmp_path_factory.mktemp("finished") / "artifacts"
    keep_epochs(_params(folder, recipe="constant"), [0.5, 0.6, 0.7])
    return folder


# --- 2. resume is honest --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lr", 0.05),
        ("seed", 7),
        ("val_fraction", 0.2),
        ("batch_size", 32),
        ("augment", True),
        ("small_run", True),
        ("recipe", "strong"),
    ],
)
def test_parameter_that_shaped_the_run_cannot_change_on_resume(three_epoch_run, name, value):
    params = _params(three_epoch_run, recipe="constant", epochs=5, resume="checkpoints/last.pt")
    changed = TrainParams(**{**params.as_dict(), name: value})
    with open_run_folder(three_epoch_run) as run, pytest.raises(ResumeError) as caught:
        resume_checkpoint(changed, run)
    message = str(caught.value)
    assert f"{name}={value!r} differs" in message
    assert FROZEN_ON_RESUME[name] in message  # says why


def test_every_parameter_that_shapes_the_split_is_frozen():
    assert {"seed", "val_fraction", "small_run", "recipe", "batch_size", "lr"} <= set(
        FROZEN_ON_RESUME
    )


def test_missing_resume_checkpoint_is_refused_before_loading_data(tmp_path):
    params = _params(tmp_path / "artifacts", resume="/nonexistent.pt")
    with open_run_folder(params.artifacts) as run, pytest.raises(CheckpointError, match="No check"):
        resume_checkpoint(params, run)


def test_inference_checkpoint_cannot_be_resumed(three_epoch_run, tmp_path):
    slim = checkpoint_module.inference_checkpoint(
        load_checkpoint(three_epoch_run / "checkpoints" / "best.pt")
    )
    save_checkpoint(slim, tmp_path / "model.pt")
    params = _params(
        tmp_path / "artifacts", recipe="constant", epochs=5, resume=str(tmp_path / "model.pt")
    )
    with open_run_folder(params.artifacts) as run, pytest.raises(ResumeError, match="no training"):
        resume_checkpoint(params, run)


def test_resume_with_no_epochs_left_is_refused(three_epoch_run):
    params = _params(three_epoch_run, recipe="constant", epochs=3, resume="checkpoints/last.pt")
    with open_run_folder(three_epoch_run) as run, pytest.raises(ResumeError, match="above 3"):
        resume_checkpoint(params, run)


@pytest.mark.slow
def test_constant_rate_run_grows_and_records_the_epochs_it_ran(tmp_path):
    straight = tmp_path / "straight"
    _train(_params(straight, recipe="constant", epochs=5))
    split = tmp_path / "split"
    _train(_params(split, recipe="constant", epochs=3))
    _train(_params(split, recipe="constant", epochs=5, resume="checkpoints/last.pt"))
    last = load_checkpoint(split / "checkpoints" / "last.pt")
    assert last["epoch"] == 5 and last["params"]["epochs"] == 5
    assert last["optimizer_state"]["param_groups"][0]["lr"] == last["params"]["lr"]
    assert _same_weights(split / "checkpoints" / "last.pt", straight / "checkpoints" / "last.pt")


@pytest.mark.parametrize("recipe", ["strong", "default"])
def test_schedule_resumed_past_its_plan_is_refused_clearly(tmp_path, recipe):
    folder = tmp_path / "artifacts"
    keep_epochs(_params(folder, recipe=recipe, epochs=2), [0.5, 0.6])
    longer = _params(folder, recipe=recipe, epochs=3, resume="checkpoints/last.pt")
    with open_run_folder(folder) as run, pytest.raises(ResumeError) as caught:
        resume_checkpoint(longer, run)
    assert "schedule cannot be stretched" in str(caught.value)
    assert "resume with epochs=2" in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["strong", "default"])
def test_interrupted_schedule_run_finishes_as_if_never_stopped(tmp_path, recipe):
    _train(_params(tmp_path / "straight", recipe=recipe))
    stopped = tmp_path / "stopped"
    _train(_params(stopped, recipe=recipe), stop_after_epoch=1)
    _train(_params(stopped, recipe=recipe, resume="checkpoints/last.pt"))
    straight_last = tmp_path / "straight" / "checkpoints" / "last.pt"
    assert _same_weights(stopped / "checkpoints" / "last.pt", straight_last)
    straight_history = json.loads((tmp_path / "straight" / "history.json").read_text())
    resumed_history = json.loads((stopped / "history.json").read_text())
    drop_time = [{k: v for k, v in r.items() if k != "seconds"} for r in straight_history]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed_history] == drop_time


# --- 3. a stop between the keeper's writes --------------------------------------------------------


def _stop_at_write(monkeypatch, target: str, epoch: int) -> None:
    """Make the keeper's write of ``target`` at ``epoch`` stop the run, as a kill would."""
    real_save, real_json = keeper_module.save_checkpoint, keeper_module.write_json

    def save(checkpoint, path):
        if Path(path).name == target and checkpoint["epoch"] == epoch:
            raise KilledError
        return real_save(checkpoint, path)

    def write_json(data, path):
        if Path(path).name == target and len(data) == epoch:
            raise KilledError
        return real_json(data, path)

    monkeypatch.setattr(keeper_module, "save_checkpoint", save)
    monkeypatch.setattr(keeper_module, "write_json", write_json)


def test_stop_between_last_and_best_writes_is_repaired_on_resume(tmp_path, monkeypatch):
    # Epoch 4 improved, last.pt was written, the kill came before best.pt.
    folder = tmp_path / "artifacts"
    with monkeypatch.context() as patch, pytest.raises(KilledError):
        _stop_at_write(patch, "best.pt", epoch=4)
        keep_epochs(_params(folder, recipe="constant", epochs=6), [0.5, 0.6, 0.55, 0.7])
    last = load_checkpoint(folder / "checkpoints" / "last.pt")
    assert last["epoch"] == 4 and load_checkpoint(folder / "checkpoints" / "best.pt")["epoch"] == 2
    keep_epochs(_params(folder, recipe="constant", epochs=6, resume="checkpoints/last.pt"), [0.65])
    best = folder / "checkpoints" / "best.pt"
    assert load_checkpoint(best)["epoch"] == 4  # the best epoch the history names
    assert torch.equal(
        _weights(best)["features.0.weight"], last["model_state"]["features.0.weight"]
    )
    assert [r["epoch"] for r in json.loads((folder / "history.json").read_text())] == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_stale_best_from_an_earlier_run_is_replaced_on_resume(tmp_path, monkeypatch):
    folder = tmp_path / "artifacts"
    # Its best.pt stays behind.
    keep_epochs(_params(folder, recipe="constant", epochs=3), [0.5, 0.9, 0.6])
    old_best = load_checkpoint(folder / "checkpoints" / "best.pt")
    with monkeypatch.context() as patch, pytest.raises(KilledError):
        _stop_at_write(patch, "best.pt", epoch=1)
        keep_epochs(_params(folder, recipe="constant", epochs=3, seed=5), [0.4])
    resumed = _params(folder, recipe="constant", epochs=3, seed=5, resume="checkpoints/last.pt")
    with open_run_folder(folder) as run:
        checkpoint = resume_checkpoint(resumed, run)
    best = load_checkpoint(folder / "checkpoints" / "best.pt")
    assert best["run_id"] == checkpoint["run_id"] != old_best["run_id"]
    assert best["epoch"] == 1
    assert json.loads((folder / "history.json").read_text()) == checkpoint["history"]


def test_stop_before_the_history_write_is_repaired_on_resume(tmp_path, monkeypatch):
    folder = tmp_path / "artifacts"
    with monkeypatch.context() as patch, pytest.raises(KilledError):
        _stop_at_write(patch, "history.json", epoch=2)
        keep_epochs(_params(folder, recipe="constant", epochs=3), [0.5, 0.6])
    assert len(json.loads((folder / "history.json").read_text())) == 1
    resumed = _params(folder, recipe="constant", epochs=3, resume="checkpoints/last.pt")
    with open_run_folder(folder) as run:
        checkpoint = resume_checkpoint(resumed, run)
    assert json.loads((folder / "history.json").read_text()) == checkpoint["history"]
    assert len(checkpoint["history"]) == 2


def test_best_of_another_run_that_cannot_be_rebuilt_is_refused(tmp_path):
    folder = tmp_path / "artifacts"
    keep_epochs(_params(folder, recipe="constant", epochs=3), [0.5, 0.6, 0.7])
    last = load_checkpoint(folder / "checkpoints" / "last.pt")
    forged = dict(last, history=[dict(r) for r in last["history"]])
    forged["history"][0]["val_acc"] = 2.0  # the best epoch is now 1, whose weights are gone
    save_checkpoint(forged, folder / "checkpoints" / "last.pt")
    save_checkpoint(dict(last, run_id="another run"), folder / "checkpoints" / "best.pt")
    params = _params(folder, recipe="constant", epochs=5, resume="checkpoints/last.pt")
    with open_run_folder(folder) as run, pytest.raises(ResumeError, match="no matching best.pt"):
        resume_checkpoint(params, run)


def test_keeper_writes_only_inside_its_folder(tmp_path):
    folder = tmp_path / "run" / "artifacts"
    keep_epochs(_params(folder, recipe="constant", epochs=1), [0.5])
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    inside = [p for p in written if Path(tmp_path / p).is_relative_to(folder)]
    assert written == inside
    assert (folder / "history.json").is_file() and (folder / "checkpoints" / "best.pt").is_file()
