"""DigitCanvas without a browser: the Python/JS contract, and the widget driven like the page.

Each test builds its own widget and talks to it only through the Jupyter widget protocol on its
comm (trait updates and custom messages, exactly what the page sends) and its public methods.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import mnist_helpers.apps.canvas as canvas_module
from mnist_helpers.apps.canvas import (
    BLANK_RESULT,
    CANVAS_SIZE,
    CANVAS_STATUSES,
    CLEAR,
    ERROR,
    MESSAGE_TYPES,
    DigitCanvas,
    decode_png_data_url,
    encode_png_data_url,
    prediction_to_result,
)
from mnist_helpers.data import MNIST_MEAN, MNIST_STD
from mnist_helpers.errors import ImageInputError
from mnist_helpers.model import MnistCNN
from mnist_helpers.predict import Prediction, Predictor

PACKAGE = Path(canvas_module.__file__).parent
CANVAS_JS = (PACKAGE / "canvas.js").read_text()
CANVAS_CSS = (PACKAGE / "canvas.css").read_text()
DIRECTIONS = {"python->page", "page->python", "both"}


# ---- the contract written at the top of canvas.js ------------------------------------------------


def contract() -> dict[str, Any]:
    """The "// contract:" lines of canvas.js, parsed."""
    parsed: dict[str, Any] = {"trait": {}, "message": {}, "result": set(), "status": set()}
    for kind, rest in re.findall(r"^// contract: (\w+) (.+)$", CANVAS_JS, flags=re.M):
        words = rest.split()
        if kind in ("trait", "message"):
            assert words[1] in DIRECTIONS, f"unknown direction in: {kind} {rest}"
            parsed[kind][words[0]] = words[1]
        else:  # result keys and statuses may run over several lines
            parsed[kind] |= set(words)
    return parsed


def own_synced_traits() -> set[str]:
    """The synced traits DigitCanvas adds to anywidget's own."""
    return set(DigitCanvas.class_trait_names(sync=True)) - set(
        anywidget.AnyWidget.class_trait_names(sync=True)
    )


def js_uses() -> dict[str, set[str]]:
    """The traits canvas.js reads, watches and writes; the message types it sends and handles."""
    return {
        "read": set(re.findall(r'model\.get\("(\w+)"\)', CANVAS_JS)),
        "watched": set(re.findall(r'"change:(\w+)"', CANVAS_JS)),
        "written": set(re.findall(r'model\.set\("(\w+)"', CANVAS_JS)),
        "sent": set(re.findall(r'model\.send\(\{ type: "(\w+)" \}\)', CANVAS_JS)),
        "handled": set(re.findall(r'message\.type === "(\w+)"', CANVAS_JS)),
    }


def test_contract_traits_are_the_widgets_synced_traits() -> None:
    assert set(contract()["trait"]) == own_synced_traits()


def test_canvas_js_uses_each_contract_trait_only_in_its_direction() -> None:
    traits, uses = contract()["trait"], js_uses()
    assert uses["read"] | uses["watched"] | uses["written"] == set(traits)
    writable = {name for name, direction in traits.items() if direction != "python->page"}
    assert uses["written"] == writable  # the page writes exactly the traits it owns
    shown = {name for name, direction in traits.items() if direction != "page->python"}
    assert shown <= uses["read"]  # and reads every trait Python sets


def test_contract_messages_are_the_ones_both_sides_handle() -> None:
    messages, uses = contract()["message"], js_uses()
    assert set(messages) == set(MESSAGE_TYPES)
    to_python = {name for name, direction in messages.items() if direction != "python->page"}
    to_page = {name for name, direction in messages.items() if direction != "page->python"}
    assert uses["sent"] == to_python
    assert uses["handled"] == to_page


def test_contract_result_keys_are_what_python_publishes(tmp_path: Path) -> None:
    keys = contract()["result"]
    canvas = DigitCanvas(untrained_predictor())
    send_drawing(canvas, drawn_seven())
    assert set(canvas.result) == keys
    clear_from_page(canvas)
    assert set(canvas.result) == keys
    send_png(canvas, "data:image/png;base64,bm90IGEgcG5n")  # an error answer
    assert set(canvas.result) == keys


def test_contract_statuses_are_every_status_python_can_publish() -> None:
    statuses = contract()["status"]
    assert statuses == set(CANVAS_STATUSES)
    assert {"digit", "unsure", "not_a_digit", "blank", ERROR} <= statuses
    # Each answer that is not a plain digit has its own look, so none reads as a confident digit.
    for status in statuses - {"digit", "blank"}:
        assert f'[data-status="{status}"]' in CANVAS_CSS, f"canvas.css has no style for {status}"


