"""Notebook 05's third tool: learning rates tried live. Each run trains a fresh model with the
hand-written gradient-descent step (``teaching/experiments.py``) and redraws the loss every few
steps; earlier runs stay on the plot for comparison.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw

from mnist_helpers.images.image_files import png_bytes
from mnist_helpers.teaching.experiments import sgd_losses

REDRAW_EVERY = 10  # the curve is redrawn every this many steps


class LearningRateLab(widgets.VBox):
    """Pick a learning rate (log scale), train a fresh model for a few hundred steps with the
    hand-written gradient-descent step, and watch the loss; earlier runs stay on the plot."""

    def __init__(self, model_args: dict[str, Any], batches: Any, *, steps: int = 300) -> None:
        self._model_args, self._batches, self.steps = model_args, batches, steps
        self.lr = widgets.FloatLogSlider(
            value=0.1, base=10, min=-3, max=1, step=0.25, description="lr"
        )
        # The same rate as a number box, linked both ways: type a rate, or use the arrow keys in
        # the box (Notebook 7 gives a slider's arrow keys to the notebook).
        self.lr_box = widgets.BoundedFloatText(
            value=0.1, min=0.001, max=10.0, step=0.01, layout={"width": "90px"}
        )
        widgets.jslink((self.lr, "value"), (self.lr_box, "value"))
        self.lr_box.add_class("lr-box")
        self.train_button = widgets.Button(description=f"train {steps} steps")
        self.clear_button = widgets.Button(description="clear the plot")
        self.picture = widgets.Image(format="png")
        self.status = widgets.HTML()
        self.runs: dict[float, list[float]] = {}
        self.updates = widgets.HTML()
        self.lr.add_class("lr-slider")
        self.train_button.add_class("lr-train")
        self.picture.add_class("lr-picture")
        self.first_point_seconds = 0.0  # from the click to the first curve point on screen
        super().__init__(
            [
                widgets.HBox([self.lr, self.lr_box, self.train_button, self.clear_button]),
                self.picture,
                self.status,
                self.updates,
            ]
        )
        self.train_button.on_click(lambda _: self.train())
        self.clear_button.on_click(lambda _: self.clear())

    def clear(self) -> None:
        """Forget every run."""
        self.runs.clear()
        self.picture.value = b""
        self.status.value = ""

    def train(self, lr: float | None = None) -> list[float]:
        """Train at ``lr`` (None: the slider's), redrawing every REDRAW_EVERY steps."""
        lr = float(self.lr.value if lr is None else lr)
        started = time.perf_counter()
        losses = self.runs.setdefault(lr, [])
        losses.clear()
        for step, loss in enumerate(
            sgd_losses(self._model_args, _repeat(self._batches), steps=self.steps, lr=lr), 1
        ):
            losses.append(loss)
            if step % REDRAW_EVERY == 0 or step == self.steps:
                self.picture.value = self.picture_png()
                self.updates.value = (
                    f'<span class="lr-updates" data-n="{step}" data-lr="{lr:.4g}"></span>'
                )
                if step == REDRAW_EVERY:
                    self.first_point_seconds = time.perf_counter() - started
        self.status.value = (
            f"lr {lr:.3g}: loss {losses[0]:.3f} at the first step, {losses[-1]:.3f} at step "
            f"{len(losses)} ({time.perf_counter() - started:.1f} s)"
        )
        return losses

    def figure(self) -> Any:
        """Every run's loss per step (mean of 10 steps), one line per learning rate (matplotlib)."""
        from mnist_helpers.teaching.plots import _figure

        fig = _figure(7, 3.2)
        ax = fig.add_subplot()
        for lr, losses in sorted(self.runs.items()):
            ax.plot(_smooth(losses), label=f"lr {lr:.3g}")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (mean of 10 steps)")
        ax.set_ylim(0, 3)
        ax.grid(alpha=0.3)
        if self.runs:
            ax.legend(fontsize=8)
        return fig

    def picture_png(self) -> bytes:
        """The same curves drawn directly with PIL: a few milliseconds, so it can redraw live."""
        width, height, left, bottom = 560, 240, 40, 24
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        draw.rectangle([left, 4, width - 4, height - bottom], outline="#888")
        for loss in (1, 2):
            y = height - bottom - loss / 3 * (height - bottom - 4)
            draw.line([left, y, width - 4, y], fill="#ddd")
            draw.text((8, y - 6), f"{loss}", fill="black")
        draw.text(
            (left, height - bottom + 6),
            f"loss (mean of 10 steps) over {self.steps} steps",
            fill="black",
        )
        for index, (lr, losses) in enumerate(sorted(self.runs.items())):
            colour = COLOURS[index % len(COLOURS)]
            values = _smooth(losses)
            points = [
                (
                    left + step / max(1, self.steps - 1) * (width - 4 - left),
                    height - bottom - min(max(loss, 0), 3) / 3 * (height - bottom - 4),
                )
                for step, loss in enumerate(values)
            ]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            draw.text((width - 110, 10 + 14 * index), f"lr {lr:.3g}", fill=colour)
        return png_bytes(image)


COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _smooth(losses: list[float]) -> list[float]:
    """A running mean over the last 10 steps (fewer at the start)."""
    return [float(np.mean(losses[max(0, i - 9) : i + 1])) for i in range(len(losses))]


def _repeat(batches: Any) -> Any:
    """The loader's batches, epoch after epoch, for as many steps as asked."""
    while True:
        yield from batches
