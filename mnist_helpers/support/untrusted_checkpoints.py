"""Reading a checkpoint file as untrusted input: nothing in it runs, nothing in it fills memory.

``read_untrusted_checkpoint`` refuses what is not a regular file, an ONNX file, a zip whose
entries are compressed or too large, and pickles that would run code (``weights_only=True``),
each with a message that says what the file is. ``check_checkpoint_model_args`` refuses a model
too large to build before any layer is allocated. The recipes use widths up to 128 and about 0.1
million parameters; the limits leave a wide margin.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mnist_helpers.errors import CheckpointError, ParameterError
from mnist_helpers.model import MnistCNN, check_model_args, count_parameters
from mnist_helpers.support.file_checks import regular_file_problem

MAX_CONV_WIDTH = 1024
MAX_HIDDEN_UNITS = 8192
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights
# torch.save stores a checkpoint's entries uncompressed; a compressed entry could expand far
# beyond the file's size (a "zip bomb"), so none is read. The largest model the limits allow,
# with Adam's two moment tensors, needs about this much.
MAX_CHECKPOINT_BYTES = 3 * 4 * MAX_PARAMETERS + 16 * 2**20


def parameters_for(config: Mapping[str, Any]) -> int:
    """Trainable parameters of the model ``config`` describes, built on the meta device.

    A meta-device model has shapes but no storage: counting costs milliseconds and no memory.
    """
    with torch.device("meta"):
        return count_parameters(MnistCNN(**config))


def check_checkpoint_model_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """``check_model_args`` plus the size limits, for arguments read from a checkpoint.

    Raises ParameterError before anything is allocated.
    """
    config = check_model_args(args)
    if max(config["conv_channels"]) > MAX_CONV_WIDTH:
        raise ParameterError(
            f"conv_channels must hold widths from 1 to {MAX_CONV_WIDTH}; "
            f"got {config['conv_channels']}"
        )
    if config["hidden_units"] > MAX_HIDDEN_UNITS:
        raise ParameterError(
            f"hidden_units must be an integer from 1 to {MAX_HIDDEN_UNITS:,}; "
            f"got {config['hidden_units']}"
        )
    count = parameters_for(config)
    if count > MAX_PARAMETERS:
        raise ParameterError(
            f"these model arguments describe {count:,} parameters, more than the limit of "
            f"{MAX_PARAMETERS:,}; use narrower layers or more conv blocks"
        )
    return config


def read_untrusted_checkpoint(path: str | os.PathLike[str]) -> Any:
    """``torch.load(path, weights_only=True)`` after the checks above; CheckpointError if not."""
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
    unsafe = _zip_problem(path)
    if unsafe is not None:
        raise CheckpointError(
            f"{path} was refused: it {unsafe}. Use a checkpoint written by this project's "
            "training (save_checkpoint)."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for damaged files; all mean "unreadable"
        raise _load_error(path, error) from None
    return checkpoint


def _zip_problem(path: Path) -> str | None:
    """What makes a zip checkpoint unsafe to load (a compressed or oversized entry), if anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # not a readable zip: torch.load explains what it is
    if any(entry.compress_type != zipfile.ZIP_STORED for entry in entries):
        return "holds compressed entries, which torch.save never writes"
    total = sum(entry.file_size for entry in entries)
    if total > MAX_CHECKPOINT_BYTES:
        return (
            f"would expand to {total:,} bytes, more than the largest model allowed needs "
            f"({MAX_CHECKPOINT_BYTES:,})"
        )
    return None


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
