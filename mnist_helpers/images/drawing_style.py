"""Turn MNIST digits into images that look like drawings or scans, to test preprocessing on them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mnist_helpers.errors import ParameterError

# The four ways a drawing reaches the model: ink on paper, light on dark, dark or light strokes on a
# transparent canvas (the canvas sends "transparent"). Every generated drawing uses these names.
STYLES = ("dark_on_light", "light_on_dark", "transparent", "transparent_light")


def digit_to_drawing(
    digit: torch.Tensor | np.ndarray,
    *,
    scale: float = 8.0,
    canvas_side: int = 280,
    offset: tuple[int, int] = (0, 0),
    thickness: int = 0,
    style: str = "dark_on_light",
) -> np.ndarray:
    """Render a 28 x 28 uint8 MNIST digit as a larger picture of a drawing.

    Args:
        scale: how much to enlarge the digit (5 to 10 mimics a canvas).
        offset: (down, right) pixels to move the digit away from the canvas centre.
        thickness: > 0 thickens strokes by that many pixels, < 0 thins them.
        style: ``"dark_on_light"`` (ink on paper, RGB uint8), ``"light_on_dark"`` (grey uint8),
            ``"transparent"`` (black strokes on a transparent canvas, RGBA uint8) or
            ``"transparent_light"`` (white strokes on a transparent canvas, RGBA uint8).
    """
    ink = torch.as_tensor(np.asarray(digit), dtype=torch.float32)[None, None] / 255.0
    side = max(1, round(28 * scale))
    big = F.interpolate(ink, size=(side, side), mode="bilinear", align_corners=False)
    if thickness > 0:
        big = F.max_pool2d(big, 2 * thickness + 1, stride=1, padding=thickness)
    elif thickness < 0:
        big = -F.max_pool2d(-big, 2 * -thickness + 1, stride=1, padding=-thickness)
    picture = big[0, 0].clamp(0, 1).numpy()
    canvas = np.zeros((canvas_side, canvas_side), dtype=np.float32)
    top = (canvas_side - side) // 2 + offset[0]
    left = (canvas_side - side) // 2 + offset[1]
    # Paste with clipping, so an offset near the edge crops the picture rather than failing.
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(side - src_top, canvas_side - dst_top)
    width = min(side - src_left, canvas_side - dst_left)
    if height > 0 and width > 0:
        canvas[dst_top : dst_top + height, dst_left : dst_left + width] = picture[
            src_top : src_top + height, src_left : src_left + width
        ]
    return ink_in_style((canvas * 255).round().astype(np.uint8), style)


def ink_in_style(ink: np.ndarray, style: str) -> np.ndarray:
    """An ink map (H, W) uint8, 255 = ink, as an image in one of STYLES."""
    if style == "light_on_dark":
        return ink
    if style == "dark_on_light":
        return np.repeat((255 - ink)[..., None], 3, axis=2)
    if style in ("transparent", "transparent_light"):
        rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
        rgba[..., :3] = 255 if style == "transparent_light" else 0
        rgba[..., 3] = ink  # strokes whose opacity is the ink
        return rgba
    raise ParameterError(f"style must be one of {STYLES}; got {style!r}")


def number_to_drawing(
    digits: Sequence[torch.Tensor | np.ndarray],
    *,
    canvas_side: int = 280,
    style: str = "transparent",
) -> np.ndarray:
    """Several MNIST digits written side by side on one canvas, as a number is drawn on it: each
    digit as wide as the canvas allows (at most half its side), on one line across the middle."""
    width = canvas_side // max(len(digits), 2)
    row = [digit_to_drawing(d, scale=width / 28, canvas_side=width, style=style) for d in digits]
    line = np.concatenate(row, axis=1)
    canvas = np.zeros((canvas_side, canvas_side, *line.shape[2:]), dtype=np.uint8)
    if style == "dark_on_light":
        canvas[:] = 255
    top, left = (canvas_side - width) // 2, (canvas_side - line.shape[1]) // 2
    canvas[top : top + width, left : left + line.shape[1]] = line
    return canvas


def random_drawing(digit: torch.Tensor | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One drawing-like version of an MNIST digit: enlarged 5-10 times, moved off centre, strokes
    thinner or thicker, in one of the four STYLES."""
    scale = rng.uniform(5, 10)
    return digit_to_drawing(
        digit,
        scale=scale,
        canvas_side=int(28 * scale) + 120,
        offset=(int(rng.integers(-50, 51)), int(rng.integers(-50, 51))),
        thickness=int(rng.choice([-2, 0, 0, 2, 4])),
        style=STYLES[int(rng.integers(len(STYLES)))],
    )
