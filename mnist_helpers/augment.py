"""Light augmentation on whole batches on the device: small random rotation, scale and shift."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from mnist_helpers.data import MNIST_MEAN, MNIST_STD


def random_affine(
    images: torch.Tensor,
    *,
    degrees: float = 10.0,
    scale: float = 0.1,
    shift_pixels: float = 2.0,
    background: float | None = None,
) -> torch.Tensor:
    """Apply one random affine transform per image of ``(N, 1, 28, 28)`` normalised images.

    ``background`` is the normalised value of a black pixel; it fills the area moved into view.
    """
    num, _, height, width = images.shape
    device = images.device
    angle = (torch.rand(num, device=device) * 2 - 1) * math.radians(degrees)
    zoom = 1 + (torch.rand(num, device=device) * 2 - 1) * scale
    # affine_grid works in [-1, 1] coordinates: one pixel is 2 / side.
    shift = (torch.rand(num, 2, device=device) * 2 - 1) * shift_pixels * 2 / width
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # (N, 2, 3)
    grid = affine_grid(theta, height, width)
    fill = images.amin() if background is None else background
    # Shift to zero background so that grid_sample's zero padding means "no ink".
    moved = F.grid_sample(images - fill, grid, mode="bilinear", align_corners=False)
    return moved + fill


def affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The ``grid_sample`` grid ``(N, H, W, 2)`` of affine maps ``theta`` ``(N, 2, 3)``.

    The same grid as ``F.affine_grid(theta, size, align_corners=False)``, by broadcasting instead
    of its batched product with tiny matrices, which on a CPU costs several times the sampling.
    """
    # Pixel centres in [-1, 1] coordinates (align_corners=False).
    xs = (torch.arange(width, device=theta.device, dtype=theta.dtype) * 2 + 1) / width - 1
    ys = (torch.arange(height, device=theta.device, dtype=theta.dtype) * 2 + 1) / height - 1
    coefficients = theta[:, :, :, None, None]  # (N, 2, 3, 1, 1)
    grid = (
        coefficients[:, :, 0] * xs.view(1, 1, 1, width)
        + coefficients[:, :, 1] * ys.view(1, 1, height, 1)
        + coefficients[:, :, 2]
    )  # (N, 2, H, W): x and y source coordinates
    return grid.permute(0, 2, 3, 1)


def training_augmentation(
    mean: float = MNIST_MEAN, std: float = MNIST_STD
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``random_affine`` as a ``TensorBatches`` augmentation ``(images, labels) -> images`` for
    images normalised with ``mean`` and ``std``: borders stay black, labels are not needed."""
    # Black (pixel 0) in normalised units, so the area moved into view is background, not ink.
    background = (0.0 - mean) / std

    def move(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return random_affine(images, background=background)

    return move
