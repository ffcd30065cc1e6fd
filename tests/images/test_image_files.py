"""Image decoding is bounded: the pixel count is read from the header and checked against one cap
before any pixel is decoded, whatever the shape or bit depth, and accepted images are reduced in
bands so conversions never copy them whole."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_helpers.errors import ImageInputError
from mnist_helpers.images import image_files as image_io
from mnist_helpers.images.image_files import MAX_PIXELS, RESIZE_ADVICE, to_float_array

PNG_GREY, PNG_PALETTE, PNG_RGBA = 0, 3, 6
_CHANNELS = {PNG_GREY: 1, PNG_PALETTE: 1, PNG_RGBA: 4}


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _header(width: int, height: int, bit_depth: int, color_type: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)


def png_header_only(path: Path, width: int, height: int, bit_depth: int = 8) -> Path:
    """A grey PNG whose header claims ``width`` x ``height`` but whose pixel data is a stub."""
    stub = _chunk(b"IDAT", zlib.compress(b"\x00" * 10))
    path.write_bytes(_header(width, height, bit_depth, PNG_GREY) + stub + _chunk(b"IEND", b""))
    return path


def real_png(
    path: Path, width: int, height: int, *, bit_depth: int = 8, color_type: int = PNG_GREY
) -> Path:
    """A complete, valid PNG of black pixels, compressed row by row (small file, big image)."""
    row_bytes = (width * _CHANNELS[color_type] * bit_depth + 7) // 8
    compressor, parts = zlib.compressobj(9), []
    block = bytes(min(row_bytes, 1 << 20))
    for _ in range(height):
        parts.append(compressor.compress(b"\x00"))  # filter type 0 for the row
        for start in range(0, row_bytes, len(block)):
            parts.append(compressor.compress(block[: min(len(block), row_bytes - start)]))
    parts.append(compressor.flush())
    extra = b""
    if color_type == PNG_PALETTE:  # a palette plus transparency: PIL reads it as P with alpha
        extra = _chunk(b"PLTE", bytes(3 * 256)) + _chunk(b"tRNS", b"\x00" + b"\xff" * 255)
    data = _chunk(b"IDAT", b"".join(parts))
    path.write_bytes(
        _header(width, height, bit_depth, color_type) + extra + data + _chunk(b"IEND", b"")
    )
    return path


def _pil_hard_limit() -> int:
    return 2 * Image.MAX_IMAGE_PIXELS


# One cap, checked from the header, with its own message.


@pytest.mark.parametrize(
    ("width", "height", "bit_depth"),
    [
        (89_000_000, 1, 8),  # a 1 x 89,000,000 PNG
        (9_400, 9_400, 16),  # a 9400 x 9400 16-bit PNG
        (8_000, 8_001, 8),  # one row over the cap
        (9_800, 9_800, 8),  # over PIL's warning threshold, under its hard limit
    ],
)
def test_over_the_cap_is_refused_by_our_check_from_the_header(
    tmp_path: Path, width: int, height: int, bit_depth: int
) -> None:
    path = png_header_only(tmp_path / "big.png", width, height, bit_depth)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's DecompressionBombWarning must not leak out
        with pytest.raises(ImageInputError) as raised:
            to_float_array(path)
    message = str(raised.value)
    assert f"{width:,} x {height:,} = {width * height:,} pixels is too large" in message
    assert RESIZE_ADVICE in message
    assert "decompression bomb" not in message  # our branch, not PIL's


def test_beyond_pils_hard_limit_gets_pils_branch_with_the_same_advice(tmp_path: Path) -> None:
    side = 40_000
    assert side * side > _pil_hard_limit()  # PIL refuses inside Image.open, before our check
    path = png_header_only(tmp_path / "bomb.png", side, side)
    with pytest.raises(ImageInputError) as raised:
        to_float_array(path)
    message = str(raised.value)
    assert "decompression bomb" in message and f"{_pil_hard_limit():,} pixels" in message
    assert RESIZE_ADVICE in message
    assert "40,000 x 40,000" not in message


def test_the_advice_states_the_cap_and_the_cap_is_under_pils_warning() -> None:
    side = math.isqrt(MAX_PIXELS)
    assert side * side == MAX_PIXELS
    assert f"below {MAX_PIXELS:,} pixels ({side:,} x {side:,})" in RESIZE_ADVICE
    assert MAX_PIXELS < Image.MAX_IMAGE_PIXELS  # so every size over the cap meets our check


def test_exactly_max_pixels_passes_the_size_check(tmp_path: Path) -> None:
    path = png_header_only(tmp_path / "at_cap.png", 8_000, 8_000)
    with pytest.raises(ImageInputError, match="damaged or truncated"):  # the stub data fails
        to_float_array(path)


def test_lazily_opened_pil_image_is_checked_before_it_is_decoded(tmp_path: Path) -> None:
    path = png_header_only(tmp_path / "big.png", 9_000, 9_000)
    with (
        Image.open(path) as image,  # header only: decoding would need 81 MB here
        pytest.raises(ImageInputError, match="81,000,000 pixels is too large"),
    ):
        to_float_array(image)


def test_array_over_the_cap_gets_the_same_advice() -> None:
    huge = np.broadcast_to(np.uint8(0), (MAX_PIXELS // 1000 + 1, 1000))  # no memory: a view
    with pytest.raises(ImageInputError, match="too large") as raised:
        to_float_array(huge)
    assert RESIZE_ADVICE in str(raised.value)


# The banded reduction gives the same pixels as reducing the whole image at once.


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "RGB"])
def test_banded_reduction_equals_one_whole_reduce(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (2_500, 3_001, 4), dtype=np.uint8)
    image = Image.fromarray(rgba).convert(mode)
    expected = np.asarray(image.reduce(max(image.size) // image_io.MAX_WORKING_SIDE))
    monkeypatch.setattr(image_io, "BAND_PIXELS", 100_000)  # many bands, a partial last one
    banded = np.asarray(image_io._shrink(image, mode))
    np.testing.assert_array_equal(banded, expected)


def test_banded_16_bit_reduction_equals_block_means(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 65_536, (3_001, 2_500), dtype=np.uint16)
    # 3 x 3 block means (3 = ceil(3001 / 1024)); partial last blocks are dropped.
    expected = pixels[:3_000, :2_499].reshape(1_000, 3, 833, 3).mean(axis=(1, 3)) / 65_535
    monkeypatch.setattr(image_io, "BAND_PIXELS", 50_000)
    got = to_float_array(Image.fromarray(pixels))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_exif_orientation_is_still_applied(tmp_path: Path) -> None:
    pixels = np.zeros((40, 60), dtype=np.uint8)
    pixels[5:10, 0:30] = 255  # a bar at the top left
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the image rotated 90 degrees clockwise
    path = tmp_path / "turned.png"
    Image.fromarray(pixels).save(path, exif=exif)
    np.testing.assert_array_equal(to_float_array(path), np.rot90(pixels, -1) / 255.0)


# Peak memory, measured in a fresh process. VmHWM (the peak resident size of the process's own
# memory) rather than getrusage's ru_maxrss: Linux carries ru_maxrss over from the forking parent,
# and pytest with torch loaded is bigger than any decoding measured here.

_MEASURE = """
import json, sys
from mnist_helpers.images.image_files import to_float_array

