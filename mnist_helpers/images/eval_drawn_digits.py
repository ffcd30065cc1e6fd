"""Digits from sources the model never trains on: typed in a font, drawn as pen strokes, MNIST test
digits made to look like drawings. They measure how well drawings are read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from mnist_helpers.data import MnistSplit
from mnist_helpers.errors import ParameterError
from mnist_helpers.images.drawing_style import STYLES, ink_in_style, random_drawing
from mnist_helpers.images.nondigit_shapes import FONT_FILES
from mnist_helpers.images.typed_text import font, text_box, type_text

SOURCES = ("mnist_drawing", "typed", "strokes")

# Pen strokes per digit in a unit box (x right, y down), as a person draws them with a mouse.
# Curved parts are listed densely enough that a smoothed polyline looks round.
_ARC = np.linspace(0, 2 * np.pi, 25)
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [[(0.5 + 0.3 * np.sin(t), 0.5 - 0.42 * np.cos(t)) for t in _ARC]],
    1: [[(0.55, 0.08), (0.5, 0.92)]],
    2: [
        [
            (0.2, 0.3),
            (0.3, 0.14),
            (0.5, 0.08),
            (0.7, 0.14),
            (0.78, 0.3),
            (0.7, 0.48),
            (0.45, 0.68),
            (0.2, 0.9),
            (0.5, 0.9),
            (0.85, 0.9),
        ]
    ],
    3: [
        [
            (0.2, 0.15),
            (0.45, 0.08),
            (0.7, 0.15),
            (0.72, 0.32),
            (0.45, 0.47),
            (0.72, 0.6),
            (0.78, 0.78),
            (0.6, 0.92),
            (0.35, 0.92),
            (0.2, 0.82),
        ]
    ],
    4: [[(0.55, 0.08), (0.15, 0.65), (0.85, 0.65)], [(0.62, 0.3), (0.62, 0.95)]],
    5: [
        [
            (0.78, 0.1),
            (0.3, 0.1),
            (0.25, 0.45),
            (0.5, 0.4),
            (0.72, 0.5),
            (0.78, 0.7),
            (0.65, 0.88),
            (0.4, 0.92),
            (0.2, 0.82),
        ]
    ],
    6: [
        [
            (0.7, 0.08),
            (0.45, 0.25),
            (0.28, 0.5),
            (0.25, 0.75),
            (0.4, 0.92),
            (0.62, 0.9),
            (0.75, 0.72),
            (0.62, 0.55),
            (0.42, 0.55),
            (0.27, 0.68),
        ]
    ],
    7: [[(0.18, 0.1), (0.82, 0.1), (0.55, 0.5), (0.4, 0.92)]],
    8: [[(0.5 + 0.24 * np.sin(2 * t), 0.5 - 0.42 * np.cos(t)) for t in _ARC]],
    9: [
        [(0.7, 0.3)]
        + [(0.48 + 0.22 * np.sin(t), 0.3 - 0.2 * np.cos(t)) for t in _ARC[2:]]
        + [(0.7, 0.3), (0.66, 0.92)]
    ],
}


@dataclass(frozen=True)
class DrawnDigit:
    """One drawing of a known digit and where it came from."""

    label: int
    source: str
    image: np.ndarray


def typed_digit(digit: int, rng: np.random.Generator, side: int = 280) -> np.ndarray:
    """``digit`` typed in one of matplotlib's fonts, sometimes bold or outlined thicker; ink map."""
    size = int(side * rng.uniform(0.3, 0.8))
    face = font(FONT_FILES[int(rng.integers(len(FONT_FILES)))], size)
    # An outline as wide as 3 or 6 % of the type size makes a heavy, poster-like digit: the kind
    # whose holes close up, so that a 6 or an 8 reads as a 0.
    bold = round(size * float(rng.choice([0.0, 0.0, 0.03, 0.06])))
    box = text_box(str(digit), face, bold)
    free = np.array([side - (box[2] - box[0]), side - (box[3] - box[1])], dtype=float)
    left, top = rng.uniform(0.1, 0.9, 2) * np.maximum(free, 0) - np.array(box[:2])
    return type_text(str(digit), face, side, at=(left, top), outline=bold)


def stroked_digit(digit: int, rng: np.random.Generator, side: int = 280) -> np.ndarray:
    """``digit`` drawn as smoothed, jittered, slanted pen strokes somewhere on the canvas."""
    image = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(image)
    size = side * rng.uniform(0.35, 0.85)
    width = size * rng.uniform(0.6, 1.0)
    origin = rng.uniform(0.02, 0.98, 2) * (side - np.array([width, size]))
    slant = rng.uniform(-0.25, 0.25)
    pen = max(1, round(side * rng.uniform(1 / 40, 1 / 10)))
    for stroke in STROKES[digit]:
        points = np.array(stroke) + rng.normal(0, 0.02, (len(stroke), 2))
        x = origin[0] + (points[:, 0] + slant * (0.5 - points[:, 1])) * width
        y = origin[1] + points[:, 1] * size
        draw.line(
            list(zip(x.tolist(), y.tolist(), strict=True)), fill=255, width=pen, joint="curve"
        )
    return np.asarray(image, dtype=np.uint8)


def drawn_digit_set(test: MnistSplit, per_source: int, *, seed: int) -> list[DrawnDigit]:
    """``per_source`` digits from each of SOURCES, in all four STYLES, by ``seed``.

    ``test`` is the MNIST test split: its digits become the ``mnist_drawing`` source.
    """
    if per_source < 1:
        raise ParameterError(f"per_source must be >= 1; got {per_source!r}")
    rng = np.random.default_rng(seed)
    drawn = []
    for index in rng.choice(len(test), size=per_source, replace=False):
        label = int(test.labels[index])
        drawn.append(DrawnDigit(label, "mnist_drawing", random_drawing(test.images[index], rng)))
    for source, make in (("typed", typed_digit), ("strokes", stroked_digit)):
        for count in range(per_source):
            label = count % 10
            style = STYLES[int(rng.integers(len(STYLES)))]
            drawn.append(DrawnDigit(label, source, ink_in_style(make(label, rng), style)))
    return drawn
