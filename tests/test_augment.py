"""Augmentation: the sampling grid, the identity transform and the background fill."""

import pytest
import torch
import torch.nn.functional as F

from mnist_helpers.augment import affine_grid, random_affine, training_augmentation


@pytest.mark.parametrize(("height", "width"), [(28, 28), (5, 9)])
def test_grid_matches_torch_affine_grid(height: int, width: int) -> None:
    theta = torch.randn(7, 2, 3, generator=torch.Generator().manual_seed(0))
    expected = F.affine_grid(theta, [7, 1, height, width], align_corners=False)
    torch.testing.assert_close(affine_grid(theta, height, width), expected)


def test_no_rotation_scale_or_shift_returns_the_images() -> None:
    images = torch.rand(4, 1, 28, 28)
    same = random_affine(images, degrees=0.0, scale=0.0, shift_pixels=0.0, background=0.0)
    torch.testing.assert_close(same, images)


def test_transforms_differ_per_image_and_keep_the_background() -> None:
    torch.manual_seed(0)
    background = -0.42
    images = torch.full((64, 1, 28, 28), background)
    images[:, :, 10:18, 12:16] = 2.0  # a bar of ink in the middle, the same in every image
    moved = random_affine(images, background=background)
    assert moved.shape == images.shape
    # Borders stay background: the ink moves by a few pixels at most.
    torch.testing.assert_close(moved[:, :, :3], torch.full_like(moved[:, :, :3], background))
    # Each image got its own transform.
    assert len({round(m.sum().item(), 3) for m in moved}) > 32


def test_training_augmentation_fills_with_black_in_the_given_normalisation() -> None:
    torch.manual_seed(0)
    mean, std = 0.2, 0.5
    black = (0.0 - mean) / std  # pixel value 0 after (x - mean) / std
    images = torch.full((16, 1, 28, 28), black)
    images[:, :, 12:16, 12:16] = (1.0 - mean) / std  # a white square
    moved = training_augmentation(mean, std)(images, torch.zeros(16, dtype=torch.long))
    # Black areas moved into view stay black: the border and every pixel within [black, white].
    torch.testing.assert_close(moved[:, :, 0], torch.full_like(moved[:, :, 0], black))
    assert moved.min() >= black - 1e-5 and moved.max() <= (1.0 - mean) / std + 1e-5
    assert not torch.equal(moved, images)  # something moved
