"""Images that are not digits, drawn in code: letters, symbols, shapes, scribbles, dots, lines.

They test whether the project says "not a digit" where a ten-class model would still name one.
Nothing is downloaded: glyphs come from the fonts matplotlib ships. Each family draws ink on a
square canvas; ``drawing_style.ink_in_style`` turns the ink into one of the four ways drawings reach
``predict`` (ink on paper, light on dark, dark or light strokes on a transparent canvas).
Letters and symbols that people write like a digit (O, l, S, Z, ...) are left out on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from mnist_helpers.errors import FontError, ParameterError
from mnist_helpers.images.drawing_style import STYLES, ink_in_style
from mnist_helpers.images.typed_text import font, text_box, type_text

# Written like 0, 1, 2, 5, 6, 8 or 9 by many people, so a "not a digit" answer would be wrong.
DIGIT_LIKE = set("OoDIlJjSsZzbBGgqQ|!/\\()[]Tt")
LETTERS = "".join(c for c in "ABCEFHKLMNPRUVWXYacdefhkmnprtuvwxy" if c not in DIGIT_LIKE)
SYMBOLS = "#@%&$?+=*<>~^€£¥§¶±÷×∞Ωπ√∑∂♥♦♣♠★☺✓✗→←↑↓"
# Fonts by family name inside matplotlib's font folder; evaluation and other uses may differ.
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
)
# Matplotlib's Computer Modern faces with digits and letters: used only for training material
# (train_nondigits, train_typed_digits), never by the evaluation sets above.
COMPUTER_MODERN_FONTS = ("cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf", "cmti10.ttf")


@dataclass(frozen=True)
class NonDigit:
    """One generated image and what it shows."""

    family: str
    style: str  # one of drawing_style.STYLES
    image: np.ndarray  # uint8: (H, W), (H, W, 3) or (H, W, 4) by style


def _canvas(side: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (side, side), 0)
    return image, ImageDraw.Draw(image)


def _points(rng: np.random.Generator, count: int, side: int, margin: float) -> list[tuple]:
    low, high = margin * side, (1 - margin) * side
    return [tuple(p) for p in rng.uniform(low, high, size=(count, 2)).tolist()]


def _glyph(chars: str, rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    # A font may lack a symbol and draw nothing: then another character or font is tried.
    for _ in range(20):
        char = chars[int(rng.integers(len(chars)))]
        size = int(side * rng.uniform(0.4, 0.7))
        face = font(FONT_FILES[int(rng.integers(len(FONT_FILES)))], size)
        box = text_box(char, face)
        left = (side - (box[2] - box[0])) / 2 - box[0] + rng.uniform(-0.1, 0.1) * side
        top = (side - (box[3] - box[1])) / 2 - box[1] + rng.uniform(-0.1, 0.1) * side
        ink = type_text(char, face, side, at=(left, top))
        if ink.any():
            return Image.fromarray(ink)
    raise FontError(f"no font of {FONT_FILES} draws any of {chars!r}")


def letter(rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    """A typed-looking letter that is not written like a digit."""
    return _glyph(LETTERS, rng, side, pen)


def symbol(rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    """A typed symbol: #, @, %, a heart, an arrow, a check mark, ..."""
    return _glyph(SYMBOLS, rng, side, pen)


def shape(rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    """A triangle, star, cross or filled blob (no circles or ovals: those are zeros)."""
    image, draw = _canvas(side)
    centre, radius = side / 2 + rng.uniform(-0.1, 0.1, 2) * side, side * rng.uniform(0.2, 0.4)
    kind = ("triangle", "star", "cross", "filled", "square")[int(rng.integers(5))]
    if kind == "cross":
        for angle in (0, np.pi / 2) if rng.random() < 0.5 else (np.pi / 4, 3 * np.pi / 4):
            dx, dy = radius * np.cos(angle), radius * np.sin(angle)
            line = [(centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)]
            draw.line(line, fill=255, width=pen)
        return image
    corners = {"triangle": 3, "star": 10, "filled": int(rng.integers(3, 9)), "square": 4}[kind]
    angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, np.pi)
    radii = np.where(np.arange(corners) % 2, 0.45, 1.0) if kind == "star" else np.ones(corners)
    xy = [
        (centre[0] + radius * r * np.cos(a), centre[1] + radius * r * np.sin(a))
        for a, r in zip(angles, radii, strict=True)
    ]
    if kind == "filled":
        draw.polygon(xy, fill=255)
    else:
        draw.line([*xy, xy[0]], fill=255, width=pen, joint="curve")
    return image


