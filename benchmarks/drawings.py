"""How well a checkpoint reads drawing-like digits, and how long one drawing takes to answer.

    python -m benchmarks.drawings artifacts/checkpoints/best.pt [other.pt ...] [--count 2000]

For each checkpoint: accuracy on MNIST test digits turned into drawings (enlarged 5-10 times,
moved, thinner or thicker strokes, three colour conventions; see
mnist_helpers.images.drawing_style.random_drawing) and, for comparison, on the plain 28 x 28
test digits. Then the time from the end of a stroke to the prediction in the canvas's Python
path: decoding the PNG the page sends, preprocessing, the model.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from mnist_helpers.apps.canvas import DigitCanvas, encode_png_data_url
from mnist_helpers.data import load_mnist
from mnist_helpers.images.drawing_style import digit_to_drawing, random_drawing
from mnist_helpers.predict import Predictor


def drawing_accuracy(predictor: Predictor, count: int, seed: int = 0) -> tuple[float, float]:
    """(accuracy on drawing-like digits, accuracy on the same plain test digits)."""
    test = load_mnist(train=False)
    rng = np.random.default_rng(seed)
    indices = rng.choice(len(test), size=count, replace=False)
    drawn = plain = 0
    for index in indices:
        label = test.labels[index].item()
        # The most probable digit, whatever the status: this measures reading, not flagging.
        drawn += predictor.predict(random_drawing(test.images[index], rng)).guess == label
        plain += predictor.predict(test.images[index].numpy()).guess == label
    return drawn / count, plain / count


def stroke_to_prediction_ms(predictor: Predictor, calls: int = 200) -> list[float]:
    """Milliseconds from a canvas PNG arriving in Python to the result being published."""
    canvas = DigitCanvas(predictor)
    rgba = digit_to_drawing(load_mnist(train=False).images[0], style="transparent")
    data_url = encode_png_data_url(rgba)  # what the page's canvas.toDataURL sends
    timings = []
    for call in range(calls + 10):
        started = time.perf_counter()
        canvas.drawing_png = data_url  # what the page does at pointerup; the answer is published
        elapsed = time.perf_counter() - started
        assert canvas.result["status"] == "digit"
        canvas.drawing_png = ""  # reset, so that the same drawing counts as new next time
        if call >= 10:  # the first calls warm up caches and threads
            timings.append(elapsed * 1000)
    return timings


def main() -> None:
    """Score every checkpoint and time the canvas path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--count", type=int, default=2000, help="test digits to draw (2000)")
    args = parser.parse_args()
    print(f"| checkpoint | drawing-like digits ({args.count:,}) | same digits, plain |")
    print("| --- | --- | --- |")
    predictors = {}
    for path in args.checkpoints:
        predictors[path] = Predictor.from_checkpoint(path)
        drawn, plain = drawing_accuracy(predictors[path], args.count)
        print(f"| {path} | {drawn:.2%} | {plain:.2%} |", flush=True)
    timings = sorted(stroke_to_prediction_ms(predictors[args.checkpoints[0]]))
    p99 = timings[int(0.99 * (len(timings) - 1))]
    print(
        f"\nstroke end to prediction (Python side, PNG decode + preprocessing + model): "
        f"p50 {statistics.median(timings):.1f} ms, p99 {p99:.1f} ms over {len(timings)} drawings"
    )


if __name__ == "__main__":
    main()
