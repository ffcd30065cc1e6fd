"""Photos of handwriting through the command line: shadows, shade, ruled paper, a colour pen, a
rotated JPEG, a tiny digit in a large photo and a number of four digits.

The photos come from ``images/photo_style.py``: MNIST test digits (real handwriting) written as
pen ink on generated paper. Each is saved as a JPEG and read by ``mnist-helpers predict`` with the
shared trained checkpoint; the same images' 28 x 28 inputs are checked against the digit written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_helpers.apps.cli import main
from mnist_helpers.images.photo_style import photo_of_digits
from mnist_helpers.images.preprocess import preprocess_steps

DIGITS = range(5)  # the first five MNIST test digits: 7, 2, 1, 0, 4
CONDITIONS = {
    "shadow": {},
    "half_shade": {},
    "ruled": {},
    "colour_pen": {},
    "small": {"size": (4000, 3000)},  # a digit 120 to 210 pixels tall in a 12-megapixel photo
}
EXIF_ORIENTATION = 0x0112


def write_photo(path: Path, image: np.ndarray, *, turned: bool = False) -> Path:
    picture = Image.fromarray(image)
    exif = Image.Exif()
    if turned:
        # Stored as a phone held sideways stores it: the pixels turned a quarter anticlockwise,
        # and the EXIF orientation (6) saying to turn them clockwise to show them upright.
        picture = picture.transpose(Image.Transpose.ROTATE_90)
        exif[EXIF_ORIENTATION] = 6
    picture.save(path, quality=85, exif=exif)
    return path


def predict_json(paths: list[Path], checkpoint: Path, capsys, *options: str) -> list[dict]:
    args = ["predict", *map(str, paths), "--checkpoint", str(checkpoint), "--json", *options]
    assert main(args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def assert_framed_like(framed: np.ndarray, written: np.ndarray) -> None:
    """The 28 x 28 the model saw: the written digit (MNIST's own framing of it correlates), in the
    20-pixel box, on a background of zeros."""
    rows, columns = np.flatnonzero(framed.any(axis=1)), np.flatnonzero(framed.any(axis=0))
    assert max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 == 20
    assert (framed == 0).mean() > 0.6
    assert np.corrcoef(framed.ravel(), written.ravel().astype(np.float32))[0, 1] > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("condition", [*CONDITIONS, "rotated_jpeg"])
def test_photographed_digits_are_read_through_the_command_line(
    condition, trained_checkpoint, mnist_test_split, tmp_path, capsys
):
    paths, labels, written = [], [], []
    for index in DIGITS:
        digit = mnist_test_split.images[index].numpy()
        rng = np.random.default_rng([index, 24])
        style = "plain" if condition == "rotated_jpeg" else condition
        photo = photo_of_digits([digit], rng, condition=style, **CONDITIONS.get(condition, {}))
        path = tmp_path / f"{condition}_{index}.jpg"
        paths.append(write_photo(path, photo.image, turned=condition == "rotated_jpeg"))
        labels.append(mnist_test_split.labels[index].item())
        written.append(digit)
    records = predict_json(paths, trained_checkpoint, capsys)
    assert [(r["status"], r["digit"]) for r in records] == [("digit", d) for d in labels]
    for path, digit in zip(paths, written, strict=True):
        assert_framed_like(preprocess_steps(path).centered, digit)


@pytest.mark.slow
def test_a_photographed_number_is_read_digit_by_digit(
    trained_checkpoint, mnist_test_split, tmp_path, capsys
):
    indices = [1, 3, 1, 11]  # 2, 0, 2, 6: "2026"
    digits = [mnist_test_split.images[k].numpy() for k in indices]
    photo = photo_of_digits(digits, np.random.default_rng(2026), condition="shadow")
    path = write_photo(tmp_path / "number.jpg", photo.image)
    (record,) = predict_json([path], trained_checkpoint, capsys, "--number")
    assert record["number"] == "2026", record
    assert record["status"] == "digit"
    assert [d["status"] for d in record["digits"]] == ["digit"] * 4
    lefts = [d["box"][1] for d in record["digits"]]
    assert lefts == sorted(lefts)  # left to right
    from mnist_helpers.predict import Predictor

    reading = Predictor.from_checkpoint(trained_checkpoint).read_number(path)
    for answer, digit in zip(reading.digits, digits, strict=True):
        assert answer.model_input is not None
        assert_framed_like(answer.model_input, digit)
