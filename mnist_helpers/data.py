"""The MNIST files: read only the MD5-checked shipped copies, cache them decoded, load, split.

The shipped ``data/mnist/*.gz`` are the only source. Their decompressed IDX bytes are cached in
``data/MNIST/raw/`` (the layout torchvision uses, so its ``MNIST`` class can read them too), and
every load checks the cached bytes against the MD5 of the original MNIST release: a planted or
damaged file is never used, and nothing else in ``data/`` (such as torchvision's
``MNIST/processed/*.pt``) is read at all. A second load costs a fraction of a second.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from mnist_helpers.errors import ArtifactWriteError, DataFileError
from mnist_helpers.support.atomic_files import write_bytes, write_json
from mnist_helpers.support.file_checks import regular_file_problem
from mnist_helpers.support.idx_format import parse_idx
from mnist_helpers.support.paths import data_dir, project_root

# MD5 of each decompressed IDX file: the well-known values of the original MNIST files.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# Size in bytes of each decompressed IDX file: reading stops there, so a damaged or planted
# file that would expand further (a "gzip bomb") never fills memory.
MNIST_SIZES = {
    "train-images-idx3-ubyte": 16 + 60_000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60_000,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}
# (images file, labels file) of each part.
PARTS = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Mean and standard deviation of all 60,000 training pixels scaled to [0, 1]; 01 recomputes them.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
CLASS_NAMES = tuple(str(digit) for digit in range(10))
SHIPPED_FOLDER = "mnist"
CACHE_FOLDER = Path("MNIST") / "raw"
# Which .gz each cached file was decoded from (size and modification time): a .gz that changes
# is checked again, so a damaged shipped file is reported even while a good cache exists.
MANIFEST_NAME = "verified.json"


@dataclass(frozen=True)
class MnistSplit:
    """Raw images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of one MNIST part."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def _restore_hint(gz_path: Path) -> str:
    """How to get the original file back, with a path that works from the repository root."""
    try:
        relative = gz_path.resolve().relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return (
            f"Replace {gz_path} with the original: `git checkout -- data/mnist/{gz_path.name}` "
            "restores it in a clone of the project, from the repository root."
        )
    return f"Restore it with `git checkout -- {relative}` from the repository root."


def _read_error(path: Path, error: OSError) -> DataFileError:
    if error.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied; make the file readable (for example `chmod a+r` on it)"
    else:
        reason = f"{error.strerror or error}"
    return DataFileError(f"Could not read {path}: {reason}.")


def _read_into_buffer(path: Path) -> bytearray:
    """The whole file in a writable buffer (torch.frombuffer shares it without a copy)."""
    with open(path, "rb") as file:
        buffer = bytearray(os.fstat(file.fileno()).st_size)
        if file.readinto(buffer) != len(buffer):
            raise DataFileError(f"{path} changed while it was being read; run again.")
    return buffer


def _gz_stamp(gz_path: Path) -> dict[str, int]:
    stat = gz_path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _decompress_verified(gz_path: Path, name: str) -> bytearray:
    """The decompressed content of ``gz_path``, after checking its MD5 against the release's."""
    problem = regular_file_problem(gz_path)  # a FIFO would hang, /dev/zero would never end
    if problem == "no such file":
        raise DataFileError(f"No MNIST file at {gz_path}. {_restore_hint(gz_path)}")
    if problem is not None:
        raise DataFileError(f"{gz_path} {problem}. {_restore_hint(gz_path)}")
    expected = MNIST_SIZES[name]
    try:
        with gzip.open(gz_path, "rb") as stream:
            content = bytearray(stream.read(expected + 1))  # never more than one byte too many
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataFileError(
            f"{gz_path} is truncated or not a gzip file ({error}). {_restore_hint(gz_path)}"
        ) from None
    except OSError as error:
        raise _read_error(gz_path, error) from None
    if len(content) != expected:
        size = f"more than {expected:,}" if len(content) > expected else f"{len(content):,}"
        raise DataFileError(
            f"{gz_path} is corrupt or is not the file it is named after: it expands to {size} "
            f"bytes, expected {expected:,}. {_restore_hint(gz_path)}"
        )
    actual = hashlib.md5(content).hexdigest()
    if actual != MNIST_MD5[name]:
        raise DataFileError(
            f"{gz_path} is corrupt or is not the file it is named after: its content has MD5 "
            f"{actual}, expected {MNIST_MD5[name]}. {_restore_hint(gz_path)}"
        )
    return content


