"""Make any digit image look like an MNIST digit: one preprocessing for widget, files and arrays.

MNIST digits are white on black, fitted into a 20 x 20 box keeping their aspect ratio
(anti-aliased), then placed in a 28 x 28 frame with their centre of mass in the middle. A drawing
is only read well once it goes through the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mnist_helpers.data import MNIST_MEAN, MNIST_STD
from mnist_helpers.errors import BlankImageError
from mnist_helpers.images.image_files import ImageInput, to_float_array
from mnist_helpers.images.paper import grey_of, photo_ink

BOX_SIDE = 20
FRAME_SIDE = 28
# Ink weaker than this (after contrast stretching) counts as background noise.
INK_THRESHOLD = 0.2
# MNIST strokes are about 2 to 3 pixels wide in the 20-pixel box (median 2.4, 99 % under 4.1):
# thinner ones are thickened; bolder ones (a heavy font, a felt pen) are thinned to TARGET, since
# with strokes that wide the holes of 6, 8 and 9 close up and the digit reads as a blob.
MIN_STROKE_IN_BOX = 2.0
MAX_STROKE_IN_BOX = 4.0
TARGET_STROKE_IN_BOX = 3.0
# A drawing whose ink covers less than this share of the image, or is this faint, is blank...
MIN_INK_FRACTION = 0.0005
MIN_CONTRAST = 0.08
# ...unless that little ink is a digit small in a large image (a pen digit in a photo): at least
# 8 pixels tall or wide, enough pixels, and dense in its own bounding box, unlike specks of noise
# scattered over the whole image.
MIN_SMALL_DIGIT_SIDE = 8
MIN_SMALL_DIGIT_PIXELS = 20
MIN_SMALL_DIGIT_DENSITY = 0.01
# Said for files and arrays as for the canvas (which words it its own way).
BLANK_MESSAGE = (
    "the image is blank: no digit found (draw one, or photograph it closer or with darker ink)"
)


@dataclass
class PreprocessSteps:
    """Every stage of preprocessing, for teaching and debugging (arrays in [0, 1], ink = 1)."""

    ink: np.ndarray  # (H, W) ink strength of the whole input
    crop: np.ndarray  # the ink's bounding box
    resized: np.ndarray  # longer side 20 pixels
    centered: np.ndarray  # (28, 28) centred by centre of mass: what the model sees
    tensor: torch.Tensor  # (1, 1, 28, 28) normalised


def _border(values: np.ndarray) -> np.ndarray:
    return np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])


def ink_map(pixels: np.ndarray) -> np.ndarray:
    """Ink strength in [0, 1] per pixel: alpha for strokes on a transparent canvas, otherwise the
    grey level, inverted when the background (the border) is lighter than the strokes."""
    if pixels.ndim == 3:
        channels = pixels.shape[2]
        colour, alpha = (
            (pixels[..., :-1], pixels[..., -1]) if channels in (2, 4) else (pixels, None)
        )
        if alpha is not None and float(alpha.min()) < 0.98:
            # Transparent background: the alpha channel is the drawing, whatever the stroke colour.
            return _stretch(alpha * 1.0)
    else:
        colour = pixels
    # A photo or scan: find the paper first (light, shadows, lines; see images/paper.py).
    found = photo_ink(colour)
    if found is not None:
        return found
    # A drawing: the background is what fills the border; ink is whatever differs from it.
    grey = grey_of(colour).astype(np.float32)
    return _stretch(1.0 - grey if np.median(_border(grey)) > 0.5 else grey)


def _stretch(ink: np.ndarray) -> np.ndarray:
    """Map the background level to 0 and the strongest ink to 1."""
    background = float(np.median(_border(ink)))
    peak = float(ink.max())
    if peak - background < MIN_CONTRAST:
        return np.zeros_like(ink, dtype=np.float32)
    stretched = np.clip((ink - background) / (peak - background), 0.0, 1.0)
    stretched[stretched < INK_THRESHOLD] = 0.0
    return stretched.astype(np.float32)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    tensor = torch.from_numpy(np.ascontiguousarray(image))[None, None]
    resized = F.interpolate(tensor, size=(height, width), mode="bilinear", antialias=True)
    return resized[0, 0].clamp(0, 1).numpy()


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the inked area over the count of edge pixels
    (a stroke of width w and length L has area w * L and about 2 * L edge pixels)."""
    # Zero padding: ink touching the array's edge (a crop) has an edge there too.
    mask = torch.from_numpy(np.pad(ink > 0.5, 1))[None, None].float()
    if mask.sum() == 0:
        return 0.0
    interior = -F.max_pool2d(-mask, 3, stride=1, padding=1)  # erosion by one pixel
    edge = (mask - interior).sum().item()
    return 2.0 * mask.sum().item() / max(edge, 1.0)


def _thicken(crop: np.ndarray, radius: int) -> np.ndarray:
    """Dilate by a (2 radius + 1)-square, as ``radius`` dilations by a 3-square (far cheaper)."""
    thick = torch.from_numpy(np.pad(crop, radius))[None, None]
    for _ in range(radius):
        thick = F.max_pool2d(thick, 3, stride=1, padding=1)
    return thick[0, 0].numpy()


