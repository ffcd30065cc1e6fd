"""ONNX export: the trained model as one self-describing ``.onnx`` file, checked against PyTorch.

onnx, onnxscript and onnxruntime are the optional ``export`` extra, so they are imported inside the
functions that need them; without them a MissingExtraError says how to install them.
"""

from __future__ import annotations

import importlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from mnist_helpers import __version__
from mnist_helpers.checkpoint import load_checkpoint, model_from_checkpoint, validate_checkpoint
from mnist_helpers.data import load_mnist, normalize_images
from mnist_helpers.errors import ExportError, MissingExtraError, ParameterError
from mnist_helpers.model import IMAGE_SIDE, MnistCNN
from mnist_helpers.support.atomic_files import atomic_write, temp_path_for

EXPORT_MODULES = ("onnx", "onnxscript", "onnxruntime")
INSTALL_HINT = 'pip install -e ".[export]"'
INPUT_NAME = "images"
OUTPUT_NAME = "logits"
LOGITS_TOLERANCE = 1e-4
VERIFY_BATCH_SIZE = 500
REQUIRED_METADATA = ("normalization_mean", "normalization_std", "class_names")

Checkpoint = Mapping[str, Any] | str | os.PathLike[str]


def require_export_extra(modules: tuple[str, ...] = EXPORT_MODULES) -> dict[str, ModuleType]:
    """Import ``modules`` of the ``export`` extra; raise MissingExtraError naming those missing."""
    found, missing = {}, []
    for name in modules:
        try:
            found[name] = importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingExtraError(
            f"ONNX export needs the optional packages {', '.join(EXPORT_MODULES)} "
            f"(missing: {', '.join(missing)}). Install them with: {INSTALL_HINT}"
        )
    return found


