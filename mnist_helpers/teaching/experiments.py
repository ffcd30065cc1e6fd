"""Short training experiments for the exercises: a fresh model, plain gradient descent (SGD), a
few hundred batches, and the loss at the end. Each returns numbers; the notebooks print them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.model import MnistCNN

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_after_sgd(
    model_args: dict[str, Any],
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    steps: int = 100,
    lr: float = 0.1,
    loss_of: LossFunction = F.cross_entropy,
    pool: nn.Module | None = None,
    seed: int = 0,
) -> float:
    """Train a fresh ``MnistCNN(**model_args)`` with SGD for ``steps`` batches; its final loss.

    ``loss_of`` is what the optimizer minimises; the loss returned is always the cross-entropy
    of the logits (the mean of the last 10 steps), so different choices compare. ``pool``
    replaces every max-pool (``nn.AvgPool2d(2)``, say).
    """
    torch.manual_seed(seed)
    model = MnistCNN(**model_args)
    if pool is not None:
        for index, layer in enumerate(model.features):
            if isinstance(layer, nn.MaxPool2d):
                model.features[index] = pool
    losses = []
    for images, labels in islice(batches, steps):
        model = model.to(images.device)
        logits = model(images)
        loss = loss_of(logits, labels)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for weight in model.parameters():
                if weight.grad is not None:
                    weight.sub_(lr * weight.grad)  # weight -= lr * weight.grad
        losses.append(F.cross_entropy(logits.detach(), labels).item())
    return sum(losses[-10:]) / len(losses[-10:])
