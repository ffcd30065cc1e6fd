"""Text typed in one of matplotlib's fonts: the one renderer behind every generated glyph.

Typed digits (evaluation set and training pool) and typed letters and symbols (non-digits, for
evaluation and training) are all drawn by ``type_text``. Nothing is downloaded: the fonts are the
TrueType files matplotlib ships.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def _font_folder() -> Path:
    import matplotlib  # the project depends on it for plots; imported here, not at import time

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """One of matplotlib's TrueType fonts by file name, at ``size`` pixels."""
    return ImageFont.truetype(str(_font_folder() / name), size)


def text_box(text: str, face: ImageFont.FreeTypeFont, outline: int = 0) -> tuple[float, ...]:
    """The box (left, top, right, bottom) ``text`` covers when typed at (0, 0)."""
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    return tuple(draw.textbbox((0, 0), text, font=face, stroke_width=outline))


def type_text(
    text: str,
    face: ImageFont.FreeTypeFont,
    side: int,
    *,
    at: tuple[float, float],
    anchor: str = "la",
    outline: int = 0,
) -> np.ndarray:
    """``text`` in white ink on a black ``side`` x ``side`` canvas: an ink map, uint8.

    ``at`` is where PIL's ``anchor`` goes (``"la"``: the top left of the text's box less its
    bearing, as ``text_box`` measures it; ``"mm"``: the middle of the text). ``outline`` thickens
    every stroke by that many pixels, for bold and poster-heavy type.
    """
    image = Image.new("L", (side, side), 0)
    ImageDraw.Draw(image).text(
        at, text, fill=255, font=face, anchor=anchor, stroke_width=outline, stroke_fill=255
    )
    return np.asarray(image, dtype=np.uint8)
