"""The slow half of test_canvas.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_helpers.apps.canvas import (
    DigitCanvas,
)
from mnist_helpers.images.drawing_style import digit_to_drawing
from mnist_helpers.predict import Predictor
from tests.apps.test_canvas import send_drawing, set_threshold_from_page


@pytest.fixture(scope="module")
def drawn_digit(mnist_test_split) -> tuple[np.ndarray, int]:
    """Test image 0 as black strokes on a transparent 280 x 280 canvas, with its label."""
    rgba = digit_to_drawing(mnist_test_split.images[0], scale=8, style="transparent")
    return rgba, int(mnist_test_split.labels[0])


@pytest.mark.slow  # trained_checkpoint trains on real MNIST
def test_a_drawn_digit_is_read_and_shown_as_a_digit(trained_checkpoint, drawn_digit) -> None:
    rgba, label = drawn_digit
    canvas = DigitCanvas.from_checkpoint(trained_checkpoint)
    send_drawing(canvas, rgba)
    assert canvas.result["status"] == "digit"
    assert canvas.result["digit"] == label
    assert [row["digit"] for row in canvas.result["top"]][0] == label
    assert len(canvas.result["top"]) == 10


@pytest.mark.slow  # trained_checkpoint trains on real MNIST
def test_moving_the_threshold_relabels_the_last_drawing(trained_checkpoint, drawn_digit) -> None:
    rgba, _ = drawn_digit
    canvas = DigitCanvas.from_checkpoint(trained_checkpoint)
    send_drawing(canvas, rgba)
    statuses = {}
    for value in (1.0, 0.0):
        before = canvas.result["answer"]
        set_threshold_from_page(canvas, value)
        assert canvas.result["answer"] == before + 1
        expected = Predictor.from_checkpoint(trained_checkpoint, unsure_below=value).predict(rgba)
        statuses[value] = canvas.result["status"]
        assert canvas.result["unsure_below"] == value
        assert statuses[value] == expected.status
    assert statuses == {1.0: "unsure", 0.0: "digit"}
