"""Training and evaluation loops. They return numbers; showing them is the caller's job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.cuda_graphs import graphed_training_pass, resolve_step_mode
from mnist_helpers.errors import ParameterError
from mnist_helpers.model import NUM_CLASSES
from mnist_helpers.progress import progress_bar
from mnist_helpers.records import EpochRecord

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
EpochCallback = Callable[[EpochRecord], None]


def _channels_last(images: torch.Tensor) -> torch.Tensor:
    return images.contiguous(memory_format=torch.channels_last)


def _autocast(device: torch.device, dtype: torch.dtype | None) -> torch.autocast:
    """Mixed precision in ``dtype`` on ``device``, or a no-op when ``dtype`` is None (float32)."""
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def train_one_epoch(
    model: nn.Module,
    train_loader: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    description: str = "train",
    show_progress: bool = True,
    autocast_dtype: torch.dtype | None = None,
    step_mode: str = "auto",
) -> dict[str, float]:
    """One pass over ``train_loader``; returns the mean training ``loss`` and ``acc``.

    ``autocast_dtype`` (e.g. ``torch.bfloat16``) runs the forward pass in mixed precision; the
    weights and the optimizer stay in float32. None trains in float32.
    ``step_mode``: ``auto`` replays the step as a CUDA graph on CUDA (mnist_helpers.cuda_graphs)
    and runs it eagerly elsewhere; ``eager`` always runs it eagerly.
    """
    model.train()
    device = next(model.parameters()).device
    batches = progress_bar(train_loader, description, enabled=show_progress)
    if resolve_step_mode(step_mode, device) == "cuda_graph":
        # On a GPU the same step is recorded once and replayed (mnist_helpers.cuda_graphs).
        totals = graphed_training_pass(
            model, batches, optimizer, scheduler=scheduler, autocast_dtype=autocast_dtype
        )
        return _epoch_means(*totals)
    # Sums stay on the device: calling .item() each step would stall a GPU.
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    seen = 0
    for images, labels in batches:
        with _autocast(device, autocast_dtype):
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
    return _epoch_means(loss_sum, correct, seen)


def _epoch_means(loss_sum: torch.Tensor, correct: torch.Tensor, seen: int) -> dict[str, float]:
    """Mean ``loss`` and ``acc`` from an epoch's device sums (the epoch's only host sync)."""
    if seen == 0:
        raise ParameterError(
            "train_loader gave no batches; pass a loader holding at least one image"
        )
    return {"loss": loss_sum.item() / seen, "acc": correct.item() / seen}


@torch.no_grad()
def predict_logits(
    model: nn.Module, loader: Batches, *, autocast_dtype: torch.dtype | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 logits ``(N, 10)`` and labels ``(N,)`` for every batch of ``loader``, on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    all_logits, all_labels = [], []
    for images, labels in loader:
        with _autocast(device, autocast_dtype):
            all_logits.append(model(_channels_last(images)).float())
        all_labels.append(labels)
    if not all_labels:
        return torch.empty(0, NUM_CLASSES), torch.empty(0, dtype=torch.long)
    # One copy to the CPU at the end, so a GPU is not made to wait after every batch.
    return torch.cat(all_logits).cpu(), torch.cat(all_labels).cpu()


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Batches, *, autocast_dtype: torch.dtype | None = None
) -> dict[str, float]:
    """Mean cross-entropy ``loss`` and accuracy ``acc`` of ``model`` on ``loader``."""
    logits, labels = predict_logits(model, loader, autocast_dtype=autocast_dtype)
    if len(labels) == 0:
        raise ParameterError("loader gave no batches; pass a loader holding at least one image")
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
    autocast_dtype: torch.dtype | None = None,
    step_mode: str = "auto",
) -> list[EpochRecord]:
    """Train epochs ``start_epoch..epochs``; returns one history record per epoch.

    Each record holds ``epoch``, ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` and
    ``seconds``.
    ``on_epoch_end(record)`` runs after each epoch (the checkpoint keeper uses it).
    ``autocast_dtype`` as in ``train_one_epoch``, for training and validation alike; ``step_mode``
    as there.
    """
    history: list[EpochRecord] = []
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
            autocast_dtype=autocast_dtype,
            step_mode=step_mode,
        )
        val = evaluate(model, val_loader, autocast_dtype=autocast_dtype)
        record: EpochRecord = {
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


def format_record(record: EpochRecord) -> str:
    """One readable line for a history record."""
    return (
        f"epoch {record['epoch']}: "
        f"train loss {record['train_loss']:.4f} acc {record['train_acc']:.4f}"
        f" | val loss {record['val_loss']:.4f} acc {record['val_acc']:.4f}"
        f" | {record['seconds']:.1f} s"
    )
