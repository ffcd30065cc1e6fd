"""Figures for the worked examples: pixel grid, convolution, max-pool, the loss per step, the
learning-rate schedule, saliency and the reliability diagram. Each returns a new Figure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from mnist_helpers.evaluate import ReliabilityBin
from mnist_helpers.teaching.plots import ACCENT, GREY_BARS, GREYS, WARN, _figure, _image_panel
from mnist_helpers.teaching.worked_examples import ConvolutionDemo


def plot_pixel_grid(image: torch.Tensor, title: str = "One digit, pixel by pixel") -> Figure:
    """A ``(28, 28)`` uint8 digit with each non-zero pixel's value written in its square."""
    values = np.asarray(image.cpu(), dtype=float)
    fig = _figure(9, 9)
    ax = fig.add_subplot()
    ax.imshow(values, cmap=GREYS, vmin=0, vmax=255)
    for row in range(values.shape[0]):
        for col in range(values.shape[1]):
            if values[row, col]:
                colour = "black" if values[row, col] > 127 else "white"
                ax.text(
                    col,
                    row,
                    f"{values[row, col]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=5.5,
                    color=colour,
                )
    ax.set_xticks(range(0, values.shape[1], 4))
    ax.set_yticks(range(0, values.shape[0], 4))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(f"{title} (0 = black background, 255 = white ink; zeros left blank)")
    return fig


def plot_convolution_demo(demo: ConvolutionDemo, kernel_name: str = "") -> Figure:
    """Input, kernel, convolution (signed), ReLU and 2 x 2 max-pool of one digit, side by side."""
    fig = _figure(14, 3.3)
    axes = fig.subplots(1, 5)
    _image_panel(axes[0], demo.image.numpy(), "input (28 x 28)")
    kernel = demo.kernel.numpy()
    limit = np.abs(kernel).max()
    axes[1].imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for row in range(3):
        for col in range(3):
            axes[1].text(col, row, f"{kernel[row, col]:g}", ha="center", va="center", fontsize=12)
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    axes[1].set_title(
        f"kernel{': ' + kernel_name if kernel_name else ''}\n(red +, blue -)", fontsize=9
    )
    conv = demo.convolved.numpy()
    limit = max(np.abs(conv).max(), 1e-6)
    picture = axes[2].imshow(conv, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    axes[2].set_title("convolution (28 x 28)\nred +, blue -", fontsize=9)
    fig.colorbar(picture, ax=axes[2], shrink=0.8)
    top = max(demo.relu.max().item(), 1e-6)
    for ax, values, name in (
        (axes[3], demo.relu, "ReLU: negatives -> 0\n(28 x 28)"),
        (axes[4], demo.pooled, "2 x 2 max-pool\n(14 x 14)"),
    ):
        ax.imshow(values.numpy(), cmap=GREYS, vmin=0, vmax=top)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=9)
    return fig


def plot_max_pool_example(grid: torch.Tensor, pooled: torch.Tensor) -> Figure:
    """A small grid with its 2 x 2 blocks outlined, and the pooled grid of the block maxima."""
    fig = _figure(7, 3.2)
    left, right = fig.subplots(1, 2, width_ratios=[grid.shape[1], pooled.shape[1] + 0.01])
    low, high = grid.min().item(), grid.max().item()
    middle = (low + high) / 2
    for ax, values, title in ((left, grid, "input"), (right, pooled, "2 x 2 max-pool")):
        array = values.numpy()
        ax.imshow(array, cmap="Blues", vmin=low, vmax=high)
        for (row, col), value in np.ndenumerate(array):
            colour = "white" if value > middle else "black"
            ax.text(col, row, f"{value:.0f}", ha="center", va="center", fontsize=12, color=colour)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title)
    for edge in range(0, grid.shape[0] + 1, 2):
        left.axhline(edge - 0.5, color=WARN, linewidth=2)
        left.axvline(edge - 0.5, color=WARN, linewidth=2)
    return fig


def plot_step_losses(losses: Sequence[float], window: int = 20) -> Figure:
    """Training loss after each step, with a moving average over ``window`` steps."""
    values = np.asarray(losses, dtype=float)
    fig = _figure(8, 3.2)
    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(values) + 1), values, color=ACCENT, alpha=0.35, label="each step")
    if len(values) >= window:
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(
            np.arange(window, len(values) + 1),
            smooth,
            color=ACCENT,
            label=f"mean of the last {window}",
        )
    ax.axhline(np.log(10), color=WARN, linestyle="--", linewidth=1, label="ln 10 (guessing)")
    ax.set_xlabel("step (one batch each)")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title("The hand-written training loop: loss per step")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return fig


