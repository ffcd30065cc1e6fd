"""Checkpoints: one self-describing dict, written atomically, loaded with ``weights_only=True``."""

from __future__ import annotations

import importlib.metadata
import io
import os
import platform
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mnist_helpers import __version__
from mnist_helpers.data import CLASS_NAMES, MNIST_MEAN, MNIST_STD
from mnist_helpers.errors import CheckpointError, ParameterError, short_repr
from mnist_helpers.model import MnistCNN, prepare_for_device
from mnist_helpers.support.atomic_files import write_bytes
from mnist_helpers.support.untrusted_checkpoints import (
    check_checkpoint_model_args,
    read_untrusted_checkpoint,
)

if TYPE_CHECKING:  # only a type: checkpoint loading must not import the training code
    from mnist_helpers.train import EpochRecord

FORMAT_VERSION = 1
# A std this small would scale pixels a thousandfold: no training of this project writes one.
MIN_STD = 1e-3
TRAINING_ONLY_KEYS = ("optimizer_state", "scheduler_state", "rng_state", "history")
REQUIRED_KEYS = ("format_version", "model_state", "model_args", "normalization", "class_names")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shaped a checkpoint."""
    # Read from the installed package's metadata: importing torchvision (over a second) only for
    # its version string would slow every first checkpoint of a run.
    try:
        torchvision_version = importlib.metadata.version("torchvision")
    except importlib.metadata.PackageNotFoundError:
        torchvision_version = "not installed"
    return {
        "python": platform.python_version(),
        # str(): torch's version is a str subclass that weights_only loading refuses.
        "torch": str(torch.__version__),
        "torchvision": torchvision_version,
        "mnist_helpers": __version__,
    }


def make_checkpoint(
    model: MnistCNN,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    epoch: int = 0,
    metrics: Mapping[str, Any] | None = None,
    history: Sequence[EpochRecord] | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    run_id: str | None = None,
    mean: float = MNIST_MEAN,
    std: float = MNIST_STD,
) -> dict[str, Any]:
    """Gather everything needed to rebuild, evaluate or resume ``model`` into one dict.

    ``run_id`` names the training run (kept across resumes), so files of two runs are told apart.
    """
    # Contiguous CPU copies: portable to any device and to plain torch users.
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return {
        "format_version": FORMAT_VERSION,
        "model_class": type(model).__name__,
        "model_args": dict(model.config),
        "model_state": state,
        "normalization": {"mean": float(mean), "std": float(std)},
        "class_names": list(CLASS_NAMES),
        "epoch": int(epoch),
        "metrics": dict(metrics or {}),
        "history": list(history or []),
        "params": dict(params or {}),
        "seed": seed,
        "run_id": run_id,
        "optimizer_state": None if optimizer is None else optimizer.state_dict(),
        "scheduler_state": None if scheduler is None else scheduler.state_dict(),
        "rng_state": torch.get_rng_state(),
        "versions": library_versions(),
    }


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``checkpoint`` to ``path`` atomically: readers see the old file or the new one."""
    # Serialised in memory first (a checkpoint is about a megabyte): a full disk then fails in
    # the file write, with the project's message, not inside torch's zip writer.
    buffer = io.BytesIO()
    torch.save(dict(checkpoint), buffer)
    return write_bytes(buffer.getvalue(), path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint safely (no code from the file runs) and check that it is one of ours."""
    return validate_checkpoint(read_untrusted_checkpoint(path), Path(path))


def _all_finite(tensor: torch.Tensor) -> bool:
    """Whether every value of ``tensor`` is a finite number (integer tensors always are)."""
    return not tensor.is_floating_point() or bool(torch.isfinite(tensor).all())


def validate_checkpoint(checkpoint: Any, path: Path | str = "<checkpoint>") -> dict[str, Any]:
    """Check the structure of a loaded checkpoint; raise CheckpointError saying what is wrong.

    The model arguments are checked against the model's limits here, before any layer exists.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dict of this project."
        )
    if "format_version" not in checkpoint and all(
        isinstance(v, torch.Tensor) for v in checkpoint.values()
    ):
        raise CheckpointError(
            f"{path} is a bare state_dict (weights only, as pytorch/examples saves them): it lacks "
            "the model's arguments and normalisation. Build the model yourself and call "
            "model.load_state_dict(torch.load(path, weights_only=True)), or retrain with 02_train."
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"{path} is not a checkpoint of this project: missing {missing}.")
    version = checkpoint["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {version!r}; this mnist_helpers reads format "
            f"{FORMAT_VERSION} and older. Upgrade the package (pip install -U -e .)."
        )
    _checked_model_args(checkpoint, path)
    state = checkpoint["model_state"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is damaged: its model_state is not a dict of tensors.")
    norm = checkpoint["normalization"]
    if not (
        isinstance(norm, dict)
        and all(isinstance(norm.get(key), (int, float)) for key in ("mean", "std"))
        and 0 <= norm["mean"] <= 1
        and MIN_STD <= norm["std"] <= 1
    ):
        raise CheckpointError(
            f"{path} is damaged: normalization must hold a mean from 0 to 1 and a std from "
            f"{MIN_STD} to 1 (pixels are 0 to 1); got {short_repr(norm)}."
        )
    broken = [name for name, weights in state.items() if not _all_finite(weights)]
    if broken:
        raise CheckpointError(
            f"{path} holds weights that are not finite numbers (NaN or infinity) in "
            f"{short_repr(broken)}: every answer of such a model is meaningless. The training "
            "that wrote it diverged, or the file was damaged; use an earlier checkpoint, or "
            "retrain with a smaller lr."
        )
    return checkpoint


def _checked_model_args(checkpoint: Mapping[str, Any], path: Path | str) -> dict[str, Any]:
    """The checkpoint's model arguments, checked against the model's limits (nothing allocated)."""
    args = checkpoint["model_args"]
    if not isinstance(args, Mapping):
        raise CheckpointError(
            f"{path} is damaged: model_args is a {type(args).__name__}, not a dict."
        )
    try:
        return check_checkpoint_model_args(args)
    except ParameterError as error:
        raise CheckpointError(
            f"{path} describes a model this package refuses to build: {error}. "
            "Use a checkpoint written by this project's training."
        ) from None


def model_from_checkpoint(
    checkpoint: Mapping[str, Any], device: torch.device | str = "cpu"
) -> MnistCNN:
    """Rebuild the model described by ``checkpoint`` and load its weights, in eval mode."""
    args = _checked_model_args(checkpoint, "the checkpoint")
    try:
        model = MnistCNN(**args)
        model.load_state_dict(checkpoint["model_state"])
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(
            "The checkpoint's weights do not fit the model it describes "
            "(a different architecture?): "
            f"{str(error).splitlines()[0]}"
        ) from None
    prepare_for_device(model, torch.device(device))  # in place: Module.to returns self
    return model.eval()


def inference_checkpoint(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """``checkpoint`` without training state (optimizer, schedule, RNG): what inference needs."""
    slim = {k: v for k, v in checkpoint.items() if k not in TRAINING_ONLY_KEYS}
    slim.update({key: None for key in TRAINING_ONLY_KEYS if key != "history"})
    slim["history"] = []
    return slim


def checkpoint_summary(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The readable part of a checkpoint (everything but tensors), for display."""
    return {
        "format_version": checkpoint["format_version"],
        "model_args": checkpoint["model_args"],
        "normalization": checkpoint["normalization"],
        "class_names": checkpoint["class_names"],
        "epoch": checkpoint.get("epoch"),
        "metrics": checkpoint.get("metrics"),
        "seed": checkpoint.get("seed"),
        "versions": checkpoint.get("versions"),
        "weights": {k: list(v.shape) for k, v in checkpoint["model_state"].items()},
    }


def training_record(checkpoint: Mapping[str, Any]) -> str:
    """One line on how the checkpoint was trained, for any checkpoint the package writes.

    A checkpoint made outside training (``make_checkpoint(model)``) records no epoch or
    validation accuracy; the line then says so instead of failing.
    """
    epoch = checkpoint.get("epoch")
    metrics = checkpoint.get("metrics")
    val_acc = metrics.get("val_acc") if isinstance(metrics, Mapping) else None
    if not isinstance(epoch, int) or epoch < 1:
        return "no training record (a checkpoint made outside training)"
    if not isinstance(val_acc, (int, float)) or not 0 <= val_acc <= 1:
        return f"epoch {epoch} · validation accuracy not recorded"
    return f"epoch {epoch} · validation accuracy {val_acc:.2%}"


def best_epoch_of(history: Sequence[EpochRecord]) -> int | None:
    """The first epoch with the highest validation accuracy (the one ``best.pt`` holds)."""
    best = None
    for record in history:
        if best is None or record["val_acc"] > best["val_acc"]:
            best = record
    return None if best is None else int(best["epoch"])


def new_run_id() -> str:
    """A fresh name for a training run."""
    return secrets.token_hex(8)
