"""Checkpoints: one self-describing dict, written atomically, loaded with ``weights_only=True``."""

from __future__ import annotations

import json
import os
import pickle
import platform
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mnist_helpers import __version__
from mnist_helpers.data import CLASS_NAMES, MNIST_MEAN, MNIST_STD
from mnist_helpers.errors import CheckpointError
from mnist_helpers.model import MnistCNN, prepare_for_device

FORMAT_VERSION = 1
TRAINING_ONLY_KEYS = ("optimizer_state", "scheduler_state", "rng_state", "history")
REQUIRED_KEYS = ("format_version", "model_state", "model_args", "normalization", "class_names")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shaped a checkpoint."""
    import torchvision

    return {
        "python": platform.python_version(),
        # str(): torch's version is a str subclass that weights_only loading refuses.
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "mnist_helpers": __version__,
    }


def make_checkpoint(
    model: MnistCNN,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    epoch: int = 0,
    metrics: Mapping[str, float] | None = None,
    history: list[dict[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    mean: float = MNIST_MEAN,
    std: float = MNIST_STD,
) -> dict[str, Any]:
    """Gather everything needed to rebuild, evaluate or resume ``model`` into one dict."""
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
        "optimizer_state": None if optimizer is None else optimizer.state_dict(),
        "scheduler_state": None if scheduler is None else scheduler.state_dict(),
        "rng_state": torch.get_rng_state(),
        "versions": library_versions(),
    }


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``checkpoint`` to ``path`` atomically: a temporary file in the same folder, renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates owner-only files; give the checkpoint the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(handle, "wb") as file:
            torch.save(dict(checkpoint), file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(
            temporary, path
        )  # atomic on POSIX and Windows: readers see old or new, never half
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint safely (no code from the file runs) and check that it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"No checkpoint at {path}. Train first (run notebooks/02_train.ipynb or `make run`), "
            "or pass the path of an existing .pt file."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for damaged files; all mean "unreadable"
        raise _load_error(path, error) from None
    return validate_checkpoint(checkpoint, path)


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
    first_line = text.splitlines()[0][:200] if text else ""
    return CheckpointError(
        f"{path} is not a readable PyTorch checkpoint; it may be truncated or not a .pt file "
        f"({type(error).__name__}: {first_line}). Re-run notebooks/02_train.ipynb to write a "
        "fresh one."
    )


def validate_checkpoint(checkpoint: Any, path: Path | str = "<checkpoint>") -> dict[str, Any]:
    """Check the structure of a loaded checkpoint; raise CheckpointError saying what is wrong."""
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
    return checkpoint


def model_from_checkpoint(
    checkpoint: Mapping[str, Any], device: torch.device | str = "cpu"
) -> MnistCNN:
    """Rebuild the model described by ``checkpoint`` and load its weights, in eval mode."""
    try:
        model = MnistCNN(**checkpoint["model_args"])
        model.load_state_dict(checkpoint["model_state"])
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(
            "The checkpoint's weights do not fit the model it describes "
            "(a different architecture?): "
            f"{str(error).splitlines()[0]}"
        ) from None
    return prepare_for_device(model, torch.device(device)).eval()


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


class CheckpointKeeper:
    """Epoch-end callback: writes ``last.pt`` every epoch, ``best.pt`` when validation accuracy
    improves, and the history as JSON, so an interrupted run loses at most the epoch in progress."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        model: MnistCNN,
        optimizer: torch.optim.Optimizer,
        *,
        scheduler: Any | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        history: list[dict[str, Any]] | None = None,
        best_val_acc: float = -1.0,
    ) -> None:
        self.folder = Path(folder)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.params, self.seed = dict(params or {}), seed
        self.history = list(history or [])
        self.best_val_acc = best_val_acc

    @property
    def best_path(self) -> Path:
        """Checkpoint with the best validation accuracy so far."""
        return self.folder / "best.pt"

    @property
    def last_path(self) -> Path:
        """Checkpoint of the latest finished epoch (for resuming)."""
        return self.folder / "last.pt"

    @property
    def history_path(self) -> Path:
        """History of all finished epochs, as JSON."""
        return self.folder.parent / "history.json"

    def __call__(self, record: dict[str, Any]) -> None:
        self.history.append(record)
        improved = record["val_acc"] > self.best_val_acc
        if improved:
            self.best_val_acc = record["val_acc"]
        metrics = {
            "val_acc": record["val_acc"],
            "val_loss": record["val_loss"],
            "best_val_acc": self.best_val_acc,
        }
        checkpoint = make_checkpoint(
            self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            epoch=record["epoch"],
            metrics=metrics,
            history=self.history,
            params=self.params,
            seed=self.seed,
        )
        save_checkpoint(checkpoint, self.last_path)
        if improved:
            save_checkpoint(checkpoint, self.best_path)
        write_json(self.history, self.history_path)


def write_json(data: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as indented JSON atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temporary, path)
    return path
