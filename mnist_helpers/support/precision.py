"""Two small helpers the training and evaluation loops share: memory layout and mixed precision."""

from __future__ import annotations

import torch


def channels_last(images: torch.Tensor) -> torch.Tensor:
    """``images`` (N, C, H, W) stored channels-last, the layout convolutions run fastest in."""
    return images.contiguous(memory_format=torch.channels_last)


def autocast_context(
    device: torch.device, dtype: torch.dtype | None, *, cache: bool = True
) -> torch.autocast:
    """Mixed precision in ``dtype`` on ``device``, or a no-op when ``dtype`` is None (float32).

    ``cache=False`` keeps no cast weights between calls, which a CUDA graph's recording needs.
    """
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None, cache_enabled=cache)
