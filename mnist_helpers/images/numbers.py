"""Split the ink of a number ("2026", a phone number) into its digits, left to right.

1. **Pieces**: the 8-connected pieces of ink.
2. **Digits**: pieces that overlap left to right belong to one digit (a 5 whose bar is a separate
   stroke, a 4 with a gap). Pieces much shorter than the others (a dot, a dash) are not digits.
3. **Touching digits**: two digits whose strokes touch make one piece, wider than one digit
   usually is. A wide piece that does not read well as one digit is cut where both sides read
   best as digits: ``split_number`` asks ``confidence`` (the model's top probability for each
   candidate) rather than guessing from the shape alone.

Each digit comes back as its own ink map, cropped with a margin, with every other digit's ink
removed; ``preprocess.frame_ink`` then frames it like any single digit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mnist_helpers.errors import BlankImageError
from mnist_helpers.images.preprocess import BLANK_MESSAGE

# Pieces overlapping by this share of the narrower one's width are parts of one digit.
SAME_DIGIT_OVERLAP = 0.5
# Groups shorter than this share of the tallest one are dots or dashes, not digits.
MIN_HEIGHT_SHARE = 0.4
# Wider than three quarters of its height: perhaps two touching digits (half of MNIST's test
# digits are that wide, 10 % wider than tall, 1 % 1.4 times wider than tall). Such a piece is cut
# only if it does not read as one digit with at least READS_AS_ONE, and the cut reads better, and
# well enough: both sides at least CUT_READS...
MAYBE_TOUCHING = 0.75
READS_AS_ONE = 0.9
CUT_READS = 0.8
# ...while wider than this, it is cut in any case.
SURELY_TOUCHING = 1.7
# Cuts are tried in this middle part of a wide group, at this many columns.
CUT_RANGE = (0.25, 0.75)
CUT_CANDIDATES = 15

Confidence = Callable[[Sequence[np.ndarray]], list[float]]
Box = tuple[int, int, int, int]  # top, left, bottom, right


@dataclass
class DigitInk:
    """One digit of a number: its ink's box in the image (top, left, bottom, right), and its own
    ink alone, cropped with a margin from ``origin`` (top, left) on."""

    box: Box
    ink: np.ndarray
    origin: tuple[int, int]


def _pieces(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[int, Box]]]:
    """The 8-connected pieces of ``mask``: their label image, and each label with its box."""
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    found = ndimage.find_objects(labels)
    boxes = [(r.start, c.start, r.stop, c.stop) for r, c in found]
    return labels, list(enumerate(boxes, start=1))


def _overlap(a: Box, b: Box) -> float:
    shared = min(a[3], b[3]) - max(a[1], b[1])
    narrower = min(a[3] - a[1], b[3] - b[1])
    return shared / max(narrower, 1)


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _crop(ink: np.ndarray, own: np.ndarray, box: Box) -> DigitInk:
    """The digit in ``box`` with a margin, keeping only the ink where ``own`` (same size) is set."""
    top, left, bottom, right = box
    margin = max(2, (bottom - top) // 8)
    top, left = max(top - margin, 0), max(left - margin, 0)
    bottom, right = min(bottom + margin, ink.shape[0]), min(right + margin, ink.shape[1])
    mine = np.where(own[top:bottom, left:right], ink[top:bottom, left:right], 0.0)
    return DigitInk(box, mine.astype(np.float32), (top, left))


def group_digits(ink: np.ndarray) -> list[DigitInk]:
    """The digits of ``ink`` (an ink map), left to right, before any touching ones are cut."""
    labels, pieces = _pieces(ink > 0)
    groups: list[tuple[list[int], Box]] = []  # the pieces' labels, and their box
    for label, box in sorted(pieces, key=lambda piece: piece[1][1]):
        for index, (members, group_box) in enumerate(groups):
            if _overlap(box, group_box) >= SAME_DIGIT_OVERLAP:
                groups[index] = ([*members, label], _union(box, group_box))
                break
        else:
            groups.append(([label], box))
    if not groups:
        raise BlankImageError(BLANK_MESSAGE)
    tallest = max(box[2] - box[0] for _, box in groups)
    groups = [g for g in groups if g[1][2] - g[1][0] >= MIN_HEIGHT_SHARE * tallest]
    groups.sort(key=lambda group: group[1][1])
    return [_crop(ink, np.isin(labels, members), box) for members, box in groups]


def _cut(digit: DigitInk, column: int) -> tuple[DigitInk, DigitInk]:
    """Two digits: the ink left of ``column`` (in the crop) and the ink right of it."""
    left_ink, right_ink = digit.ink.copy(), digit.ink.copy()
    left_ink[:, column:] = 0
    right_ink[:, :column] = 0
    return _with_box(left_ink, digit.origin), _with_box(right_ink, digit.origin)


def _with_box(ink: np.ndarray, origin: tuple[int, int]) -> DigitInk:
    inked = ink > 0
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    if rows.size == 0:
        return DigitInk((origin[0], origin[1], origin[0], origin[1]), ink, origin)
    top, left = origin[0] + int(rows[0]), origin[1] + int(columns[0])
    box = (top, left, origin[0] + int(rows[-1]) + 1, origin[1] + int(columns[-1]) + 1)
    return DigitInk(box, ink, origin)


def _split(digit: DigitInk, confidence: Confidence) -> list[DigitInk]:
    """Cut ``digit`` in two (and again, for three touching) when it is two digits."""
    top, left, bottom, right = digit.box
    width, height = right - left, max(bottom - top, 1)
    if width / height <= MAYBE_TOUCHING:
        return [digit]
    first = left - digit.origin[1]  # the ink's first column in the crop
    columns = np.linspace(*CUT_RANGE, CUT_CANDIDATES) * width + first
    candidates = [_cut(digit, int(column)) for column in columns]
    scores = confidence([half.ink for pair in candidates for half in pair])
    pair_scores = [min(scores[2 * k], scores[2 * k + 1]) for k in range(len(candidates))]
    best = int(np.argmax(pair_scores))
    if width / height <= SURELY_TOUCHING:
        # About as wide as one digit can be: cut only if it does not read as one and the
        # cut reads better.
        whole = confidence([digit.ink])[0]
        if whole >= READS_AS_ONE or pair_scores[best] <= max(whole, CUT_READS):
            return [digit]
    return [piece for half in candidates[best] for piece in _split(half, confidence)]


def split_number(ink: np.ndarray, confidence: Confidence) -> list[DigitInk]:
    """The digits of ``ink`` left to right, touching digits cut apart where they read best.

    ``confidence`` takes ink maps and returns the model's top probability for each (0 for one
    that holds no digit). Raises BlankImageError when there is no ink.
    """
    return [piece for digit in group_digits(ink) for piece in _split(digit, confidence)]
