"""Splitting a number's ink into digits (images/numbers.py), with a stand-in for the model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from mnist_helpers.errors import BlankImageError
from mnist_helpers.images.numbers import group_digits, split_number


def bar(ink: np.ndarray, top: int, left: int, bottom: int, right: int) -> None:
    ink[top:bottom, left:right] = 1.0


def never_sure(inks: Sequence[np.ndarray]) -> list[float]:
    return [0.0 for _ in inks]


def test_separate_digits_come_left_to_right_each_with_only_its_own_ink() -> None:
    ink = np.zeros((100, 300), dtype=np.float32)
    bar(ink, 20, 200, 80, 210)  # written first on the right: order comes from position
    bar(ink, 20, 40, 80, 50)
    bar(ink, 20, 120, 80, 130)
    digits = split_number(ink, never_sure)
    assert [d.box[1] for d in digits] == [40, 120, 200]
    for digit in digits:
        assert digit.ink.sum() == 60 * 10  # its own bar, none of its neighbours'


def test_pieces_one_above_the_other_are_one_digit_and_dots_are_none() -> None:
    ink = np.zeros((100, 300), dtype=np.float32)
    bar(ink, 20, 40, 25, 80)  # a 5's separate top bar...
    bar(ink, 30, 40, 80, 50)  # ...over its body
    bar(ink, 75, 150, 80, 155)  # a full stop between two digits
    bar(ink, 20, 200, 80, 210)
    digits = group_digits(ink)
    assert len(digits) == 2
    assert digits[0].box == (20, 40, 80, 80)


def test_a_wide_piece_is_cut_where_both_sides_read_best() -> None:
    ink = np.zeros((100, 300), dtype=np.float32)
    bar(ink, 20, 50, 80, 60)
    bar(ink, 20, 150, 80, 160)
    bar(ink, 48, 50, 52, 160)  # joined: one piece, 110 wide and 60 tall
    best_cut = 100

    def prefers_the_middle(inks: Sequence[np.ndarray]) -> list[float]:
        # Sure of a side only when it holds one whole upright stroke and little of the join.
        scores = []
        for piece in inks:
            columns = np.flatnonzero(piece.any(axis=0))
            width = columns[-1] - columns[0] + 1 if columns.size else 0
            scores.append(0.99 if 0 < width <= best_cut - 50 + 10 else 0.1)
        return scores

    digits = split_number(ink, prefers_the_middle)
    assert len(digits) == 2
    assert digits[0].box[1] == 50 and digits[1].box[3] == 160


def test_one_digit_about_as_wide_as_tall_is_not_cut_when_it_reads_well() -> None:
    ink = np.zeros((100, 300), dtype=np.float32)
    bar(ink, 20, 50, 80, 60)
    bar(ink, 20, 110, 80, 120)
    bar(ink, 20, 50, 25, 120)  # 70 wide, 60 tall: a wide 0 or a touching pair
    assert len(split_number(ink, lambda inks: [0.99] * len(inks))) == 1


def test_no_ink_is_a_blank_image() -> None:
    with pytest.raises(BlankImageError, match="no digit found"):
        split_number(np.zeros((50, 50), dtype=np.float32), never_sure)


def test_a_blank_image_read_as_a_number_says_so() -> None:
    import torch

    from mnist_helpers.data import MNIST_MEAN, MNIST_STD
    from mnist_helpers.model import MnistCNN
    from mnist_helpers.predict import Predictor

    torch.manual_seed(0)
    predictor = Predictor(MnistCNN(), mean=MNIST_MEAN, std=MNIST_STD)
    reading = predictor.read_number(np.zeros((60, 60), dtype=np.float32))
    assert reading.status == "blank" and reading.text == "" and reading.digits == []
    assert reading.message.startswith("the image is blank: no digit found")
