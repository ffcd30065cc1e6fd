"""The MNIST files: verify the shipped copies, lay them out for torchvision, load, split."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from mnist_helpers.errors import DataFileError
from mnist_helpers.paths import data_dir

# MD5 of each decompressed IDX file: the well-known values of the original MNIST files.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# Mean and standard deviation of all 60,000 training pixels scaled to [0, 1]; 01 recomputes them.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
CLASS_NAMES = tuple(str(digit) for digit in range(10))
_CHUNK = 1 << 20


@dataclass(frozen=True)
class MnistSplit:
    """Raw images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of one MNIST part."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def _md5_of_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fix_hint(gz_path: Path) -> str:
    return (
        f"Restore it with `git checkout -- {gz_path.parent.name}/{gz_path.name}` from the "
        f"repository root, or delete {gz_path.parent} to let torchvision download the files."
    )


def _extract_verified(gz_path: Path, target: Path, expected_md5: str) -> None:
    """Decompress ``gz_path`` to ``target`` atomically, checking the MD5 of what it wrote."""
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    digest = hashlib.md5()
    try:
        with gzip.open(gz_path, "rb") as source, open(partial, "wb") as sink:
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                digest.update(chunk)
                sink.write(chunk)
    except (OSError, EOFError, zlib.error) as error:
        partial.unlink(missing_ok=True)
        raise DataFileError(
            f"{gz_path} is truncated or not a gzip file ({error}). {_fix_hint(gz_path)}"
        ) from None
    if digest.hexdigest() != expected_md5:
        partial.unlink(missing_ok=True)
        raise DataFileError(
            f"{gz_path} is corrupt or is not the file it is named after: its content has MD5 "
            f"{digest.hexdigest()}, expected {expected_md5}. {_fix_hint(gz_path)}"
        )
    # Renaming last means a run killed mid-way never leaves a file that looks complete.
    os.replace(partial, target)


def prepare_mnist_files(root: Path | None = None) -> Path | None:
    """Verify the shipped ``root/mnist/*.gz`` files and extract them to ``root/MNIST/raw``.

    Returns the folder to hand to ``torchvision.datasets.MNIST``, or None when no file is shipped
    (the caller then lets torchvision download). Files already extracted are re-checked by MD5.
    """
    root = data_dir() if root is None else Path(root)
    shipped = {name: root / "mnist" / f"{name}.gz" for name in MNIST_MD5}
    present = [path for path in shipped.values() if path.exists()]
    if not present:
        return None
    missing = [path.name for path in shipped.values() if not path.exists()]
    if missing:
        raise DataFileError(
            f"{root / 'mnist'} holds only some MNIST files; missing: {', '.join(missing)}. "
            "Restore them with `git checkout -- data/mnist`."
        )
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, gz_path in shipped.items():
        target = raw / name
        if target.exists() and _md5_of_file(target) == MNIST_MD5[name]:
            continue
        _extract_verified(gz_path, target, MNIST_MD5[name])
    return root


def load_mnist(train: bool, root: Path | None = None) -> MnistSplit:
    """Load the 60,000 training (``train=True``) or 10,000 test images through torchvision."""
    from torchvision.datasets import MNIST  # imported here so that importing data.py stays cheap

    prepared = prepare_mnist_files(root)
    if prepared is None:
        download_root = data_dir() if root is None else Path(root)
        try:
            dataset = MNIST(str(download_root), train=train, download=True)
        except Exception as error:  # torchvision raises several types for network failures
            raise DataFileError(
                f"No shipped MNIST files under {download_root / 'mnist'} and the download failed "
                f"({error}). Restore the files with `git checkout -- data/mnist`."
            ) from error
    else:
        dataset = MNIST(str(prepared), train=train, download=False)
    return MnistSplit(images=dataset.data.clone(), labels=dataset.targets.clone().long())


def split_indices(
    num_samples: int, val_fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded shuffle of ``range(num_samples)`` cut into (train, validation) indices."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(num_samples, generator=generator)
    num_val = round(num_samples * val_fraction)
    return order[num_val:], order[:num_val]


def compute_mean_std(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of uint8 ``images`` after scaling pixels to [0, 1]."""
    pixels = images.to(torch.float64) / 255.0
    return pixels.mean().item(), pixels.std().item()


def normalize_images(
    images: torch.Tensor, mean: float = MNIST_MEAN, std: float = MNIST_STD
) -> torch.Tensor:
    """uint8 ``(N, 28, 28)`` to normalised float32 ``(N, 1, 28, 28)``."""
    return ((images.to(torch.float32) / 255.0 - mean) / std).unsqueeze(1)
