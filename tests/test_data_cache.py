"""Only the MD5-checked shipped files are read: planted files, the decoded cache, write failures."""

from __future__ import annotations

import errno
import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_helpers import data as data_module
from mnist_helpers.data import CACHE_FOLDER, MNIST_MD5, load_mnist, verified_mnist_bytes
from mnist_helpers.errors import DataFileError
from mnist_helpers.support import atomic_files as atomic
from mnist_helpers.support.idx_format import parse_idx
from mnist_helpers.support.paths import data_dir, project_root

LABELS = "t10k-labels-idx1-ubyte"
IMAGES = "t10k-images-idx3-ubyte"
# Label counts of the 10,000 test images in the original release.
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A private copy of the shipped .gz files, safe to damage."""
    shutil.copytree(data_dir() / "mnist", tmp_path / "mnist")
    return tmp_path


def _is_real_test_part(split) -> bool:
    return torch.bincount(split.labels, minlength=10).tolist() == TEST_LABEL_COUNTS


def _leftover_temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(atomic.TEMP_SUFFIX)]


def test_planted_torchvision_files_are_never_read(root: Path) -> None:
    # torchvision's MNIST class prefers these over the checked files; the loader ignores them.
    processed = root / "MNIST" / "processed"
    processed.mkdir(parents=True)
    blank = (torch.zeros(10_000, 28, 28, dtype=torch.uint8), torch.full((10_000,), 3))
    for name in ("training.pt", "test.pt"):
        torch.save(blank, processed / name)
    assert _is_real_test_part(load_mnist(train=False, root=root))


def test_a_planted_cache_file_is_replaced_by_the_checked_data(root: Path) -> None:
    load_mnist(train=False, root=root)  # builds the cache and its manifest
    cached = root / CACHE_FOLDER / LABELS
    planted = bytearray(cached.read_bytes())
    planted[8:] = bytes([3]) * (len(planted) - 8)  # every label a 3, header and size intact
    cached.write_bytes(planted)
    assert _is_real_test_part(load_mnist(train=False, root=root))
    assert gzip.decompress((root / "mnist" / f"{LABELS}.gz").read_bytes()) == cached.read_bytes()


def test_second_load_reads_the_cache_not_the_gz(root: Path, monkeypatch) -> None:
    first = load_mnist(train=False, root=root)

    def no_decompression(_data: bytes) -> bytes:
        raise AssertionError("the .gz was decompressed although a valid cache exists")

    monkeypatch.setattr(data_module.gzip, "decompress", no_decompression)
    second = load_mnist(train=False, root=root)
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)


def test_a_changed_gz_is_checked_again_despite_a_valid_cache(root: Path) -> None:
    load_mnist(train=False, root=root)
    gz_path = root / "mnist" / f"{LABELS}.gz"
    raw = bytearray(gzip.decompress(gz_path.read_bytes()))
    raw[100] ^= 0xFF
    gz_path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataFileError, match=f"{LABELS}.gz is corrupt"):
        load_mnist(train=False, root=root)


def test_cache_holds_exactly_the_release_bytes(root: Path) -> None:
    load_mnist(train=False, root=root)
    for name in (IMAGES, LABELS):
        cached = (root / CACHE_FOLDER / name).read_bytes()
        assert data_module.hashlib.md5(cached).hexdigest() == MNIST_MD5[name]


def test_a_read_only_data_folder_still_loads_with_a_warning(root: Path, monkeypatch) -> None:
    def refuse(data, path):
        raise atomic._write_error(Path(path), PermissionError(errno.EACCES, "Permission denied"))

    monkeypatch.setattr(data_module, "write_bytes", refuse)
    with pytest.warns(UserWarning, match="permission denied"):
        split = load_mnist(train=False, root=root)
    assert _is_real_test_part(split)
    assert not (root / CACHE_FOLDER / LABELS).exists()


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_a_really_read_only_folder_still_loads(root: Path) -> None:
    root.chmod(0o555)
    try:
        with pytest.warns(UserWarning, match="not written"):
            assert _is_real_test_part(load_mnist(train=False, root=root))
    finally:
        root.chmod(0o755)


def test_a_full_disk_while_caching_says_so_and_blames_no_shipped_file(
    root: Path, monkeypatch
) -> None:
    real_open = open

    def full_disk_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "w" in mode and str(path).endswith(atomic.TEMP_SUFFIX):
            handle.close()
            raise OSError(errno.ENOSPC, "No space left on device")
        return handle

    monkeypatch.setattr("builtins.open", full_disk_open)
    with pytest.warns(UserWarning, match="disk is full") as caught:
        split = load_mnist(train=False, root=root)
    assert _is_real_test_part(split)
    message = " ".join(str(w.message) for w in caught)
    assert "corrupt" not in message and "truncated" not in message and ".gz is" not in message
    monkeypatch.undo()
    assert not _leftover_temps(root)


def test_an_unreadable_gz_says_permission_denied(root: Path, monkeypatch) -> None:
    import gzip

    def denied(path, mode="rb"):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(gzip, "open", denied)  # root may read any file: stand in for a denial
    with pytest.raises(DataFileError, match="permission denied"):
        load_mnist(train=False, root=root)


def test_the_restore_hint_works_from_the_repository_root_and_deletes_nothing(
    monkeypatch,
) -> None:
    # A wrong expected MD5 makes the real shipped file look corrupt without touching it.
    monkeypatch.setitem(MNIST_MD5, LABELS, "0" * 32)
    with pytest.raises(DataFileError) as caught:
        verified_mnist_bytes(LABELS)
    message = str(caught.value)
    command = re.search(r"`git checkout -- (\S+)`", message)
    assert command is not None, message
    assert (project_root() / command.group(1)).resolve() == (
        data_dir() / "mnist" / f"{LABELS}.gz"
    ).resolve()
    assert "delete" not in message.lower() and "rm " not in message


def test_a_missing_gz_is_named_with_its_restore_command(root: Path) -> None:
    (root / "mnist" / f"{LABELS}.gz").unlink()
    with pytest.raises(DataFileError, match=f"No MNIST file at .*{LABELS}.gz"):
        load_mnist(train=False, root=root)


def test_idx_parser_reads_header_shape_and_refuses_wrong_lengths() -> None:
    header = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") * 2
    body = bytes(range(18))
    array = parse_idx(bytearray(header + body), "tiny")
    assert array.shape == (2, 3, 3) and array.dtype == torch.uint8
    assert array.flatten().tolist() == list(range(18))
    with pytest.raises(DataFileError, match="should hold"):
        parse_idx(bytearray(header + body[:-1]), "tiny")
    with pytest.raises(DataFileError, match="not an IDX file"):
        parse_idx(bytearray(b"\x1f\x8b" + header + body), "tiny")
    with pytest.raises(DataFileError, match="type 0x0d"):
        parse_idx(bytearray(bytes([0, 0, 0x0D, 1]) + (1).to_bytes(4, "big") + b"1234"), "tiny")


def test_an_unwritable_cache_location_still_loads_with_a_warning(root: Path) -> None:
    # A file where the cache folder should be: a real write failure, whoever runs the test.
    (root / "MNIST").write_text("not a folder")
    with pytest.warns(UserWarning, match="cache was not written"):
        assert _is_real_test_part(load_mnist(train=False, root=root))


@pytest.mark.slow  # a fresh Python that imports torch: seconds
def test_loading_data_and_writing_a_checkpoint_import_no_heavy_extras() -> None:
    # torchvision alone costs one to several seconds to import; the training path needs none of it.
    code = (
        "import sys\n"
        "from mnist_helpers.data import load_mnist\n"
        "from mnist_helpers.checkpoint import library_versions\n"
        "load_mnist(train=False)\n"
        "versions = library_versions()\n"
        "heavy = ('torchvision', 'onnx', 'onnxruntime', 'ipywidgets', 'anywidget', 'papermill')\n"
        "print(sorted(name for name in heavy if name in sys.modules), versions['torchvision'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded, torchvision_version = done.stdout.split(maxsplit=1)[0], done.stdout.split()[-1]
    assert loaded == "[]", done.stdout
    assert torchvision_version[0].isdigit()  # still recorded, from the package's metadata


# --- data files are bounded: a planted file cannot fill memory or hang the load -----------------


def _plant(root: Path, name: str, make) -> Path:
    gz = root / "mnist" / f"{name}.gz"
    gz.unlink()
    make(gz)
    return gz


def test_a_gzip_bomb_in_place_of_a_data_file_is_refused_after_one_byte_too_many(root: Path):
    import gzip
    import tracemalloc

    def bomb(path: Path) -> None:
        with gzip.open(path, "wb", compresslevel=9) as stream:
            for _ in range(100):  # 100 MB of zeros in about 100 kB
                stream.write(bytes(2**20))

    _plant(root, "t10k-labels-idx1-ubyte", bomb)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match="expands to more than 10,008 bytes"):
            load_mnist(train=False, root=root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # the 100 MB were never held


@pytest.mark.timeout(20)  # reading a FIFO would block: fail instead of hanging
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_special_file_in_place_of_a_data_file_is_refused_without_reading(root: Path, kind):
    def special(path: Path) -> None:
        if kind == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")

    _plant(root, "t10k-labels-idx1-ubyte", special)
    with pytest.raises(DataFileError, match="is not a regular file"):
        load_mnist(train=False, root=root)


def test_a_huge_sparse_cache_file_is_ignored_not_read(root: Path):
    load_mnist(train=False, root=root)  # fills the cache
    cached = next(p for p in (root / CACHE_FOLDER).iterdir() if p.name == "t10k-images-idx3-ubyte")
    with open(cached, "r+b") as file:
        file.truncate(20 * 2**30)  # 20 GB, sparse: no disk used
    split = load_mnist(train=False, root=root)  # decoded again from the .gz
    assert len(split) == 10_000
