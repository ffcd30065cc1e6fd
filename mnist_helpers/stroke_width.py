"""Vary the stroke width of training digits, so that bold and thin drawings look familiar."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnist_helpers.errors import ParameterError

# Shares of each epoch's images drawn one pixel bolder and one pixel thinner (3 x 3 dilation and
# erosion in the 28 x 28 frame); the rest keep their width.
BOLDER_SHARE = 0.2
THINNER_SHARE = 0.1


def random_stroke_width(
    images: torch.Tensor,
    *,
    background: float,
    bolder: float = BOLDER_SHARE,
    thinner: float = THINNER_SHARE,
) -> torch.Tensor:
    """Dilate a random ``bolder`` share and erode a ``thinner`` share of ``(N, 1, 28, 28)`` images.

    ``background`` is the normalised value of a black pixel. An erosion that would leave almost
    nothing (a thin 1) keeps the image as it was.
    """
    if bolder < 0 or thinner < 0 or bolder + thinner > 1:
        raise ParameterError(f"bolder and thinner must be >= 0 with a sum <= 1; got {bolder}, {thinner}")
    ink = images - background  # >= 0, zero where there is no ink
    bold = F.max_pool2d(ink, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-ink, 3, stride=1, padding=1)
    # Erosion must keep at least a third of the ink, or it would erase the digit.
    thin_ok = thin.sum((1, 2, 3)) >= ink.sum((1, 2, 3)) / 3
    draw = torch.rand(len(images), device=images.device)
    choose_bold = (draw < bolder).view(-1, 1, 1, 1)
    choose_thin = ((draw >= bolder) & (draw < bolder + thinner) & thin_ok).view(-1, 1, 1, 1)
    out = torch.where(choose_bold, bold, torch.where(choose_thin, thin, ink))
    return out + background