def test_the_result_carries_the_predictions_status() -> None:
    for status in ("digit", "unsure", "not_a_digit"):
        prediction = Prediction(status=status, digit=4, probabilities=[0.1] * 10)
        assert prediction_to_result(prediction)["status"] == status


def test_canvas_size_has_one_source() -> None:
    canvas = DigitCanvas(untrained_predictor())
    assert canvas.canvas_size == CANVAS_SIZE
    assert "canvas_size" in canvas.get_state()  # sent to the page with the first state
    assert str(CANVAS_SIZE) not in CANVAS_JS and str(CANVAS_SIZE) not in CANVAS_CSS
    assert "--dc-size" in CANVAS_JS and "width: var(--dc-size)" in CANVAS_CSS


# ---- the PNG data URL both sides use -----------------------------------------------------------


def test_png_data_url_round_trips_rgba_and_grey() -> None:
    rgba = drawn_seven()
    assert np.array_equal(decode_png_data_url(encode_png_data_url(rgba)), rgba)
    grey = np.linspace(0.0, 1.0, 28 * 28).reshape(28, 28)
    decoded = decode_png_data_url(encode_png_data_url(grey))  # (28, 28, 4), opaque grey
    assert np.array_equal(decoded[..., 0], (grey * 255).round().astype(np.uint8))
    assert (decoded[..., 3] == 255).all()


@pytest.mark.parametrize(
    "image", [np.zeros((28, 28, 3), np.uint8), np.zeros((28, 28), np.uint8), np.zeros(5)]
)
def test_png_data_url_refuses_other_arrays(image: np.ndarray) -> None:
    with pytest.raises(ImageInputError, match="RGBA"):
        encode_png_data_url(image)


# ---- the widget, driven the way the page drives it -----------------------------------------------


def untrained_predictor(unsure_below: float = 0.6) -> Predictor:
    """A seeded, untrained model: enough to check that the widget publishes what it answers."""
    torch.manual_seed(0)
    return Predictor(MnistCNN(), mean=MNIST_MEAN, std=MNIST_STD, unsure_below=unsure_below)


def drawn_seven() -> np.ndarray:
    """A "7" in black strokes on a transparent canvas, as the page sends it."""
    picture = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE))
    corners = [(70, 50), (210, 50), (120, 230)]
    ImageDraw.Draw(picture).line(corners, fill="black", width=20, joint="curve")
    return np.asarray(picture)


def from_page(canvas: DigitCanvas, data: dict[str, Any]) -> None:
    """Deliver a message from the page through the widget's comm, in the widget protocol."""
    canvas.comm.handle_msg({"content": {"data": data}, "buffers": []})


def send_png(canvas: DigitCanvas, data_url: str) -> None:
    """What the page does when a stroke ends: ``model.set("drawing_png", ...); save_changes()``."""
    from_page(canvas, {"method": "update", "state": {"drawing_png": data_url}, "buffer_paths": []})


def send_drawing(canvas: DigitCanvas, rgba: np.ndarray) -> None:
    send_png(canvas, encode_png_data_url(rgba))


def set_threshold_from_page(canvas: DigitCanvas, value: float) -> None:
    from_page(canvas, {"method": "update", "state": {"unsure_below": value}, "buffer_paths": []})


def clear_from_page(canvas: DigitCanvas) -> None:
    """What the page's Clear button sends."""
    from_page(canvas, {"method": "custom", "content": {"type": CLEAR}})


def to_page(canvas: DigitCanvas, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record every message the widget sends to the page from now on."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(canvas.comm, "send", lambda data=None, **_: sent.append(data))
    return sent


def results_sent(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["state"]["result"] for m in messages if "result" in m.get("state", {})]


def test_a_drawing_from_the_page_gets_the_predictors_answer(monkeypatch) -> None:
    canvas = DigitCanvas(untrained_predictor())
    sent = to_page(canvas, monkeypatch)
    send_drawing(canvas, drawn_seven())
    expected = prediction_to_result(untrained_predictor().predict(drawn_seven()))
    assert {k: v for k, v in canvas.result.items() if k != "answer"} == {
        **expected,
        "unsure_below": canvas.unsure_below,  # the threshold the answer was read with
    }
    assert results_sent(sent) == [canvas.result]  # and the page was sent that answer, once
    assert decode_png_data_url(canvas.result["model_input"]).shape == (28, 28, 4)


def test_the_same_answer_twice_is_still_sent_to_the_page(monkeypatch) -> None:
    canvas = DigitCanvas(untrained_predictor())
    sent = to_page(canvas, monkeypatch)
    blank = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), dtype=np.uint8)
    send_drawing(canvas, blank)
    send_drawing(canvas, drawn_seven())
    send_drawing(canvas, blank)
    answers = results_sent(sent)
    assert [a["status"] for a in answers] == ["blank", answers[1]["status"], "blank"]
    assert len({a["answer"] for a in answers}) == 3  # the page can tell each answer apart


