"""Sentences that read a run's own numbers, printed beside a figure so the text cannot drift."""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from mnist_helpers.errors import ParameterError
from mnist_helpers.evaluate import (
    CONFIDENCE_BINS,
    bin_edges,
    expected_calibration_error,
    histogram,
    reliability_table,
)
from mnist_helpers.support.paths import project_root

SEED_SPREAD_FILE = Path("benchmarks") / "results" / "seed_spread.json"
# The loss a tenth of images with arbitrary labels adds at best: 0.1 * ln 10.
NONDIGIT_FLOOR = 0.1 * math.log(10)


def read_learning_curves(history: Sequence[dict[str, Any]]) -> list[str]:
    """What the loss and accuracy curves of ``history`` show, one sentence per finding."""
    if not history:
        raise ParameterError("history is empty: train at least one epoch first")
    lines = []
    for before, after in zip(history, history[1:], strict=False):
        if after["train_loss"] < before["train_loss"] and after["val_loss"] > before["val_loss"]:
            lines.append(
                f"epoch {after['epoch']}: training loss fell but validation loss rose "
                f"({before['val_loss']:.4f} -> {after['val_loss']:.4f}): a step towards "
                "over-fitting, or noise; one epoch alone does not decide it."
            )
    last = history[-1]
    gap = 100 * (last["train_acc"] - last["val_acc"])
    lines.append(
        f"last epoch: {last['train_acc']:.2%} of training digits and {last['val_acc']:.2%} of "
        f"validation digits right, a gap of {gap:+.2f} points"
        + (
            ": the model does about as well on digits it never saw, so it has not memorised."
            if abs(gap) < 1
            else ": a gap this size is a sign of memorising (over-fitting)."
            if gap >= 1
            else "."
        )
    )
    if "mix_loss" in last:
        lines.append(
            f"the training mix scores lower (loss {last['mix_loss']:.3f}, accuracy "
            f"{last['mix_acc']:.1%}): a tenth of it are non-digits with arbitrary digit labels, "
            f"which no model can get right; they alone keep its loss above about "
            f"{NONDIGIT_FLOOR:.2f} and its accuracy under about 90 %."
        )
    if len(history) >= 2:
        change = last["val_loss"] - history[-2]["val_loss"]
        lines.append(
            f"validation loss {'fell' if change < 0 else 'rose'} by {abs(change):.4f} in the last "
            "epoch; with a learning rate that decays to zero the last epochs settle the weights, "
            "so a fall there does not by itself say that more epochs would help (try -p epochs 10)."
        )
    best = max(history, key=lambda r: r["val_acc"])
    lines.append(f"best validation accuracy {best['val_acc']:.2%} at epoch {best['epoch']}.")
    return lines


def read_confidence(
    confidence: torch.Tensor, correct: torch.Tensor, num_bins: int = CONFIDENCE_BINS
) -> list[str]:
    """Where right and wrong answers sit in the confidence histogram's own bins, and whether the
    model is over- or under-confident overall."""
    if not bool(correct.any()) or bool(correct.all()):
        return ["every answer is right (or every one wrong): nothing to compare."]
    edges = bin_edges(num_bins).tolist()
    lines = []
    for name, members in (("right", correct), ("wrong", ~correct)):
        counts = histogram(confidence[members], num_bins)
        tallest = int(counts.argmax())
        lines.append(
            f"{name} answers ({int(members.sum()):,}): tallest bin {edges[tallest]:.3f}-"
            f"{edges[tallest + 1]:.3f} with {int(counts[tallest]):,}; median confidence "
            f"{confidence[members].median().item():.3f}."
        )
    accuracy = correct.double().mean().item()
    mean_confidence = confidence.double().mean().item()
    gap = mean_confidence - accuracy
    verdict = "over-confident" if gap > 0 else "under-confident"
    ece = expected_calibration_error(reliability_table(confidence, correct))
    lines.append(
        f"mean confidence {mean_confidence:.2%} against accuracy {accuracy:.2%}: "
        f"{verdict} by {abs(gap) * 100:.2f} points on average "
        f"(expected calibration error {ece * 100:.2f} points)."
    )
    return lines


def seed_spread_summary(path: str | os.PathLike[str] | None = None) -> str:
    """One sentence on how much test accuracy varies with the seed, from a seed-spread JSON file.

    The file (None: the project's ``benchmarks/results/seed_spread.json``) holds
    ``{"rows": [{"seed": int, "test_acc": float, ...}, ...], "machine": str}`` as written by
    ``benchmarks/seed_spread.py``.
    """
    path = project_root() / SEED_SPREAD_FILE if path is None else Path(path)
    if not path.exists():
        return (
            f"no seed-spread results at {path.name} yet: run `python benchmarks/seed_spread.py` "
            "to measure how much the seed moves test accuracy on your machine."
        )
    try:
        report = json.loads(path.read_text())
        tests = [float(row["test_acc"]) for row in report["rows"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ParameterError(
            f"cannot read seed-spread results from {path}: {error}; "
            "run `python benchmarks/seed_spread.py` to write them"
        ) from None
    if not tests:
        raise ParameterError(f"{path} holds no seed results")
    spread = max(tests) - min(tests)
    machine = report.get("machine", "the machine that wrote it")
    return (
        f"{len(tests)} seeds of this recipe on {machine}: test accuracy "
        f"{min(tests):.2%} to {max(tests):.2%} (mean {statistics.mean(tests):.2%}), a spread of "
        f"{spread * 100:.2f} points; expect your run to land in about that range."
    )


def read_confusions(matrix: torch.Tensor, count: int = 3) -> list[str]:
    """The ``count`` most frequent confusions of a confusion matrix (row = true, column = said)."""
    off_diagonal = matrix.clone().long()
    off_diagonal.fill_diagonal_(0)
    values, flat = off_diagonal.flatten().topk(count)
    side = matrix.shape[1]
    return [
        f"true {index // side} read as {index % side}: {value} images"
        for value, index in zip(values.tolist(), flat.tolist(), strict=True)
        if value > 0
    ]


def standard_error(acc: float, num_images: int) -> float:
    """The binomial standard error of an accuracy measured on ``num_images``: sqrt(p(1-p)/n)."""
    if num_images < 1 or not 0 <= acc <= 1:
        raise ParameterError(f"need 0 <= acc <= 1 and num_images >= 1; got {acc}, {num_images}")
    return math.sqrt(acc * (1 - acc) / num_images)


def read_sampling_error(acc: float, num_images: int, what: str) -> str:
    """One sentence: how far an accuracy measured on ``num_images`` may be from the truth."""
    error = standard_error(acc, num_images)
    return (
        f"{what} {acc:.2%} on {num_images:,} images has a standard error of {100 * error:.2f} "
        f"points (sqrt(p(1 - p) / n)): another {num_images:,} images of the same kind would "
        f"give a value within about {200 * error:.2f} points of it, 95 times in 100."
    )
