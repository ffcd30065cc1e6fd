"""Training: the step, one epoch of steps, and ``fit`` (epochs with validation).

``training_step`` is the whole lesson in four lines: forward, loss, backward (the optimizer steps
after). ``train_one_epoch`` runs it over the batches; ``fit`` adds validation and a history.
They return numbers; showing them is the caller's job. On a CUDA GPU ``fit`` runs the same step
recorded as a CUDA graph (``support/cuda_graphs.py``), which has the same signature.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypedDict

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.errors import ParameterError, TrainingDivergedError
from mnist_helpers.evaluate import evaluate
from mnist_helpers.loaders import Batches
from mnist_helpers.support.cuda_graphs import resolve_step_mode, train_one_epoch_graphed
from mnist_helpers.support.precision import autocast_context, channels_last
from mnist_helpers.support.progress import progress_bar


class _EpochNumbers(TypedDict):
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float


class EpochRecord(_EpochNumbers, total=False):
    """One epoch of training: what ``fit`` returns per epoch and ``history.json`` holds.

    ``train_loss`` and ``train_acc`` are always about digits. When the epoch trained on a mix
    with stand-ins (non-digits given arbitrary digit labels), they are measured after the epoch
    on training digits, as validation is, and the mix's own running means are ``mix_loss`` and
    ``mix_acc``.
    """

    mix_loss: float
    mix_acc: float
    warning: str  # only on a last epoch that learned nothing (see fit)


# Guessing gives 10 % on ten balanced digits; a model under this after its last epoch learned
# nothing worth keeping, and fit says so.
CHANCE_LEVEL_ACC = 0.2


EpochCallback = Callable[[EpochRecord], None]


def training_step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    autocast_dtype: torch.dtype | None = None,
    *,
    autocast_cache: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward on one batch; returns ``(logits, loss)``, gradients in ``.grad``."""
    with autocast_context(images.device, autocast_dtype, cache=autocast_cache):
        logits = model(channels_last(images))  # (N, 10) raw scores
        loss = F.cross_entropy(logits, labels)  # log-softmax + negative log-likelihood
    loss.backward()
    return logits, loss


def train_one_epoch(
    model: nn.Module,
    train_loader: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: Any = None,
    autocast_dtype: torch.dtype | None = None,
    description: str = "train",
    show_progress: bool = True,
) -> dict[str, float]:
    """One pass over ``train_loader``, one optimizer step per batch; mean ``loss`` and ``acc``."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    progress = progress_bar(train_loader, description, enabled=show_progress)
    for images, labels in progress:
        optimizer.zero_grad(set_to_none=True)
        logits, loss = training_step(model, images, labels, autocast_dtype)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()  # the learning rate changes every step, not every epoch
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
        progress.show(loss=loss_sum / seen)  # on the bar now and then, where a person watches
    if seen == 0:
        raise ParameterError(
            "train_loader gave no batches; pass a loader holding at least one image"
        )
    return {"loss": loss_sum / seen, "acc": correct / seen}


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_loader: Any,
    val_loader: Batches,
    *,
    epochs: int,
    start_epoch: int = 1,
    scheduler: Any = None,
    on_epoch_end: EpochCallback | None = None,
    show_progress: bool = True,
    autocast_dtype: torch.dtype | None = None,
    step_mode: str = "auto",
    train_digits: Batches | None = None,
) -> list[EpochRecord]:
    """Train epochs ``start_epoch..epochs`` with validation after each; one record per epoch.

    ``train_digits``: training digits without stand-ins, evaluated after each epoch as the
    record's ``train_loss`` and ``train_acc`` (pass it when ``train_loader`` mixes in non-digits
    whose labels are arbitrary: their running mean is kept as ``mix_loss`` and ``mix_acc``).

    ``on_epoch_end(record)`` runs after each epoch (the run folder's checkpoint keeper uses it).
    ``step_mode``: ``auto`` uses the CUDA-graph epoch on CUDA and ``train_one_epoch`` elsewhere;
    ``eager`` always uses ``train_one_epoch``.
    """
    one_epoch = epoch_function(step_mode, next(model.parameters()).device)
    history: list[EpochRecord] = []
    for epoch in range(start_epoch, epochs + 1):
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(epoch)  # the shuffle order depends on the seed and epoch only
        started = time.perf_counter()
        train = one_epoch(
            model,
            train_loader,
            optimizer,
            scheduler=scheduler,
            autocast_dtype=autocast_dtype,
            description=f"epoch {epoch}/{epochs}",
            show_progress=show_progress,
        )
        if not math.isfinite(train["loss"]):  # raised before the epoch is saved anywhere
            raise TrainingDivergedError(
                f"training diverged in epoch {epoch}: the training loss became {train['loss']}. "
                f"The checkpoints of epochs before it are kept; start afresh with a smaller lr "
                f"(now {optimizer.param_groups[0]['lr']:.3g}; the default is 0.001)."
            )
        val = evaluate(model, val_loader, autocast_dtype=autocast_dtype)
        digits = (
            train
            if train_digits is None
            else evaluate(model, train_digits, autocast_dtype=autocast_dtype)
        )
        record: EpochRecord = {
            "epoch": epoch,
            "train_loss": digits["loss"],
            "train_acc": digits["acc"],
            "val_loss": val["loss"],
            "val_acc": val["acc"],
            "seconds": time.perf_counter() - started,
        }
        if train_digits is not None:
            record["mix_loss"], record["mix_acc"] = train["loss"], train["acc"]
        if epoch == epochs and val["acc"] <= CHANCE_LEVEL_ACC:
            record["warning"] = (
                f"validation accuracy {val['acc']:.1%} after the last epoch is no better than "
                "guessing: training failed (a learning rate far too large does this). Do not use "
                "this model; train again with a smaller lr."
            )
        history.append(record)
        if on_epoch_end is not None:
            on_epoch_end(record)
    return history


def epoch_function(step_mode: str, device: torch.device) -> Callable[..., dict[str, float]]:
    """``train_one_epoch``, or on CUDA (``step_mode`` ``auto``) its CUDA-graph twin."""
    if resolve_step_mode(step_mode, device) == "cuda_graph":
        return partial(train_one_epoch_graphed, step=training_step)
    return train_one_epoch


def format_record(record: EpochRecord) -> str:
    """One readable line for a history record."""
    return (
        f"epoch {record['epoch']}: "
        f"train loss {record['train_loss']:.4f} acc {record['train_acc']:.4f}"
        f" | val loss {record['val_loss']:.4f} acc {record['val_acc']:.4f}"
        f" | {record['seconds']:.1f} s"
        + (f"\nwarning: {record['warning']}" if "warning" in record else "")
    )
