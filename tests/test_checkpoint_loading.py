"""Loading checkpoints from untrusted paths: model sizes are capped before anything is built, and
files that are not checkpoints (FIFOs, devices, folders, ONNX models, symlink loops) say so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mnist_helpers import checkpoint as checkpoint_module
from mnist_helpers.checkpoint import (
    load_checkpoint,
    make_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from mnist_helpers.errors import CheckpointError, ParameterError
from mnist_helpers.model import MAX_CONV_BLOCKS, MnistCNN, count_parameters
from mnist_helpers.runs.recipes import RECIPES
from mnist_helpers.support.untrusted_checkpoints import (
    MAX_CONV_WIDTH,
    MAX_HIDDEN_UNITS,
    MAX_PARAMETERS,
    check_checkpoint_model_args,
    parameters_for,
)


@pytest.fixture
def small_checkpoint(tmp_path: Path) -> dict:
    """A checkpoint dict of a freshly initialised default model (no training)."""
    torch.manual_seed(0)
    return make_checkpoint(MnistCNN())


@pytest.fixture
def no_model_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the checkpoint module builds a model (that would allocate its layers)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was built before its arguments were checked")

    monkeypatch.setattr(checkpoint_module, "MnistCNN", refuse)


def _with_args(checkpoint: dict, path: Path, **model_args: object) -> Path:
    """``checkpoint`` saved to ``path`` with some of its model arguments replaced."""
    checkpoint = dict(checkpoint, model_args={**checkpoint["model_args"], **model_args})
    return save_checkpoint(checkpoint, path)


# A checkpoint claiming a huge model is refused before allocation.


def test_huge_hidden_units_is_refused_before_any_layer_is_built(
    small_checkpoint: dict, tmp_path: Path, no_model_built: None
) -> None:
    path = _with_args(small_checkpoint, tmp_path / "huge.pt", hidden_units=2**20)
    assert path.stat().st_size < 2_000_000  # the file is small; only its claim is huge
    with pytest.raises(CheckpointError, match=f"hidden_units must be .* to {MAX_HIDDEN_UNITS:,}"):
        load_checkpoint(path)


def test_model_from_checkpoint_checks_args_before_building(
    small_checkpoint: dict, no_model_built: None
) -> None:
    huge = dict(small_checkpoint, model_args={"conv_channels": [2**16], "hidden_units": 8})
    with pytest.raises(CheckpointError, match="refuses to build: conv_channels"):
        model_from_checkpoint(huge)


@pytest.mark.parametrize(
    ("model_args", "named"),
    [
        ({"conv_channels": [16, 32, MAX_CONV_WIDTH + 1]}, "conv_channels"),
        ({"conv_channels": [8] * (MAX_CONV_BLOCKS + 1)}, "conv_channels"),
        ({"conv_channels": []}, "conv_channels"),
        ({"conv_channels": "16,32"}, "conv_channels"),
        ({"hidden_units": 0}, "hidden_units"),
        ({"hidden_units": 12.5}, "hidden_units"),
        ({"hidden_units": True}, "hidden_units"),
        ({"dropout": 1.0}, "dropout"),
        ({"batch_norm": "yes"}, "batch_norm"),
        ({"convs_per_block": 4}, "convs_per_block"),
        ({"widths": [1]}, "unknown model arguments"),
        # Each width allowed, but together 1024 x 14 x 14 x 8192 weights: over the total cap.
        ({"conv_channels": [MAX_CONV_WIDTH], "hidden_units": MAX_HIDDEN_UNITS}, "parameters"),
    ],
)
def test_out_of_range_model_args_are_refused_by_name(
    small_checkpoint: dict, tmp_path: Path, no_model_built: None, model_args: dict, named: str
) -> None:
    with pytest.raises(ParameterError, match=named):
        check_checkpoint_model_args(model_args)
    path = _with_args(small_checkpoint, tmp_path / "bad.pt", **model_args)
    with pytest.raises(CheckpointError, match=named):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "model_args",
    [
        {},
        {"conv_channels": (4,), "hidden_units": 8},
        {"conv_channels": (8, 16, 16, 8), "hidden_units": 24},
        {"conv_channels": (16, 32, 64), "dropout": 0.2, "batch_norm": True, "convs_per_block": 2},
        {"conv_channels": (32, 64, 128), "convs_per_block": 3, "batch_norm": True},
    ],
)
def test_the_meta_device_count_matches_the_built_model(model_args: dict) -> None:
    model = MnistCNN(**model_args)
    assert parameters_for(model.config) == count_parameters(model)


def test_every_recipe_fits_the_caps_with_a_wide_margin() -> None:
    for name, recipe in RECIPES.items():
        config = check_checkpoint_model_args(recipe.model_args)
        assert parameters_for(config) * 100 < MAX_PARAMETERS, name
        assert max(config["conv_channels"]) * 8 <= MAX_CONV_WIDTH, name
        assert config["hidden_units"] * 8 <= MAX_HIDDEN_UNITS, name


def test_a_valid_checkpoint_still_loads(small_checkpoint: dict, tmp_path: Path) -> None:
    path = save_checkpoint(small_checkpoint, tmp_path / "ok.pt")
    model = model_from_checkpoint(load_checkpoint(path))
    assert count_parameters(model) == parameters_for(small_checkpoint["model_args"])


# Paths that are not checkpoint files get messages that say what they are.


@pytest.mark.timeout(20)  # reading a FIFO would block: fail instead of hanging
def test_fifo_as_checkpoint_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="is not a regular file: it is a FIFO"):
        load_checkpoint(fifo)


@pytest.mark.timeout(20)  # /dev/zero never ends: reading it would not return
def test_dev_zero_as_checkpoint_is_not_a_regular_file() -> None:
    with pytest.raises(CheckpointError, match="is not a regular file: it is a device"):
        load_checkpoint("/dev/zero")


def test_symlink_loop_as_checkpoint_says_symlink_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop.pt"
    loop.symlink_to(tmp_path / "loop.pt")
    with pytest.raises(CheckpointError, match="symlink loop"):
        load_checkpoint(loop)


def test_directory_as_checkpoint_says_is_a_directory(
    small_checkpoint: dict, tmp_path: Path
) -> None:
    with pytest.raises(CheckpointError, match="is a directory") as raised:
        load_checkpoint(tmp_path)
    assert "No checkpoint" not in str(raised.value) and "Train first" not in str(raised.value)
    best = save_checkpoint(small_checkpoint, tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match=f"such as {best}"):
        load_checkpoint(tmp_path)


def _onnx_like_bytes() -> bytes:
    """The start of an ONNX ModelProto: ir_version 10, producer "pytorch", then a graph field."""
    return b"\x08\x0a\x12\x07pytorch\x1a\x062.14.1:" + bytes(range(200))


@pytest.mark.parametrize("name", ["model.onnx", "renamed.pt"])
def test_onnx_file_as_checkpoint_says_it_is_onnx(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_onnx_like_bytes())
    with pytest.raises(CheckpointError, match="looks like an ONNX model") as raised:
        load_checkpoint(path)
    assert "weights_only" not in str(raised.value)  # no advice to load untrusted code


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_random_bytes_never_quote_torchs_weights_only_advice(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(bytes([0x80, 0x04, 0xFF]) + bytes(range(256)) * 4)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint") as raised:
        load_checkpoint(path)
    assert "weights_only" not in str(raised.value)


def test_empty_checkpoint_file_says_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.touch()
    with pytest.raises(CheckpointError, match="is empty"):
        load_checkpoint(path)


def test_missing_checkpoint_keeps_its_train_first_message(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="No checkpoint at .*Train first"):
        load_checkpoint(tmp_path / "absent.pt")


# A model that is not numbers, or a normalisation that would blow the pixels up, is refused.


def test_a_checkpoint_with_nan_weights_is_refused_naming_the_file(tmp_path: Path) -> None:
    model = MnistCNN()
    with torch.no_grad():
        model.features[0].weight[0, 0, 0, 0] = float("nan")
    path = save_checkpoint(make_checkpoint(model), tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match=r"nan\.pt holds weights that are not finite"):
        load_checkpoint(path)


@pytest.mark.parametrize("std", [1e-300, 0.0, float("inf"), 50.0])
def test_a_normalisation_std_outside_the_pixel_range_is_refused(small_checkpoint, tmp_path, std):
    path = save_checkpoint(
        {**small_checkpoint, "normalization": {"mean": 0.13, "std": std}}, tmp_path / "n.pt"
    )
    with pytest.raises(CheckpointError, match="normalization must hold"):
        load_checkpoint(path)


def test_a_compressed_checkpoint_is_refused_before_it_expands(small_checkpoint, tmp_path):
    import zipfile

    stored = save_checkpoint(small_checkpoint, tmp_path / "stored.pt")
    bomb = tmp_path / "deflated.pt"
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(bomb, "w") as target:
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry), zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="compressed entries"):
        load_checkpoint(bomb)


def test_a_deeply_shared_structure_is_refused_without_being_printed(small_checkpoint, tmp_path):
    # Nine levels of lists that share one another: a few hundred bytes, 10**9 leaves in print.
    nested: list = [1]
    for _ in range(9):
        nested = [nested] * 10
    checkpoint = {**small_checkpoint, "model_args": {"conv_channels": nested}}
    path = save_checkpoint(checkpoint, tmp_path / "nested.pt")
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path)
    assert len(str(refused.value)) < 600
