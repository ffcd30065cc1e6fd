"""Turn any supported image input into a float array in [0, 1] with 1 to 4 channels.

Supported: file paths, PIL images, NumPy arrays and torch tensors, shaped (H, W) or (H, W, C) with
C = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), of dtype bool, uint8, uint16 or float.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_helpers.errors import ImageInputError

ImageInput = str | os.PathLike | Image.Image | np.ndarray | Any
# Larger inputs are reduced first, so a huge photo never becomes a huge float array.
MAX_WORKING_SIDE = 1024
# Refuse outright beyond this (about 10,000 x 10,000): decoding alone would need gigabytes.
MAX_PIXELS = 100_000_000


def _open_path(path: Path) -> Image.Image:
    if not path.exists():
        raise ImageInputError(f"{path}: no such file")
    if path.is_dir():
        raise ImageInputError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageInputError(f"{path}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if image.width * image.height > MAX_PIXELS:
                raise ImageInputError(
                    f"{path}: {image.width} x {image.height} pixels is too large; "
                    "resize it below 10,000 x 10,000 first"
                )
            image.draft("L", (MAX_WORKING_SIDE, MAX_WORKING_SIDE))  # cheap JPEG downscale on decode
            image.load()
    except ImageInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageInputError(
            f"{path}: the image is too large to decode safely; resize it below 9,000 x 9,000 first"
        ) from None
    except UnidentifiedImageError:
        raise ImageInputError(f"{path}: not an image file PIL can read (PNG, JPEG, ...)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"{path}: the image file is damaged or truncated ({error})") from None
    return ImageOps.exif_transpose(image)


def _reduce_pil(image: Image.Image) -> Image.Image:
    factor = max(image.size) // MAX_WORKING_SIDE
    if factor >= 2:
        image = image.reduce(factor)  # box filter: memory-light and anti-aliased
    return image


def _pil_to_array(image: Image.Image) -> np.ndarray:
    if image.width == 0 or image.height == 0:
        raise ImageInputError("the image has no pixels")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    elif image.mode == "1":
        image = image.convert("L")
    if image.mode not in ("L", "LA", "RGB", "RGBA", "I", "I;16", "I;16B", "I;16L", "F"):
        image = image.convert("RGBA")
    image = _reduce_pil(image) if image.mode in ("L", "LA", "RGB", "RGBA") else image
    array = np.asarray(image)
    if image.mode.startswith("I"):
        # 16-bit grey (PNG mode I;16 or I): scale by the format's range.
        return _reduce_array(array.astype(np.float32) / 65535.0)
    if image.mode == "F":
        return array_to_float(array)
    return array.astype(np.float32) / 255.0


def _reduce_array(array: np.ndarray) -> np.ndarray:
    """Block-average an (H, W[, C]) array so its longer side is at most MAX_WORKING_SIDE.

    Works on the original dtype (the mean is accumulated in float32), so a huge uint8 array is never
    copied whole to float.
    """
    factor = -(-max(array.shape[:2]) // MAX_WORKING_SIDE)
    if factor < 2:
        return array
    height, width = (array.shape[0] // factor) * factor, (array.shape[1] // factor) * factor
    if height == 0 or width == 0:
        # Extremely thin image: subsample instead of averaging.
        return array[::factor, ::factor]
    trimmed = array[:height, :width]
    shape = (height // factor, factor, width // factor, factor) + array.shape[2:]
    accumulator = np.float64 if array.dtype == np.float64 else np.float32
    return trimmed.reshape(shape).mean(axis=(1, 3), dtype=accumulator)


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
            f"an image of shape {array.shape} is too large; downscale it below "
            f"{MAX_PIXELS:,} pixels first"
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
        return _pil_to_array(_open_path(Path(image)))
    if isinstance(image, (bytes, bytearray)):
        raise ImageInputError("pass a file path, a PIL image or an array, not raw bytes")
    if isinstance(image, Image.Image):
        return _pil_to_array(image)
    if hasattr(image, "detach") and hasattr(image, "numpy"):  # a torch tensor
        image = image.detach().cpu().numpy()
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
