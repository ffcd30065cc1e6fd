"""A canvas to draw a digit on in Jupyter: the browser draws, Python preprocesses and predicts.

Strokes stay in the browser (no kernel round trip per pointer move). When a stroke ends, the page
sends the canvas as a PNG data URL in ``drawing_png``; Python decodes it to RGBA, calls
``Predictor.predict`` and publishes the answer in ``result``, which the page renders. The traits and
messages the two sides share are written down once, at the top of ``canvas.js``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets
from PIL import Image, UnidentifiedImageError

from mnist_helpers.errors import ImageInputError
from mnist_helpers.images.image_files import ImageInput, png_bytes
from mnist_helpers.predict import BLANK, STATUSES, NumberReading, Prediction, Predictor
from mnist_helpers.runs.parameters import DEFAULT_UNSURE_BELOW

CANVAS_SIZE = 280  # CSS pixels; the page takes it from the canvas_size trait
PNG_DATA_URL_PREFIX = "data:image/png;base64,"
# A 280 x 280 canvas (x2 on HiDPI screens) encodes to tens of KB; anything far larger is not ours.
MAX_DATA_URL_CHARS = 8_000_000
CLEAR = "clear"  # the one message type: {"type": "clear"}, in either direction
MESSAGE_TYPES = (CLEAR,)
ERROR = "error"  # a status only the canvas publishes: the drawing could not be read
# Every status the page can be sent: the prediction's own and ERROR.
CANVAS_STATUSES = (*STATUSES, ERROR)
# What the page shows before anything is drawn (and after Clear): the keys of any other answer.
BLANK_RESULT: dict[str, Any] = {
    **Prediction(status=BLANK, digit=None, message="draw a digit first").as_dict(),
    "model_input": "",
    "number": "",  # in number mode, the number as read ("2?26": ? for a digit not read surely)
    "unsure_below": None,  # the threshold the answer was read with; None when nothing was read
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
    """Encode an image as a PNG data URL: ``(H, W)`` grey in [0, 1] or ``(H, W, 4)`` uint8 RGBA.

    The RGBA form is what the page's ``canvas.toDataURL("image/png")`` sends; the grey form is how
    the 28 x 28 model input travels back to the page.
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 4 and array.dtype == np.uint8:
        picture = Image.fromarray(array, mode="RGBA")
    elif array.ndim == 2 and np.issubdtype(array.dtype, np.floating):
        grey = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
        picture = Image.fromarray(grey, mode="L")
    else:
        raise ImageInputError(
            "encode_png_data_url takes an (H, W) float array in [0, 1] or an (H, W, 4) uint8 "
            f"RGBA array; got shape {array.shape} of {array.dtype}"
        )
    return PNG_DATA_URL_PREFIX + base64.b64encode(png_bytes(picture)).decode("ascii")


def prediction_to_result(prediction: Prediction) -> dict[str, Any]:
    """The JSON the page renders: ``Prediction.as_dict()`` plus the model input as a PNG."""
    result = prediction.as_dict(top_k=10)  # all ten digits, most likely first
    model_input = prediction.model_input
    result["model_input"] = "" if model_input is None else encode_png_data_url(model_input)
    result["number"] = ""
    return result


def reading_to_result(reading: NumberReading) -> dict[str, Any]:
    """The JSON the page renders for a number: the number as the headline, each digit's answer in
    the message, and the digits' 28 x 28 model inputs side by side."""
    if not reading.digits:
        return dict(BLANK_RESULT)
    inputs = [d.model_input for d in reading.digits if d.model_input is not None]
    return {
        **BLANK_RESULT,
        "status": reading.status,
        "message": " · ".join(d.message for d in reading.digits),
        "model_input": encode_png_data_url(np.concatenate(inputs, axis=1)) if inputs else "",
        "number": reading.text,
    }


