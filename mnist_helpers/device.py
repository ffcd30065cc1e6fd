"""Choosing a device and seeding the random number generators, both called explicitly."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from mnist_helpers.errors import ParameterError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
PRECISION_CHOICES = ("auto", "fp32", "bf16")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(requested: str = "auto") -> torch.device:
    """Return the device to use: ``auto`` picks CUDA, then Apple MPS, then CPU.

    A named device that this machine lacks raises ParameterError instead of failing later.
    """
    if not isinstance(requested, str):
        raise ParameterError(f"device must be a string, one of {DEVICE_CHOICES}; got {requested!r}")
    name = requested.strip().lower()
    if name == "auto":
        # torch.accelerator only exists on recent torch; the explicit checks below work everywhere.
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ParameterError(
            f"device={requested!r} is not a device name; use one of {DEVICE_CHOICES}"
        ) from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available()
        and (device.index is None or device.index < torch.cuda.device_count()),
        "mps": _mps_available(),
    }.get(device.type, False)
    if not available:
        raise ParameterError(
            f"device={requested!r} is not available on this machine; "
            f"use 'auto' or 'cpu' (allowed: {DEVICE_CHOICES})"
        )
    return device


def set_seed(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch; ``deterministic`` also asks CUDA for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this workspace setting for deterministic matmuls; it costs some speed.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX), as Linux reports them.

    Elsewhere (macOS, Windows) this answers False, and training stays in float32.
    """
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set(cpuinfo.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The mixed-precision dtype for ``precision`` on ``device``; None means plain float32.

    ``auto`` picks bf16 autocast only where it was measured faster: on CPUs with bfloat16
    instructions (about 1.3x per epoch on the 2-core AVX-512 machine in the README, with the same
    accuracy). It stays float32 on CPUs without them (several times slower in bf16), on
    CUDA (on an H200 bf16 made this small network's epochs slower: launches, not arithmetic, bound
    them) and on MPS. ``fp32`` and ``bf16`` choose explicitly.
    """
    if precision not in PRECISION_CHOICES:
        raise ParameterError(f"precision must be one of {PRECISION_CHOICES}; got {precision!r}")
    if precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ParameterError(
            f"precision='bf16' needs a GPU with bfloat16 support; {device} has none. "
            "Use precision='fp32'."
        )
    if device.type not in ("cpu", "cuda"):
        raise ParameterError(
            f"precision='bf16' is offered on CPU and CUDA, not on {device.type}; use 'fp32'."
        )
    return torch.bfloat16


def precision_label(dtype: torch.dtype | None) -> str:
    """How ``autocast_dtype``'s answer reads in logs and reports: ``fp32`` or ``bf16 autocast``."""
    if dtype is None:
        return "fp32"
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, str(dtype)) + " autocast"
