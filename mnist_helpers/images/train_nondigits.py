"""Teach the model what is not a digit: generated non-digit images for the training batches.

``training_mix`` swaps a share of each epoch's training images for non-digit images that keep
the swapped digit's label. Over the run a non-digit image therefore carries a label that has
nothing to do with it, as good as a random digit, and the best answer to a random digit is 1/10
for each: the model learns to spread its probabilities over all ten digits for whatever is not a
digit ("outlier exposure"). Training costs no extra time per epoch: the batches keep their size.

The non-digits here are drawn straight into MNIST's 28 x 28 framing by code of their own
(strokes, line groups, blobs, letters in fonts the evaluation set in ``nondigits`` never uses),
so a benchmark on ``nondigits`` measures images unlike those trained on.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from mnist_helpers.errors import ParameterError
from mnist_helpers.images.nondigit_shapes import COMPUTER_MODERN_FONTS, LETTERS
from mnist_helpers.images.typed_text import font, type_text

POOL_SIZE = 3000
# Fonts that the evaluation set (nondigits.FONT_FILES) does not use.
TRAINING_FONTS = (
    *COMPUTER_MODERN_FONTS,
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneralItalic.ttf",
)
TRAINING_CHARACTERS = LETTERS + "#%&@*+=?$<>"
SIDE, BOX = 28, 20


def _pixel_grid() -> torch.Tensor:
    """Pixel centres ``(784, 2)`` as (x, y) in the 28 x 28 frame."""
    ys, xs = torch.meshgrid(torch.arange(SIDE) + 0.5, torch.arange(SIDE) + 0.5, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], 1)


def _to_frame(points: torch.Tensor) -> torch.Tensor:
    """Scale point sets ``(N, K, 2)``: each one's longer side spans 20 pixels, centred."""
    low, high = points.amin(1, keepdim=True), points.amax(1, keepdim=True)
    span = (high - low).amax(2, keepdim=True).clamp_min(1e-3)
    return (points - (low + high) / 2) * (BOX / span) + SIDE / 2


def polylines(count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` random open strokes, 3 to 8 corners, 1.5 to 4 pixels wide: ``(count, 28, 28)``."""
    corners = int(torch.randint(3, 9, (), generator=generator))
    points = _to_frame(torch.rand(count, corners, 2, generator=generator))
    width = 1.5 + 2.5 * torch.rand(count, 1, generator=generator)
    start, end = points[:, :-1, None], points[:, 1:, None]  # (N, S, 1, 2)
    pixels = _pixel_grid()[None, None]  # (1, 1, 784, 2)
    along = end - start
    # Distance from every pixel to every segment, then to the nearest segment.
    t = (((pixels - start) * along).sum(-1) / (along**2).sum(-1).clamp_min(1e-6)).clamp(0, 1)
    nearest = start + t[..., None] * along
    distance = (pixels - nearest).norm(dim=-1).amin(1)  # (N, 784)
    ink = (width / 2 + 0.5 - distance).clamp(0, 1)  # one-pixel soft edge, like anti-aliasing
    return ink.view(count, SIDE, SIDE)


def line_groups(count: int, generator: torch.Generator) -> torch.Tensor:
    """Two to five parallel strokes (sometimes crossed by a second set): ``(count, 28, 28)``."""
    images = torch.zeros(count, SIDE, SIDE)
    lines = int(torch.randint(2, 6, (), generator=generator))
    angle = torch.rand(count, generator=generator) * torch.pi
    for turn in (0.0, torch.pi / 2):
        direction = torch.stack([torch.cos(angle + turn), torch.sin(angle + turn)], 1)
        normal = torch.stack([-direction[:, 1], direction[:, 0]], 1)
        offsets = torch.linspace(-8, 8, lines)
        pixels = _pixel_grid()[None] - SIDE / 2  # (1, 784, 2)
        across = (pixels[:, None] * normal[:, None, None]).sum(-1) - offsets[None, :, None]
        along = (pixels * direction[:, None]).sum(-1).abs()[:, None]  # (N, 1, 784)
        ink = ((1.6 - across.abs()).clamp(0, 1) * (along < 9).float()).amax(1)
        keep = torch.rand(count, 1, generator=generator) < (1.0 if turn == 0.0 else 0.4)
        images = torch.maximum(images, (ink * keep).view(count, SIDE, SIDE))
    return images


def blobs(count: int, generator: torch.Generator) -> torch.Tensor:
    """Filled ellipses and squares filling the 20-pixel box, as a dot or a smudge becomes."""
    pixels = _pixel_grid()[None] - SIDE / 2  # (1, 784, 2)
    axes = (BOX / 2) * (0.5 + 0.5 * torch.rand(count, 1, 2, generator=generator))
    axes[..., 0] = torch.where(axes[..., 0] >= axes[..., 1], BOX / 2, axes[..., 0])
    axes[..., 1] = torch.where(axes[..., 0] < BOX / 2, BOX / 2, axes[..., 1])
    ellipse = ((pixels / axes) ** 2).sum(-1) <= 1
    box = (pixels.abs() <= axes).all(-1)
    square = torch.rand(count, 1, generator=generator) < 0.3
    return torch.where(square, box, ellipse).float().view(count, SIDE, SIDE)


def glyphs(count: int, generator: torch.Generator) -> torch.Tensor:
    """Letters and symbols in TRAINING_FONTS, fitted into the 20-pixel box: ``(count, 28, 28)``."""
    rng = np.random.default_rng(int(torch.randint(2**31, (), generator=generator)))
    images = torch.zeros(count, SIDE, SIDE)
    for index in range(count):
        face = font(TRAINING_FONTS[int(rng.integers(len(TRAINING_FONTS)))], 40)
        char = TRAINING_CHARACTERS[int(rng.integers(len(TRAINING_CHARACTERS)))]
        typed = type_text(char, face, 64, at=(32, 32), anchor="mm")
        ink = torch.from_numpy(typed.astype(np.float32) / 255)
        rows, columns = ink.any(1).nonzero(), ink.any(0).nonzero()
        if len(rows) == 0:
            continue
        crop = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        scale = BOX / max(crop.shape)
        height, width = (max(1, round(s * scale)) for s in crop.shape)
        small = F.interpolate(crop[None, None], size=(height, width), mode="area")[0, 0]
        top, left = (SIDE - height) // 2, (SIDE - width) // 2
        images[index, top : top + height, left : left + width] = small / small.max()
    return images


def training_nondigits(
    count: int = POOL_SIZE, *, mean: float, std: float, seed: int = 0
) -> torch.Tensor:
    """``count`` non-digit images ``(count, 1, 28, 28)``, normalised with ``mean`` and ``std``."""
    if count < 4:
        raise ParameterError(f"count must be >= 4; got {count!r}")
    return ((_nondigit_ink(count, seed) - mean) / std)[:, None].float()


@lru_cache(maxsize=2)
def _nondigit_ink(count: int, seed: int) -> torch.Tensor:
    """The pool's ink in [0, 1], ``(count, 28, 28)``; kept, since runs in one process share it."""
    generator = torch.Generator().manual_seed(seed)
    shares = {polylines: 0.4, line_groups: 0.15, blobs: 0.15, glyphs: 0.3}
    parts = []
    for make, share in shares.items():
        wanted = max(1, round(count * share))
        # Polylines and line groups draw one corner/line count per call: several calls vary it.
        calls = 8 if make in (polylines, line_groups) else 1
        parts += [make(-(-wanted // calls), generator) for _ in range(calls)]
    return torch.cat(parts)[:count]
