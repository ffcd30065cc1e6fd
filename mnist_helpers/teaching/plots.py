"""Figures for the notebooks. Each function builds a new Figure and returns it.

Figures are made with ``matplotlib.figure.Figure`` rather than pyplot, so nothing global changes
and each is shown once (as the cell's value) and never leak into later cells.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from matplotlib.figure import Figure

from mnist_helpers.evaluate import CONFIDENCE_BINS, bin_edges
from mnist_helpers.support.atomic_files import atomic_write
from mnist_helpers.train import EpochRecord

if TYPE_CHECKING:
    from mnist_helpers.predict import NumberReading

# One consistent look: the same colours and panel helpers in every figure.
GREYS = "gray"
ACCENT = "#1f77b4"
WARN = "#d62728"
GREY_BARS = "#7f7f7f"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _image_panel(ax: Any, image: torch.Tensor | np.ndarray, title: str = "") -> None:
    ax.imshow(np.asarray(image), cmap=GREYS)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def save_figure(fig: Figure, folder: str | os.PathLike[str], name: str) -> Path:
    """Save ``fig`` as ``folder/name.png`` and return the path."""
    path = Path(folder) / f"{name}.png"
    with atomic_write(path) as file:  # a reader never sees half a PNG
        fig.savefig(file, format="png", dpi=110)
    return path


def plot_class_balance(train_labels: torch.Tensor, test_labels: torch.Tensor) -> Figure:
    """Bar chart of images per digit in the training and test sets."""
    fig = _figure(8, 3.2)
    ax = fig.add_subplot()
    digits = np.arange(10)
    train_counts = torch.bincount(train_labels, minlength=10).numpy()
    test_counts = torch.bincount(test_labels, minlength=10).numpy()
    ax.bar(digits - 0.2, train_counts, width=0.4, label=f"train ({train_counts.sum():,})")
    ax.bar(digits + 0.2, test_counts, width=0.4, label=f"test ({test_counts.sum():,})")
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel("number of images")
    ax.set_title("Class balance")
    # Headroom above the tallest bar and the legend in it, so no bar is hidden.
    ax.set_ylim(0, 1.25 * max(train_counts.max(), test_counts.max()))
    ax.legend(loc="upper center", ncol=2, frameon=False)
    return fig


def plot_samples_per_class(
    images: torch.Tensor, labels: torch.Tensor, per_class: int = 8
) -> Figure:
    """A grid with ``per_class`` examples of each digit, one row per digit."""
    fig = _figure(per_class * 0.9, 10 * 0.9)
    axes = fig.subplots(10, per_class)
    for digit in range(10):
        indices = (labels == digit).nonzero().flatten()[:per_class]
        for column, index in enumerate(indices):
            _image_panel(axes[digit, column], images[index])
        axes[digit, 0].set_ylabel(str(digit), rotation=0, labelpad=12, fontsize=11)
    fig.suptitle("Training samples, one row per digit")
    return fig


def plot_mean_images(images: torch.Tensor, labels: torch.Tensor) -> Figure:
    """The average image of each digit: where the ink usually is."""
    fig = _figure(10, 1.6)
    axes = fig.subplots(1, 10)
    for digit, ax in enumerate(axes):
        _image_panel(ax, images[labels == digit].double().mean(0), str(digit))
    fig.suptitle("Mean image per digit")
    return fig


def plot_pixel_histogram(images: torch.Tensor, mean: float, std: float) -> Figure:
    """Pixel values of uint8 ``images`` before and after normalisation (log counts): the same
    shape on a new scale. One bar per grey level, so no value is binned away."""
    counts = torch.bincount(images.flatten().long(), minlength=256).double().numpy()  # (256,)
    scaled = np.arange(256) / 255.0
    normalised = (scaled - mean) / std
    total = counts.sum()
    centre = (counts * normalised).sum() / total
    spread = np.sqrt((counts * (normalised - centre) ** 2).sum() / total)
    fig = _figure(10, 3)
    raw_ax, norm_ax = fig.subplots(1, 2, sharey=True)
    raw_ax.bar(scaled, counts, width=1 / 255, color=GREY_BARS, log=True)
    raw_ax.set_xlabel("pixel / 255 (0 = black, 1 = white)")
    raw_ax.set_title("Scaled to [0, 1]")
    norm_ax.bar(normalised, counts, width=1 / (255 * std), color=ACCENT, log=True)
    norm_ax.axvline(centre, color=WARN, label=f"mean {round(centre, 2) + 0.0:.2f}")
    norm_ax.axvspan(
        centre - spread, centre + spread, color=WARN, alpha=0.12, label=f"mean ± std ({spread:.2f})"
    )
    norm_ax.set_xlabel(f"(pixel / 255 - {mean}) / {std}")
    norm_ax.set_title("Normalised: what the model reads")
    norm_ax.legend(frameon=False)
    raw_ax.set_ylabel("number of pixels (log)")
    fig.suptitle("Pixel values of the training images")
    return fig


def plot_history(history: Sequence[EpochRecord] | Sequence[dict[str, Any]]) -> Figure:
    """Loss and accuracy per epoch: training digits, validation digits and, when the epochs
    trained on a mix with non-digit stand-ins, that mix as a dotted line of its own."""
    records: list[dict[str, Any]] = [dict(r) for r in history]
    epochs = [r["epoch"] for r in records]
    fig = _figure(10, 3.6)
    loss_ax, acc_ax = fig.subplots(1, 2)
    mixed = [r for r in records if "mix_loss" in r]
    for ax, key, scale in ((loss_ax, "loss", 1), (acc_ax, "acc", 100)):
        ax.plot(epochs, [scale * r[f"train_{key}"] for r in records], "o-", label="training digits")
        ax.plot(epochs, [scale * r[f"val_{key}"] for r in records], "o-", label="validation digits")
        if mixed:
            ax.plot(
                [r["epoch"] for r in mixed],
                [scale * r[f"mix_{key}"] for r in mixed],
                "o:",
                color="grey",
                label="training mix (1 in 10 a non-digit)",
            )
    loss_ax.set_title("Loss")
    loss_ax.set_ylabel("cross-entropy")
    acc_ax.set_title("Accuracy")
    acc_ax.set_ylabel("accuracy (%)")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def plot_confusion_matrix(matrix: torch.Tensor) -> Figure:
    """Heat map of a confusion matrix (log colour scale so small confusions show)."""
    from matplotlib.colors import LogNorm

    counts = np.asarray(matrix)
    fig = _figure(6.4, 5.6)
    ax = fig.add_subplot()
    image = ax.imshow(counts + 1, cmap="Blues", norm=LogNorm())
    for row in range(counts.shape[0]):
        for column in range(counts.shape[1]):
            value = counts[row, column]
            if value:
                colour = "white" if row == column else "black"
                ax.text(column, row, str(value), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title("Confusion matrix (test set)")
    fig.colorbar(image, ax=ax, label="images + 1 (log scale)")
    return fig


def plot_per_class_scores(report: Sequence[dict[str, Any]]) -> Figure:
    """Precision, recall and F1 per digit, zoomed to where the differences are."""
    fig = _figure(9, 3.4)
    ax = fig.add_subplot()
    digits = np.arange(len(report))
    for offset, key in zip((-0.25, 0.0, 0.25), ("precision", "recall", "f1"), strict=True):
        ax.bar(digits + offset, [100 * r[key] for r in report], width=0.25, label=key)
    lowest = min(100 * min(r["precision"], r["recall"], r["f1"]) for r in report)
    bottom = max(0.0, np.floor(lowest - 1.0))
    # Zoomed in: the axis starts at ``bottom``, not 0, and says so, so short bars are not misread.
    ax.set_ylim(bottom, 100.0 + 0.25 * (100.0 - bottom))
    ax.set_yticks([t for t in ax.get_yticks() if bottom <= t <= 100])
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel(f"score (%), axis from {bottom:g}")
    ax.set_title(f"Per-class precision, recall and F1 (test set; y axis starts at {bottom:g} %)")
    ax.legend(ncol=3, loc="upper center", frameon=False)
    return fig


def plot_image_gallery(
    images: torch.Tensor | np.ndarray, titles: Sequence[str], columns: int = 8, title: str = ""
) -> Figure:
    """A grid of images with a caption each (used for mistakes and examples)."""
    count = len(titles)
    rows = max(1, (count + columns - 1) // columns)
    fig = _figure(columns * 1.3, rows * 1.5)
    axes = np.atleast_1d(fig.subplots(rows, columns)).flatten()
    for index, ax in enumerate(axes):
        if index < count:
            _image_panel(ax, images[index], titles[index])
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig


def plot_confidence_histogram(
    confidence: torch.Tensor, correct: torch.Tensor, num_bins: int = CONFIDENCE_BINS
) -> Figure:
    """Top-class probability for right and for wrong predictions, in ``num_bins`` equal bins."""
    fig = _figure(7, 3.2)
    ax = fig.add_subplot()
    bins = bin_edges(num_bins).tolist()
    # Outlines, not filled bars: filled bars drawn over each other mix into a colour of their own
    # that the legend would not name.
    for members, colour, name in ((correct, ACCENT, "right"), (~correct, WARN, "wrong")):
        ax.hist(
            confidence[members].numpy(),
            bins=bins,
            log=True,
            histtype="step",
            linewidth=2,
            color=colour,
            label=name,
        )
    ax.set_xlabel("probability of the predicted digit")
    ax.set_ylabel("images (log)")
    ax.set_title("Confidence of right and wrong predictions")
    ax.legend()
    return fig


def plot_probabilities(logits: Sequence[float], title: str = "Logits and probabilities") -> Figure:
    """The ten logits and their softmax on a log scale, so the small probabilities show too."""
    scores = np.asarray(logits, dtype=float)
    shifted = scores - scores.max()
    log10_probs = (shifted - np.log(np.exp(shifted).sum())) / np.log(10)
    floor = max(-12.0, np.floor(log10_probs.min()) - 1)
    fig = _figure(10, 2.8)
    logit_ax, prob_ax = fig.subplots(1, 2)
    colours = [WARN if i == scores.argmax() else ACCENT for i in range(len(scores))]
    logit_ax.bar(range(len(scores)), scores, color=colours)
    logit_ax.axhline(0, color="black", linewidth=0.6)
    logit_ax.set_ylabel("logit (raw score)")
    logit_ax.set_title("Logits")
    # Bars start at the floor, so a probability of 1e-9 is a short bar, not an invisible one.
    prob_ax.bar(range(len(scores)), log10_probs - floor, bottom=floor, color=colours)
    prob_ax.set_ylim(floor, 0.5)
    prob_ax.set_yticks(range(int(floor), 1, max(1, int(-floor) // 6)))
    prob_ax.set_yticklabels([f"1e{t}" for t in prob_ax.get_yticks().astype(int)])
    prob_ax.set_ylabel("probability (log scale)")
    prob_ax.set_title(
        f"Softmax probabilities (bars start at 1e{int(floor)}, a power of ten below the smallest)",
        fontsize=9,
    )
    for ax in (logit_ax, prob_ax):
        ax.set_xticks(range(len(scores)))
        ax.set_xlabel("digit")
    fig.suptitle(title)
    return fig


def plot_filters(
    weight: torch.Tensor, before: torch.Tensor | None = None, title: str = "First-layer filters"
) -> Figure:
    """The 3 x 3 kernels of a conv layer with one input channel, ``(C, 1, 3, 3)``; with
    ``before`` (the same layer untrained) its kernels are drawn above, on the same scale."""
    sets = [("trained", weight)] if before is None else [("untrained", before), ("trained", weight)]
    kernels = [(name, w.detach().float().cpu()[:, 0]) for name, w in sets]
    columns = 8
    rows_per_set = (len(kernels[0][1]) + columns - 1) // columns
    rows = rows_per_set * len(kernels)
    fig = _figure(columns * 0.9 + 1.2, rows * 0.95 + 0.4)
    axes = np.atleast_2d(fig.subplots(rows, columns))
    limit = max(k.abs().max().item() for _, k in kernels)
    for set_index, (name, values) in enumerate(kernels):
        for index in range(rows_per_set * columns):
            ax = axes[set_index * rows_per_set + index // columns, index % columns]
            ax.set_xticks([])
            ax.set_yticks([])
            if index < len(values):
                image = ax.imshow(values[index].numpy(), cmap=GREYS, vmin=-limit, vmax=limit)
            else:
                ax.axis("off")
        axes[set_index * rows_per_set, 0].set_ylabel(name, fontsize=9)
    fig.colorbar(image, ax=list(axes.flatten()), shrink=0.8, label="weight")
    fig.suptitle(f"{title} (light = positive weight, dark = negative, one shared scale)")
    return fig


def plot_feature_maps(
    image: torch.Tensor, maps: Sequence[tuple[str, torch.Tensor]], per_layer: int = 8
) -> Figure:
    """The input digit, then the first ``per_layer`` channels of each ``(name, (C, H, W))``
    activation; each row on one shared scale (black = 0), with its colour bar."""
    fig = _figure(per_layer * 1.0 + 2.6, (len(maps) + 1) * 1.15)
    grid = fig.add_gridspec(len(maps) + 1, per_layer + 1)
    input_ax = fig.add_subplot(grid[0, 0])
    _image_panel(input_ax, np.asarray(image.detach().cpu()).reshape(28, 28), "input")
    for row, (name, activation) in enumerate(maps, start=1):
        shown = activation[:per_layer].detach().float().cpu()
        top = max(shown.max().item(), 1e-6)
        axes = [fig.add_subplot(grid[row, column]) for column in range(per_layer)]
        for ax, channel in zip(axes, shown, strict=False):
            picture = ax.imshow(channel.numpy(), cmap=GREYS, vmin=0, vmax=top)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0].set_ylabel(f"{name}\n{tuple(activation.shape)}", fontsize=8)
        fig.colorbar(picture, ax=axes, shrink=0.9, pad=0.01)
    fig.suptitle("One digit through the network: the first channels after each block")
    return fig


def plot_preprocessing_steps(steps: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Each stage of preprocessing a drawing, side by side."""
    fig = _figure(2.2 * len(steps), 2.6)
    axes = np.atleast_1d(fig.subplots(1, len(steps)))
    for ax, (name, image) in zip(axes, steps, strict=True):
        _image_panel(ax, image, f"{name}\n{image.shape[1]} x {image.shape[0]}")
    return fig


def plot_number_reading(reading: NumberReading) -> Figure:
    """Each digit of a number as the model saw it (28 x 28), titled with its answer."""
    count = max(len(reading.digits), 1)
    fig = _figure(1.6 * count + 0.4, 2.2)
    axes = np.atleast_1d(fig.subplots(1, count))
    for ax, digit in zip(axes, reading.digits, strict=False):
        shown = digit.model_input if digit.model_input is not None else np.zeros((28, 28))
        _image_panel(ax, shown, f"{digit.guess} ({max(digit.probabilities):.0%})\n{digit.status}")
    fig.suptitle(f"read as {reading.text or '(nothing)'}")
    return fig
