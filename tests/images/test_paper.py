"""Finding ink on photographed paper (images/paper.py): shadows, uneven light, lines, colour.

Each photo is built here: a "7" in pen on paper of 1200 x 900 pixels, lit the way a phone photo
is. Before the paper was estimated, the shadow and the darker half of the sheet counted as ink and
the crop became the shadow (larger than the digit, even than the image).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_helpers.images.drawing_style import STYLES, digit_to_drawing
from mnist_helpers.images.paper import photo_ink
from mnist_helpers.images.preprocess import preprocess_steps

HEIGHT, WIDTH = 900, 1200
SEVEN = [(500, 300), (700, 300), (560, 600)]  # the pen's path: bar, then the stem
SEVEN_BOX = (300, 500, 600, 700)  # top, left, bottom, right of the path (the pen adds a little)


def pen_mask(points=SEVEN, width: int = 10) -> np.ndarray:
    picture = Image.new("L", (WIDTH, HEIGHT))
    ImageDraw.Draw(picture).line(points, fill=255, width=width, joint="curve")
    return np.asarray(picture, dtype=np.float32) / 255


def photo(light: np.ndarray, *, paper=(0.9, 0.9, 0.88), pen=(0.1, 0.1, 0.1), lines=None) -> bytes:
    """JPEG bytes of the seven on paper, under ``light`` (H, W), with optional printed lines."""
    rng = np.random.default_rng(0)
    sheet = np.array(paper, dtype=np.float32) + rng.normal(0, 0.01, (HEIGHT, WIDTH, 1))
    if lines is not None:
        sheet = sheet * (1 - lines[..., None] * np.array([0.5, 0.3, 0.05], dtype=np.float32))
    ink = pen_mask()[..., None]
    rgb = (sheet * (1 - ink) + np.array(pen, dtype=np.float32) * ink) * light[..., None]
    buffer = io.BytesIO()
    Image.fromarray((rgb.clip(0, 1) * 255).astype(np.uint8)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def columns_from_left() -> np.ndarray:
    return np.broadcast_to(np.arange(WIDTH, dtype=np.float32) / WIDTH, (HEIGHT, WIDTH))


def soft_shadow() -> np.ndarray:
    """Light falling from 1 to 0.7 across the sheet, and a soft shadow over the lower right."""
    rows, columns = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    shadow = 1 / (1 + np.exp(-((rows + columns) - 1300) / 80))
    return (1 - 0.3 * columns_from_left()) * (1 - 0.45 * shadow)


def half_shade() -> np.ndarray:
    """The left half of the sheet in shade, its edge (a few pixels soft) through the digit."""
    return 1 - 0.5 / (1 + np.exp(np.clip((columns_from_left() * WIDTH - 600) / 4, -50, 50)))


def ruled_lines() -> np.ndarray:
    """Ruled lines every 60 pixels, tilted by 2 degrees, crossing the digit."""
    rows, columns = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    across = rows - np.tan(np.radians(2)) * columns
    return (np.abs((across % 60) - 30) > 28.5).astype(np.float32) * 0.8


def read_photo(data: bytes):
    with Image.open(io.BytesIO(data)) as image:
        return preprocess_steps(image.copy())


def assert_framed_like_the_seven(steps) -> None:
    """The crop is the seven (not the shadow), and its 28 x 28 has ink inside and none around."""
    height, width = steps.crop.shape
    top, left, bottom, right = SEVEN_BOX
    # The ink map is at the working size (the photo is read at most 1024 pixels a side); the
    # crop also has the pen's width and the thickening that brings thin strokes to MNIST's.
    scale = steps.ink.shape[1] / WIDTH
    assert 0 <= height - (bottom - top) * scale < 45 * scale, steps.crop.shape
    assert 0 <= width - (right - left) * scale < 45 * scale, steps.crop.shape
    frame = steps.centered
    rows, columns = np.flatnonzero(frame.any(axis=1)), np.flatnonzero(frame.any(axis=0))
    assert max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 == 20  # MNIST's 20-pixel box
    assert (frame > 0.5).sum() >= 25  # strokes, not a faint patch...
    assert (frame == 0).mean() > 0.6  # ...on a background of zeros, not a grey field


@pytest.mark.parametrize(
    "light",
    [soft_shadow(), half_shade()],
    ids=["gradient and soft shadow", "half in shade"],
)
def test_shade_on_the_paper_is_not_ink(light: np.ndarray) -> None:
    assert_framed_like_the_seven(read_photo(photo(light)))


def test_ruled_lines_are_not_ink() -> None:
    assert_framed_like_the_seven(read_photo(photo(soft_shadow(), lines=ruled_lines())))


@pytest.mark.parametrize("pen", [(0.1, 0.15, 0.6), (0.75, 0.1, 0.1)], ids=["blue", "red"])
def test_a_colour_pen_is_ink(pen) -> None:
    assert_framed_like_the_seven(read_photo(photo(soft_shadow(), pen=pen)))


def test_chalk_on_a_dark_board_is_ink() -> None:
    board = photo(soft_shadow(), paper=(0.15, 0.22, 0.18), pen=(0.9, 0.9, 0.9))
    assert_framed_like_the_seven(read_photo(board))


@pytest.mark.parametrize("style", STYLES)
def test_clean_drawings_keep_the_plain_ink_map(style: str) -> None:
    """A drawing made on a computer has paper of one value: it is read as before, not as paper."""
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[6:22, 12:16] = 255
    drawing = digit_to_drawing(digit, scale=10, style=style)
    colour = drawing[..., :3] if drawing.ndim == 3 else drawing
    assert photo_ink(colour.astype(np.float32) / 255) is None


@pytest.mark.slow  # building the two sets takes seconds
def test_the_drawn_and_non_digit_evaluation_sets_keep_the_plain_ink_map(mnist_test_split) -> None:
    """The benchmarks' drawings (zig-zags and lines across the whole image among them) are not
    taken for photos, so their figures stay comparable with earlier rounds'."""
    from mnist_helpers.images.eval_drawn_digits import drawn_digit_set
    from mnist_helpers.images.image_files import to_float_array
    from mnist_helpers.images.nondigit_shapes import nondigit_set

    images = [n.image for n in nondigit_set(4, seed=2_002)]
    images += [d.image for d in drawn_digit_set(mnist_test_split, 4, seed=1_001)]
    for image in images:
        pixels = to_float_array(image)
        if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
            pixels = pixels[..., :-1]  # the ink map reads a transparent image by its alpha
        assert photo_ink(pixels) is None
