"""A canvas to draw a digit on in Jupyter: the browser draws, Python preprocesses and predicts.

Strokes stay in the browser (no kernel round trip per pointer move). When a stroke ends, the page
sends the canvas as a PNG data URL in ``drawing_png``; Python decodes it to RGBA, calls
``Predictor.predict`` and publishes the answer in ``result``, which the page renders.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import io
import os
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets
from PIL import Image, UnidentifiedImageError

from mnist_helpers.errors import ImageInputError
from mnist_helpers.image_io import ImageInput
from mnist_helpers.predict import DEFAULT_UNSURE_BELOW, Prediction, Predictor

PNG_DATA_URL_PREFIX = "data:image/png;base64,"
# A 280 x 280 canvas (x2 on HiDPI screens) encodes to tens of KB; anything far larger is not ours.
MAX_DATA_URL_CHARS = 8_000_000
BLANK_RESULT: dict[str, Any] = {
    "status": "blank",
    "digit": None,
    "probabilities": [],
    "top": [],
    "message": "draw a digit first",
    "model_input": "",
}


def decode_png_data_url(data_url: str) -> np.ndarray:
    """Decode a ``data:image/png;base64,...`` URL (what the canvas sends) to an RGBA uint8 array."""
    if not data_url.startswith(PNG_DATA_URL_PREFIX):
        raise ImageInputError("the canvas did not send a PNG data URL")
    if len(data_url) > MAX_DATA_URL_CHARS:
        raise ImageInputError(f"the canvas image is too large ({len(data_url):,} characters)")
    try:
        png = base64.b64decode(data_url[len(PNG_DATA_URL_PREFIX) :], validate=True)
        with Image.open(io.BytesIO(png)) as image:
            return np.asarray(image.convert("RGBA"))  # (H, W, 4)
    except (binascii.Error, UnidentifiedImageError, OSError) as error:
        raise ImageInputError(f"the canvas image could not be decoded ({error})") from None


def encode_png_data_url(image: np.ndarray) -> str:
    """Encode a ``(28, 28)`` array in [0, 1] (ink = 1) as a grey PNG data URL."""
    pixels = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return PNG_DATA_URL_PREFIX + base64.b64encode(buffer.getvalue()).decode("ascii")


def prediction_to_result(prediction: Prediction) -> dict[str, Any]:
    """The JSON the page renders: ``Prediction.as_dict()`` plus the model input as a PNG."""
    result = prediction.as_dict(top_k=3)
    model_input = prediction.model_input
    result["model_input"] = "" if model_input is None else encode_png_data_url(model_input)
    return result


class DigitCanvas(anywidget.AnyWidget):
    """Draw a digit with mouse, pen or finger and see the model's top three guesses."""

    _esm = Path(__file__).parent / "canvas.js"
    _css = Path(__file__).parent / "canvas.css"

    drawing_png = traitlets.Unicode("").tag(sync=True)  # set by the page; "" means cleared
    result = traitlets.Dict(BLANK_RESULT).tag(sync=True)  # set by Python, rendered by the page
    unsure_below = traitlets.Float(DEFAULT_UNSURE_BELOW, min=0.0, max=1.0).tag(sync=True)

    def __init__(self, predictor: Predictor, *, unsure_below: float = DEFAULT_UNSURE_BELOW) -> None:
        # A shallow copy shares the model but lets this canvas keep its own threshold without
        # changing the caller's predictor.
        self._predictor = copy.copy(predictor)
        self._predictor.unsure_below = unsure_below
        self._last_image: ImageInput | None = None
        self._answers = 0
        super().__init__(unsure_below=unsure_below)
        self.on_msg(self._on_message)

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike[str], *, unsure_below: float = DEFAULT_UNSURE_BELOW, **kw: Any
    ) -> DigitCanvas:
        """A canvas for a checkpoint file (``kw``, e.g. ``device``, goes to the Predictor)."""
        return cls(Predictor.from_checkpoint(path, **kw), unsure_below=unsure_below)

    def predict_image(self, image: ImageInput) -> Prediction:
        """Predict ``image`` (RGBA array, path, PIL) exactly like a drawing, and show the answer."""
        return self._predict_and_show(image)

    def clear(self) -> None:
        """Wipe the drawing in every view of this canvas and show the blank state."""
        self.send({"type": "clear"})
        self._last_image = None
        # Forget the last drawing, so drawing the very same image again still reaches Python.
        self.drawing_png = ""
        self._show(BLANK_RESULT)

    def _show(self, result: dict[str, Any]) -> None:
        """Publish ``result`` to the page, numbered so that even an identical answer is sent."""
        self._answers += 1
        self.result = {**result, "answer": self._answers}

    def _show_error(self, error: Exception) -> None:
        self._show({**BLANK_RESULT, "status": "error", "message": f"error: {error}"})

    def _predict_and_show(self, image: ImageInput) -> Prediction:
        """The one path for drawings and Python callers: predict, then publish to the page."""
        try:
            prediction = self._predictor.predict(image)
        except Exception as error:
            self._show_error(error)
            raise
        self._last_image = image
        self._show(prediction_to_result(prediction))
        return prediction

    @traitlets.observe("drawing_png")
    def _on_drawing(self, change: dict[str, Any]) -> None:
        if not change["new"]:
            return  # set by clear(), which shows the blank state itself
        try:
            self._predict_and_show(decode_png_data_url(change["new"]))
        except Exception as error:
            # An exception here would only reach the kernel log; the page must say what went wrong.
            self._show_error(error)

    def _on_message(self, _: DigitCanvas, content: dict[str, Any], buffers: list[bytes]) -> None:
        # The page's Clear button arrives as a message: the trait may already be "" after
        # predict_image, and setting a trait to its current value would never reach Python.
        if content.get("type") == "clear":
            self.clear()

    @traitlets.observe("unsure_below")
    def _on_threshold(self, change: dict[str, Any]) -> None:
        self._predictor.unsure_below = change["new"]
        if self._last_image is not None:
            # _predict_and_show already shows any error in the widget.
            with contextlib.suppress(Exception):
                self._predict_and_show(self._last_image)
