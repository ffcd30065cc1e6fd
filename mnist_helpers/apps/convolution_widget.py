"""Notebook 05's second tool: a 3 x 3 convolution to edit. Nine number boxes (type, or use the
arrow keys), presets, padding and stride; Python draws the result. The numbers come from
``teaching/convolution_playground.py``, which also draws the static figure.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch

from mnist_helpers.images.image_files import png_bytes
from mnist_helpers.teaching.convolution_playground import PADDINGS, PRESETS, apply_kernel


class ConvolutionPlayground(widgets.VBox):
    """Edit a 3 x 3 kernel (type the numbers, or use the arrow keys in a box), choose padding and
    stride, and see the convolution, ReLU and max-pool of a digit, with the output size."""

    def __init__(self, digits: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        self._digits = digits  # (N, 1, 28, 28) normalised
        self._labels = labels
        self.cells = [
            widgets.BoundedFloatText(
                value=0.0,
                min=-10,
                max=10,
                step=0.5,
                continuous_update=True,
                layout={"width": "72px"},
            )
            for _ in range(9)
        ]
        self.preset = widgets.Dropdown(
            options=list(PRESETS), value="left edges", description="preset"
        )
        self.padding = widgets.ToggleButtons(options=list(PADDINGS), description="padding")
        self.stride = widgets.ToggleButtons(options=[1, 2], description="stride")
        self.digit = widgets.BoundedIntText(
            value=0, min=0, max=len(digits) - 1, description="digit"
        )
        self.picture = widgets.Image(format="png")
        self.formula = widgets.HTML()
        self.last_seconds = 0.0
        self._loading = False
        self.updates = widgets.HTML()
        self._updates = 0
        grid = widgets.GridBox(self.cells, layout={"grid_template_columns": "repeat(3, 76px)"})
        controls = widgets.VBox([self.preset, grid, self.padding, self.stride, self.digit])
        output = widgets.VBox([self.picture, self.formula, self.updates])
        super().__init__([widgets.HBox([controls, output])])
        for cell in self.cells:
            cell.add_class("kernel-cell")
        self.picture.add_class("conv-output")
        self.preset.observe(self._on_preset, names="value")
        for control in (*self.cells, self.padding, self.stride, self.digit):
            control.observe(lambda change: self.redraw(), names="value")
        self._on_preset({"new": self.preset.value})

    @property
    def kernel(self) -> torch.Tensor:
        """The kernel as it stands in the nine boxes, ``(3, 3)``."""
        return torch.tensor([cell.value for cell in self.cells], dtype=torch.float32).reshape(3, 3)

    def _on_preset(self, change: dict[str, Any]) -> None:
        self._loading = True  # one redraw for the nine values, not nine
        for cell, value in zip(self.cells, np.ravel(PRESETS[change["new"]]), strict=True):
            cell.value = round(float(value), 3)
        self._loading = False
        self.redraw()

    def redraw(self) -> None:
        """Recompute and redraw the output for the current controls."""
        if self._loading:
            return
        started = time.perf_counter()
        image = self._digits[self.digit.value, 0].cpu()
        result = apply_kernel(
            image, self.kernel, padding=self.padding.value, stride=self.stride.value
        )
        panels = [_grey(image), _signed(result.convolved), _grey(result.relu), _grey(result.pooled)]
        self.picture.value = _side_by_side(panels)
        label = "" if self._labels is None else f" (a {int(self._labels[self.digit.value])})"
        self.formula.value = (
            f"input 28 x 28{label} → convolution {result.convolved.shape[0]} x "
            f"{result.convolved.shape[1]}: {result.formula} → ReLU → 2 x 2 max-pool "
            f"{result.pooled.shape[0]} x {result.pooled.shape[1]}"
        )
        self.last_seconds = time.perf_counter() - started
        self._updates += 1
        self.updates.value = f'<span class="cp-updates" data-n="{self._updates}"></span>'


def _grey(values: torch.Tensor) -> np.ndarray:
    top, bottom = float(values.max()), float(values.min())
    scaled = (values - bottom) / max(top - bottom, 1e-6)
    grey = (scaled.numpy() * 255).astype(np.uint8)
    return np.stack([grey] * 3, axis=-1)


def _signed(values: torch.Tensor) -> np.ndarray:
    limit = max(float(values.abs().max()), 1e-6)
    v = (values / limit).clamp(-1, 1).numpy()
    rgb = np.stack([1 - np.clip(-v, 0, 1), 1 - np.abs(v), 1 - np.clip(v, 0, 1)], axis=-1)
    return (rgb * 255).astype(np.uint8)


def _side_by_side(panels: list[np.ndarray], height: int = 140) -> bytes:
    """Panels scaled (nearest) to one height, side by side with a gap, as PNG."""
    scaled = []
    for panel in panels:
        factor = max(1, height // panel.shape[0])
        scaled.append(np.kron(panel, np.ones((factor, factor, 1), dtype=np.uint8)))
    tallest = max(p.shape[0] for p in scaled)
    width = sum(p.shape[1] for p in scaled) + 8 * (len(scaled) - 1)
    canvas = np.full((tallest, width, 3), 255, dtype=np.uint8)
    x = 0
    for panel in scaled:
        canvas[: panel.shape[0], x : x + panel.shape[1]] = panel
        x += panel.shape[1] + 8
    return png_bytes(canvas)