def peak_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024

before = peak_mb()
try:
    to_float_array(sys.argv[1])
    outcome = "decoded"
except Exception as error:
    outcome = type(error).__name__
print(json.dumps({"extra_mb": peak_mb() - before, "outcome": outcome}))
"""

REFUSED_EXTRA_MB = 32  # a refused file costs no decoding at all
# Decoding holds up to 4 bytes a pixel; bands and PNG row buffers add less than 2 more.
ACCEPTED_EXTRA_MB = 6 * MAX_PIXELS / 2**20


def _peak_extra_mb(path: Path) -> tuple[float, str]:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout)
    return report["extra_mb"], report["outcome"]


@pytest.mark.slow  # builds and decodes images of up to 64 million pixels, one process each
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads Linux's VmHWM")
def test_peak_memory_is_bounded_whatever_the_shape_or_bit_depth(tmp_path: Path) -> None:
    refused = {
        "1 x 89,000,000 grey": real_png(tmp_path / "thin.png", 89_000_000, 1),
        "9400 x 9400 16-bit grey": real_png(tmp_path / "g16.png", 9_400, 9_400, bit_depth=16),
    }
    accepted = {
        "1 x 64,000,000 grey": real_png(tmp_path / "thin_cap.png", 64_000_000, 1),
        "8000 x 8000 16-bit grey": real_png(tmp_path / "g16_cap.png", 8_000, 8_000, bit_depth=16),
        "8000 x 8000 RGBA": real_png(tmp_path / "rgba.png", 8_000, 8_000, color_type=PNG_RGBA),
        "8000 x 8000 palette + alpha": real_png(
            tmp_path / "palette.png", 8_000, 8_000, color_type=PNG_PALETTE
        ),
    }
    measured = {}
    for name, path in refused.items():
        extra, outcome = _peak_extra_mb(path)
        measured[name] = extra
        assert outcome == "ImageInputError" and extra < REFUSED_EXTRA_MB, (name, extra)
    for name, path in accepted.items():
        extra, outcome = _peak_extra_mb(path)
        measured[name] = extra
        # All black: preprocessing would call it blank, but decoding itself succeeds.
        assert outcome == "decoded" and extra < ACCEPTED_EXTRA_MB, (name, extra)
    print({name: f"{mb:.0f} MB" for name, mb in measured.items()})


@pytest.mark.timeout(20)  # a FIFO read would hang: fail instead
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("folder", "is a directory, not a file"),
        ("fifo", "is not a regular file: it is a FIFO"),
        ("device", "is not a regular file: it is a device"),
        ("huge", "is too large"),
    ],
)
def test_check_image_file_refuses_before_decoding(kind, message, tmp_path):
    import os

    from mnist_helpers.errors import ImageInputError
    from mnist_helpers.images.image_files import check_image_file
    from tests.helpers import png_claiming_size

    target = tmp_path / "input.png"
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/zero")
    else:
        png_claiming_size(target, 10_000, 10_000)  # decoding would need 100 MB and more
    with pytest.raises(ImageInputError, match=message):
        check_image_file(target)
