"""Checkpoints: contents, atomic writes, safe loading, the keeper's rules."""

import json
import os
import pickle

import pytest
import torch

from mnist_helpers.checkpoint import (
    inference_checkpoint,
    load_checkpoint,
    make_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from mnist_helpers.errors import CheckpointError
from mnist_helpers.runs.keeper import CheckpointKeeper
from mnist_helpers.runs.recipes import RECIPES, build_training, restore_training_state
from tests.helpers import small_model


def test_checkpoint_is_self_describing_and_loads_with_weights_only(tmp_path):
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters())
    path = save_checkpoint(
        make_checkpoint(model, optimizer=optimizer, epoch=3, seed=7, metrics={"val_acc": 0.9}),
        tmp_path / "c.pt",
    )
    raw = torch.load(path, weights_only=True)  # must not need weights_only=False
    for key in (
        "model_state",
        "model_args",
        "normalization",
        "class_names",
        "epoch",
        "metrics",
        "optimizer_state",
        "seed",
        "versions",
    ):
        assert key in raw, key
    assert raw["epoch"] == 3 and raw["seed"] == 7 and raw["class_names"][9] == "9"
    rebuilt = model_from_checkpoint(load_checkpoint(path))
    images = torch.randn(3, 1, 28, 28)
    # The rebuilt model runs in channels_last; compare with the original in the same layout.
    original = model.to(memory_format=torch.channels_last).eval()
    assert torch.equal(rebuilt(images), original(images))


def test_inference_checkpoint_drops_training_state(tmp_path):
    model = small_model()
    full = make_checkpoint(model, optimizer=torch.optim.Adam(model.parameters()))
    slim = inference_checkpoint(full)
    assert slim["optimizer_state"] is None and slim["history"] == []
    path = save_checkpoint(slim, tmp_path / "slim.pt")
    assert model_from_checkpoint(load_checkpoint(path)).config == model.config


def test_save_replaces_atomically_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(make_checkpoint(small_model(), epoch=1), path)
    save_checkpoint(make_checkpoint(small_model(), epoch=2), path)
    assert load_checkpoint(path)["epoch"] == 2
    assert os.listdir(tmp_path) == ["c.pt"]


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(make_checkpoint(small_model(), epoch=1), path)

    def broken_save(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(make_checkpoint(small_model(), epoch=2), path)
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["c.pt"]


def test_missing_checkpoint_says_how_to_get_one(tmp_path):
    with pytest.raises(CheckpointError, match="02_train"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_truncated_and_random_files_are_refused(tmp_path):
    good = save_checkpoint(make_checkpoint(small_model()), tmp_path / "good.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    noise = tmp_path / "noise.pt"
    noise.write_bytes(os.urandom(5000))
    for path in (truncated, noise):
        with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
            load_checkpoint(path)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this should never run",))


def test_pickle_that_carries_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "payload": _RunsCode()}, path)
    with pytest.raises(CheckpointError, match="run code"):
        load_checkpoint(path)
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(pickle.dumps(_RunsCode()))
    with pytest.raises(CheckpointError):
        load_checkpoint(plain)


def test_bare_state_dict_gets_its_own_message(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(small_model().state_dict(), path)
    with pytest.raises(CheckpointError, match="bare state_dict"):
        load_checkpoint(path)


def test_different_architecture_is_reported(tmp_path):
    checkpoint = make_checkpoint(small_model())
    checkpoint["model_args"]["hidden_units"] = 99
    path = save_checkpoint(checkpoint, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="different architecture"):
        model_from_checkpoint(load_checkpoint(path))


def test_newer_format_asks_for_an_upgrade(tmp_path):
    checkpoint = make_checkpoint(small_model())
    checkpoint["format_version"] = 99
    path = save_checkpoint(checkpoint, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="Upgrade"):
        load_checkpoint(path)


def test_keeper_never_replaces_best_with_worse(tmp_path):
    model = small_model()
    folder = tmp_path / "run"
    keeper = CheckpointKeeper(folder, model, torch.optim.Adam(model.parameters()))
    for epoch, val_acc in ((1, 0.90), (2, 0.95), (3, 0.93)):
        keeper(
            {
                "epoch": epoch,
                "val_acc": val_acc,
                "val_loss": 1 - val_acc,
                "train_loss": 0.0,
                "train_acc": 0.0,
                "seconds": 0.0,
            }
        )
    assert load_checkpoint(keeper.best_path)["epoch"] == 2
    assert load_checkpoint(keeper.last_path)["epoch"] == 3
    assert [r["epoch"] for r in json.loads(keeper.history_path.read_text())] == [1, 2, 3]
    # Everything the keeper writes stays inside the folder it was given.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert keeper.history_path.parent == folder


def test_resuming_keeps_this_devices_adam_kernel():
    # A run saved where Adam was fused (CPU, CUDA) may resume where it is not (MPS): the restored
    # optimizer keeps the resuming device's choice instead of the saved one.
    setup_fused = build_training(
        RECIPES["default"], lr=1e-3, epochs=1, steps_per_epoch=1, device=torch.device("cpu")
    )
    assert setup_fused.optimizer.defaults["fused"] is True
    setup_fused.model(torch.zeros(2, 1, 28, 28)).sum().backward()
    setup_fused.optimizer.step()
    checkpoint = {
        "epoch": 1,
        "model_state": setup_fused.model.state_dict(),
        "optimizer_state": setup_fused.optimizer.state_dict(),
        "history": [{"epoch": 1, "val_acc": 0.5}],
    }
    other = build_training(
        RECIPES["default"], lr=1e-3, epochs=1, steps_per_epoch=1, device=torch.device("cpu")
    )
    other.optimizer = torch.optim.Adam(other.model.parameters(), lr=1e-3)  # not fused
    restored = restore_training_state(checkpoint, other)
    assert restored["start_epoch"] == 2 and restored["best_val_acc"] == 0.5
    assert all(not group["fused"] for group in other.optimizer.param_groups)
    other.optimizer.step()  # runs with the restored state
