"""The one text renderer (images/typed_text.py) behind every typed digit, letter and symbol."""

from __future__ import annotations

import numpy as np

from mnist_helpers.images.typed_text import font, text_box, type_text


def test_text_is_typed_where_its_anchor_says_and_outlines_thicken_it() -> None:
    face = font("DejaVuSans.ttf", 40)
    centred = type_text("8", face, 64, at=(32, 32), anchor="mm")
    rows, columns = np.nonzero(centred)
    assert abs(rows.mean() - 32) < 3 and abs(columns.mean() - 32) < 3
    bold = type_text("8", face, 64, at=(32, 32), anchor="mm", outline=3)
    assert (bold > 0).sum() > 1.3 * (centred > 0).sum()
    left, top, right, bottom = text_box("8", face)
    placed = type_text("8", face, 64, at=(-left, -top))  # the box's corner at (0, 0)
    rows, columns = np.nonzero(placed)
    # The box includes the glyph's side bearings: the ink starts a few pixels inside it.
    assert rows.min() <= 1 and columns.min() <= 4
    assert abs(rows.max() + 1 - (bottom - top)) <= 2
    assert 0 <= (right - left) - (columns.max() + 1) <= 4
