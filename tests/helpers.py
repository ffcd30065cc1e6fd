"""Helpers shared by several test modules (test modules never import from one another)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import torch

from mnist_helpers.loaders import TensorBatches, TrainValLoaders

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = (
    "01_data_exploration",
    "02_train",
    "03_evaluate",
    "04_inference",
    "05_inside_the_network",
)
CPU = torch.device("cpu")


def baseline_on_mnist(
    *,
    seed: int,
    epochs: int,
    augment: bool,
    train_limit: int | None = None,
    small_run: bool = False,
):
    """The default recipe at its default parameters, seeded, with loaders over the real MNIST
    files on the CPU; ``train_limit`` keeps only the first training images, ``small_run`` takes
    the notebooks' small run's images."""
    from mnist_helpers.device import set_seed
    from mnist_helpers.loaders import make_train_val_loaders
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.recipes import build_training, get_recipe

    set_seed(seed)
    device = torch.device("cpu")
    data = make_train_val_loaders(
        batch_size=TrainParams.batch_size,
        val_fraction=TrainParams.val_fraction,
        seed=seed,
        device=device,
        augment=augment,
        small_run=small_run,
    )
    loader = data.train_loader
    loader.images, loader.labels = loader.images[:train_limit], loader.labels[:train_limit]
    setup = build_training(
        get_recipe(TrainParams.recipe),
        lr=TrainParams.lr,
        epochs=epochs,
        steps_per_epoch=len(loader),
        device=device,
    )
    return setup, data


def fit_quietly(setup, data, epochs: int, **options) -> list[dict]:
    """``fit`` the model, optimizer and learning-rate schedule of ``setup`` on ``data``'s
    loaders, without progress bars."""
    from mnist_helpers.train import fit

    return fit(
        setup.model,
        setup.optimizer,
        data.train_loader,
        data.val_loader,
        epochs=epochs,
        show_progress=False,
        # The default recipe's decay: without its scheduler the lr would stay at the warm-up's.
        **{"scheduler": setup.scheduler, **options},
    )


def small_model(seed: int = 0):
    """A tiny freshly initialised ``MnistCNN`` (a few thousand weights): enough for file tests."""
    from mnist_helpers.model import MnistCNN

    torch.manual_seed(seed)
    return MnistCNN(conv_channels=(4, 8), hidden_units=16)


def tiny_checkpoint(path: Path, **changes: Any) -> Path:
    """Save a checkpoint of ``small_model()`` at ``path``, with top-level keys replaced."""
    from mnist_helpers.checkpoint import make_checkpoint, save_checkpoint

    checkpoint = make_checkpoint(small_model())
    checkpoint.update(changes)
    return save_checkpoint(checkpoint, path)


def png_claiming_size(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` (decoding would need gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )
    return path


def read_history(artifacts: Path) -> list[dict]:
    """The ``history.json`` a training run left in ``artifacts``."""
    return json.loads((artifacts / "history.json").read_text())


def without_time(history: list[dict]) -> list[dict]:
    """History records without their wall-clock ``seconds`` (the one field that varies)."""
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def tiny_loaders(batch_size: int = 64, train_images: int = 128) -> TrainValLoaders:
    """Seeded random images as a TrainValLoaders, for runs that need no real data."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(train_images + 64, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (train_images + 64,), generator=generator)
    return TrainValLoaders(
        TensorBatches(
            images[:train_images], labels[:train_images], batch_size, shuffle=True, seed=0
        ),
        TensorBatches(images[train_images:], labels[train_images:], 64),
        torch.arange(train_images),
        torch.arange(train_images, train_images + 64),
    )


def keep_epochs(params, val_accs: list[float]) -> None:
    """Record epochs with these validation accuracies into ``params.artifacts`` as 02_train's
    keeper would, without training."""
    from mnist_helpers.runs.start import start_training_run

    run = start_training_run(params, device=CPU, data=tiny_loaders(train_images=128))
    with run.folder:
        for val_acc in val_accs:
            epoch = len(run.keeper.history) + 1
            with torch.no_grad():  # each epoch's weights differ, so files can be told apart
                next(run.model.parameters()).add_(1.0)
            record = {"epoch": epoch, "train_loss": 1.0, "train_acc": 0.5, "seconds": 0.0}
            run.keeper({**record, "val_loss": 1 - val_acc, "val_acc": val_acc})


HOLD_THE_FOLDER = textwrap.dedent("""
    import sys, time
    from mnist_helpers.runs.run_folder import open_run_folder
    open_run_folder(sys.argv[1])
    print("holding", flush=True)
    time.sleep(120)
""")


def hold_run_folder(folder: Path) -> subprocess.Popen[str]:
    """A second Python process that has opened ``folder`` for a run (for 120 s); kill it when
    done."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_FOLDER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "holding"
    return process
