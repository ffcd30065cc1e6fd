"""Predictions for single images, shared by the widget, the notebooks and the command line.

Each answer has a status. ``"digit"``: the model is sure enough of one digit. ``"unsure"``: it
hesitates, mostly between two digits. ``"not_a_digit"``: its probability is spread over the digits
with none of them strong, which is how a model trained with generated non-digits answers anything
that is not a digit (see ``images/train_nondigits.py``). ``"blank"``: nothing was drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import torch

from mnist_helpers.checkpoint import load_checkpoint, model_from_checkpoint
from mnist_helpers.errors import BlankImageError, ParameterError
from mnist_helpers.evaluate import require_finite
from mnist_helpers.images.image_files import ImageInput, to_float_array
from mnist_helpers.images.numbers import split_number
from mnist_helpers.images.preprocess import (
    BLANK_MESSAGE,
    PreprocessSteps,
    frame_ink,
    ink_map,
    preprocess_steps,
)
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.parameters import DEFAULT_UNSURE_BELOW, check_probability

# The four answers, written once: the type lists them and the constants are read from it.
PredictionStatus = Literal["digit", "unsure", "not_a_digit", "blank"]
STATUSES: tuple[PredictionStatus, ...] = get_args(PredictionStatus)
DIGIT, UNSURE, NOT_A_DIGIT, BLANK = STATUSES
# Under this top probability, with the two best digits together under TWO_DIGITS_AT_LEAST, the
# answer is "not_a_digit": the model spreads its belief instead of weighing two digits. Chosen on
# validation digits and generated non-digits; benchmarks/not_a_digit.py measures what it flags.
DEFAULT_NOT_A_DIGIT_BELOW = 0.5
TWO_DIGITS_AT_LEAST = 0.9


def read_status(
    probabilities: Sequence[float],
    *,
    unsure_below: float = DEFAULT_UNSURE_BELOW,
    not_a_digit_below: float = DEFAULT_NOT_A_DIGIT_BELOW,
) -> PredictionStatus:
    """``"digit"``, ``"unsure"`` or ``"not_a_digit"`` for ten digit probabilities."""
    first, second = sorted(probabilities, reverse=True)[:2]
    if first < not_a_digit_below and first + second < TWO_DIGITS_AT_LEAST:
        return NOT_A_DIGIT
    if first < unsure_below:
        return UNSURE
    return DIGIT


def status_shares(
    logits: torch.Tensor,
    *,
    unsure_below: float = DEFAULT_UNSURE_BELOW,
    not_a_digit_below: float = DEFAULT_NOT_A_DIGIT_BELOW,
) -> dict[str, float]:
    """Share of each status (``digit``, ``unsure``, ``not_a_digit``) over ``(N, 10)`` logits."""
    if logits.ndim != 2 or len(logits) == 0:
        raise ParameterError(
            f"logits must be a non-empty (N, 10) tensor; got {tuple(logits.shape)}"
        )
    statuses = [
        read_status(p, unsure_below=unsure_below, not_a_digit_below=not_a_digit_below)
        for p in logits.float().softmax(1).tolist()
    ]
    return {
        status: statuses.count(status) / len(statuses) for status in (DIGIT, UNSURE, NOT_A_DIGIT)
    }


@dataclass
class Prediction:
    """The answer for one image.

    ``status`` is one of STATUSES. ``digit`` is the answer for ``"digit"`` and ``"unsure"`` and
    None otherwise; ``guess`` is the most probable digit whatever the status (None when blank).
    """

    status: PredictionStatus
    digit: int | None
    probabilities: list[float] = field(default_factory=list)
    model_input: np.ndarray | None = None  # (28, 28) in [0, 1]: what the model saw
    message: str = ""
    guess: int | None = None

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most likely digits with their probabilities."""
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def as_dict(self, top_k: int = 3) -> dict[str, Any]:
        """Plain JSON-ready fields (no arrays)."""
        return {
            "status": self.status,
            "digit": self.digit,
            "guess": self.guess,
            "probabilities": [round(p, 6) for p in self.probabilities],
            "top": [{"digit": d, "probability": round(p, 6)} for d, p in self.top(top_k)],
            "message": self.message,
        }


def _message(status: PredictionStatus, guess: int, probability: float) -> str:
    if status == NOT_A_DIGIT:
        return f"probably not a digit (best guess {guess}, {probability:.0%})"
    if status == UNSURE:
        return f"unsure: maybe {guess} ({probability:.0%})"
    return f"{guess} ({probability:.0%})"


