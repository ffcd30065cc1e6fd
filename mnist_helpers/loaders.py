"""Ready-to-use loaders: MNIST normalised once, held on the device, split 85 / 15 by seed."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mnist_helpers.batches import TensorBatches
from mnist_helpers.data import MNIST_MEAN, MNIST_STD, load_mnist, normalize_images, split_indices
from mnist_helpers.errors import ParameterError
from mnist_helpers.training_mix import TrainingMix

# Sizes used by the small-run switch: enough to learn something, fast enough for CI.
SMALL_RUN_TRAIN = 4096
SMALL_RUN_EVAL = 1000
EVAL_BATCH_SIZE = 500


@dataclass
class TrainValLoaders:
    """Training and validation loaders plus the indices that made the split."""

    train_loader: TensorBatches
    val_loader: TensorBatches
    train_indices: torch.Tensor
    val_indices: torch.Tensor


def make_train_val_loaders(
    *,
    batch_size: int,
    val_fraction: float,
    seed: int,
    device: torch.device,
    augment: bool,
    small_run: bool = False,
    mean: float = MNIST_MEAN,
    std: float = MNIST_STD,
) -> TrainValLoaders:
    """Split the 60,000 training images by ``seed`` and build the two loaders on ``device``.

    ``augment`` gives the training loader ``TrainingMix``; validation never augments.
    """
    if not isinstance(augment, bool):
        raise ParameterError(f"augment must be True or False; got {augment!r}")
    train = load_mnist(train=True)
    train_indices, val_indices = split_indices(len(train), val_fraction, seed)
    if small_run:
        train_indices, val_indices = train_indices[:SMALL_RUN_TRAIN], val_indices[:SMALL_RUN_EVAL]
    images = normalize_images(train.images, mean, std)  # (60000, 1, 28, 28)
    return TrainValLoaders(
        train_loader=TensorBatches(
            images[train_indices].to(device),
            train.labels[train_indices].to(device),
            batch_size,
            shuffle=True,
            seed=seed,
            # Moved digits, one in ten swapped for a generated non-digit and a few for typed
            # digits (training_mix).
            augment=TrainingMix(mean=mean, std=std) if augment else None,
        ),
        val_loader=TensorBatches(
            images[val_indices].to(device), train.labels[val_indices].to(device), EVAL_BATCH_SIZE
        ),
        train_indices=train_indices,
        val_indices=val_indices,
    )


def make_test_loader(
    *,
    device: torch.device,
    batch_size: int = EVAL_BATCH_SIZE,
    small_run: bool = False,
    mean: float = MNIST_MEAN,
    std: float = MNIST_STD,
) -> TensorBatches:
    """The 10,000 test images (1,000 in a small run), normalised as in training."""
    test = load_mnist(train=False)
    images, labels = normalize_images(test.images, mean, std), test.labels
    if small_run:
        images, labels = images[:SMALL_RUN_EVAL], labels[:SMALL_RUN_EVAL]
    return TensorBatches(images.to(device), labels.to(device), batch_size)