def _as_checkpoint(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint dict from a path (loaded safely) or from a dict already in memory."""
    if isinstance(checkpoint, Mapping):
        return validate_checkpoint(dict(checkpoint))
    return load_checkpoint(checkpoint)


def onnx_metadata(checkpoint: Mapping[str, Any]) -> dict[str, str]:
    """The metadata_props written into the ONNX file: how to prepare inputs and read outputs."""
    norm = checkpoint["normalization"]
    return {
        "normalization_mean": repr(float(norm["mean"])),
        "normalization_std": repr(float(norm["std"])),
        "class_names": json.dumps(list(checkpoint["class_names"])),
        "model_args": json.dumps(checkpoint["model_args"]),
        "input": f"{INPUT_NAME}: float32 (N, 1, {IMAGE_SIDE}, {IMAGE_SIDE}), white digit on black, "
        "pixels / 255 then (x - normalization_mean) / normalization_std",
        "output": f"{OUTPUT_NAME}: float32 (N, {len(checkpoint['class_names'])}) raw scores in "
        "class_names order; softmax gives probabilities",
        "mnist_helpers_version": __version__,
    }


def read_onnx_metadata(onnx_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Normalisation, class names and model arguments stored in an exported ``.onnx`` file."""
    onnx = require_export_extra(("onnx",))["onnx"]
    props = {
        p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props
    }
    missing = [key for key in REQUIRED_METADATA if key not in props]
    if missing:
        raise ExportError(f"{onnx_path} was not exported by mnist_helpers: no metadata {missing}")
    return {
        "normalization": {
            "mean": float(props["normalization_mean"]),
            "std": float(props["normalization_std"]),
        },
        "class_names": json.loads(props["class_names"]),
        "model_args": json.loads(props.get("model_args", "null")),
    }


def _model_for_export(checkpoint: Mapping[str, Any]) -> MnistCNN:
    # model_from_checkpoint gives channels_last weights (faster at runtime); ONNX graphs are NCHW,
    # so export from the plain layout to keep layout conversions out of the traced graph.
    return model_from_checkpoint(checkpoint, "cpu").to(memory_format=torch.contiguous_format)


def _same_file(first: Path, second: Path) -> bool:
    """True when two paths name one file (through symlinks, ``..`` or hard links)."""
    try:
        if first.resolve() == second.resolve():
            return True
        return os.path.samefile(first, second)
    except (OSError, RuntimeError):  # one does not exist, or is a symlink loop (RuntimeError)
        return False


def refuse_overwriting_input(
    checkpoint_path: str | os.PathLike[str], onnx_path: str | os.PathLike[str]
) -> None:
    """Raise ParameterError when ``onnx_path`` names the checkpoint file being exported."""
    if _same_file(Path(onnx_path), Path(checkpoint_path)):
        raise ParameterError(
            f"--onnx {onnx_path} is the checkpoint being exported ({checkpoint_path}); writing "
            "there would replace it. Choose another output, such as "
            "artifacts/model/mnist_cnn.onnx"
        )


def export_onnx(
    checkpoint: Checkpoint,
    onnx_path: str | os.PathLike[str],
    images: torch.Tensor | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Export the model of ``checkpoint`` (a path or a dict) to ``onnx_path``, verified first.

    Input ``images`` is ``(N, 1, 28, 28)`` float32 normalised, output ``logits`` is ``(N, 10)``;
    N is dynamic. The new file is written under a temporary name beside ``onnx_path`` and checked
    with ``verify_onnx`` on ``images`` (None: the 10,000 test images); only a file that passes
    replaces ``onnx_path``. So a failed check, an error or a kill at any moment leaves the previous
    file as it was. Returns the path and the check's report; ExportError when the check fails.
    """
    if not isinstance(checkpoint, Mapping):
        refuse_overwriting_input(checkpoint, onnx_path)
    if not str(onnx_path).strip():
        raise ParameterError("the ONNX path is empty; pass a file name such as model.onnx")
    require_export_extra()  # all three up front: no file is written that cannot be verified
    checkpoint = _as_checkpoint(checkpoint)
    target = Path(onnx_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temp_path_for(target)
    try:
        _save(_onnx_program(checkpoint), temporary)
        report = verify_onnx(temporary, checkpoint, images)
        if not report["passed"]:
            if not report["finite"]:
                raise ExportError(
                    f"the model gives logits that are not finite numbers (NaN or infinity); "
                    f"{target} was not written, and the previous file, if any, is kept"
                )
            raise ExportError(
                f"onnxruntime disagrees with PyTorch (max abs logit difference "
                f"{report['max_abs_diff']:.2e}, classes agree on {report['num_agree']:,} of "
                f"{report['num_images']:,} images); {target} was not written, and the previous "
                "file, if any, is kept"
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target, report


def _onnx_program(checkpoint: Mapping[str, Any]) -> Any:
    """The model of ``checkpoint`` traced to an ONNX program with its metadata."""
    model = _model_for_export(checkpoint)
    # A batch of 2, not 1: the exporter may treat a size-1 dimension as the constant 1.
    example = torch.zeros(2, 1, IMAGE_SIDE, IMAGE_SIDE)
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
        verbose=False,
    )
    if program is None:  # only the old TorchScript exporter returns None
        raise ExportError("torch.onnx.export returned no ONNX program; upgrade torch")
    program.model.metadata_props.update(onnx_metadata(checkpoint))
    return program


def _save(program: Any, path: Path) -> None:
    """Save an ``ONNXProgram`` to ``path`` through the project's one atomic writer."""
    with atomic_write(path, "wb") as file:
        # ONNXProgram.save takes a path, not a file object: it writes the temporary file that
        # atomic_write has opened, which is then synced and renamed into place.
        program.save(file.name, external_data=False)  # weights inside: one self-contained file


def verify_onnx(
    onnx_path: str | os.PathLike[str],
    checkpoint: Checkpoint,
    images: torch.Tensor | None = None,
    *,
    tolerance: float = LOGITS_TOLERANCE,
) -> dict[str, Any]:
    """Run onnxruntime and PyTorch on the same ``images`` and compare their logits and classes.

    Args:
        images: normalised ``(N, 1, 28, 28)`` float32; None means all 10,000 MNIST test images,
            normalised with the checkpoint's mean and std.

    Returns:
        ``max_abs_diff``, ``classes_agree``, ``num_agree``, ``num_images``, ``tolerance``,
        ``finite`` (no NaN or infinity in either runtime's logits) and ``passed`` (finite, logits
        within ``tolerance`` and every predicted class identical).
    """
    ort = require_export_extra(("onnxruntime",))["onnxruntime"]
    checkpoint = _as_checkpoint(checkpoint)
    if images is None:
        norm = checkpoint["normalization"]
        images = normalize_images(load_mnist(train=False).images, norm["mean"], norm["std"])
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[1:] != (1, IMAGE_SIDE, IMAGE_SIDE) or shape[0] == 0:
        raise ParameterError(
            f"verify_onnx needs normalised images of shape (N, 1, 28, 28), N >= 1; got {shape}"
        )
    model = model_from_checkpoint(checkpoint, "cpu")  # as PyTorch users run it: channels_last
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # share the CPU the way torch does
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    max_abs_diff, num_agree, finite = 0.0, 0, True
    for start in range(0, len(images), VERIFY_BATCH_SIZE):
        batch = images[start : start + VERIFY_BATCH_SIZE].to("cpu", torch.float32).contiguous()
        with torch.no_grad():
            expected = model(batch)  # (B, 10)
        (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})
        logits = torch.from_numpy(logits)
        if not (torch.isfinite(logits).all() and torch.isfinite(expected).all()):
            finite = False  # NaN compares as neither larger nor smaller: never "close enough"
        max_abs_diff = max(max_abs_diff, (logits - expected).abs().max().item())
        num_agree += (logits.argmax(1) == expected.argmax(1)).sum().item()
    num_images = len(images)
    if not finite:
        max_abs_diff = math.nan
    return {
        "max_abs_diff": max_abs_diff,
        "classes_agree": num_agree == num_images,
        "num_agree": num_agree,
        "num_images": num_images,
        "tolerance": tolerance,
        "finite": finite,
        "passed": finite and max_abs_diff <= tolerance and num_agree == num_images,
    }
