"""Is the model's confidence honest? Confidence bins, a reliability table and the calibration error.

A model is *calibrated* when, of the answers it gives with confidence about 0.9, about 90 % are
right. The reliability diagram (``teaching_plots.plot_reliability_diagram``) draws this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mnist_helpers.errors import ParameterError

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
