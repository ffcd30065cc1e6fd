"""Photo-like images of handwritten digits and numbers, generated in code.

A digit (an MNIST image, so real handwriting) becomes pen ink on paper, then goes through what a
phone does to it: paper texture, light that falls off across the sheet, a soft shadow, ruled lines,
a coloured pen, a slight perspective, blur, JPEG. Each ``CONDITIONS`` entry turns one of these up;
every photo also has the mild ones (texture, noise, a little blur and JPEG). 04 shows one, the
tests read them through the command line, and ``benchmarks/photos.py`` measures them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from mnist_helpers.errors import ParameterError

CONDITIONS = (
    "plain",  # even light, black pen
    "gradient",  # light falling off across the sheet
    "shadow",  # a soft shadow over part of the digit
    "half_shade",  # half the sheet in shade, the edge across the digit
    "ruled",  # ruled or squared paper
    "colour_pen",  # a blue, red or green pen
    "perspective",  # the phone held at an angle, and a little more blur
    "small",  # a small digit in a large photo
    "low_resolution",  # a digit 10 to 20 pixels tall
    "marker",  # a broad felt pen
    "light_on_dark",  # chalk on a dark board
)
PEN_COLOURS = ((0.1, 0.15, 0.55), (0.7, 0.1, 0.1), (0.1, 0.45, 0.15))  # blue, red, green
PHOTO_SIZE = (1600, 1200)  # width, height: a phone photo, reduced as phones share them


@dataclass
class Photo:
    """A generated photo (RGB uint8), its digits' ink boxes (top, left, bottom, right), and
    whether neighbouring digits' strokes touch (fewer pieces of ink together than apart)."""

    image: np.ndarray
    boxes: list[tuple[int, int, int, int]]
    touching: bool = False


def _pen_strokes(digit: np.ndarray, height: int, *, pen: float | None) -> np.ndarray:
    """An MNIST digit enlarged to ``height`` pixels (of its 28) as crisp ink in [0, 1].

    MNIST's strokes are far thicker than a pen's at this size: ``pen`` (the pen's width as a share
    of ``height``) keeps a band that wide along the middle of each stroke; None keeps the whole
    stroke, as a broad felt pen would draw it.
    """
    side = max(2, round(height * 28 / 20))
    large = Image.fromarray(digit.astype(np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
    shape = np.asarray(large, dtype=np.float32) / 255 > 0.45
    if pen is None:
        ink = shape
    else:
        # The distance to the stroke's edge peaks along the stroke's middle line: keep what lies
        # within the pen's half-width of that line.
        depth = ndimage.distance_transform_edt(shape)
        middle = shape & (depth >= ndimage.maximum_filter(depth, size=3) - 0.9)
        ink = shape & (ndimage.distance_transform_edt(~middle) <= max(pen * height / 2, 0.5))
        # The middle line has stray points at corners: dots no pen would leave are dropped.
        labels, count = ndimage.label(ink, structure=np.ones((3, 3)))
        if count > 1:
            sizes = np.bincount(labels.ravel())[1:]
            ink = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.1 * sizes.max()))
    # Anti-aliased edges: a pixel-wide blur.
    soft = Image.fromarray(ink.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(0.7))
    return np.asarray(soft, dtype=np.float32) / 255


