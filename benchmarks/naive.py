"""The naive path: what the seed notebook did, as a Candidate the benchmarks can time and score.

torchvision's ``datasets.MNIST`` with ToTensor and Normalize on every image access, a DataLoader
(batch 64, shuffle, no workers), a conv32 -> conv64 -> FC128 CNN in contiguous NCHW, Adam, and the
loss read back with ``.item()`` every step.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import datasets, transforms

from benchmarks.candidates import BATCH_SIZE, LR, VAL_FRACTION, Candidate, first_batches
from mnist_helpers.data import (
    CACHE_FOLDER,
    MNIST_MEAN,
    MNIST_STD,
    prepare_mnist_files,
    split_indices,
)

NAIVE_EVAL_BATCH_SIZE = 1000


class NaiveCNN(nn.Module):
    """The seed notebook's model: conv32 -> conv64 -> FC128 -> 10, in plain contiguous NCHW."""

    def __init__(self) -> None:
        super().__init__()
        # Named like MnistCNN's parts, so multiply_adds_per_image counts this model too.
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` normalised images to ``(N, 10)`` logits."""
        return self.classifier(self.features(images))


@dataclass
class NaiveDatasets:
    """The seed notebook's torchvision datasets: training and validation subsets, the test set."""

    train: Dataset
    val: Dataset
    test: Dataset


def naive_datasets(seed: int, train_limit: int | None, test_limit: int | None) -> NaiveDatasets:
    """The seed notebook's torchvision datasets: ToTensor and Normalize on every image access.

    torchvision reads the MD5-checked files that ``prepare_mnist_files`` cached, through a
    temporary root holding only them, so no other file under data/ (such as torchvision's own
    ``MNIST/processed``) can stand in for them.
    """
    root = prepare_mnist_files()
    if root is None:
        raise SystemExit("No shipped MNIST files in data/mnist/; restore them with git checkout.")
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )
    with tempfile.TemporaryDirectory(prefix="mnist-naive-") as folder:
        (Path(folder) / "MNIST").mkdir()
        (Path(folder) / "MNIST" / "raw").symlink_to((root / CACHE_FOLDER).resolve())
        # The datasets read every image into memory here; the folder is not needed afterwards.
        train = datasets.MNIST(root=folder, train=True, download=False, transform=transform)
        test = datasets.MNIST(root=folder, train=False, download=False, transform=transform)
    train_indices, val_indices = split_indices(len(train), VAL_FRACTION, seed)  # 85 / 15
    return NaiveDatasets(
        Subset(train, train_indices[:train_limit].tolist()),
        Subset(train, val_indices[:test_limit].tolist()),
        Subset(test, range(test_limit or len(test))),
    )


def naive_train_epoch(
    model: nn.Module, batches: Iterable[Any], optimizer: torch.optim.Optimizer, device: torch.device
) -> float:
    """The seed notebook's loop: move each batch, step, and read the loss back every step."""
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    running_loss = 0.0
    for images, labels in batches:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # as tutorials do; a GPU waits here every step
    return running_loss


@torch.no_grad()
def naive_test_acc(model: nn.Module, test_loader: DataLoader, device: torch.device) -> float:
    """Accuracy the seed notebook's way (test or validation): batches from the dataset."""
    model.eval()
    correct = 0
    for images, labels in test_loader:
        correct += (model(images.to(device)).argmax(1) == labels.to(device)).sum().item()
    return correct / len(test_loader.dataset)


def naive_candidate(train: Dataset, test: Dataset, seed: int, device: torch.device) -> Candidate:
    """The naive path: torchvision dataset, DataLoader(batch 64, shuffle), NCHW model, Adam."""
    torch.manual_seed(seed)
    model = NaiveCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    # Its own generator: the shuffle must not depend on what the other candidates drew.
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True, generator=generator)
    test_loader = DataLoader(test, batch_size=NAIVE_EVAL_BATCH_SIZE)

    def run_epoch(epoch: int, max_batches: int | None = None) -> None:
        naive_train_epoch(model, first_batches(train_loader, max_batches), optimizer, device)

    return Candidate(
        "naive", model, len(train), run_epoch, partial(naive_test_acc, model, test_loader, device)
    )
