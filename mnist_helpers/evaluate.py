"""How good is a trained model? Loss and accuracy over a loader, then the numbers behind 03.

``evaluate`` and ``predict_logits`` run the model; the rest reads its logits: a confusion matrix,
per-class scores, the most confident mistakes, and calibration (is a 90 % answer right 90 % of the
time?), whose table the reliability diagram draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.errors import NonFiniteOutputError, ParameterError
from mnist_helpers.loaders import Batches
from mnist_helpers.model import NUM_CLASSES
from mnist_helpers.support.precision import autocast_context, channels_last


@torch.no_grad()
def predict_logits(
    model: nn.Module, loader: Batches, *, autocast_dtype: torch.dtype | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 logits ``(N, 10)`` and labels ``(N,)`` for every batch of ``loader``, on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    all_logits, all_labels = [], []
    for images, labels in loader:
        with autocast_context(device, autocast_dtype):
            all_logits.append(model(channels_last(images)).float())
        all_labels.append(labels)
    if not all_labels:
        return torch.empty(0, NUM_CLASSES), torch.empty(0, dtype=torch.long)
    # One copy to the CPU at the end, so a GPU is not made to wait after every batch.
    logits = torch.cat(all_logits).cpu()
    require_finite(logits)
    return logits, torch.cat(all_labels).cpu()


def require_finite(logits: torch.Tensor) -> None:
    """Raise NonFiniteOutputError unless every logit is a finite number."""
    broken = int((~torch.isfinite(logits)).any(dim=-1).sum())
    if broken:
        raise NonFiniteOutputError(
            f"the model gave logits that are not finite numbers (NaN or infinity) for {broken:,} "
            f"of {len(logits):,} images: its weights or normalisation are broken. Use a "
            "checkpoint written by training (load_checkpoint refuses broken ones)."
        )


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


def confusion_matrix(
    predictions: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES
) -> torch.Tensor:
    """``(num_classes, num_classes)`` counts: row = true label, column = prediction."""
    flat = labels.long() * num_classes + predictions.long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_report(matrix: torch.Tensor) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support for each class of a confusion matrix."""
    matrix = matrix.double()
    true_positive = matrix.diag()
    support = matrix.sum(1)  # images whose true label is the class
    predicted = matrix.sum(0)  # images predicted as the class
    precision = true_positive / predicted.clamp(min=1)
    recall = true_positive / support.clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return [
        {
            "class": index,
            "precision": precision[index].item(),
            "recall": recall[index].item(),
            "f1": f1[index].item(),
            "support": int(support[index].item()),
        }
        for index in range(len(matrix))
    ]


def most_confident_mistakes(
    logits: torch.Tensor, labels: torch.Tensor, count: int = 16
) -> torch.Tensor:
    """Indices of the wrongly classified images, most confident first."""
    probabilities = logits.softmax(1)
    confidence, predictions = probabilities.max(1)
    wrong = (predictions != labels).nonzero().flatten()
    order = confidence[wrong].argsort(descending=True)
    return wrong[order[:count]]


def summarize_predictions(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """Test metrics as plain numbers, ready for JSON."""
    predictions = logits.argmax(1)
    matrix = confusion_matrix(predictions, labels)
    return {
        "num_images": len(labels),
        "loss": torch.nn.functional.cross_entropy(logits, labels).item(),
        "acc": (predictions == labels).double().mean().item(),
        "num_errors": int((predictions != labels).sum().item()),
        "per_class": per_class_report(matrix),
        "confusion_matrix": matrix.tolist(),
    }


# One set of bin edges for the confidence histogram, its reading and the reliability diagram,
# so the text printed under a figure describes the bars in it.
CONFIDENCE_BINS = 40
RELIABILITY_BINS = 10


def bin_edges(num_bins: int) -> torch.Tensor:
    """``num_bins + 1`` equally spaced edges from 0 to 1 (float64)."""
    if num_bins < 1:
        raise ParameterError(f"num_bins must be >= 1; got {num_bins}")
    return torch.linspace(0.0, 1.0, num_bins + 1, dtype=torch.float64)


def bin_index(confidence: torch.Tensor, num_bins: int) -> torch.Tensor:
    """The bin of each confidence; bins are ``[low, high)``, and 1.0 falls in the last one."""
    if confidence.numel() and (confidence.min() < 0 or confidence.max() > 1):
        raise ParameterError("confidence values must lie between 0 and 1")
    return (confidence.double() * num_bins).long().clamp(max=num_bins - 1)


def histogram(confidence: torch.Tensor, num_bins: int = CONFIDENCE_BINS) -> torch.Tensor:
    """Number of confidences in each bin, ``(num_bins,)``."""
    return torch.bincount(bin_index(confidence, num_bins), minlength=num_bins)


@dataclass
class ReliabilityBin:
    """One bin of the reliability table."""

    low: float
    high: float
    count: int
    mean_confidence: float  # nan when the bin is empty
    accuracy: float  # nan when the bin is empty


def reliability_table(
    confidence: torch.Tensor, correct: torch.Tensor, num_bins: int = RELIABILITY_BINS
) -> list[ReliabilityBin]:
    """Per confidence bin: how many answers, their mean confidence and the share that were right."""
    if confidence.shape != correct.shape:
        raise ParameterError(
            f"confidence {tuple(confidence.shape)} and correct {tuple(correct.shape)} differ"
        )
    edges = bin_edges(num_bins).tolist()
    index = bin_index(confidence, num_bins)
    rows = []
    for b in range(num_bins):
        members = index == b
        count = int(members.sum())
        rows.append(
            ReliabilityBin(
                edges[b],
                edges[b + 1],
                count,
                confidence[members].double().mean().item() if count else float("nan"),
                correct[members].double().mean().item() if count else float("nan"),
            )
        )
    return rows


def expected_calibration_error(table: list[ReliabilityBin]) -> float:
    """Mean gap ``|accuracy - confidence|`` over bins, weighted by the answers in each bin."""
    total = sum(row.count for row in table)
    if total == 0:
        raise ParameterError("no answers to measure calibration on")
    return sum(
        row.count * abs(row.accuracy - row.mean_confidence) for row in table if row.count
    ) / (total)


def threshold_for_accuracy(
    confidence: torch.Tensor, correct: torch.Tensor, target: float
) -> tuple[float, float] | None:
    """The lowest confidence threshold whose answers above it are right at least ``target`` of
    the time, and the share of answers it leaves out; None when no threshold reaches ``target``.

    The answers are sorted from the most sure down, and the longest top stretch whose accuracy is
    still at least ``target`` is kept.
    """
    order = confidence.argsort(descending=True)
    running = correct[order].double().cumsum(0) / torch.arange(1, len(order) + 1)
    reaching = (running >= target).nonzero()
    if len(reaching) == 0:
        return None
    keep = int(reaching.max()) + 1
    return float(confidence[order[keep - 1]]), 1 - keep / len(order)
