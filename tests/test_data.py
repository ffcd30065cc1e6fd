"""The shipped MNIST files: checksums, extraction, errors, the seeded split, normalisation."""

import gzip
import shutil
from pathlib import Path

import pytest
import torch

from mnist_helpers.data import (
    MNIST_MD5,
    MNIST_MEAN,
    MNIST_STD,
    compute_mean_std,
    load_mnist,
    normalize_images,
    prepare_mnist_files,
    split_indices,
    verified_mnist_bytes,
)
from mnist_helpers.errors import DataFileError
from mnist_helpers.support.paths import data_dir

LABEL_FILE = "t10k-labels-idx1-ubyte"  # the smallest shipped file (4.5 kB)


@pytest.fixture
def data_copy(tmp_path):
    """A private copy of all the shipped .gz files, safe to damage."""
    shutil.copytree(data_dir() / "mnist", tmp_path / "mnist")
    return tmp_path


@pytest.fixture
def label_file_copy(tmp_path):
    """A private copy of the smallest shipped file alone, in ``tmp_path/mnist``."""
    (tmp_path / "mnist").mkdir()
    return Path(shutil.copy(data_dir() / "mnist" / f"{LABEL_FILE}.gz", tmp_path / "mnist"))


def test_real_files_load_with_the_known_counts():
    train, test = load_mnist(train=True), load_mnist(train=False)
    assert train.images.shape == (60_000, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10_000, 28, 28)
    assert torch.bincount(train.labels).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert torch.bincount(test.labels).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


def test_extraction_is_laid_out_for_torchvision(data_copy):
    root = prepare_mnist_files(data_copy)
    for name in MNIST_MD5:
        assert (root / "MNIST" / "raw" / name).is_file()
    assert not [p.name for p in (root / "MNIST" / "raw").iterdir() if p.name.endswith(".tmp")]


def test_corrupt_file_is_named_with_a_fix(label_file_copy):
    raw = bytearray(gzip.decompress(label_file_copy.read_bytes()))
    raw[100] ^= 0xFF  # one flipped byte
    label_file_copy.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataFileError, match=LABEL_FILE) as caught:
        verified_mnist_bytes(LABEL_FILE, label_file_copy.parents[1])
    assert "git checkout" in str(caught.value)
    assert not (label_file_copy.parents[1] / "MNIST" / "raw" / LABEL_FILE).exists()


def test_truncated_file_is_named(label_file_copy):
    label_file_copy.write_bytes(label_file_copy.read_bytes()[:1000])
    with pytest.raises(DataFileError, match="truncated"):
        verified_mnist_bytes(LABEL_FILE, label_file_copy.parents[1])


def test_swapped_files_are_caught(label_file_copy):
    shutil.copy(data_dir() / "mnist" / "train-labels-idx1-ubyte.gz", label_file_copy)
    with pytest.raises(DataFileError, match=LABEL_FILE):
        verified_mnist_bytes(LABEL_FILE, label_file_copy.parents[1])


def test_partly_missing_files_are_listed(label_file_copy):
    with pytest.raises(DataFileError) as caught:
        prepare_mnist_files(label_file_copy.parents[1])
    missing = sorted(f"{name}.gz" for name in MNIST_MD5 if name != LABEL_FILE)
    assert all(name in str(caught.value) for name in missing), caught.value
    assert f"{LABEL_FILE}.gz" not in str(caught.value).split("missing:")[1]


def test_no_shipped_files_means_download_fallback(tmp_path):
    assert prepare_mnist_files(tmp_path) is None


def test_same_seed_same_split_and_different_seed_different_split():
    first_train, first_val = split_indices(60_000, 0.15, seed=42)
    again_train, again_val = split_indices(60_000, 0.15, seed=42)
    other_train, _ = split_indices(60_000, 0.15, seed=43)
    assert torch.equal(first_train, again_train) and torch.equal(first_val, again_val)
    assert not torch.equal(first_train, other_train)
    assert (len(first_train), len(first_val)) == (51_000, 9_000)
    together = torch.cat([first_train, first_val]).sort().values
    assert torch.equal(together, torch.arange(60_000))


def test_normalisation_constants_come_from_the_training_images():
    # From the histogram of the 47 million pixel values, computed here without compute_mean_std.
    histogram = torch.bincount(load_mnist(train=True).images.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64) / 255
    count = histogram.sum().item()
    mean = (histogram * values).sum().item() / count
    variance = (histogram * (values - mean) ** 2).sum().item() / (count - 1)
    assert mean == pytest.approx(MNIST_MEAN, abs=5e-5)
    assert variance**0.5 == pytest.approx(MNIST_STD, abs=5e-5)


def test_compute_mean_std_on_known_pixels():
    images = torch.tensor([[[0, 255], [255, 255]]], dtype=torch.uint8)  # pixels 0, 1, 1, 1
    mean, std = compute_mean_std(images)
    assert mean == pytest.approx(0.75)
    assert std == pytest.approx(0.5)  # sample std of (0, 1, 1, 1): sqrt(0.75 / 3)


def test_normalize_images_shape_and_values():
    images = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    normalised = normalize_images(images)
    assert normalised.shape == (1, 1, 1, 2) and normalised.dtype == torch.float32
    assert normalised[0, 0, 0, 0].item() == pytest.approx(-MNIST_MEAN / MNIST_STD)
    assert normalised[0, 0, 0, 1].item() == pytest.approx((1 - MNIST_MEAN) / MNIST_STD)
