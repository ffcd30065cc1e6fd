"""Shared fixtures. Every test writes under a temporary artifacts folder, never into artifacts/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    # Kernels started by nbval inherit these: the committed notebooks run their small variant and
    # write into a scratch folder. Set before any kernel starts.
    scratch = Path(config.rootpath) / "test-output"
    scratch.mkdir(exist_ok=True)
    os.environ["MNIST_ARTIFACTS_DIR"] = str(scratch / "nbval-artifacts")
    os.environ["MNIST_SMALL_RUN"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    """A folder kept after the run, for screenshots and logs worth looking at."""
    path = REPO_ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path


def baseline_on_mnist(*, seed: int, epochs: int, augment: bool, train_limit: int | None = None):
    """The baseline recipe, seeded, with loaders over the real MNIST files on the CPU."""
    from mnist_helpers.device import set_seed
    from mnist_helpers.loaders import make_train_val_loaders
    from mnist_helpers.recipes import build_training, get_recipe

    set_seed(seed)
    device = torch.device("cpu")
    data = make_train_val_loaders(batch_size=64, val_fraction=0.15, seed=seed, device=device)
    loader = data.train_loader
    loader.images, loader.labels = loader.images[:train_limit], loader.labels[:train_limit]
    setup = build_training(
        get_recipe("baseline"),
        lr=1e-3,
        epochs=epochs,
        steps_per_epoch=len(loader),
        device=device,
        augment=augment,
    )
    loader.augment = setup.augment
    return setup, data


def fit_quietly(setup, data, epochs: int, **options) -> list[dict]:
    """``fit`` the model and optimizer of ``setup`` on ``data``'s loaders, without progress bars."""
    from mnist_helpers.train import fit

    return fit(
        setup.model,
        setup.optimizer,
        data.train_loader,
        data.val_loader,
        epochs=epochs,
        show_progress=False,
        **options,
    )


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint from a short real training run: the default recipe and augmentation, 2 epochs
    on all 51,000 training images."""
    from mnist_helpers.checkpoint import CheckpointKeeper
    from mnist_helpers.config import TrainParams

    setup, data = baseline_on_mnist(seed=0, epochs=2, augment=TrainParams().augment)
    folder = tmp_path_factory.mktemp("trained") / "checkpoints"
    keeper = CheckpointKeeper(folder, setup.model, setup.optimizer, seed=0)
    fit_quietly(setup, data, 2, on_epoch_end=keeper)
    return keeper.best_path


@pytest.fixture(scope="session")
def mnist_test_split():
    """The real 10,000 MNIST test images and labels."""
    from mnist_helpers.data import load_mnist

    return load_mnist(train=False)
