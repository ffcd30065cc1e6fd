"""Training and evaluation loops. They return numbers; showing them is the caller's job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.progress import progress_bar

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
EpochCallback = Callable[[dict[str, Any]], None]


def _channels_last(images: torch.Tensor) -> torch.Tensor:
    return images.contiguous(memory_format=torch.channels_last)


def train_one_epoch(
    model: nn.Module,
    train_loader: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    description: str = "train",
    show_progress: bool = True,
) -> dict[str, float]:
    """One pass over ``train_loader``; returns the mean training ``loss`` and ``acc``."""
    model.train()
    # Sums stay on the device: calling .item() each step would stall a GPU.
    loss_sum = torch.zeros((), device=next(model.parameters()).device)
    correct = torch.zeros((), dtype=torch.long, device=loss_sum.device)
    seen = 0
    for images, labels in progress_bar(train_loader, description, enabled=show_progress):
        logits = model(_channels_last(images))  # (N, 10)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.detach() * len(labels)
        correct += (logits.detach().argmax(1) == labels).sum()
        seen += len(labels)
    if seen == 0:
        raise ValueError("train_loader gave no batches")
    return {"loss": loss_sum.item() / seen, "acc": correct.item() / seen}


@torch.no_grad()
def predict_logits(model: nn.Module, loader: Batches) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(N, 10)`` and labels ``(N,)`` for every batch of ``loader``, on the CPU."""
    model.eval()
    all_logits, all_labels = [], []
    for images, labels in loader:
        all_logits.append(model(_channels_last(images)).float().cpu())
        all_labels.append(labels.cpu())
    return torch.cat(all_logits), torch.cat(all_labels)


@torch.no_grad()
def evaluate(model: nn.Module, loader: Batches) -> dict[str, float]:
    """Mean cross-entropy ``loss`` and accuracy ``acc`` of ``model`` on ``loader``."""
    logits, labels = predict_logits(model, loader)
    if len(labels) == 0:
        raise ValueError("loader gave no batches")
    return {
        "loss": F.cross_entropy(logits, labels).item(),
        "acc": (logits.argmax(1) == labels).float().mean().item(),
    }


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_loader: Any,
    val_loader: Batches,
    *,
    epochs: int,
    start_epoch: int = 1,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    on_epoch_end: EpochCallback | None = None,
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Train epochs ``start_epoch..epochs``; returns one history record per epoch.

    Each record holds ``epoch``, ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` and
    ``seconds``.
    ``on_epoch_end(record)`` runs after each epoch (the checkpoint keeper uses it).
    """
    history = []
    for epoch in range(start_epoch, epochs + 1):
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(epoch)
        started = time.perf_counter()
        train = train_one_epoch(
            model,
            train_loader,
            optimizer,
            scheduler=scheduler,
            description=f"epoch {epoch}/{epochs}",
            show_progress=show_progress,
        )
        val = evaluate(model, val_loader)
        record = {
            "epoch": epoch,
            "train_loss": train["loss"],
            "train_acc": train["acc"],
            "val_loss": val["loss"],
            "val_acc": val["acc"],
            "seconds": time.perf_counter() - started,
        }
        history.append(record)
        if on_epoch_end is not None:
            on_epoch_end(record)
    return history


def format_record(record: dict[str, Any]) -> str:
    """One readable line for a history record."""
    return (
        f"epoch {record['epoch']}: "
        f"train loss {record['train_loss']:.4f} acc {record['train_acc']:.4f}"
        f" | val loss {record['val_loss']:.4f} acc {record['val_acc']:.4f}"
        f" | {record['seconds']:.1f} s"
    )
