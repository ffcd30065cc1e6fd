"""Figures of what one unit computes: a multi-channel convolution as a sum of parts, and the
receptive fields of block-3 units drawn on the digit. Each returns a new Figure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mnist_helpers.teaching.inside_the_network import ChannelSum
from mnist_helpers.teaching.plots import ACCENT, WARN, _figure, _image_panel


def plot_channel_sum(demo: ChannelSum, shown: int = 8) -> Figure:
    """The first ``shown`` input maps, each convolved with its own kernel, then the sum + bias.

    All parts share one red/blue scale (red positive, blue negative), so their sizes compare.
    """
    count = min(shown, len(demo.parts))
    fig = _figure(2.0 * (count + 1), 4.4)
    axes = fig.subplots(2, count + 1)
    limit = float(demo.parts[:count].abs().max().clamp(min=1e-6))
    for index in range(count):
        _image_panel(axes[0, index], demo.inputs[index], f"input map {index}")
        axes[1, index].imshow(demo.parts[index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[1, index].set_title(f"x its kernel {index}", fontsize=8)
        axes[1, index].set_xticks([])
        axes[1, index].set_yticks([])
    axes[0, count].axis("off")
    axes[0, count].text(
        0.5,
        0.5,
        f"+ {len(demo.parts) - count} more parts\n+ bias {demo.bias:.2f}\n=",
        ha="center",
        va="center",
        fontsize=11,
    )
    total = float(demo.output.abs().max().clamp(min=1e-6))
    axes[1, count].imshow(demo.output, cmap="RdBu_r", vmin=-total, vmax=total)
    axes[1, count].set_title(f"output map {demo.channel}", fontsize=9, color=ACCENT)
    axes[1, count].set_xticks([])
    axes[1, count].set_yticks([])
    fig.suptitle(
        f"Block {demo.block}, output map {demo.channel}: one 3 x 3 kernel per input map "
        f"({len(demo.parts)} of them), the {len(demo.parts)} results added, plus a bias",
        fontsize=10,
    )
    return fig


def plot_receptive_fields(
    image: torch.Tensor, fields: Sequence[tuple[str, torch.Tensor]], title: str = ""
) -> Figure:
    """The digit with each ``(label, (28, 28) bool mask)`` field outlined in its own colour."""
    fig = _figure(4.6, 4.6)
    ax = fig.add_subplot()
    _image_panel(ax, image.reshape(28, 28), title)
    colours = (WARN, ACCENT, "tab:green", "tab:purple")
    for (label, mask), colour in zip(fields, colours, strict=False):
        rows = np.flatnonzero(mask.any(1).numpy())
        cols = np.flatnonzero(mask.any(0).numpy())
        box = Rectangle(
            (cols[0] - 0.5, rows[0] - 0.5),
            cols[-1] - cols[0] + 1,
            rows[-1] - rows[0] + 1,
            fill=False,
            edgecolor=colour,
            linewidth=2,
            label=f"{label}: rows {rows[0]}-{rows[-1]}, columns {cols[0]}-{cols[-1]}",
        )
        ax.add_patch(box)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=8, frameon=False)
    return fig
