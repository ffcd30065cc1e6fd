"""A 3 x 3 convolution with every choice open: the kernel, the padding, the stride. Numbers and
a static figure; the editable widget is ``apps/convolution_widget.py``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from mnist_helpers.errors import ParameterError
from mnist_helpers.teaching.plots import GREYS, _figure, _image_panel

PRESETS: dict[str, list[list[float]]] = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "blur": [[1 / 9] * 3] * 3,
    "left edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "right edges": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "top edges": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "bottom edges": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}
PADDINGS = ("background", "zeros", "none")
STRIDES = (1, 2)


def output_side(side: int, padding: int, stride: int, kernel: int = 3) -> int:
    """The output side of a convolution: ``(side + 2 * padding - kernel) // stride + 1``."""
    return (side + 2 * padding - kernel) // stride + 1


@dataclass
class KernelResult:
    """An image through one kernel: the convolution, ReLU and a 2 x 2 max-pool."""

    convolved: torch.Tensor  # (H', W') can be negative
    relu: torch.Tensor
    pooled: torch.Tensor
    formula: str  # the output side, computed by the formula, in words


def apply_kernel(
    image: torch.Tensor, kernel: torch.Tensor, *, padding: str = "background", stride: int = 1
) -> KernelResult:
    """Convolve one normalised ``(28, 28)`` image with a ``(3, 3)`` kernel as chosen.

    ``padding``: ``background`` fills the one-pixel border with the image's background (its
    smallest value), ``zeros`` with 0, ``none`` adds no border (the output shrinks by 2).
    """
    if padding not in PADDINGS:
        raise ParameterError(f"padding must be one of {PADDINGS}; got {padding!r}")
    if stride not in STRIDES:
        raise ParameterError(f"stride must be 1 or 2; got {stride!r}")
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    if kernel.shape != (3, 3) or not bool(torch.isfinite(kernel).all()):
        raise ParameterError("the kernel must be 3 x 3 finite numbers")
    image = image.reshape(28, 28).float()
    pad = 0 if padding == "none" else 1
    value = float(image.min()) if padding == "background" else 0.0
    padded = F.pad(image[None, None], (pad,) * 4, value=value)
    convolved = F.conv2d(padded, kernel[None, None], stride=stride)[0, 0]
    relu = convolved.clamp(min=0)
    pooled = F.max_pool2d(relu[None, None], 2)[0, 0] if min(relu.shape) >= 2 else relu
    side = output_side(28, pad, stride)
    formula = f"(28 + 2 x {pad} - 3) // {stride} + 1 = {side}"
    return KernelResult(convolved, relu, pooled, formula)


def plot_kernel_result(
    image: torch.Tensor, kernel: torch.Tensor, result: KernelResult, title: str = ""
) -> Figure:
    """Input, kernel, convolution (signed), ReLU and pool, with the output size's formula."""
    fig = _figure(13, 3.2)
    axes = fig.subplots(1, 5)
    _image_panel(axes[0], image.reshape(28, 28), "input 28 x 28")
    values = torch.as_tensor(kernel, dtype=torch.float32)
    limit = max(float(values.abs().max()), 1e-6)
    axes[1].imshow(values.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
    for row in range(3):
        for col in range(3):
            axes[1].text(col, row, f"{float(values[row, col]):.2g}", ha="center", va="center")
    axes[1].set_title("kernel (red +, blue -)", fontsize=9)
    signed = max(float(result.convolved.abs().max()), 1e-6)
    axes[2].imshow(result.convolved.numpy(), cmap="RdBu_r", vmin=-signed, vmax=signed)
    side = result.convolved.shape[0]
    axes[2].set_title(f"convolution {side} x {side}\n{result.formula}", fontsize=8)
    top = max(float(result.relu.max()), 1e-6)
    axes[3].imshow(result.relu.numpy(), cmap=GREYS, vmin=0, vmax=top)
    axes[3].set_title("ReLU", fontsize=9)
    axes[4].imshow(result.pooled.numpy(), cmap=GREYS, vmin=0, vmax=top)
    axes[4].set_title(
        f"2 x 2 max-pool {result.pooled.shape[0]} x {result.pooled.shape[1]}", fontsize=9
    )
    for ax in axes[1:]:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig
