"""Evaluation numbers on hand-made predictions."""

import json

import pytest
import torch

from mnist_helpers.evaluate import (
    confusion_matrix,
    most_confident_mistakes,
    per_class_report,
    summarize_predictions,
)


def test_confusion_matrix_rows_are_truth_columns_predictions():
    labels = torch.tensor([0, 0, 1, 2])
    predictions = torch.tensor([0, 1, 1, 1])
    matrix = confusion_matrix(predictions, labels, num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_per_class_report():
    matrix = torch.tensor([[1, 1, 0], [0, 1, 0], [0, 1, 0]])
    report = per_class_report(matrix)
    assert report[0]["recall"] == pytest.approx(0.5) and report[0]["precision"] == pytest.approx(
        1.0
    )
    assert report[1]["precision"] == pytest.approx(1 / 3) and report[1]["recall"] == pytest.approx(
        1
    )
    assert report[2]["f1"] == 0.0 and report[2]["support"] == 1


def test_most_confident_mistakes_come_first():
    logits = torch.tensor([[5.0, 0.0], [0.0, 1.0], [0.0, 9.0], [3.0, 0.0]])
    labels = torch.tensor([0, 0, 0, 1])
    assert most_confident_mistakes(logits, labels).tolist() == [2, 3, 1]


def test_summary_is_json_ready():
    logits = torch.eye(10) * 5
    logits[3] = torch.tensor([0.0, 0, 0, 0, 0, 0, 0, 0, 9, 0])  # one mistake: a 3 read as 8
    summary = summarize_predictions(logits, torch.arange(10))
    # strict JSON: no NaN/Infinity, no tensors or NumPy numbers (json.dumps would refuse them)
    restored = json.loads(json.dumps(summary, allow_nan=False))
    assert restored == summary
    assert restored["acc"] == 0.9 and restored["num_errors"] == 1 and restored["num_images"] == 10
    assert restored["confusion_matrix"][3][8] == 1 and len(restored["confusion_matrix"]) == 10
    assert restored["per_class"][3]["recall"] == 0.0


def test_the_threshold_for_an_accuracy_keeps_the_surest_answers_that_reach_it():
    from mnist_helpers.evaluate import threshold_for_accuracy

    confidence = torch.tensor([0.99, 0.98, 0.97, 0.6, 0.5])
    correct = torch.tensor([True, True, False, True, False])
    # The top two are right; the third is wrong: 2 of 3 no longer reach 0.9.
    threshold, left_out = threshold_for_accuracy(confidence, correct, 0.9)
    assert threshold == pytest.approx(0.98) and left_out == pytest.approx(0.6)
    all_right = torch.ones(5, dtype=torch.bool)
    assert threshold_for_accuracy(confidence, all_right, 0.9) == (pytest.approx(0.5), 0.0)
    assert threshold_for_accuracy(torch.tensor([0.9]), torch.tensor([False]), 0.5) is None
