"""Figures for the notebooks. Each function builds a new Figure and returns it.

Figures are made with ``matplotlib.figure.Figure`` rather than pyplot, so nothing global changes
and each is shown once (as the cell's value) and never leak into later cells.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

# One consistent look: the same colours and panel helpers in every figure.
GREYS = "gray"
ACCENT = "#1f77b4"
WARN = "#d62728"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
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
    ax.legend()
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


def plot_pixel_histogram(images: torch.Tensor) -> Figure:
    """Histogram of pixel values (log scale): mostly black background, some white ink."""
    fig = _figure(7, 3)
    ax = fig.add_subplot()
    ax.hist(images.flatten().numpy(), bins=64, color=ACCENT, log=True)
    ax.set_xlabel("pixel value (0 = black, 255 = white)")
    ax.set_ylabel("number of pixels (log)")
    ax.set_title("Pixel values of the training images")
    return fig


def plot_history(history: Sequence[dict[str, Any]]) -> Figure:
    """Loss and accuracy per epoch for training and validation."""
    epochs = [r["epoch"] for r in history]
    fig = _figure(10, 3.6)
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    loss_ax.plot(epochs, [r["val_loss"] for r in history], "o-", label="validation")
    loss_ax.set_title("Loss")
    loss_ax.set_ylabel("cross-entropy")
    acc_ax.plot(epochs, [100 * r["train_acc"] for r in history], "o-", label="train")
    acc_ax.plot(epochs, [100 * r["val_acc"] for r in history], "o-", label="validation")
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
    lowest = min(100 * min(r["precision"], r["recall"]) for r in report)
    ax.set_ylim(max(0.0, lowest - 1.0), 100.2)
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel("score (%)")
    ax.set_title("Per-class precision, recall and F1 (test set)")
    ax.legend(ncol=3, loc="lower right")
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


def plot_confidence_histogram(confidence: torch.Tensor, correct: torch.Tensor) -> Figure:
    """Top-class probability for right and for wrong predictions."""
    fig = _figure(7, 3.2)
    ax = fig.add_subplot()
    bins = np.linspace(0, 1, 41)
    ax.hist(confidence[correct].numpy(), bins=bins, log=True, alpha=0.7, label="right")
    ax.hist(confidence[~correct].numpy(), bins=bins, log=True, alpha=0.7, color=WARN, label="wrong")
    ax.set_xlabel("probability of the predicted digit")
    ax.set_ylabel("images (log)")
    ax.set_title("Confidence of right and wrong predictions")
    ax.legend()
    return fig


def plot_probabilities(
    probabilities: Sequence[float], title: str = "Class probabilities"
) -> Figure:
    """Bar chart of the ten class probabilities, the top one highlighted."""
    probs = np.asarray(probabilities, dtype=float)
    fig = _figure(5, 2.6)
    ax = fig.add_subplot()
    colours = [WARN if i == probs.argmax() else ACCENT for i in range(len(probs))]
    ax.bar(range(len(probs)), probs, color=colours)
    ax.set_xticks(range(len(probs)))
    ax.set_ylim(0, 1)
    ax.set_xlabel("digit")
    ax.set_ylabel("probability")
    ax.set_title(title)
    return fig


def plot_filters(weight: torch.Tensor, title: str = "First-layer filters") -> Figure:
    """The 3 x 3 kernels of a conv layer with one input channel, ``(C, 1, 3, 3)``."""
    kernels = weight.detach().cpu()[:, 0]
    columns = 8
    rows = (len(kernels) + columns - 1) // columns
    fig = _figure(columns * 0.9, rows * 0.95)
    axes = np.atleast_1d(fig.subplots(rows, columns)).flatten()
    limit = kernels.abs().max().item()
    for index, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if index < len(kernels):
            ax.imshow(kernels[index].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        else:
            ax.axis("off")
    fig.suptitle(f"{title} (red positive, blue negative)")
    return fig


def plot_feature_maps(maps: Sequence[tuple[str, torch.Tensor]], per_layer: int = 8) -> Figure:
    """The first ``per_layer`` channels of each ``(name, (C, H, W))`` activation."""
    fig = _figure(per_layer * 1.0, len(maps) * 1.15)
    axes = np.atleast_2d(fig.subplots(len(maps), per_layer))
    for row, (name, activation) in enumerate(maps):
        for column in range(per_layer):
            _image_panel(axes[row, column], activation[column].cpu())
        axes[row, 0].set_ylabel(f"{name}\n{tuple(activation.shape)}", fontsize=8)
    fig.suptitle("Feature maps of one digit through the network")
    return fig


def plot_preprocessing_steps(steps: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Each stage of preprocessing a drawing, side by side."""
    fig = _figure(2.2 * len(steps), 2.6)
    axes = np.atleast_1d(fig.subplots(1, len(steps)))
    for ax, (name, image) in zip(axes, steps, strict=True):
        _image_panel(ax, image, f"{name}\n{image.shape[1]} x {image.shape[0]}")
    return fig
