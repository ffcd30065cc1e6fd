"""The slow half of test_train.py: the tests that use a shared training or notebook run."""

import pytest

from tests.helpers import read_history


@pytest.mark.slow
def test_short_real_training_run_clears_the_accuracy_bar(trained_checkpoint):
    """The session's one real training run (the ``trained_checkpoint`` fixture: the default recipe
    and augmentation, two epochs on the 51,000 training images, seed 0) must reach 98 % validation
    accuracy; it is the run the canvas, export and preprocessing tests read digits with."""
    history = read_history(trained_checkpoint.parents[1])  # best.pt lies in checkpoints/
    assert [record["epoch"] for record in history] == [1, 2]
    assert history[-1]["val_acc"] >= 0.98, history
