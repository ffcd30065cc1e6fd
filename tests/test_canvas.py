"""DigitCanvas without a browser: predict_image, blank canvases, the PNG data URL from the page."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from mnist_helpers.canvas import DigitCanvas, decode_png_data_url
from mnist_helpers.drawing_like import digit_to_drawing
from mnist_helpers.errors import ImageInputError

pytestmark = pytest.mark.slow  # the trained_checkpoint fixture trains on real MNIST


def png_data_url(rgba: np.ndarray) -> str:
    """Encode an RGBA array the way the browser's canvas.toDataURL("image/png") does."""
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@pytest.fixture(scope="module")
def canvas(trained_checkpoint) -> DigitCanvas:
    return DigitCanvas.from_checkpoint(trained_checkpoint)


@pytest.fixture(scope="module")
def drawn_digit(mnist_test_split) -> tuple[np.ndarray, int]:
    """Test image 0 as black strokes on a transparent 280 x 280 canvas, with its label."""
    rgba = digit_to_drawing(mnist_test_split.images[0], scale=8, style="transparent")
    return rgba, int(mnist_test_split.labels[0])


def test_predict_image_reads_a_drawn_digit_and_updates_the_page(canvas, drawn_digit) -> None:
    rgba, label = drawn_digit
    prediction = canvas.predict_image(rgba)
    assert prediction.status in ("ok", "unsure")
    assert prediction.digit == label
    assert canvas.result["digit"] == label
    assert canvas.result["status"] == prediction.status
    assert [row["digit"] for row in canvas.result["top"]][0] == label
    assert len(canvas.result["top"]) == 3
    # The 28 x 28 model input travels as a small PNG.
    model_input = decode_png_data_url(canvas.result["model_input"])
    assert model_input.shape == (28, 28, 4)


def test_blank_canvas_is_refused_not_guessed(canvas) -> None:
    prediction = canvas.predict_image(np.zeros((280, 280, 4), dtype=np.uint8))
    assert prediction.status == "blank"
    assert prediction.digit is None
    assert canvas.result["status"] == "blank"
    assert canvas.result["digit"] is None
    assert canvas.result["top"] == []
    assert "draw a digit first" in canvas.result["message"]
    # The same answer again is still sent, so the page stops waiting for it.
    before = canvas.result["answer"]
    canvas.predict_image(np.zeros((280, 280, 4), dtype=np.uint8))
    assert canvas.result["answer"] == before + 1


def test_data_url_from_the_page_gives_the_same_prediction(canvas, drawn_digit) -> None:
    rgba, _ = drawn_digit
    expected = canvas.predict_image(rgba)
    canvas.clear()
    assert canvas.result["status"] == "blank"
    for _ in range(2):  # the same drawing after Clear must still reach Python
        canvas.drawing_png = png_data_url(rgba)  # what the page sends when a stroke ends
        assert canvas.result["status"] == expected.status
        canvas._handle_custom_msg({"type": "clear"}, [])  # what the page's Clear button sends
        assert canvas.result["status"] == "blank"
    canvas.drawing_png = png_data_url(rgba)
    assert canvas.result["digit"] == expected.digit
    assert canvas.result["status"] == expected.status
    assert canvas.result["probabilities"] == pytest.approx(expected.probabilities, abs=1e-5)


def test_threshold_change_relabels_the_last_drawing(canvas, drawn_digit) -> None:
    canvas.predict_image(drawn_digit[0])
    canvas.unsure_below = 1.0  # nothing is that sure
    assert canvas.result["status"] == "unsure"
    canvas.unsure_below = 0.0
    assert canvas.result["status"] == "ok"


def test_bad_data_url_shows_an_error_instead_of_raising(canvas) -> None:
    canvas.drawing_png = "data:image/png;base64,bm90IGEgcG5n"  # "not a png"
    assert canvas.result["status"] == "error"
    assert canvas.result["message"].startswith("error:")
    with pytest.raises(ImageInputError):
        canvas.predict_image("/no/such/digit.png")
    assert canvas.result["status"] == "error"
