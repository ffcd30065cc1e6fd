"""Notebook 05's first tool: beside the drawing canvas, what each block of the network makes of
the drawing. Python draws every picture (PNG) and the widgets are ipywidgets, so the view looks
the same in JupyterLab, Notebook 7 and Colab. The numbers come from ``teaching/layer_view.py``,
which also draws the static figure.
"""

from __future__ import annotations

import time

import ipywidgets as widgets
import torch

from mnist_helpers.apps.canvas import DigitCanvas
from mnist_helpers.predict import DEFAULT_NOT_A_DIGIT_BELOW, Prediction
from mnist_helpers.teaching.layer_view import NetworkView, maps_png, network_view, occlusion_png


class LayerView(widgets.VBox):
    """Bound to a ``DigitCanvas``: after every drawing, each block's maps, all ten
    probabilities with the thresholds, the occlusion map and sentences read from them."""

    def __init__(self, canvas: DigitCanvas, *, with_occlusion: bool = True) -> None:
        self._canvas, self._with_occlusion = canvas, with_occlusion
        predictor = canvas._predictor
        self.model, self._mean, self._std = predictor.model, predictor.mean, predictor.std
        blocks = len([m for m in self.model.features if isinstance(m, torch.nn.MaxPool2d)])
        self.block_images = [widgets.Image(format="png") for _ in range(blocks)]
        self.block_labels = [widgets.HTML(f"<b>block {n}</b>") for n in range(1, blocks + 1)]
        self.probabilities = widgets.HTML()
        self.occlusion = widgets.Image(format="png", width=168)
        self.sentences = widgets.HTML("<i>draw a digit on the canvas above</i>")
        self.last_view: NetworkView | None = None
        self.last_seconds = 0.0  # how long the last update took, in Python
        # A counter the page can watch: it changes once every picture of an update is set.
        self.updates = widgets.HTML(_counter("lv-updates", 0))
        self._updates = 0
        rows = [
            widgets.VBox([label, image])
            for label, image in zip(self.block_labels, self.block_images, strict=True)
        ]
        side = widgets.VBox([widgets.HTML("<b>occlusion</b>"), self.occlusion, self.probabilities])
        super().__init__([widgets.HBox([widgets.VBox(rows), side]), self.sentences, self.updates])
        self.add_class("mnist-layer-view")
        canvas.on_answer(self.show)

    def show(self, prediction: Prediction | None) -> None:
        """Redraw for ``prediction``'s model input (None: the canvas was cleared)."""
        started = time.perf_counter()
        if prediction is None or prediction.model_input is None:
            for image in self.block_images:
                image.value = b""
            self.occlusion.value = b""
            self.probabilities.value = ""
            self.sentences.value = "<i>draw a digit on the canvas above</i>"
            self.last_view = None
            self._count()
            return
        view = network_view(
            self.model,
            prediction.model_input,
            mean=self._mean,
            std=self._std,
            unsure_below=self._canvas.unsure_below,
            with_occlusion=self._with_occlusion,
        )
        for image, activation in zip(self.block_images, view.blocks, strict=True):
            image.value = maps_png(activation)
        self.occlusion.value = occlusion_png(view)
        self.probabilities.value = probability_bars_html(view, self._canvas.unsure_below)
        self.sentences.value = "<br>".join(view.sentences)
        self.last_view = view
        self.last_seconds = time.perf_counter() - started
        self._count()

    def _count(self) -> None:
        self._updates += 1
        self.updates.value = _counter("lv-updates", self._updates)


def _counter(name: str, count: int) -> str:
    """An empty element whose ``data-n`` a browser test or benchmark can wait on."""
    return f'<span class="{name}" data-n="{count}"></span>'


def probability_bars_html(view: NetworkView, unsure_below: float) -> str:
    """All ten probabilities as bars, with the unsure and not-a-digit thresholds marked."""
    rows = []
    for digit, probability in enumerate(view.probabilities):
        colour = "#1f77b4" if digit == view.guess else "#bbb"
        rows.append(
            f'<div class="bar" data-digit="{digit}" style="display:flex;align-items:center;'
            f'height:14px"><span style="width:14px">{digit}</span>'
            f'<span style="position:relative;width:150px;height:10px;background:#f3f3f3">'
            f'<span style="position:absolute;left:0;top:0;height:10px;'
            f'width:{probability * 100:.1f}%;background:{colour}"></span>'
            f'<span style="position:absolute;left:{unsure_below * 100:.1f}%;top:-2px;'
            f'height:14px;border-left:2px dashed #d62728"></span>'
            f'<span style="position:absolute;left:{DEFAULT_NOT_A_DIGIT_BELOW * 100:.1f}%;'
            f'top:-2px;height:14px;border-left:2px dotted #555"></span></span>'
            f'<span style="margin-left:4px;font-size:11px">{probability:.1%}</span></div>'
        )
    legend = (
        f"<div style='font-size:11px'>{view.status}: red dashes = unsure below "
        f"{unsure_below:.0%}, dots = not a digit below {DEFAULT_NOT_A_DIGIT_BELOW:.0%}</div>"
    )
    return legend + "".join(rows)
