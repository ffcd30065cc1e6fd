"""Predictions for single images, shared by the widget, the notebooks and the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mnist_helpers.checkpoint import load_checkpoint, model_from_checkpoint
from mnist_helpers.errors import BlankImageError
from mnist_helpers.image_io import ImageInput
from mnist_helpers.model import MnistCNN
from mnist_helpers.preprocess import preprocess_steps

DEFAULT_UNSURE_BELOW = 0.6


@dataclass
class Prediction:
    """The answer for one image.

    ``status`` is ``"ok"``, ``"unsure"`` (top probability under the threshold) or ``"blank"``
    (nothing drawn: ``digit`` is None and ``probabilities`` is empty).
    """

    status: str
    digit: int | None
    probabilities: list[float] = field(default_factory=list)
    model_input: np.ndarray | None = None  # (28, 28) in [0, 1]: what the model saw
    message: str = ""

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most likely digits with their probabilities."""
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def as_dict(self, top_k: int = 3) -> dict[str, Any]:
        """Plain JSON-ready fields (no arrays)."""
        return {
            "status": self.status,
            "digit": self.digit,
            "probabilities": [round(p, 6) for p in self.probabilities],
            "top": [{"digit": d, "probability": round(p, 6)} for d, p in self.top(top_k)],
            "message": self.message,
        }


class Predictor:
    """A trained model plus the normalisation it was trained with; ``predict(image)`` answers."""

    def __init__(
        self,
        model: MnistCNN,
        *,
        mean: float,
        std: float,
        unsure_below: float = DEFAULT_UNSURE_BELOW,
    ) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.mean, self.std = mean, std
        self.unsure_below = unsure_below

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        *,
        device: torch.device | str = "cpu",
        unsure_below: float = DEFAULT_UNSURE_BELOW,
    ) -> Predictor:
        """Load a checkpoint written by 02_train (or 04's exported model)."""
        checkpoint = load_checkpoint(path)
        norm = checkpoint["normalization"]
        model = model_from_checkpoint(checkpoint, device)
        return cls(model, mean=norm["mean"], std=norm["std"], unsure_below=unsure_below)

    @torch.no_grad()
    def probabilities(self, tensor: torch.Tensor) -> torch.Tensor:
        """Softmax of the model's logits for a normalised ``(N, 1, 28, 28)`` batch."""
        logits = self.model(tensor.to(self.device).contiguous(memory_format=torch.channels_last))
        return logits.float().softmax(1).cpu()

    def predict(self, image: ImageInput) -> Prediction:
        """Preprocess ``image`` like an MNIST digit and classify it; blank images are refused."""
        try:
            steps = preprocess_steps(image, mean=self.mean, std=self.std)
        except BlankImageError as error:
            return Prediction(status="blank", digit=None, message=str(error))
        probs = self.probabilities(steps.tensor)[0].tolist()
        digit = int(np.argmax(probs))
        unsure = probs[digit] < self.unsure_below
        message = (
            f"unsure: maybe {digit} ({probs[digit]:.0%})"
            if unsure
            else f"{digit} ({probs[digit]:.0%})"
        )
        return Prediction(
            status="unsure" if unsure else "ok",
            digit=digit,
            probabilities=probs,
            model_input=steps.centered,
            message=message,
        )
