"""Inference inputs that go wrong: each gives a prediction or the project's own clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from mnist_helpers.errors import BlankImageError, ImageInputError
from mnist_helpers.images.preprocess import preprocess_image


def _check_result(image) -> None:
    """Preprocessing returns a finite (1, 1, 28, 28) tensor or raises ImageInputError."""
    try:
        tensor = preprocess_image(image)
    except ImageInputError:
        return
    assert tensor.shape == (1, 1, 28, 28) and tensor.dtype == torch.float32
    assert torch.isfinite(tensor).all()


_shapes = st.one_of(
    st.tuples(st.integers(0, 60), st.integers(0, 60)),
    st.tuples(st.integers(0, 40), st.integers(0, 40), st.sampled_from([1, 2, 3, 4, 5])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.float64, np.bool_]),
        shape=_shapes,
    )
)
def test_random_arrays_give_a_tensor_or_our_error(array):
    _check_result(array)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["L", "RGB", "RGBA", "LA", "P", "CMYK", "I;16", "1", "F"]),
    st.integers(1, 80),
    st.integers(1, 80),
    st.integers(0, 2**32 - 1),
)
def test_random_pil_images_give_a_tensor_or_our_error(mode, width, height, seed):
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    image = base.convert(mode) if mode not in ("I;16", "F") else base.convert("L").convert(mode)
    _check_result(image)


def test_one_pixel_image_is_blank():
    with pytest.raises(BlankImageError):
        preprocess_image(np.array([[255]], dtype=np.uint8))


def test_infinite_values_are_named():
    with pytest.raises(ImageInputError, match="infinite"):
        preprocess_image(np.array([[0.0, np.inf], [0.0, 0.0]]))


def test_wrong_shapes_are_named():
    for shape in ((2, 3, 4, 5), (10,), (5, 5, 6)):
        with pytest.raises(ImageInputError, match="shape"):
            preprocess_image(np.zeros(shape))


def test_a_large_array_is_downscaled():
    # Sizes over the cap are refused in test_image_bounds.py; this one is under it.
    large = np.zeros((6000, 6000), dtype=np.uint8)
    large[1000:5000, 2800:3300] = 255  # a tall bar: a "1" on a 36-megapixel image
    assert preprocess_image(large).shape == (1, 1, 28, 28)


def test_truncated_png_is_named(tmp_path):
    full = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8)).save(
        full
    )
    cut = tmp_path / "cut.png"
    cut.write_bytes(full.read_bytes()[:600])
    with pytest.raises(ImageInputError, match="damaged or truncated"):
        preprocess_image(cut)


def test_sixteen_bit_grey_png(tmp_path):
    image = np.zeros((100, 100), dtype=np.uint16)
    image[20:80, 45:55] = 60_000
    path = tmp_path / "grey16.png"
    Image.fromarray(image).save(path)
    assert preprocess_image(path).shape == (1, 1, 28, 28)
