"""The shapes of the records modules hand to each other: typed, yet plain JSON-ready dicts.

``TypedDict`` rather than dataclasses: a history record is written to ``history.json`` and into
checkpoints as it is, and notebooks index it by key, so at run time it stays an ordinary dict.
"""

from __future__ import annotations

from typing import Literal, TypedDict

# What a prediction says about an image: a confident digit, a digit below the "unsure"
# threshold, an image that does not look like a digit at all, or no ink. The constants that
# name them (DIGIT, UNSURE, ...) and the thresholds live in predict.py.
PredictionStatus = Literal["digit", "unsure", "not_a_digit", "blank"]


class EpochRecord(TypedDict):
    """One epoch of training: what ``fit`` returns per epoch and ``history.json`` holds."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float


class ResumeState(TypedDict):
    """Where a resumed run continues: the next epoch, the history so far, the best accuracy."""

    start_epoch: int
    history: list[EpochRecord]
    best_val_acc: float
