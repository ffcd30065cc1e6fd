"""What the model trains on in an epoch: the digits, moved a little, with two kinds of stand-ins.

- One image in ten becomes a generated non-digit (``train_nondigits``) that keeps the label of
  the digit it replaced: a label as good as random, which teaches a flat answer for non-digits.
- A few become a typed digit of the same label (``train_typed_digits``), so typed and bold digits
  are read as well as handwriting.

Every epoch draws new places, new picks and new moves; the batches keep their size, so an epoch
has as many steps as without them (the mix itself costs well under a second per epoch).
"""

from __future__ import annotations

import torch

from mnist_helpers.augment import random_affine
from mnist_helpers.errors import ParameterError
from mnist_helpers.images.train_nondigits import training_nondigits
from mnist_helpers.images.train_typed_digits import PER_DIGIT, typed_training_digits

# Enough non-digits to learn a flat answer for them, few enough that the digits lose little.
# Typed digits at 3 %: benchmarks/not_a_digit.py read typed digits at 95.78 % without them and
# 99.56 % with them (three seeds each), MNIST test accuracy within the seeds' spread.
NONDIGIT_SHARE = 0.1
TYPED_SHARE = 0.03


class TrainingMix:
    """An augmentation ``(images, labels) -> images`` for ``TensorBatches``: see the module doc.

    ``move=False`` leaves the digits where they are (the stand-ins are still moved). The pools are
    made once, on the CPU, and copied once to each device that asks for them.
    """

    def __init__(
        self,
        *,
        mean: float,
        std: float,
        nondigit_share: float = NONDIGIT_SHARE,
        typed_share: float = TYPED_SHARE,
        move: bool = True,
        seed: int = 0,
    ) -> None:
        for name, share in (("nondigit_share", nondigit_share), ("typed_share", typed_share)):
            if not 0.0 <= share < 1.0:
                raise ParameterError(f"{name} must be >= 0 and < 1; got {share!r}")
        if nondigit_share + typed_share >= 1.0:
            raise ParameterError(
                f"nondigit_share + typed_share must be < 1; got {nondigit_share + typed_share!r}"
            )
        self.nondigit_share, self.typed_share, self.move = nondigit_share, typed_share, move
        self.black = (0.0 - mean) / std  # pixel 0 in normalised units: the background
        typed, _ = typed_training_digits(mean=mean, std=std, seed=seed)  # sorted by label
        self._pools = {
            "nondigits": training_nondigits(mean=mean, std=std, seed=seed),
            "typed": typed,
        }
        self._on_device: dict[tuple[str, torch.device], torch.Tensor] = {}

    def pool(self, name: str, device: torch.device) -> torch.Tensor:
        """The ``nondigits`` or ``typed`` pool on ``device`` (copied there once)."""
        key = (name, device)
        if key not in self._on_device:
            self._on_device[key] = self._pools[name].to(device)
        return self._on_device[key]

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` normalised images of digits ``labels``, moved and mixed."""
        mixed = random_affine(images, background=self.black) if self.move else images.clone()
        typed_count = round(self.typed_share * len(images))
        nondigit_count = round(self.nondigit_share * len(images))
        places = torch.randperm(len(images), device=images.device)
        typed_places = places[:typed_count]
        nondigit_places = places[typed_count : typed_count + nondigit_count]
        if typed_count:
            # The pool holds PER_DIGIT images of each digit in label order: pick one of the label.
            picks = labels[typed_places] * PER_DIGIT + torch.randint(
                PER_DIGIT, (typed_count,), device=images.device
            )
            typed = self.pool("typed", images.device)[picks]
            mixed[typed_places] = random_affine(typed, background=self.black)
        if nondigit_count:
            nondigits = self.pool("nondigits", images.device)
            picks = torch.randint(len(nondigits), (nondigit_count,), device=images.device)
            mixed[nondigit_places] = random_affine(nondigits[picks], background=self.black)
        return mixed
