"""Digits typed in fonts that no evaluation uses, framed as ``predict`` frames a drawing.

MNIST holds only handwriting, so a model trained on it alone reads a typed or poster-bold digit
poorly (a heavy 6 as an 8, for example). A few of these in each training epoch (``training_mix``)
teach it those shapes. They come from the Computer Modern fonts that matplotlib ships; the typed
digits that measure drawn-digit accuracy (``drawn_digits``) use the DejaVu and STIX fonts only, so
the benchmark reads typefaces the model never saw.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from mnist_helpers.errors import ParameterError
from mnist_helpers.images.nondigit_shapes import COMPUTER_MODERN_FONTS
from mnist_helpers.images.preprocess import preprocess_steps
from mnist_helpers.images.typed_text import font, type_text
from mnist_helpers.model import NUM_CLASSES

TRAINING_DIGIT_FONTS = COMPUTER_MODERN_FONTS
PER_DIGIT = 100
# Outlines as wide as this share of the type size: plain, bold and poster-heavy strokes.
OUTLINES = (0.0, 0.0, 0.03, 0.06, 0.09)
CANVAS_SIDE = 96


def render_typed_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """``digit`` in a random TRAINING_DIGIT_FONTS face, size and weight: an ink map, uint8."""
    size = int(rng.integers(40, 72))
    face = font(TRAINING_DIGIT_FONTS[int(rng.integers(len(TRAINING_DIGIT_FONTS)))], size)
    outline = round(size * float(rng.choice(OUTLINES)))
    middle = (CANVAS_SIDE / 2, CANVAS_SIDE / 2)
    return type_text(str(digit), face, CANVAS_SIDE, at=middle, anchor="mm", outline=outline)


def typed_training_digits(
    per_digit: int = PER_DIGIT, *, mean: float, std: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_digit`` typed images of each digit, preprocessed and normalised with ``mean``/``std``.

    Returns images ``(10 * per_digit, 1, 28, 28)`` and labels ``(10 * per_digit,)``, sorted by
    label (digit ``d`` at rows ``d * per_digit`` to ``(d + 1) * per_digit - 1``).
    """
    if per_digit < 1:
        raise ParameterError(f"per_digit must be >= 1; got {per_digit!r}")
    frames = _typed_frames(per_digit, seed)  # (10 * per_digit, 28, 28) in [0, 1]
    labels = torch.arange(NUM_CLASSES).repeat_interleave(per_digit)
    return ((frames - mean) / std)[:, None].float(), labels


@lru_cache(maxsize=2)
def _typed_frames(per_digit: int, seed: int) -> torch.Tensor:
    """The pool's 28 x 28 frames in [0, 1]; kept, since runs in one process share it."""
    rng = np.random.default_rng(seed)
    # The same steps as a drawing passed to predict (crop, stroke width, 20-pixel box, centre of
    # mass), so a typed digit looks in training as it will when someone types one.
    frames = [
        torch.from_numpy(preprocess_steps(render_typed_digit(digit, rng)).centered)
        for digit in range(NUM_CLASSES)
        for _ in range(per_digit)
    ]
    return torch.stack(frames)