def _thin(crop: np.ndarray, radius: int) -> np.ndarray:
    """Erode by a (2 radius + 1)-square and crop to the ink left; unchanged if little is left."""
    # Zero padding first, so the crop's own edges erode like any other stroke edge; r erosions by
    # a 3-square give the same result as one by the large square in far fewer steps.
    thin = -torch.from_numpy(np.pad(crop, radius))[None, None]
    for _ in range(radius):
        thin = F.max_pool2d(thin, 3, stride=1, padding=1)
    thinned = -thin[0, 0].numpy()
    inked = thinned > 0
    # Keep the original when erosion would wipe out the drawing (a blob with no strokes).
    if inked.sum() < 0.1 * (crop > 0).sum():
        return crop
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return thinned[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def _fit_stroke_width(crop: np.ndarray) -> np.ndarray:
    """Thicken strokes thinner than MNIST's and thin bolder ones (widths in the 20-pixel box)."""
    pixels_per_box_pixel = max(crop.shape) / BOX_SIDE
    width = stroke_width(crop)  # in crop pixels
    missing = MIN_STROKE_IN_BOX * pixels_per_box_pixel - width
    if missing > 0:
        radius = int(np.ceil(missing / 2))
        return _thicken(crop, radius) if radius >= 1 else crop
    if width > MAX_STROKE_IN_BOX * pixels_per_box_pixel:
        # Never more than half the shorter side: beyond that erosion leaves nothing anyway.
        radius = int((width - TARGET_STROKE_IN_BOX * pixels_per_box_pixel) / 2)
        radius = min(radius, min(crop.shape) // 2)
        return _thin(crop, radius) if radius >= 1 else crop
    return crop


def _center_by_mass(patch: np.ndarray) -> np.ndarray:
    frame = np.zeros((FRAME_SIDE, FRAME_SIDE), dtype=np.float32)
    rows, columns = np.indices(patch.shape)
    mass = patch.sum()
    # Centre of mass in pixel-centre coordinates; the frame's middle is 14.0.
    center_row = float((rows + 0.5).ravel() @ patch.ravel()) / mass
    center_col = float((columns + 0.5).ravel() @ patch.ravel()) / mass
    top = int(round(FRAME_SIDE / 2 - center_row))
    left = int(round(FRAME_SIDE / 2 - center_col))
    # Keep the whole digit inside the frame even when its mass is far off its middle.
    top = min(max(top, 0), FRAME_SIDE - patch.shape[0])
    left = min(max(left, 0), FRAME_SIDE - patch.shape[1])
    frame[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return frame


def _is_small_digit(crop: np.ndarray) -> bool:
    """Whether the ink's bounding box holds enough, dense enough ink to be a small digit."""
    inked = int((crop > 0).sum())
    return (
        max(crop.shape) >= MIN_SMALL_DIGIT_SIDE
        and inked >= MIN_SMALL_DIGIT_PIXELS
        and inked / crop.size >= MIN_SMALL_DIGIT_DENSITY
    )


def preprocess_steps(
    image: ImageInput, *, mean: float = MNIST_MEAN, std: float = MNIST_STD
) -> PreprocessSteps:
    """Run every preprocessing stage on ``image`` and keep each result.

    Raises BlankImageError when there is no digit to read, ImageInputError for unreadable input.
    """
    return frame_ink(ink_map(to_float_array(image)), mean=mean, std=std)


def frame_ink(
    ink: np.ndarray, *, mean: float = MNIST_MEAN, std: float = MNIST_STD
) -> PreprocessSteps:
    """Frame an ink map (ink = 1, as ``ink_map`` gives) like an MNIST digit: crop, stroke width,
    longer side 20, centre of mass in a 28 x 28 frame. Raises BlankImageError without a digit."""
    inked = ink > 0
    if inked.sum() < 2:
        raise BlankImageError(BLANK_MESSAGE)
    rows = np.flatnonzero(inked.any(axis=1))
    columns = np.flatnonzero(inked.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    if inked.mean() < MIN_INK_FRACTION and not _is_small_digit(crop):
        raise BlankImageError(BLANK_MESSAGE)
    crop = _fit_stroke_width(crop)
    height, width = crop.shape
    scale = BOX_SIDE / max(height, width)
    new_height = max(1, min(BOX_SIDE, round(height * scale)))
    new_width = max(1, min(BOX_SIDE, round(width * scale)))
    resized = _resize(crop, new_height, new_width)
    if resized.max() <= 0:
        raise BlankImageError(BLANK_MESSAGE)
    # Strong ink, as in MNIST, even when downscaling spread thin strokes into grey.
    resized = resized / resized.max()
    centered = _center_by_mass(resized)
    tensor = ((torch.from_numpy(centered) - mean) / std)[None, None]  # (1, 1, 28, 28)
    return PreprocessSteps(ink, crop, resized, centered, tensor.float())


def preprocess_image(
    image: ImageInput, *, mean: float = MNIST_MEAN, std: float = MNIST_STD
) -> torch.Tensor:
    """Any digit image (path, PIL, array, canvas RGBA) to a normalised ``(1, 1, 28, 28)`` tensor."""
    return preprocess_steps(image, mean=mean, std=std).tensor
