"""The typed records match what the code really produces: history, resume state, statuses."""

from __future__ import annotations

import json
from typing import get_args

import torch

from mnist_helpers import predict
from mnist_helpers.loaders import TensorBatches
from mnist_helpers.predict import PredictionStatus
from mnist_helpers.runs.recipes import (
    ResumeState,
    build_training,
    get_recipe,
    restore_training_state,
)
from mnist_helpers.train import EpochRecord, fit


def _tiny_fit(epochs: int):
    torch.manual_seed(0)
    images, labels = torch.randn(24, 1, 28, 28), torch.arange(24) % 10
    train = TensorBatches(images[:16], labels[:16], 8, shuffle=True, seed=0)
    val = TensorBatches(images[16:], labels[16:], 8)
    setup = build_training(
        get_recipe("default"),
        lr=1e-3,
        epochs=epochs,
        steps_per_epoch=2,
        device=torch.device("cpu"),
    )
    history = fit(setup.model, setup.optimizer, train, val, epochs=epochs, show_progress=False)
    return setup, history


def test_fit_records_hold_exactly_the_epoch_record_fields():
    _, history = _tiny_fit(epochs=2)
    assert [record["epoch"] for record in history] == [1, 2]
    for record in history:
        assert EpochRecord.__required_keys__ <= set(record)
        assert set(record) <= EpochRecord.__required_keys__ | EpochRecord.__optional_keys__
        assert isinstance(record["epoch"], int)
        assert all(isinstance(record[key], float) for key in set(record) - {"epoch", "warning"})
    # Records stay plain dicts: history.json and checkpoints store them as they are.
    assert json.loads(json.dumps(history)) == history


def test_resume_state_holds_exactly_the_resume_state_fields():
    setup, history = _tiny_fit(epochs=2)
    checkpoint = {
        "model_state": setup.model.state_dict(),
        "optimizer_state": setup.optimizer.state_dict(),
        "epoch": 2,
        "history": history,
    }
    state = restore_training_state(checkpoint, setup)
    assert set(state) == ResumeState.__required_keys__
    assert state["start_epoch"] == 3
    assert state["history"] == history
    assert state["best_val_acc"] == max(record["val_acc"] for record in history)


def test_prediction_status_type_names_exactly_the_statuses_predict_gives():
    assert set(get_args(PredictionStatus)) == set(predict.STATUSES)
    assert len(predict.STATUSES) == len(set(predict.STATUSES))
