"""The two baselines 02 compares the CNN with: nearest mean image and a small MLP."""

from __future__ import annotations

import pytest
import torch

from mnist_helpers.errors import ParameterError
from mnist_helpers.teaching.baselines import (
    class_means,
    mlp_baseline,
    nearest_mean_baseline,
    nearest_mean_predict,
)


def _quadrant_digits(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic ``(N, 1, 28, 28)`` images: class 0 to 3 is the bright quadrant, plus noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (count,), generator=generator)
    images = 0.3 * torch.randn(count, 1, 28, 28, generator=generator)
    for index, label in enumerate(labels.tolist()):
        row, col = divmod(label, 2)
        images[index, 0, 14 * row : 14 * row + 14, 14 * col : 14 * col + 14] += 1.0
    return images, labels


def test_class_means_are_the_mean_image_of_each_class():
    images, labels = _quadrant_digits(200, seed=0)
    means = class_means(images, labels)
    for digit in range(4):
        members = [
            image.flatten() for image, label in zip(images, labels, strict=True) if label == digit
        ]
        expected = torch.stack(members).mean(0)
        torch.testing.assert_close(means[digit], expected)
    assert torch.isinf(means[4:]).all()  # classes without images are never the nearest


def test_nearest_mean_picks_the_closest_template():
    means = torch.zeros(10, 784)
    means[3] = 1.0
    means[7] = -1.0
    images = torch.stack([torch.full((1, 28, 28), 0.9), torch.full((1, 28, 28), -0.8)])
    assert nearest_mean_predict(means, images).tolist() == [3, 7]


def test_nearest_mean_baseline_scores_separable_classes_perfectly():
    train_images, train_labels = _quadrant_digits(400, seed=1)
    val_images, val_labels = _quadrant_digits(100, seed=2)
    result = nearest_mean_baseline(train_images, train_labels, val_images, val_labels)
    assert result.val_acc == 1.0
    assert result.parameters == 10 * 784


def test_mlp_baseline_learns_and_leaves_the_random_state_alone():
    train_images, train_labels = _quadrant_digits(512, seed=3)
    val_images, val_labels = _quadrant_digits(200, seed=4)
    batches = list(zip(train_images.split(32), train_labels.split(32), strict=True))
    torch.manual_seed(0)
    expected_next = torch.rand(2)
    torch.manual_seed(0)
    result = mlp_baseline(batches, val_images, val_labels, epochs=2, hidden_units=32, seed=0)
    assert torch.equal(torch.rand(2), expected_next)
    assert result.val_acc >= 0.95
    assert result.parameters == 784 * 32 + 32 + 32 * 10 + 10
    again = mlp_baseline(batches, val_images, val_labels, epochs=2, hidden_units=32, seed=0)
    assert again.val_acc == result.val_acc  # seeded: the same every time


def test_baselines_refuse_wrong_shapes_and_empty_input():
    images, labels = _quadrant_digits(10, seed=5)
    with pytest.raises(ParameterError, match="shape"):
        nearest_mean_baseline(images[:, 0], labels, images, labels)
    with pytest.raises(ParameterError, match="labels"):
        nearest_mean_baseline(images, labels[:5], images, labels)
    with pytest.raises(ParameterError, match="no training batches"):
        mlp_baseline([], images, labels)
    with pytest.raises(ParameterError, match="epochs"):
        mlp_baseline([(images, labels)], images, labels, epochs=0)
