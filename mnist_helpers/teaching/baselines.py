"""Two simple classifiers to compare the CNN with: the nearest mean image and a small MLP.

Both train on the same training images and are scored on the same validation images as the CNN,
in seconds, so a learner sees what the convolutions add.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.errors import ParameterError
from mnist_helpers.model import NUM_CLASSES, count_parameters

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class BaselineResult:
    """How one classifier did on the validation images."""

    name: str
    val_acc: float
    parameters: int  # numbers the classifier learned
    seconds: float  # training and scoring


def _check(images: torch.Tensor, labels: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise ParameterError(f"expected images of shape (N, 1, 28, 28); got {tuple(images.shape)}")
    if len(images) != len(labels) or len(labels) == 0:
        raise ParameterError(f"need as many labels as images, at least one; got {len(labels)}")


def class_means(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The mean image of each class, ``(10, 784)``; a class with no image gets +inf (never near)."""
    _check(images, labels)
    flat = images.flatten(1).float()
    sums = torch.zeros(NUM_CLASSES, flat.shape[1], device=flat.device).index_add_(0, labels, flat)
    counts = torch.bincount(labels, minlength=NUM_CLASSES).float()[:, None]
    return torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("inf")))


def nearest_mean_predict(means: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """The class whose mean image is closest (Euclidean distance) to each image."""
    missing = ~torch.isfinite(means).all(1)  # classes that had no training image
    distances = torch.cdist(images.flatten(1).float(), means.nan_to_num(posinf=0.0))
    distances[:, missing] = float("inf")
    return distances.argmin(1)


def nearest_mean_baseline(
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    val_images: torch.Tensor,
    val_labels: torch.Tensor,
) -> BaselineResult:
    """Score the nearest-mean-image classifier on the validation images."""
    _check(val_images, val_labels)
    started = time.perf_counter()
    means = class_means(train_images, train_labels)
    acc = (nearest_mean_predict(means, val_images) == val_labels).float().mean().item()
    return BaselineResult("nearest mean image", acc, means.numel(), time.perf_counter() - started)


def small_mlp(hidden_units: int = 128) -> nn.Sequential:
    """784 pixels -> ``hidden_units`` -> 10 logits, fully connected: no notion of neighbours."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, hidden_units),
        nn.ReLU(),
        nn.Linear(hidden_units, NUM_CLASSES),
    )


def mlp_baseline(
    train_batches: Batches,
    val_images: torch.Tensor,
    val_labels: torch.Tensor,
    *,
    epochs: int = 1,
    lr: float = 1e-3,
    hidden_units: int = 128,
    seed: int = 0,
) -> BaselineResult:
    """Train a small MLP with Adam on ``train_batches`` for ``epochs``; score it on validation."""
    _check(val_images, val_labels)
    if epochs < 1:
        raise ParameterError(f"epochs must be >= 1; got {epochs}")
    started = time.perf_counter()
    # Its own random stream: scoring a baseline must not change what the caller trains next.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = small_mlp(hidden_units).to(val_images.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        steps = 0
        for _ in range(epochs):
            for images, labels in train_batches:
                loss = F.cross_entropy(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                steps += 1
    if steps == 0:
        raise ParameterError("mlp_baseline got no training batches")
    model.eval()
    with torch.no_grad():
        acc = (model(val_images).argmax(1) == val_labels).float().mean().item()
    name = f"small MLP (784-{hidden_units}-10, {epochs} epoch{'s' if epochs > 1 else ''})"
    return BaselineResult(name, acc, count_parameters(model), time.perf_counter() - started)
