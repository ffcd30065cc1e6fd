"""The slow half of test_preprocess.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mnist_helpers.images.drawing_style import random_drawing
from mnist_helpers.predict import Predictor


@pytest.mark.slow
def test_canvas_like_test_digits_keep_97_percent_accuracy(trained_checkpoint, mnist_test_split):
    """MNIST test digits, scaled up 5-10 times, moved, thickened or thinned, inverted, on a
    transparent background: through the preprocessing, at least 97 % stay right."""
    predictor = Predictor.from_checkpoint(trained_checkpoint)
    rng = np.random.default_rng(0)
    indices = rng.choice(len(mnist_test_split), size=1000, replace=False)
    correct = 0
    for index in indices:
        drawing = random_drawing(mnist_test_split.images[index], rng)
        prediction = predictor.predict(drawing)
        correct += prediction.digit == mnist_test_split.labels[index].item()
    assert correct / len(indices) >= 0.97, f"{correct} / {len(indices)}"


def _shifted(images: torch.Tensor, down: int, right: int) -> torch.Tensor:
    """Move images (..., 28, 28) without wrapping around; uncovered pixels get the background."""
    moved = torch.full_like(images, images.min().item())
    height, width = images.shape[-2:]
    src_rows = slice(max(0, -down), height - max(0, down))
    dst_rows = slice(max(0, down), height - max(0, -down))
    src_cols = slice(max(0, -right), width - max(0, right))
    dst_cols = slice(max(0, right), width - max(0, -right))
    moved[..., dst_rows, dst_cols] = images[..., src_rows, src_cols]
    return moved


@pytest.mark.slow
def test_a_digit_moved_a_few_pixels_keeps_its_class(trained_checkpoint, mnist_test_split):
    """The model itself, without re-centring, tolerates a 2-pixel move of most digits."""
    from mnist_helpers.data import normalize_images

    predictor = Predictor.from_checkpoint(trained_checkpoint)
    images = normalize_images(mnist_test_split.images[:1000])
    before = predictor.probabilities(images).argmax(1)
    after = predictor.probabilities(_shifted(images, 2, -2)).argmax(1)
    assert (before == after).float().mean().item() >= 0.97


@pytest.mark.slow
def test_the_command_line_reads_small_digits_in_large_photos(
    trained_checkpoint, mnist_test_split, tmp_path, capsys
):
    """A reproduction, through ``mnist-helpers predict``: MNIST test digits, 200 pixels
    tall, dark on a white 3,000 x 3,000 JPEG, were answered "the image is blank"."""
    import json

    from PIL import Image

    from mnist_helpers.apps.cli import main

    paths, labels = [], []
    for index in range(10):
        digit = Image.fromarray(255 - mnist_test_split.images[index].numpy()).resize((200, 200))
        sheet = Image.new("L", (3000, 3000), 255)
        sheet.paste(digit, (1400, 1300))
        paths.append(tmp_path / f"photo_{index}.jpg")
        sheet.save(paths[-1], quality=85)
        labels.append(mnist_test_split.labels[index].item())
    args = ["predict", *map(str, paths), "--checkpoint", str(trained_checkpoint), "--json"]
    assert main(args) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in records] == ["digit"] * 10, records
    assert [r["digit"] for r in records] == labels
