"""Not a digit: the generators, the status rule, and flagged answers through the command line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mnist_helpers.errors import ParameterError
from mnist_helpers.images import training_mix
from mnist_helpers.images.drawing_style import STYLES
from mnist_helpers.images.eval_drawn_digits import (
    SOURCES,
    drawn_digit_set,
    stroked_digit,
    typed_digit,
)
from mnist_helpers.images.nondigit_shapes import (
    DIGIT_LIKE,
    FAMILIES,
    FONT_FILES,
    LETTERS,
    nondigit_set,
)
from mnist_helpers.images.train_nondigits import training_nondigits
from mnist_helpers.images.train_typed_digits import TRAINING_DIGIT_FONTS, typed_training_digits
from mnist_helpers.images.training_mix import TrainingMix
from mnist_helpers.predict import (
    DIGIT,
    NOT_A_DIGIT,
    UNSURE,
    read_status,
)

# --- generators -----------------------------------------------------------------------------


def test_nondigit_set_covers_every_family_and_is_reproducible() -> None:
    images = nondigit_set(2, seed=3, side=96)
    assert [n.family for n in images] == [f for f in FAMILIES for _ in range(2)]
    again = nondigit_set(2, seed=3, side=96)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(images, again, strict=True))
    other = nondigit_set(2, seed=4, side=96)
    assert not all(np.array_equal(a.image, b.image) for a, b in zip(images, other, strict=True))


def test_nondigits_come_in_the_four_styles() -> None:
    images = nondigit_set(12, seed=0, side=64)
    shapes = {n.style: n.image.shape for n in images}
    assert set(shapes) == set(STYLES)
    assert shapes["light_on_dark"] == (64, 64)
    assert shapes["dark_on_light"] == (64, 64, 3)
    assert shapes["transparent"] == shapes["transparent_light"] == (64, 64, 4)
    for n in images:  # every image has some ink and some background
        ink = n.image[..., 3] if n.image.shape[-1:] == (4,) else n.image
        assert ink.min() != ink.max()


def test_letters_written_like_digits_are_left_out() -> None:
    assert not set(LETTERS) & DIGIT_LIKE
    assert {"O", "l", "S", "Z"} <= DIGIT_LIKE


def test_unknown_family_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="family must be one of"):
        nondigit_set(1, seed=0, families=("spiral",))


def test_drawn_digits_hold_each_source_and_their_labels(mnist_test_split) -> None:
    drawn = drawn_digit_set(mnist_test_split, 10, seed=0)
    assert {d.source for d in drawn} == set(SOURCES)
    typed = [d.label for d in drawn if d.source == "typed"]
    assert typed == list(range(10))
    rng = np.random.default_rng(0)
    for make in (typed_digit, stroked_digit):
        ink = make(8, rng, side=140)
        assert ink.shape == (140, 140) and ink.max() == 255 and ink.mean() < 128


def test_training_nondigits_are_normalised_28_by_28_images_with_ink() -> None:
    mean, std = 0.1307, 0.3081
    pool = training_nondigits(40, mean=mean, std=std, seed=1)
    assert pool.shape == (40, 1, 28, 28)
    pixels = pool * std + mean
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5
    assert (pixels.flatten(1).amax(1) > 0.5).all()  # none is empty
    torch.testing.assert_close(pool, training_nondigits(40, mean=mean, std=std, seed=1))


def test_mix_swaps_the_given_shares_and_keeps_the_rest() -> None:
    torch.manual_seed(0)
    mix = TrainingMix(mean=0.0, std=1.0, nondigit_share=0.25, typed_share=0.125, move=False)
    images = torch.full((64, 1, 28, 28), 7.0)  # a value no generated image holds
    mixed = mix(images, torch.arange(64) % 10)
    unchanged = (mixed == 7.0).flatten(1).all(1)
    assert int((~unchanged).sum()) == 16 + 8
    assert torch.equal(images, torch.full((64, 1, 28, 28), 7.0))  # the input is left alone
    for shares in (
        {"nondigit_share": 1.0},
        {"typed_share": -0.1},
        {"nondigit_share": 0.6, "typed_share": 0.4},
    ):
        with pytest.raises(ParameterError, match="share"):
            TrainingMix(mean=0.0, std=1.0, **shares)


def test_typed_stand_ins_show_the_digit_they_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stand-ins unmoved (random_affine as the identity), no non-digits, and all but one image
    # swapped: each stand-in must be one of the pool's images of its own label, so the label the
    # batch carries stays true.
    monkeypatch.setattr(training_mix, "random_affine", lambda images, background: images)
    torch.manual_seed(0)
    mix = TrainingMix(mean=0.0, std=1.0, nondigit_share=0.0, typed_share=0.99)
    pool, pool_labels = typed_training_digits(mean=0.0, std=1.0)
    labels = torch.arange(100) % 10
    mixed = mix(torch.full((100, 1, 28, 28), 7.0), labels)
    swapped = ~(mixed == 7.0).flatten(1).all(1)
    assert int(swapped.sum()) == 99
    same = (mixed[swapped].flatten(1)[:, None] == pool.flatten(1)[None]).all(2)  # (99, pool)
    assert same.any(1).all()
    assert torch.equal(pool_labels[same.float().argmax(1)], labels[swapped])


def test_typed_training_digits_use_fonts_the_evaluation_never_uses() -> None:
    assert not set(TRAINING_DIGIT_FONTS) & set(FONT_FILES)
    images, labels = typed_training_digits(3, mean=0.0, std=1.0, seed=5)
    assert images.shape == (30, 1, 28, 28)
    assert labels.tolist() == [d for d in range(10) for _ in range(3)]
    assert (images.flatten(1).amax(1) > 0.9).all()  # each holds strong ink, as MNIST does
    again, _ = typed_training_digits(3, mean=0.0, std=1.0, seed=5)
    torch.testing.assert_close(images, again)


# --- the status rule ------------------------------------------------------------------------


def _probs(*top: float) -> list[float]:
    rest = (1 - sum(top)) / (10 - len(top))
    return [*top, *([rest] * (10 - len(top)))]


@pytest.mark.parametrize(
    ("probabilities", "expected"),
    [
        (_probs(0.98), DIGIT),
        (_probs(0.55, 0.43), UNSURE),  # torn between two digits
        (_probs(0.45, 0.5), UNSURE),
        (_probs(0.3, 0.2), NOT_A_DIGIT),  # spread over many digits
        ([0.1] * 10, NOT_A_DIGIT),
    ],
)
def test_status_separates_digit_unsure_and_not_a_digit(probabilities, expected) -> None:
    assert read_status(probabilities) == expected


def test_thresholds_move_the_status() -> None:
    probs = _probs(0.7)
    assert read_status(probs) == DIGIT
    assert read_status(probs, unsure_below=0.8) == UNSURE
    assert read_status(probs, unsure_below=0.8, not_a_digit_below=0.75) == NOT_A_DIGIT


# --- through the command line, with a trained model -----------------------------------------