def _paper(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Slightly off-white paper with a fine texture, (H, W, 3)."""
    tint = 0.88 + rng.uniform(-0.04, 0.06, size=3)
    grain = rng.normal(0, 0.015, size=(height, width)).astype(np.float32)
    texture = (
        np.asarray(
            Image.fromarray(((grain + 0.5) * 255).clip(0, 255).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(0.8)
            ),
            dtype=np.float32,
        )
        / 255
        - 0.5
    )
    return np.clip(tint[None, None, :] + texture[..., None] * 2, 0, 1).astype(np.float32)


def _ruling(height: int, width: int, rng: np.random.Generator, spacing: float) -> np.ndarray:
    """Darkness of printed lines, (H, W): ruled, or squared half the time, slightly tilted."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    tilt = np.tan(np.radians(rng.uniform(-3, 3)))
    offset = rng.uniform(0, spacing)
    across = rows - tilt * columns - offset
    distance = np.abs((across + spacing / 2) % spacing - spacing / 2)
    lines = np.clip(1.5 - distance, 0, 1)
    if rng.random() < 0.5:  # squared paper
        down = columns + tilt * rows - offset
        distance = np.abs((down + spacing / 2) % spacing - spacing / 2)
        lines = np.maximum(lines, np.clip(1.5 - distance, 0, 1))
    return lines * rng.uniform(0.25, 0.4)


def _lighting(height: int, width: int, condition: str, rng: np.random.Generator) -> np.ndarray:
    """Brightness of the light over the sheet, (H, W), 1 where fully lit."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    along = (np.cos(angle) * columns + np.sin(angle) * rows) / max(height, width)
    along = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    light = 1.0 - 0.08 * along  # every photo: a little uneven
    if condition == "gradient":
        light = 1.0 - rng.uniform(0.35, 0.5) * along
    if condition in ("shadow", "half_shade"):
        # A straight shadow edge through the middle, soft for a shadow, sharper for shade.
        centre = rng.uniform(0.35, 0.65) if condition == "half_shade" else rng.uniform(0.4, 0.6)
        softness = 0.12 if condition == "shadow" else 0.02
        inside = 1 / (1 + np.exp(-(along - centre) / softness))
        light = light * (1 - rng.uniform(0.35, 0.5) * inside)
    return light


def _perspective(image: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """A slight projective tilt, as from a phone not held square to the sheet."""
    width, height = image.size
    shift = strength * np.array([width, height])
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    # Corners move inwards only, so every output pixel comes from inside the photo.
    inwards = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    moved = corners + inwards * rng.uniform(0, 1, size=(4, 2)) * shift
    # Solve for the 8 coefficients mapping output corners to input corners (PIL's convention).
    rows = []
    for (x, y), (u, v) in zip(corners, moved, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coefficients = np.linalg.solve(np.array(rows), moved.ravel())
    return image.transform(
        image.size, Image.Transform.PERSPECTIVE, tuple(coefficients), Image.Resampling.BILINEAR
    )


def _finish(
    rgb: np.ndarray, rng: np.random.Generator, *, blur: float, perspective: float
) -> np.ndarray:
    """Camera noise, blur, perspective and JPEG compression."""
    noisy = rgb + rng.normal(0, 0.01, size=rgb.shape).astype(np.float32)
    image = Image.fromarray((noisy.clip(0, 1) * 255).round().astype(np.uint8))
    if perspective > 0:
        image = _perspective(image, rng, perspective)
    image = image.filter(ImageFilter.GaussianBlur(blur))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(60, 90)))
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def photo_of_digits(
    digits: Sequence[np.ndarray],
    rng: np.random.Generator,
    *,
    condition: str = "plain",
    size: tuple[int, int] = PHOTO_SIZE,
    digit_height: int | None = None,
    gap: float = 0.3,
) -> Photo:
    """A photo of ``digits`` (28 x 28 MNIST images, 0-255) written left to right on paper.

    ``gap`` is the space between digits as a share of the digit height; negative values make
    neighbours overlap so that their strokes touch. ``digit_height`` defaults to what the
    condition implies (a fifth to a third of the photo's height; smaller for "small").
    """
    if condition not in CONDITIONS:
        raise ParameterError(f"condition must be one of {CONDITIONS}; got {condition!r}")
    width, height = size
    if condition == "low_resolution":
        digit_height = digit_height or int(rng.integers(10, 21))
        width, height = max(28, round(digit_height * (1.6 + 1.2 * len(digits)))), digit_height * 2
    elif digit_height is None:
        share = rng.uniform(0.04, 0.07) if condition == "small" else rng.uniform(0.2, 0.33)
        digit_height = round(share * height)
        # A long number is written smaller, so that it fits across the photo.
        # Each digit takes a square as wide as it is tall, plus the gap.
        digit_height = min(digit_height, int(0.8 * width / (len(digits) * (1 + gap))))
    pen = None if condition == "marker" else rng.uniform(0.02, 0.06)
    if condition == "low_resolution":  # a pen stroke is still one to two pixels wide
        pen = rng.uniform(1.0, 2.0) / digit_height
    strokes = [_pen_strokes(np.asarray(d), digit_height, pen=pen) for d in digits]
    step = [s.shape[1] * 20 / 28 for s in strokes]  # the 20-pixel box: the digit's height
    total = sum(step) + gap * digit_height * (len(strokes) - 1)
    left = rng.uniform(0.1 * width, max(0.1 * width, 0.9 * width - total))
    top = rng.uniform(0.15 * height, max(0.15 * height, 0.85 * height - digit_height))
    if condition == "low_resolution":
        left, top = (width - total) / 2, (height - digit_height) / 2
    ink = np.zeros((height, width), dtype=np.float32)
    boxes = []
    pieces_apart = 0
    x = left
    for written, advance in zip(strokes, step, strict=True):
        # The 28-pixel frame has 4 empty pixels a side (in 28ths) around the 20-pixel digit.
        margin = written.shape[0] * 4 / 28
        row, col = round(top - margin), round(x - margin)
        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + written.shape[0], height), min(col + written.shape[1], width)
        patch = written[r0 - row : r1 - row, c0 - col : c1 - col]
        ink[r0:r1, c0:c1] = np.maximum(ink[r0:r1, c0:c1], patch)
        pieces_apart += ndimage.label(patch > 0.5, structure=np.ones((3, 3)))[1]
        inked_rows, inked_cols = np.nonzero(patch > 0.5)
        if inked_rows.size:
            boxes.append(
                (
                    r0 + int(inked_rows.min()),
                    c0 + int(inked_cols.min()),
                    r0 + int(inked_rows.max()) + 1,
                    c0 + int(inked_cols.max()) + 1,
                )
            )
        x += advance + gap * digit_height
    paper = _paper(height, width, rng)
    if condition == "ruled":
        lines = _ruling(height, width, rng, spacing=digit_height * rng.uniform(0.6, 1.1))
        paper = paper * (1 - lines[..., None] * np.array([0.6, 0.35, 0.05], dtype=np.float32))
    pen_colour = np.full(3, rng.uniform(0.05, 0.2), dtype=np.float32)
    if condition == "colour_pen":
        pen_colour = np.array(PEN_COLOURS[int(rng.integers(len(PEN_COLOURS)))], dtype=np.float32)
    rgb = paper * (1 - ink[..., None]) + pen_colour * ink[..., None]
    if condition == "light_on_dark":
        board = np.array([0.12, 0.2, 0.16], dtype=np.float32) + paper - paper.mean()
        rgb = board * (1 - ink[..., None]) + 0.85 * ink[..., None]
    rgb = rgb * _lighting(height, width, condition, rng)[..., None]
    blur = 0.3 if condition == "low_resolution" else rng.uniform(0.5, 1.2)
    perspective = {"perspective": 0.06, "low_resolution": 0.0}.get(condition, 0.015)
    if condition == "perspective":
        blur += 0.8
    pieces_together = ndimage.label(ink > 0.5, structure=np.ones((3, 3)))[1]
    image = _finish(rgb, rng, blur=blur, perspective=perspective)
    return Photo(image, boxes, touching=pieces_together < pieces_apart)
