"""Checkpoints: one self-describing dict, written atomically, loaded with ``weights_only=True``."""

from __future__ import annotations

import importlib.metadata
import math
import os
import pickle
import platform
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mnist_helpers import __version__
from mnist_helpers.data import CLASS_NAMES, MNIST_MEAN, MNIST_STD
from mnist_helpers.errors import CheckpointError, ParameterError
from mnist_helpers.model import MnistCNN, prepare_for_device
from mnist_helpers.support.atomic_files import atomic_write
from mnist_helpers.support.file_checks import regular_file_problem
from mnist_helpers.support.model_limits import check_checkpoint_model_args

if TYPE_CHECKING:  # only a type: checkpoint loading must not import the training code
    from mnist_helpers.train import EpochRecord

FORMAT_VERSION = 1
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
    with atomic_write(path, "wb") as file:
        torch.save(dict(checkpoint), file)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint safely (no code from the file runs) and check that it is one of ours."""
    path = Path(path)
    # Checked before any open(): a FIFO would block and /dev/zero would never end.
    problem = regular_file_problem(path)
    if problem == "no such file":
        raise CheckpointError(
            f"No checkpoint at {path}. Train first (run notebooks/02_train.ipynb or `make run`), "
            "or pass the path of an existing .pt file."
        )
    if problem is not None:
        raise CheckpointError(
            f"{path} {problem}; pass the path of a .pt checkpoint file{_inside(path)}."
        )
    with open(path, "rb") as file:
        head = file.read(16)
    if not head:
        raise CheckpointError(
            f"{path} is empty (0 bytes): a save or copy was cut short. Re-run "
            "notebooks/02_train.ipynb, or copy the file again."
        )
    if _looks_like_onnx(path, head):
        raise CheckpointError(
            f"{path} looks like an ONNX model (the file `export` writes), not a PyTorch "
            "checkpoint. predict and export read the .pt checkpoint written by training "
            "(artifacts/checkpoints/best.pt); run the .onnx file with onnxruntime instead."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for damaged files; all mean "unreadable"
        raise _load_error(path, error) from None
    return validate_checkpoint(checkpoint, path)


def _inside(folder: Path) -> str:
    """A hint naming a checkpoint inside ``folder``, when it holds one."""
    for candidate in (folder / "best.pt", folder / "checkpoints" / "best.pt"):
        if candidate.is_file():
            return f" such as {candidate}"
    return ""


def _looks_like_onnx(path: Path, head: bytes) -> bool:
    """True for an ONNX protobuf: torch checkpoints are zip files (or old-style pickles)."""
    if head.startswith(b"PK") or head.startswith(b"\x80"):
        return False
    if path.suffix.lower() == ".onnx":
        return True
    # An ONNX ModelProto starts with field 1 (ir_version, a small varint), then a string field
    # such as producer_name (field 2) or the graph (field 7).
    return len(head) >= 3 and head[0] == 0x08 and head[1] < 0x80 and head[2] in (0x12, 0x1A, 0x3A)


def _load_error(path: Path, error: Exception) -> CheckpointError:
    """Explain why ``torch.load(weights_only=True)`` refused ``path``."""
    text = str(error)
    # torch words this differently across releases; all name the refused global.
    markers = ("unsupported global", "blocked", "not an allowed global")
    code_lines = [
        line.strip() for line in text.splitlines() if any(m in line.lower() for m in markers)
    ]
    if isinstance(error, pickle.UnpicklingError) and code_lines:
        reason = code_lines[0]
        return CheckpointError(
            f"{path} was refused: it holds Python objects that would run code when loaded "
            f"({reason[:200]}). Only load checkpoints you trust, and re-save this one "
            "with mnist_helpers.checkpoint.save_checkpoint."
        )
    # torch's own first line advises weights_only=False, which would run any code in the file;
    # quote only the reason the unpickler gives.
    _, _, after = text.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in (after or text).splitlines() if line.strip()]
    lines = [line for line in lines if "weights_only" not in line]
    detail = f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
    return CheckpointError(
        f"{path} is not a readable PyTorch checkpoint; it may be truncated or not a .pt file "
        f"({detail}). Re-run notebooks/02_train.ipynb to write a fresh one."
    )


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
        and math.isfinite(norm["mean"])
        and math.isfinite(norm["std"])
        and norm["std"] > 0
    ):
        raise CheckpointError(
            f"{path} is damaged: normalization must hold a finite mean and a positive std; "
            f"got {norm!r}."
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
