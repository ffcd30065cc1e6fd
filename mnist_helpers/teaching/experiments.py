"""Short training experiments: a fresh model, the hand-written gradient-descent step, a few
hundred batches. ``sgd_losses`` yields each step's loss as it goes (notebook 05 draws them
live); ``loss_after_sgd`` gives the loss at the end (the exercises of 02 compare them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.model import MnistCNN

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def sgd_losses(
    model_args: dict[str, Any],
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    steps: int = 100,
    lr: float = 0.1,
    loss_of: LossFunction = F.cross_entropy,
    pool: nn.Module | None = None,
    seed: int = 0,
) -> Iterator[float]:
    """Train a fresh ``MnistCNN(**model_args)`` by gradient descent, yielding each step's loss.

    ``loss_of`` is what the step minimises; the loss yielded is always the cross-entropy of the
    logits, so runs with different choices compare. ``pool`` replaces every max-pool.
    """
    torch.manual_seed(seed)
    model = MnistCNN(**model_args)
    if pool is not None:
        for index, layer in enumerate(model.features):
            if isinstance(layer, nn.MaxPool2d):
                model.features[index] = pool
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
        yield F.cross_entropy(logits.detach(), labels).item()


def loss_after_sgd(
    model_args: dict[str, Any], batches: Iterable[tuple[torch.Tensor, torch.Tensor]], **kw: Any
) -> float:
    """The mean loss of the last 10 steps of ``sgd_losses(model_args, batches, **kw)``."""
    losses = list(sgd_losses(model_args, batches, **kw))
    return sum(losses[-10:]) / len(losses[-10:])
