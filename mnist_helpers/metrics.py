"""Evaluation numbers from logits: confusion matrix, per-class scores, confident mistakes."""

from __future__ import annotations

from typing import Any

import torch

from mnist_helpers.model import NUM_CLASSES


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