def _smooth_line(draw: ImageDraw.ImageDraw, anchors: np.ndarray, pen: int) -> None:
    """Draw a curve through the midpoints of ``anchors`` ``(K, 2)``, bending at each anchor."""
    # Quadratic smoothing between midpoints makes the curve look hand-drawn, not polygonal.
    path = []
    for a, b, c in zip(anchors[:-2], anchors[1:-1], anchors[2:], strict=True):
        start, end = (a + b) / 2, (b + c) / 2
        for t in np.linspace(0, 1, 12):
            path.append(tuple((1 - t) ** 2 * start + 2 * (1 - t) * t * b + t**2 * end))
    draw.line(path, fill=255, width=pen, joint="curve")


def scribble(rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    """A smooth random curve through many points, crossing itself."""
    image, draw = _canvas(side)
    _smooth_line(draw, np.array(_points(rng, int(rng.integers(6, 14)), side, 0.1)), pen)
    return image


def dots(rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    """One to five round dots the size of the pen."""
    image, draw = _canvas(side)
    for x, y in _points(rng, int(rng.integers(1, 6)), side, 0.15):
        radius = pen * rng.uniform(0.5, 1.5)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return image


def lines(rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    """Two to six parallel strokes, or a grid of them."""
    image, draw = _canvas(side)
    count = int(rng.integers(2, 7))
    angle = rng.uniform(0, np.pi)
    for turn in (0, np.pi / 2)[: 1 + int(rng.random() < 0.4)]:
        direction = np.array([np.cos(angle + turn), np.sin(angle + turn)])
        normal = np.array([-direction[1], direction[0]])
        for offset in np.linspace(-0.3, 0.3, count) * side:
            middle = side / 2 + normal * offset
            half = direction * side * rng.uniform(0.25, 0.4)
            draw.line([tuple(middle - half), tuple(middle + half)], fill=255, width=pen)
    return image


def zigzag(rng: np.random.Generator, side: int, pen: int) -> Image.Image:
    """A zig-zag over most of the canvas, sideways or downwards."""
    image, draw = _canvas(side)
    turns = int(rng.integers(4, 14))
    along = np.linspace(0.05, 0.95, turns) * side
    across = np.where(np.arange(turns) % 2, 0.05, 0.95) * side
    across = across + rng.uniform(-0.05, 0.05, turns) * side
    points = (
        zip(along, across, strict=True) if rng.random() < 0.5 else zip(across, along, strict=True)
    )
    draw.line(list(points), fill=255, width=pen, joint="curve")
    return image


FAMILIES: dict[str, Callable[[np.random.Generator, int, int], Image.Image]] = {
    "letter": letter,
    "symbol": symbol,
    "shape": shape,
    "scribble": scribble,
    "dots": dots,
    "lines": lines,
    "zigzag": zigzag,
}


def make_nondigit(family: str, rng: np.random.Generator, side: int = 280) -> NonDigit:
    """One image of ``family`` on a ``side`` x ``side`` canvas, pen 1/30 to 1/10 of the side."""
    if family not in FAMILIES:
        raise ParameterError(f"family must be one of {tuple(FAMILIES)}; got {family!r}")
    pen = max(1, round(side * rng.uniform(1 / 30, 1 / 10)))
    ink = np.asarray(FAMILIES[family](rng, side, pen), dtype=np.uint8)
    style = STYLES[int(rng.integers(len(STYLES)))]
    return NonDigit(family, style, ink_in_style(ink, style))


def nondigit_set(
    per_family: int, *, seed: int, families: tuple[str, ...] | None = None, side: int = 280
) -> list[NonDigit]:
    """``per_family`` images of each family (all by default), the same for the same ``seed``."""
    if per_family < 1:
        raise ParameterError(f"per_family must be >= 1; got {per_family!r}")
    rng = np.random.default_rng(seed)
    return [
        make_nondigit(family, rng, side)
        for family in (families or tuple(FAMILIES))
        for _ in range(per_family)
    ]


def teaching_examples(seed: int = 0, side: int = 280) -> dict[str, np.ndarray]:
    """A letter, a single dot, a scribble and a zig-zag as the canvas sends them (RGBA, dark
    strokes on a transparent background), for showing what a digit classifier makes of them."""
    rng = np.random.default_rng(seed)
    pen = side // 14  # the canvas's pen: 20 pixels on its 280-pixel square
    drawings = {
        "letter": letter(rng, side, pen),
        "dot": _canvas(side)[0],
        "scribble": _canvas(side)[0],
        "zig-zag": zigzag(rng, side, pen),
    }
    # A scribbled-over patch: a curve through 20 random points (the family draws 6 to 13).
    anchors = np.array(_points(rng, 20, side, 0.15))
    _smooth_line(ImageDraw.Draw(drawings["scribble"]), anchors, pen)
    ImageDraw.Draw(drawings["dot"]).ellipse(
        [side / 2 - pen / 2, side / 2 - pen / 2, side / 2 + pen / 2, side / 2 + pen / 2], fill=255
    )
    return {
        name: ink_in_style(np.asarray(ink, dtype=np.uint8), "transparent")
        for name, ink in drawings.items()
    }