def plot_lr_schedule(lrs: Sequence[float], steps_per_epoch: int) -> Figure:
    """The learning rate at every optimizer step of a run, with the epoch boundaries marked."""
    fig = _figure(8, 2.8)
    ax = fig.add_subplot()
    ax.plot(np.arange(len(lrs)), lrs, color=ACCENT)
    for boundary in range(steps_per_epoch, len(lrs), steps_per_epoch):
        ax.axvline(boundary, color="grey", linewidth=0.6, linestyle=":")
    ax.set_xlabel("optimizer step (dotted lines: epoch boundaries)")
    ax.set_ylabel("learning rate")
    ax.set_title("Learning rate over the run")
    ax.grid(alpha=0.3)
    return fig


def plot_saliency(
    images: torch.Tensor,
    saliency: Sequence[torch.Tensor],
    occlusion: Sequence[torch.Tensor],
    titles: Sequence[str],
) -> Figure:
    """Per image (one column each): the digit, its saliency map and its occlusion map.

    Each map row shares one colour scale (so columns compare), and the digit's ink is outlined
    on the maps (a contour at half the ink's height), so a bright spot can be placed on a stroke.
    """
    count = len(titles)
    fig = _figure(1.6 * count + 1.2, 5.2)
    axes = np.atleast_2d(fig.subplots(3, count).reshape(3, count))
    top = max(max(float(m.max()) for m in saliency), 1e-6)
    limit = max(max(float(m.abs().max()) for m in occlusion), 1e-6)
    for column in range(count):
        digit = np.asarray(images[column], dtype=float)
        _image_panel(axes[0, column], digit, titles[column])
        heat = axes[1, column].imshow(saliency[column].numpy(), cmap="hot", vmin=0, vmax=top)
        signed = axes[2, column].imshow(
            occlusion[column].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit
        )
        middle = (digit.min() + digit.max()) / 2
        for row in (1, 2):
            axes[row, column].contour(digit, levels=[middle], colors="cyan", linewidths=0.7)
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    fig.colorbar(heat, ax=list(axes[1]), shrink=0.8, pad=0.01)
    fig.colorbar(signed, ax=list(axes[2]), shrink=0.8, pad=0.01)
    axes[0, 0].set_ylabel("digit", fontsize=9)
    axes[1, 0].set_ylabel("saliency\n(bright: sways\nthe answer)", fontsize=8)
    axes[2, 0].set_ylabel("occlusion\n(red: covering\nit lowers the\nanswer)", fontsize=8)
    fig.suptitle("Where the model looked for its wrong answer")
    return fig


def plot_reliability_diagram(table: Sequence[ReliabilityBin]) -> Figure:
    """Accuracy against confidence per bin (bars), the diagonal of perfect calibration, and how
    many answers fall in each bin (lower panel, log scale)."""
    fig = _figure(6.4, 5.2)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.2])
    width = table[0].high - table[0].low
    centres = [(row.low + row.high) / 2 for row in table]
    filled = [row for row in table if row.count]
    top.bar(
        [(r.low + r.high) / 2 for r in filled],
        [r.accuracy for r in filled],
        width=width,
        color=ACCENT,
        edgecolor="white",
        label="share right",
    )
    top.plot(
        [r.mean_confidence for r in filled],
        [r.accuracy for r in filled],
        "o",
        color=WARN,
        label="(mean confidence, share right)",
    )
    top.plot([0, 1], [0, 1], "--", color="black", linewidth=1, label="perfectly calibrated")
    top.set_ylabel("share of answers right")
    top.set_ylim(0, 1.02)
    top.set_title("Reliability diagram (test set)")
    top.legend(frameon=False, loc="upper left")
    bottom.bar(
        centres, [max(row.count, 0) for row in table], width=width, color=GREY_BARS, log=True
    )
    bottom.set_ylabel("answers (log)")
    bottom.set_xlabel("confidence (probability of the predicted digit)")
    bottom.set_xlim(0, 1)
    return fig


def plot_probability_rows(
    images: Sequence[np.ndarray], probabilities: Sequence[Sequence[float]], titles: Sequence[str]
) -> Figure:
    """One row per input: the 28 x 28 image the model saw and its ten softmax probabilities,
    with the uniform 1/10 marked (where a model that knows nothing would put every digit)."""
    count = len(titles)
    fig = _figure(8, 1.7 * count)
    axes = np.atleast_2d(fig.subplots(count, 2, width_ratios=[1, 4]))
    for row in range(count):
        _image_panel(axes[row, 0], images[row])
        probs = np.asarray(probabilities[row], dtype=float)
        colours = [WARN if d == probs.argmax() else ACCENT for d in range(len(probs))]
        axes[row, 1].bar(range(len(probs)), probs, color=colours)
        axes[row, 1].axhline(0.1, color="black", linestyle=":", linewidth=1)
        axes[row, 1].set_ylim(0, 1)
        axes[row, 1].set_xticks(range(len(probs)))
        axes[row, 1].set_ylabel("probability", fontsize=8)
        axes[row, 1].set_title(titles[row], fontsize=9, loc="left")
    axes[-1, 1].set_xlabel("digit (dotted line: 1/10, a uniform guess)")
    return fig
