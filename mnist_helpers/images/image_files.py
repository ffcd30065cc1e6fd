"""Turn any supported image input into a float array in [0, 1] with 1 to 4 channels.

Supported: file paths, PIL images, NumPy arrays and torch tensors, shaped (H, W) or (H, W, C) with
C = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), of dtype bool, uint8, uint16 or float.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
from PIL import Image, UnidentifiedImageError

from mnist_helpers.errors import ImageInputError
from mnist_helpers.support.file_checks import regular_file_problem

if TYPE_CHECKING:
    import torch

# A torch tensor is accepted too (read by duck typing below, so this module never imports torch).
ImageInput: TypeAlias = "str | os.PathLike[str] | Image.Image | np.ndarray | torch.Tensor"
# Larger inputs are reduced first, so a huge photo never becomes a huge float array.
MAX_WORKING_SIDE = 1024
# Refuse images with more pixels than this, read from the file's header before any decoding.
# Decoding holds up to 4 bytes a pixel; conversions then work in bands (see _shrink), so an
# accepted image needs under 6 bytes a pixel (under 400 MB) whatever its shape or bit depth.
MAX_PIXELS = 64_000_000
RESIZE_ADVICE = "resize it below 64,000,000 pixels (8,000 x 8,000) first"
# Large images are reduced in bands of about this many pixels (see _shrink).
BAND_PIXELS = 4_000_000
_WORKING_MODES = ("L", "LA", "RGB", "RGBA", "I", "F")  # modes PIL's reduce averages correctly
_COLOUR_MODES = ("CMYK", "YCbCr", "LAB", "HSV")  # read as RGB
# EXIF orientation values and how to turn the (H, W[, C]) array upright.
_EXIF_ORIENTATION = 0x0112
_UPRIGHT = {
    2: lambda a: a[:, ::-1],  # mirrored
    3: lambda a: a[::-1, ::-1],  # upside down
    4: lambda a: a[::-1],  # mirrored vertically
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),  # camera held rotated 90 degrees
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


# The file formats read: what cameras, scanners, phones and drawing programs write.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM", "TGA", "ICO")


def check_pixel_count(width: int, height: int, what: str = "the image") -> None:
    """Refuse an image of more than MAX_PIXELS pixels before it is decoded or converted."""
    if width * height > MAX_PIXELS:
        raise ImageInputError(
            f"{what}: {width:,} x {height:,} = {width * height:,} pixels is too large; "
            f"{RESIZE_ADVICE}"
        )


def check_image_file(path: str | os.PathLike[str]) -> None:
    """Refuse ``path`` unless it is an image file of an accepted size; reads the header only.

    Notebooks call it on a path parameter before any other work, so a mistake stops at once.
    """
    _open_path(Path(path), decode=False).close()


def _open_path(path: Path, *, decode: bool = True) -> Image.Image:
    # Checked before open(): a FIFO would block and /dev/zero would never end.
    problem = regular_file_problem(path)
    if problem is not None:
        raise ImageInputError(f"{path}: {problem}")
    if path.stat().st_size == 0:
        raise ImageInputError(f"{path}: the file is empty")
    try:
        with warnings.catch_warnings():
            # PIL warns from 89 million pixels; the size check below refuses those itself.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Header only (size and mode, no pixels yet), and only formats a photo, scan or
            # drawing comes in: never EPS, which PIL hands to Ghostscript.
            image = Image.open(path, formats=IMAGE_FORMATS)
        try:
            check_pixel_count(image.width, image.height, str(path))
            if decode:
                image.draft("L", (MAX_WORKING_SIDE, MAX_WORKING_SIDE))  # cheap JPEG downscale
                image.load()
        except BaseException:
            image.close()  # a refused or damaged file leaves no open handle behind
            raise
    except ImageInputError:
        raise
    except Image.DecompressionBombError:
        # Past twice PIL's own limit, Image.open refuses before the size check above can run.
        raise ImageInputError(
            f"{path}: too large to open; PIL refuses it as a possible decompression bomb (over "
            f"{2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels); {RESIZE_ADVICE}"
        ) from None
    except UnidentifiedImageError:
        raise ImageInputError(
            f"{path}: not an image file PIL can read (PNG, JPEG, BMP, GIF, TIFF or WebP)"
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"{path}: the image file is damaged or truncated ({error})") from None
    return image


def _working_mode(mode: str) -> str:
    """The mode an image is converted to before it is averaged (palette indices cannot be)."""
    if mode in ("P", "PA") or mode not in _WORKING_MODES + _COLOUR_MODES + ("1",):
        return "RGBA"
    return {"1": "L"}.get(mode, "RGB" if mode in _COLOUR_MODES else mode)


def _shrink(image: Image.Image, mode: str) -> Image.Image:
    """``image`` in ``mode``, box-reduced so its longer side is about MAX_WORKING_SIDE.

    Large images go through in bands of rows: a mode conversion, and the premultiplied copy
    that PIL's reduce makes of RGBA and LA images, then cost one band of memory, not a whole
    second image.
    """
    factor = max(image.size) // MAX_WORKING_SIDE
    if factor < 2:
        return image if image.mode == mode else image.convert(mode)
    width, height = image.size
    reduced = Image.new(mode, (-(-width // factor), -(-height // factor)))
    band = factor * max(1, BAND_PIXELS // (width * factor))  # whole blocks: same as one reduce
    for top in range(0, height, band):
        strip = image.crop((0, top, width, min(height, top + band)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        reduced.paste(strip.reduce(factor), (0, top // factor))
    return reduced


def _shrink_16bit(image: Image.Image) -> np.ndarray:
    """A 16-bit grey image as floats in [0, 1], block-averaged band by band.

    PIL cannot reduce 16-bit grey, so NumPy averages it; bands keep the uint16 copy small.
    """
    width, height = image.size
    factor = _array_factor(height, width)
    if factor < 2 or height < factor or width < factor:
        return _reduce_array(np.asarray(image)).astype(np.float32) / 65535.0
    usable = (height // factor) * factor  # as _reduce_array: a last partial block is dropped
    band = factor * max(1, BAND_PIXELS // (width * factor))
    parts = [
        _block_mean(np.asarray(image.crop((0, top, width, min(usable, top + band)))), factor)
        for top in range(0, usable, band)
    ]
    return np.concatenate(parts) / np.float32(65535.0)


def _pil_to_array(image: Image.Image) -> np.ndarray:
    if image.width == 0 or image.height == 0:
        raise ImageInputError("the image has no pixels")
    check_pixel_count(image.width, image.height)
    if image.mode.startswith("I;16"):
        return _shrink_16bit(image)
    if image.mode in ("La", "RGBa"):  # premultiplied alpha: PIL converts only to the plain form
        image = image.convert(image.mode.upper())
    image = _shrink(image, _working_mode(image.mode))
    array = np.asarray(image)
    if image.mode == "I":
        # 32-bit integer grey (some 16-bit PNGs and TIFFs): scale by the 16-bit range.
        return array.astype(np.float32) / 65535.0
    if image.mode == "F":
        return array_to_float(array)
    return array.astype(np.float32) / 255.0


def _file_to_array(path: Path) -> np.ndarray:
    """Decode an image file (size checked first) and turn it upright as its EXIF data says."""
    image = _open_path(path)
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # a damaged EXIF block only loses the rotation
        orientation = None
    array = _pil_to_array(image)
    upright = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    # Applied to the reduced array: rotating the full-size image would copy it.
    return array if upright is None else np.ascontiguousarray(upright(array))


def _array_factor(height: int, width: int) -> int:
    """The block size that brings the longer side to at most MAX_WORKING_SIDE."""
    return -(-max(height, width) // MAX_WORKING_SIDE)


def _block_mean(array: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks of (H, W[, C]); a partial last block is dropped."""
    height, width = (array.shape[0] // factor) * factor, (array.shape[1] // factor) * factor
    trimmed = array[:height, :width]
    shape = (height // factor, factor, width // factor, factor) + array.shape[2:]
    accumulator = np.float64 if array.dtype == np.float64 else np.float32
    return trimmed.reshape(shape).mean(axis=(1, 3), dtype=accumulator)


def _reduce_array(array: np.ndarray) -> np.ndarray:
    """Block-average an (H, W[, C]) array so its longer side is at most MAX_WORKING_SIDE.

    Works on the original dtype (the mean is accumulated in float32), so a huge uint8 array is never
    copied whole to float.
    """
    factor = _array_factor(*array.shape[:2])
    if factor < 2:
        return array
    if array.shape[0] < factor or array.shape[1] < factor:
        # Extremely thin image: subsample instead of averaging.
        return array[::factor, ::factor]
    return _block_mean(array, factor)


def array_to_float(array: np.ndarray) -> np.ndarray:
    """Check a NumPy image array and scale it to float32 in [0, 1]."""
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise ImageInputError(f"an image array must hold numbers; got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise ImageInputError("an image array must hold real numbers, not complex ones")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 2, 3, 4))):
        raise ImageInputError(
            f"an image array must be (H, W) or (H, W, C) with C in 1..4; got shape {array.shape}"
        )
    if array.size == 0:
        raise ImageInputError(f"the image array is empty (shape {array.shape})")
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise ImageInputError(
            f"an image array of shape {array.shape} is too large; {RESIZE_ADVICE}"
        )
    if array.dtype == np.bool_:
        return _reduce_array(array.astype(np.uint8)).astype(np.float32)
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ImageInputError("the image array holds NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0:
        raise ImageInputError(
            f"image arrays must hold values in [0, 1], [0, 255] or [0, 65535]; "
            f"the minimum is {low:g}"
        )
    if np.issubdtype(array.dtype, np.integer):
        scale = 255.0 if high <= 255 else 65535.0 if high <= 65535 else high
    else:
        # Floats above 1 are taken as 0..255 pixel values.
        scale = 1.0 if high <= 1.0 else 255.0 if high <= 255.0 else high
    # Divide in float64: float32 would overflow for values near the float64 range.
    return (_reduce_array(array).astype(np.float64) / scale).astype(np.float32)


def to_float_array(image: ImageInput) -> np.ndarray:
    """Read ``image`` into a float32 array in [0, 1], shaped (H, W) or (H, W, C)."""
    if isinstance(image, (str, os.PathLike)):
        return _file_to_array(Path(image))
    if isinstance(image, (bytes, bytearray)):
        raise ImageInputError("pass a file path, a PIL image or an array, not raw bytes")
    if isinstance(image, Image.Image):
        return _pil_to_array(image)
    if hasattr(image, "detach") and hasattr(image, "numpy"):  # a torch tensor
        image = image.detach().cpu()
        if image.is_floating_point():
            image = image.float()  # NumPy has no bfloat16
        image = image.numpy()
        if image.ndim == 3 and image.shape[0] in (1, 3, 4) and image.shape[2] not in (1, 2, 3, 4):
            image = np.moveaxis(image, 0, -1)  # (C, H, W) to (H, W, C)
        if image.ndim == 4 and image.shape[:2] == (1, 1):
            image = image[0, 0]
    if isinstance(image, np.ndarray):
        return array_to_float(image)
    raise ImageInputError(
        f"cannot read an image from a {type(image).__name__}; "
        "pass a file path, a PIL image, a NumPy array or a torch tensor"
    )


def png_bytes(picture: Image.Image | np.ndarray) -> bytes:
    """``picture`` (a PIL image, or a uint8 array PIL takes as it is) encoded as PNG: what the
    widgets show and the canvas sends back to the page."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