class Predictor:
    """A trained model plus the normalisation it was trained with; ``predict(image)`` answers."""

    def __init__(
        self,
        model: MnistCNN,
        *,
        mean: float,
        std: float,
        unsure_below: float = DEFAULT_UNSURE_BELOW,
        not_a_digit_below: float = DEFAULT_NOT_A_DIGIT_BELOW,
    ) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.mean, self.std = mean, std
        self.unsure_below = check_probability("unsure_below", unsure_below)
        self.not_a_digit_below = check_probability("not_a_digit_below", not_a_digit_below)

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        *,
        device: torch.device | str = "cpu",
        unsure_below: float = DEFAULT_UNSURE_BELOW,
        not_a_digit_below: float = DEFAULT_NOT_A_DIGIT_BELOW,
    ) -> Predictor:
        """Load a checkpoint written by 02_train (or 04's exported model)."""
        checkpoint = load_checkpoint(path)
        norm = checkpoint["normalization"]
        model = model_from_checkpoint(checkpoint, device)
        return cls(
            model,
            mean=norm["mean"],
            std=norm["std"],
            unsure_below=unsure_below,
            not_a_digit_below=not_a_digit_below,
        )

    @torch.no_grad()
    def probabilities(self, tensor: torch.Tensor) -> torch.Tensor:
        """Softmax of the model's logits for a normalised ``(N, 1, 28, 28)`` batch."""
        logits = self.model(tensor.to(self.device).contiguous(memory_format=torch.channels_last))
        require_finite(logits)
        return logits.float().softmax(1).cpu()

    def status_of(self, probabilities: Sequence[float]) -> PredictionStatus:
        """The status this predictor's thresholds give ``probabilities``."""
        return read_status(
            probabilities,
            unsure_below=self.unsure_below,
            not_a_digit_below=self.not_a_digit_below,
        )

    def predict(self, image: ImageInput) -> Prediction:
        """Preprocess ``image`` like an MNIST digit and classify it; blank images are refused."""
        try:
            steps = preprocess_steps(image, mean=self.mean, std=self.std)
        except BlankImageError as error:
            return Prediction(status=BLANK, digit=None, message=str(error))
        return self._answer(steps)

    def _answer(self, steps: PreprocessSteps) -> Prediction:
        probs = self.probabilities(steps.tensor)[0].tolist()
        guess = int(np.argmax(probs))
        status = self.status_of(probs)
        return Prediction(
            status=status,
            digit=None if status == NOT_A_DIGIT else guess,
            probabilities=probs,
            model_input=steps.centered,
            message=_message(status, guess, probs[guess]),
            guess=guess,
        )

    def read_number(self, image: ImageInput) -> NumberReading:
        """Read every digit of ``image`` left to right (see ``images/numbers.py``), each with its
        own status. A blank image gives a reading with no digits and status ``"blank"``."""
        ink = ink_map(to_float_array(image))
        try:
            digits = split_number(ink, self._confidence)
        except BlankImageError as error:
            return NumberReading([], [], message=str(error))
        answers, boxes = [], []
        for digit in digits:
            try:
                steps = frame_ink(digit.ink, mean=self.mean, std=self.std)
            except BlankImageError:
                continue
            answers.append(self._answer(steps))
            boxes.append(digit.box)
        return NumberReading(answers, boxes, message="" if answers else BLANK_MESSAGE)

    def _confidence(self, inks: Sequence[np.ndarray]) -> list[float]:
        """The top probability for each ink map (0 where it holds no digit), in one batch."""
        tensors, framed = [], []
        for ink in inks:
            try:
                tensors.append(frame_ink(ink, mean=self.mean, std=self.std).tensor)
                framed.append(True)
            except BlankImageError:
                framed.append(False)
        tops = iter(
            self.probabilities(torch.cat(tensors)).max(1).values.tolist() if tensors else []
        )
        return [next(tops) if ok else 0.0 for ok in framed]


@dataclass
class NumberReading:
    """The answer for an image holding a number: one Prediction per digit, left to right.

    ``boxes`` are the digits' ink boxes (top, left, bottom, right) in the image as read (an image
    over 2,047 pixels a side is reduced to about 1,024 first; see ``images/image_files.py``).
    """

    digits: list[Prediction]
    boxes: list[tuple[int, int, int, int]]
    message: str = ""

    @property
    def status(self) -> PredictionStatus:
        """``"blank"`` without digits, ``"digit"`` when every digit is sure, else the least sure
        digit's status (``"not_a_digit"`` before ``"unsure"``)."""
        statuses = {digit.status for digit in self.digits}
        if not statuses:
            return BLANK
        for status in (NOT_A_DIGIT, UNSURE):
            if status in statuses:
                return status
        return DIGIT

    @property
    def text(self) -> str:
        """The number as read, with ``?`` for a digit that is unsure or not a digit."""
        return "".join(str(d.digit) if d.status == DIGIT else "?" for d in self.digits)

    def as_dict(self, top_k: int = 3) -> dict[str, Any]:
        """Plain JSON-ready fields: the number, its status and each digit's answer."""
        return {
            "number": self.text,
            "status": self.status,
            "digits": [
                {**digit.as_dict(top_k), "box": list(box)}
                for digit, box in zip(self.digits, self.boxes, strict=True)
            ],
            "message": self.message,
        }