def _read_manifest(cache: Path) -> dict[str, dict[str, int]]:
    try:
        manifest = json.loads((cache / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _cached_if_valid(cache: Path, name: str, stamp: dict[str, int]) -> bytearray | None:
    """The cached bytes of ``name`` if they were decoded from this very .gz and match the MD5."""
    if _read_manifest(cache).get(name) != stamp:
        return None
    path = cache / name
    # A special file would hang or never end; a file of another size is not the cache.
    if regular_file_problem(path) is not None or path.stat().st_size != MNIST_SIZES[name]:
        return None
    try:
        content = _read_into_buffer(cache / name)
    except (OSError, DataFileError):
        return None
    # Checked on every load (about 0.1 s): a cache can only ever hand out the release's bytes.
    return content if hashlib.md5(content).hexdigest() == MNIST_MD5[name] else None


def _write_cache(cache: Path, name: str, content: bytearray, stamp: dict[str, int]) -> None:
    """Store ``content`` in the cache; when the folder cannot be written, warn and go on."""
    try:
        write_bytes(bytes(content), cache / name)
        # Re-read just before writing: another process may have added its own entries meanwhile.
        write_json({**_read_manifest(cache), name: stamp}, cache / MANIFEST_NAME)
    except ArtifactWriteError as error:
        # The data are verified and in memory; only the next load's speed is lost.
        warnings.warn(
            f"The decoded MNIST cache was not written ({error}). Training goes on; each load "
            "decompresses the shipped .gz files again (about a second).",
            stacklevel=4,
        )


def verified_mnist_bytes(name: str, root: Path | None = None) -> bytearray:
    """The decompressed IDX bytes of MNIST file ``name``, MD5-checked, from the cache if valid."""
    if name not in MNIST_MD5:
        raise DataFileError(f"{name!r} is not an MNIST file; expected one of {tuple(MNIST_MD5)}")
    root = data_dir() if root is None else Path(root)
    gz_path = root / SHIPPED_FOLDER / f"{name}.gz"
    cache = root / CACHE_FOLDER
    try:
        stamp = _gz_stamp(gz_path)
    except FileNotFoundError:
        raise DataFileError(f"No MNIST file at {gz_path}. {_restore_hint(gz_path)}") from None
    except OSError as error:
        raise _read_error(gz_path, error) from None
    content = _cached_if_valid(cache, name, stamp)
    if content is None:
        content = _decompress_verified(gz_path, name)
        _write_cache(cache, name, content, stamp)
    return content


def prepare_mnist_files(root: Path | None = None) -> Path | None:
    """Verify the shipped ``root/mnist/*.gz`` and cache them decoded in ``root/MNIST/raw``.

    Returns ``root`` (the folder to hand to ``torchvision.datasets.MNIST``), or None when
    ``root/mnist`` holds no MNIST file at all.
    """
    root = data_dir() if root is None else Path(root)
    shipped = {name: root / SHIPPED_FOLDER / f"{name}.gz" for name in MNIST_MD5}
    missing = [path for path in shipped.values() if not path.exists()]
    if len(missing) == len(shipped):
        return None
    if missing:
        raise DataFileError(
            f"{root / SHIPPED_FOLDER} holds only some MNIST files; missing: "
            f"{', '.join(path.name for path in missing)}. {_restore_hint(missing[0])}"
        )
    for name in MNIST_MD5:
        verified_mnist_bytes(name, root)
    return root


def load_mnist(train: bool, root: Path | None = None) -> MnistSplit:
    """The 60,000 training (``train=True``) or 10,000 test images and labels, MD5-checked."""
    images_name, labels_name = PARTS[bool(train)]
    images = parse_idx(verified_mnist_bytes(images_name, root), images_name)  # (N, 28, 28)
    labels = parse_idx(verified_mnist_bytes(labels_name, root), labels_name)  # (N,)
    if images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
        raise DataFileError(
            f"{images_name} and {labels_name} do not form one MNIST part: shapes "
            f"{tuple(images.shape)} and {tuple(labels.shape)}"
        )
    return MnistSplit(images=images, labels=labels.long())


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
    # In place after the one conversion: the same arithmetic as ((x / 255 - mean) / std), without
    # three temporary copies of the whole set.
    return images.to(torch.float32).div_(255.0).sub_(mean).div_(std).unsqueeze(1)
