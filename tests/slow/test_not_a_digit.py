"""The slow half of test_not_a_digit.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mnist_helpers.apps.cli import main as cli_main
from mnist_helpers.images.drawing_style import digit_to_drawing
from mnist_helpers.images.nondigit_shapes import (
    nondigit_set,
)
from mnist_helpers.predict import (
    NOT_A_DIGIT,
)


def _save(tmp_path, name: str, pixels: np.ndarray) -> str:
    path = tmp_path / f"{name}.png"
    Image.fromarray(pixels).save(path)
    return str(path)


def _canvas(draw) -> np.ndarray:
    """Black strokes on a transparent 280 x 280 canvas, as the drawing widget sends them."""
    from PIL import ImageDraw

    ink = Image.new("L", (280, 280), 0)
    draw(ImageDraw.Draw(ink))
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = np.asarray(ink)
    return rgba


def _cli_answers(checkpoint, paths: list[str], capsys) -> list[dict]:
    capsys.readouterr()
    code = cli_main(["predict", *paths, "--checkpoint", str(checkpoint), "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0, lines
    return [json.loads(line) for line in lines]


@pytest.mark.slow
def test_dot_filled_canvas_and_scribble_are_flagged_through_the_cli(
    trained_checkpoint, tmp_path, capsys
) -> None:
    zigzag = [(10 + 26 * i, 15 if i % 2 else 265) for i in range(11)]
    rng = np.random.default_rng(5)
    scribble = [tuple(p) for p in rng.uniform(30, 250, (14, 2)).tolist()]
    images = {
        "dot": _canvas(lambda d: d.ellipse([130, 130, 150, 150], fill=255)),
        "filled": _canvas(lambda d: d.rectangle([20, 20, 260, 260], fill=255)),
        "whole_canvas": np.full((280, 280, 4), 255, dtype=np.uint8),
        "zigzag": _canvas(lambda d: d.line(zigzag, fill=255, width=20, joint="curve")),
        "scribble": _canvas(lambda d: d.line(scribble, fill=255, width=20, joint="curve")),
    }
    paths = [_save(tmp_path, name, pixels) for name, pixels in images.items()]
    for name, answer in zip(images, _cli_answers(trained_checkpoint, paths, capsys), strict=True):
        # Never a confident digit: "not a digit", or refused as blank (a canvas all ink).
        assert answer["status"] in (NOT_A_DIGIT, "blank"), (name, answer)
        assert answer["digit"] is None, (name, answer)


@pytest.mark.slow
def test_generated_nondigits_are_mostly_flagged_through_the_cli(
    trained_checkpoint, tmp_path, capsys
) -> None:
    others = nondigit_set(6, seed=77, side=140)
    paths = [_save(tmp_path, f"n{i}", n.image) for i, n in enumerate(others)]
    answers = _cli_answers(trained_checkpoint, paths, capsys)
    flagged = [a["status"] in (NOT_A_DIGIT, "blank") for a in answers]
    # The default model flags about 80 % of non-digits; a short test run a little fewer.
    assert sum(flagged) >= 0.6 * len(flagged), [a["message"] for a in answers]


@pytest.mark.slow
def test_real_digits_are_rarely_flagged_through_the_cli(
    trained_checkpoint, mnist_test_split, tmp_path, capsys
) -> None:
    """At most 3 % of drawn real digits may be called "not a digit" (the project's target)."""
    indices = range(100)
    styles = ["dark_on_light", "light_on_dark", "transparent"]
    paths = [
        _save(tmp_path, f"d{i}", digit_to_drawing(mnist_test_split.images[i], style=styles[i % 3]))
        for i in indices
    ]
    answers = _cli_answers(trained_checkpoint, paths, capsys)
    labels = [int(mnist_test_split.labels[i]) for i in indices]
    flagged = [a["path"] for a in answers if a["status"] == NOT_A_DIGIT]
    assert len(flagged) <= 3, flagged
    # The two-epoch test model reads about 98 % of these drawings right.
    assert sum(a["digit"] == label for a, label in zip(answers, labels, strict=True)) >= 95
