"""Preprocessing turns drawings, scans and arrays into MNIST-like 28 x 28 digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mnist_helpers.data import MNIST_MEAN, MNIST_STD
from mnist_helpers.errors import BlankImageError, ImageInputError
from mnist_helpers.images.drawing_style import digit_to_drawing
from mnist_helpers.images.preprocess import ink_map, preprocess_image, preprocess_steps


def _bar(height=200, width=40, canvas=280, top=30, left=100, value=255):
    """A light vertical bar on black: a crude '1'."""
    image = np.zeros((canvas, canvas), dtype=np.uint8)
    image[top : top + height, left : left + width] = value
    return image


def test_output_is_a_normalised_28_by_28_tensor():
    tensor = preprocess_image(_bar())
    assert tensor.shape == (1, 1, 28, 28) and tensor.dtype == torch.float32
    assert tensor.min().item() == pytest.approx(-MNIST_MEAN / MNIST_STD, abs=1e-6)
    assert torch.isfinite(tensor).all()


def test_longer_side_becomes_20_pixels_and_mass_is_centred():
    steps = preprocess_steps(_bar(height=200, width=40))
    assert steps.resized.shape == (20, 4)
    rows, columns = np.indices(steps.centered.shape)
    mass = steps.centered.sum()
    assert (rows + 0.5).ravel() @ steps.centered.ravel() / mass == pytest.approx(14, abs=0.6)
    assert (columns + 0.5).ravel() @ steps.centered.ravel() / mass == pytest.approx(14, abs=0.6)


def test_position_on_the_canvas_does_not_matter():
    left = preprocess_image(_bar(left=10))
    right = preprocess_image(_bar(left=220))
    assert torch.allclose(left, right)


@pytest.mark.parametrize("style", ["dark_on_light", "light_on_dark", "transparent"])
def test_ink_is_found_whatever_the_colour_convention(style, mnist_test_split):
    digit = mnist_test_split.images[0]
    reference = preprocess_steps(digit_to_drawing(digit, style="light_on_dark")).centered
    steps = preprocess_steps(digit_to_drawing(digit, style=style))
    assert np.abs(steps.centered - reference).max() < 0.02


def test_coloured_strokes_on_a_transparent_canvas_use_alpha():
    rgba = np.zeros((100, 100, 4), dtype=np.uint8)
    rgba[20:80, 45:55] = (255, 0, 0, 255)  # red ink, opaque; background fully transparent
    assert ink_map(rgba.astype(np.float32) / 255)[50, 50] == 1.0
    assert ink_map(rgba.astype(np.float32) / 255)[5, 5] == 0.0


def test_mnist_digit_already_centred_stays_nearly_the_same(mnist_test_split):
    digit = mnist_test_split.images[3]
    steps = preprocess_steps(digit.numpy())
    original = digit.numpy().astype(np.float32) / 255
    # Re-cropping and rescaling an MNIST digit moves it by at most a pixel or so.
    assert np.corrcoef(steps.centered.ravel(), original.ravel())[0, 1] > 0.8


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((280, 280), dtype=np.uint8),
        np.full((280, 280, 3), 255, dtype=np.uint8),
        np.zeros((280, 280, 4), dtype=np.uint8),  # an untouched transparent canvas
        np.full((50, 50), 0.5, dtype=np.float32),
    ],
    ids=["black", "white", "transparent", "grey"],
)
def test_blank_images_are_refused(image):
    with pytest.raises(BlankImageError, match="the image is blank: no digit found"):
        preprocess_image(image)


def test_a_speck_is_not_a_digit():
    image = np.zeros((280, 280), dtype=np.uint8)
    image[100, 100] = 255
    with pytest.raises(BlankImageError):
        preprocess_image(image)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((3, 3, 7)), "shape"),
        (np.zeros((0, 10)), "empty"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.array(["a", "b"]), "numbers"),
        (np.full((4, 4), -3.0), "minimum"),
        (b"\x89PNG", "raw bytes"),
        (12, "cannot read an image"),
    ],
)
def test_bad_input_raises_the_projects_error(bad, message):
    with pytest.raises(ImageInputError, match=message):
        preprocess_image(bad)


def test_files_that_are_not_images(tmp_path):
    text = tmp_path / "digit.png"
    text.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageInputError, match="not an image"):
        preprocess_image(text)
    with pytest.raises(ImageInputError, match="empty"):
        preprocess_image(empty)
    with pytest.raises(ImageInputError, match="no such file"):
        preprocess_image(tmp_path / "missing.png")


def test_pil_modes_and_files(tmp_path, mnist_test_split):
    drawing = digit_to_drawing(mnist_test_split.images[0], style="dark_on_light")
    reference = preprocess_steps(drawing).centered
    rgb = Image.fromarray(drawing)
    variants = {
        "palette": rgb.convert("P", palette=Image.Palette.ADAPTIVE),
        "cmyk": rgb.convert("CMYK"),
        "grey16": Image.fromarray(drawing[..., 0].astype(np.uint16) * 257),
        "la": rgb.convert("LA"),
    }
    for name, image in variants.items():
        assert np.abs(preprocess_steps(image).centered - reference).max() < 0.05, name
    path = tmp_path / "digit.jpg"
    rgb.save(path, quality=95)
    assert np.abs(preprocess_steps(path).centered - reference).max() < 0.1


def test_preprocessing_undoes_a_move(mnist_test_split):
    digit = mnist_test_split.images[7].numpy()
    here, there = np.zeros((40, 40), np.uint8), np.zeros((40, 40), np.uint8)
    here[2:30, 3:31] = digit
    there[10:38, 11:39] = digit  # the same digit 8 pixels down and right
    assert torch.equal(preprocess_image(here), preprocess_image(there))


def _small_seven_in_a_large_photo(side: int = 3000, height: int = 200, pen: int = 8) -> Image.Image:
    """A pen "7" ``height`` pixels tall on a white sheet ``side`` pixels square: a phone photo."""
    sheet = Image.new("L", (side, side), 255)
    left, top = side // 2 - height // 3, side // 2 - height // 2
    right, bottom = left + 2 * height // 3, top + height
    ImageDraw.Draw(sheet).line(
        [(left, top), (right, top), (left + height // 6, bottom)], fill=20, width=pen
    )
    return sheet


@pytest.mark.parametrize("pen", [3, 8], ids=["fine pen", "felt pen"])
def test_a_small_digit_in_a_large_photo_is_framed_not_called_blank(pen: int) -> None:
    """Reproduction: a 200-pixel "7" in a 3,000 x 3,000 photo was answered "the image is blank"
    because its ink is under MIN_INK_FRACTION of the whole image."""
    steps = preprocess_steps(_small_seven_in_a_large_photo(pen=pen))
    # Framed like MNIST: the digit is 20 pixels tall, its centre of mass in the middle of the
    # 28 x 28 frame, on a zero background.
    assert steps.resized.shape[0] == 20
    inked_rows = np.flatnonzero(steps.centered.max(axis=1) > 0)
    assert inked_rows[-1] - inked_rows[0] + 1 == 20
    rows, columns = np.indices(steps.centered.shape) + 0.5
    mass = steps.centered.sum()
    centre = ((rows * steps.centered).sum() / mass, (columns * steps.centered).sum() / mass)
    assert np.allclose(centre, 14.0, atol=1.0)
    assert (steps.centered < 0.2).mean() > 0.7  # mostly background, as in MNIST


def test_specks_scattered_over_a_large_photo_are_still_blank() -> None:
    """The small-digit rule needs dense ink: sparse noise over the whole sheet stays blank."""
    rng = np.random.default_rng(0)
    sheet = np.full((1500, 1500), 255, dtype=np.uint8)
    rows, columns = rng.integers(0, 1500, size=(2, 100))
    sheet[rows, columns] = 0
    with pytest.raises(BlankImageError, match="the image is blank: no digit found"):
        preprocess_image(sheet)


def test_a_small_blob_on_the_canvas_is_still_blank() -> None:
    """A dab under 8 pixels across is not a digit, however dense."""
    image = np.zeros((280, 280), dtype=np.uint8)
    image[100:106, 100:106] = 255
    with pytest.raises(BlankImageError):
        preprocess_image(image)
