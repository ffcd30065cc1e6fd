"""Batches for training and evaluation: MNIST normalised once, held on the device, split 85 / 15.

``TensorBatches`` plays the part of a ``DataLoader`` over a ``TensorDataset``: the same batches
(a test checks this), without per-image Python work, which is most of the time on a small model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from mnist_helpers.data import MNIST_MEAN, MNIST_STD, load_mnist, normalize_images, split_indices
from mnist_helpers.errors import ParameterError
from mnist_helpers.images.training_mix import NONDIGIT_SHARE, TYPED_SHARE, TrainingMix
from mnist_helpers.runs.parameters import EVAL_BATCH_SIZE, SMALL_RUN_EVAL, SMALL_RUN_TRAIN

# What the loops iterate over: ``(images, labels)`` batches, from TensorBatches or a DataLoader.
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
# An augmentation maps a chunk of images and their labels to the images to train on (same
# labels): the labels let it swap in a stand-in of the same digit (training_mix).
Augmentation = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# Augmentation runs on this many images at a time: enough to make per-call overhead small, few
# enough that each chunk's grid stays in cache (1,024 ran almost twice as fast as 8,192 on CPU).
AUGMENT_CHUNK = 1024


class TensorBatches:
    """Iterate ``(images, labels)`` batches from in-memory tensors, reshuffled each epoch.

    The shuffle order depends only on ``seed`` and the epoch number (``set_epoch``), so a
    resumed run sees the same batches as an uninterrupted one. ``augment`` is fixed at
    construction: a loader's behaviour is visible where it is built.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        augment: Augmentation | None = None,
    ) -> None:
        if len(images) != len(labels):
            raise ParameterError(f"{len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ParameterError(f"batch_size must be >= 1; got {batch_size}")
        self.images = images  # (N, 1, 28, 28) float32, normalised
        self.labels = labels  # (N,) int64
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        # Applied to the whole set at the start of each epoch (not per batch): one call per chunk
        # instead of one per step costs far less, and every epoch still sees new random copies.
        self._augment = augment
        self.epoch = 0

    @property
    def augment(self) -> Augmentation | None:
        """The augmentation given at construction (None: none); read-only."""
        return self._augment

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose shuffle order the next iteration uses."""
        self.epoch = epoch

    def __len__(self) -> int:
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        num = len(self.labels)
        images = self.images
        if self._augment is not None:
            images = torch.cat(
                [
                    self._augment(chunk, labels)
                    for chunk, labels in zip(
                        images.split(AUGMENT_CHUNK), self.labels.split(AUGMENT_CHUNK), strict=True
                    )
                ]
            )
        if self.shuffle:
            # The permutation is drawn on the CPU so every device gets the same order.
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(num, generator=generator).to(self.images.device)
            for start in range(0, num, self.batch_size):
                index = order[start : start + self.batch_size]
                yield images[index], self.labels[index]
        else:
            for start in range(0, num, self.batch_size):
                yield (
                    images[start : start + self.batch_size],
                    self.labels[start : start + self.batch_size],
                )

    @property
    def num_samples(self) -> int:
        """Number of images in the loader."""
        return len(self.labels)

    def as_data_loader(self) -> DataLoader:
        """The same batches as this epoch's, from PyTorch's ``DataLoader`` over a ``TensorDataset``.

        What a textbook writes; ``TensorBatches`` gives the same batches (without augmentation)
        with no per-image Python work, which costs most of an epoch on a model this small.
        """
        if self._augment is not None:
            raise ParameterError(
                "as_data_loader shows the plain batches: use a loader without augment"
            )
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        dataset = TensorDataset(self.images, self.labels)
        sampler = RandomSampler(dataset, generator=generator) if self.shuffle else None
        return DataLoader(dataset, batch_size=self.batch_size, sampler=sampler)


@dataclass
class TrainValLoaders:
    """Training and validation loaders plus the indices that made the split."""

    train_loader: TensorBatches
    val_loader: TensorBatches
    train_indices: torch.Tensor
    val_indices: torch.Tensor
    # Training digits as they are (no moves, no stand-ins), as many as validation holds: where
    # training accuracy is measured when the training loader mixes in stand-ins (fit's
    # ``train_digits``). None without augmentation, where the loader holds only digits.
    train_digits: TensorBatches | None = None


def make_train_val_loaders(
    *,
    batch_size: int,
    val_fraction: float,
    seed: int,
    device: torch.device,
    augment: bool,
    typed_digits: bool | None = None,
    nondigits_with_arbitrary_labels: bool | None = None,
    small_run: bool = False,
    mean: float = MNIST_MEAN,
    std: float = MNIST_STD,
) -> TrainValLoaders:
    """Split the 60,000 training images by ``seed`` and build the two loaders on ``device``.

    The training loader's ``TrainingMix`` moves the digits when ``augment``, swaps in typed digits
    when ``typed_digits`` and non-digits with arbitrary labels when
    ``nondigits_with_arbitrary_labels`` (None: as ``augment``). Validation never changes.
    """
    typed = augment if typed_digits is None else typed_digits
    nondigits = (
        augment if nondigits_with_arbitrary_labels is None else nondigits_with_arbitrary_labels
    )
    for name, value in (("augment", augment), ("typed_digits", typed), ("nondigits", nondigits)):
        if not isinstance(value, bool):
            raise ParameterError(f"{name} must be True or False; got {value!r}")
    train = load_mnist(train=True)
    train_indices, val_indices = split_indices(len(train), val_fraction, seed)
    if small_run:
        train_indices, val_indices = train_indices[:SMALL_RUN_TRAIN], val_indices[:SMALL_RUN_EVAL]
    images = normalize_images(train.images, mean, std)  # (60000, 1, 28, 28)
    measured = train_indices[: len(val_indices)]
    return TrainValLoaders(
        train_loader=TensorBatches(
            images[train_indices].to(device),
            train.labels[train_indices].to(device),
            batch_size,
            shuffle=True,
            seed=seed,
            # Moved digits, one in ten swapped for a generated non-digit and a few for typed
            # digits (training_mix), as the switches say.
            augment=TrainingMix(
                mean=mean,
                std=std,
                move=augment,
                typed_share=TYPED_SHARE if typed else 0.0,
                nondigit_share=NONDIGIT_SHARE if nondigits else 0.0,
            )
            if augment or typed or nondigits
            else None,
        ),
        val_loader=TensorBatches(
            images[val_indices].to(device), train.labels[val_indices].to(device), EVAL_BATCH_SIZE
        ),
        train_indices=train_indices,
        val_indices=val_indices,
        train_digits=TensorBatches(
            images[measured].to(device), train.labels[measured].to(device), EVAL_BATCH_SIZE
        )
        if nondigits
        else None,
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