def test_a_blank_drawing_is_refused_not_guessed() -> None:
    canvas = DigitCanvas(untrained_predictor())
    send_drawing(canvas, np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), dtype=np.uint8))
    assert canvas.result["status"] == "blank"
    assert canvas.result["digit"] is None
    assert canvas.result["top"] == []
    assert "draw a digit first" in canvas.result["message"]


def test_clear_from_the_page_blanks_and_the_same_drawing_is_read_again(monkeypatch) -> None:
    canvas = DigitCanvas(untrained_predictor())
    send_drawing(canvas, drawn_seven())
    first = canvas.result
    sent = to_page(canvas, monkeypatch)
    clear_from_page(canvas)
    assert canvas.result["status"] == "blank"
    assert {"method": "custom", "content": {"type": CLEAR}} in sent  # every view wipes its strokes
    send_drawing(canvas, drawn_seven())  # the very same PNG again must reach Python
    assert canvas.result["answer"] > first["answer"]
    assert canvas.result["probabilities"] == first["probabilities"]


def test_a_bad_data_url_shows_an_error_instead_of_raising() -> None:
    canvas = DigitCanvas(untrained_predictor())
    send_png(canvas, "data:image/png;base64,bm90IGEgcG5n")  # "not a png"
    assert canvas.result["status"] == ERROR
    assert canvas.result["message"].startswith("error: the canvas image could not be decoded")
    send_png(canvas, "data:text/plain;base64,aGk=")
    assert canvas.result["message"] == "error: the canvas did not send a PNG data URL"


def test_predict_image_does_not_show_in_the_widget(monkeypatch) -> None:
    canvas = DigitCanvas(untrained_predictor())
    sent = to_page(canvas, monkeypatch)
    prediction = canvas.predict_image(drawn_seven())
    assert prediction.probabilities == untrained_predictor().predict(drawn_seven()).probabilities
    with pytest.raises(ImageInputError):
        canvas.predict_image("/no/such/digit.png")
    set_threshold_from_page(canvas, 0.0)  # no drawing yet, so nothing to relabel
    assert canvas.result == BLANK_RESULT
    assert results_sent(sent) == []


def test_predict_image_uses_the_canvas_threshold_not_the_callers() -> None:
    predictor = untrained_predictor(unsure_below=0.6)
    canvas = DigitCanvas(predictor, unsure_below=1.0)
    assert canvas.predict_image(drawn_seven()).status == (
        untrained_predictor(unsure_below=1.0).predict(drawn_seven()).status
    )
    assert predictor.unsure_below == 0.6  # the caller's predictor is left as it was


# ---- with a trained model ----------------------------------------------------------------------


def drawn_number(strokes: int) -> np.ndarray:
    """``strokes`` upright strokes side by side, far apart, as the page sends a drawing."""
    picture = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE))
    for k in range(strokes):
        x = 30 + k * (CANVAS_SIZE - 60) // max(strokes - 1, 1)
        ImageDraw.Draw(picture).line([(x, 90), (x, 190)], fill="black", width=12)
    return np.asarray(picture)


def test_number_mode_reads_each_drawn_digit_and_shows_every_input() -> None:
    canvas = DigitCanvas(untrained_predictor(), number_mode=True)
    send_drawing(canvas, drawn_number(3))
    result = canvas.result
    assert len(result["number"]) == 3  # one character per stroke, "?" where not sure
    assert result["status"] in ("digit", "unsure", "not_a_digit")
    assert result["top"] == [] and result["digit"] is None
    with Image.open(io.BytesIO(base64.b64decode(result["model_input"].split(",")[1]))) as shown:
        assert shown.size == (3 * 28, 28)  # the three model inputs side by side
    assert result["message"].count(" · ") == 2  # one answer per digit


def test_switching_number_mode_from_the_page_reads_the_last_drawing_again() -> None:
    canvas = DigitCanvas(untrained_predictor())
    send_drawing(canvas, drawn_number(2))
    assert canvas.result["number"] == ""
    from_page(canvas, {"method": "update", "state": {"number_mode": True}, "buffer_paths": []})
    assert len(canvas.result["number"]) == 2
    from_page(canvas, {"method": "update", "state": {"number_mode": False}, "buffer_paths": []})
    assert canvas.result["number"] == "" and len(canvas.result["top"]) == 10


def test_a_blank_drawing_in_number_mode_is_refused() -> None:
    canvas = DigitCanvas(untrained_predictor(), number_mode=True)
    send_drawing(canvas, drawn_number(1))
    send_drawing(canvas, np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), dtype=np.uint8))
    assert canvas.result["status"] == "blank" and canvas.result["number"] == ""
    assert "draw a digit first" in canvas.result["message"]