class DigitCanvas(anywidget.AnyWidget):
    """Draw a digit with mouse, pen or finger; see the answer and all ten probabilities."""

    _esm = Path(__file__).parent / "canvas.js"
    _css = Path(__file__).parent / "canvas.css"

    canvas_size = traitlets.Int(CANVAS_SIZE, read_only=True).tag(sync=True)
    drawing_png = traitlets.Unicode("").tag(sync=True)  # set by the page; "" means cleared
    result = traitlets.Dict(BLANK_RESULT).tag(sync=True)  # set by Python, rendered by the page
    unsure_below = traitlets.Float(DEFAULT_UNSURE_BELOW, min=0.0, max=1.0).tag(sync=True)
    number_mode = traitlets.Bool(False).tag(sync=True)  # read every digit: a number such as 2026

    def __init__(
        self,
        predictor: Predictor,
        *,
        unsure_below: float = DEFAULT_UNSURE_BELOW,
        number_mode: bool = False,
    ) -> None:
        # A shallow copy shares the model but lets this canvas keep its own threshold without
        # changing the caller's predictor.
        self._predictor = copy.copy(predictor)
        self._predictor.unsure_below = unsure_below
        self._last_drawing: np.ndarray | None = None  # (H, W, 4): relabelled when the slider moves
        self._answers = 0
        # Called with each new answer (None after Clear): views bound to this canvas (05's).
        self._listeners: list[Callable[[Prediction | None], None]] = []
        super().__init__(unsure_below=unsure_below, number_mode=number_mode)
        self.on_msg(self._on_message)

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike[str], *, unsure_below: float = DEFAULT_UNSURE_BELOW, **kw: Any
    ) -> DigitCanvas:
        """A canvas for a checkpoint file (``kw``, e.g. ``device``, goes to the Predictor)."""
        return cls(Predictor.from_checkpoint(path, **kw), unsure_below=unsure_below)

    def predict_image(self, image: ImageInput) -> Prediction:
        """This canvas's answer for ``image`` (array, path, PIL), without showing it in the widget.

        The widget shows only answers to what was drawn on it, so a call from another cell never
        appears there.
        """
        return self._predictor.predict(image)

    def read_number(self, image: ImageInput) -> NumberReading:
        """This canvas's reading of ``image`` as a number (what number mode shows), without
        showing it in the widget."""
        return self._predictor.read_number(image)

    def on_answer(self, listener: Callable[[Prediction | None], None]) -> None:
        """Call ``listener(prediction)`` after every answer to a drawing, ``listener(None)`` on
        Clear. An error in a listener is shown in place of the answer; it never stops the canvas."""
        self._listeners.append(listener)

    def _tell_listeners(self, prediction: Prediction | None) -> None:
        for listener in self._listeners:
            try:
                listener(prediction)
            except Exception as error:  # a view's problem must not look like the model's
                self._show({**BLANK_RESULT, "status": ERROR, "message": f"error: {error}"})

    def clear(self) -> None:
        """Wipe the drawing in every view of this canvas and show the blank state."""
        self.send({"type": CLEAR})
        self._last_drawing = None
        # Forget the last drawing, so drawing the very same image again still reaches Python.
        self.drawing_png = ""
        self._show(BLANK_RESULT)
        self._tell_listeners(None)

    def _show(self, result: dict[str, Any]) -> None:
        """Publish ``result`` to the page, numbered so that even an identical answer is sent."""
        self._answers += 1
        self.result = {**result, "answer": self._answers}

    def _answer_drawing(self, rgba: np.ndarray) -> None:
        """Predict a drawing from the page and publish the answer, or the error, to the page."""
        try:
            if self.number_mode:
                reading = self._predictor.read_number(rgba)
                self._last_drawing = rgba
                self._show({**reading_to_result(reading), "unsure_below": self.unsure_below})
                return
            prediction = self._predictor.predict(rgba)
        except Exception as error:
            # An exception here would only reach the kernel log; the page must say what went wrong.
            self._show({**BLANK_RESULT, "status": ERROR, "message": f"error: {error}"})
            return
        self._last_drawing = rgba
        result = prediction_to_result(prediction)
        if prediction.status == BLANK:  # the canvas's own words for an empty drawing
            result["message"] = BLANK_RESULT["message"]
        self._show({**result, "unsure_below": self.unsure_below})
        self._tell_listeners(prediction)

    @traitlets.observe("drawing_png")
    def _on_drawing(self, change: dict[str, Any]) -> None:
        if not change["new"]:
            return  # set by clear(), which shows the blank state itself
        try:
            rgba = decode_png_data_url(change["new"])
        except ImageInputError as error:
            self._show({**BLANK_RESULT, "status": ERROR, "message": f"error: {error}"})
            return
        self._answer_drawing(rgba)

    def _on_message(self, _: DigitCanvas, content: dict[str, Any], buffers: list[bytes]) -> None:
        # The page's Clear button arrives as a message: the trait may already be "", and setting
        # a trait to its current value would never reach Python.
        if content.get("type") == CLEAR:
            self.clear()

    @traitlets.observe("unsure_below")
    def _on_threshold(self, change: dict[str, Any]) -> None:
        self._predictor.unsure_below = change["new"]
        if self._last_drawing is not None:
            self._answer_drawing(self._last_drawing)

    @traitlets.observe("number_mode")
    def _on_number_mode(self, change: dict[str, Any]) -> None:
        if self._last_drawing is not None:  # the same drawing, read the other way
            self._answer_drawing(self._last_drawing)
