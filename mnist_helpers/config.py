"""The notebooks' parameters, validated in one place before any data is loaded.

Each notebook's ``parameters`` cell holds plain literals (papermill overrides them); the
notebook then builds one of these dataclasses, which checks every value and names the parameter
at fault.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from typing import Any

from mnist_helpers.device import DEVICE_CHOICES, PRECISION_CHOICES, get_device
from mnist_helpers.errors import ParameterError

SMALL_RUN_ENV = "MNIST_SMALL_RUN"
RECIPES = ("baseline", "strong")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    upper = "" if maximum is None else f" and <= {maximum}"
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        raise ParameterError(f"{name} must be an integer >= {minimum}{upper}; got {value!r}")
    return value


def _check_float(name: str, value: Any, *, low: float, high: float, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be a number {allowed}; got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and low < value < high):
        raise ParameterError(f"{name} must be a number {allowed}; got {value!r}")
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False; got {value!r}")
    return value


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {choices}; got {value!r}")
    return value


def _check_path(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(f"{name} must be a non-empty path string; got {value!r}")
    return value


def _env_small_run() -> bool:
    return os.environ.get(SMALL_RUN_ENV, "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class CommonParams:
    """Parameters every notebook shares."""

    seed: int = 42
    device: str = "auto"
    artifacts_dir: str = "artifacts"
    small_run: bool = False

    def __post_init__(self) -> None:
        _check_int("seed", self.seed, minimum=0, maximum=2**63 - 1)
        if not isinstance(self.device, str):
            raise ParameterError(f"device must be one of {DEVICE_CHOICES}; got {self.device!r}")
        get_device(self.device)  # raises ParameterError naming the device when it is absent
        _check_path("artifacts_dir", self.artifacts_dir)
        # The environment switch lets CI run the committed notebooks (nbval) quickly.
        object.__setattr__(
            self, "small_run", _check_bool("small_run", self.small_run) or _env_small_run()
        )

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict, for logs and checkpoints."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class TrainParams(CommonParams):
    """Parameters of ``02_train``: the seed recipe's defaults."""

    epochs: int = 5
    lr: float = 0.001
    batch_size: int = 64
    val_fraction: float = 0.15
    recipe: str = "baseline"
    augment: bool = True
    resume: str = ""
    deterministic: bool = False
    precision: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("epochs", self.epochs, minimum=1, maximum=1000)
        object.__setattr__(
            self, "lr", _check_float("lr", self.lr, low=0.0, high=10.0, allowed="> 0 and < 10")
        )
        _check_int("batch_size", self.batch_size, minimum=1, maximum=60_000)
        object.__setattr__(
            self,
            "val_fraction",
            _check_float(
                "val_fraction", self.val_fraction, low=0.0, high=1.0, allowed="> 0 and < 1"
            ),
        )
        _check_choice("recipe", self.recipe, RECIPES)
        _check_bool("augment", self.augment)
        _check_bool("deterministic", self.deterministic)
        _check_choice("precision", self.precision, PRECISION_CHOICES)
        if not isinstance(self.resume, str):
            raise ParameterError(f"resume must be '' or a checkpoint path; got {self.resume!r}")


@dataclass(frozen=True)
class EvaluateParams(CommonParams):
    """Parameters of ``03_evaluate``."""

    checkpoint: str = "checkpoints/best.pt"
    batch_size: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_path("checkpoint", self.checkpoint)
        _check_int("batch_size", self.batch_size, minimum=1, maximum=60_000)


@dataclass(frozen=True)
class InferenceParams(CommonParams):
    """Parameters of ``04_inference``."""

    checkpoint: str = "checkpoints/best.pt"
    image_path: str = ""
    unsure_below: float = 0.6

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_path("checkpoint", self.checkpoint)
        if not isinstance(self.image_path, str):
            raise ParameterError(f"image_path must be '' or a path string; got {self.image_path!r}")
        object.__setattr__(
            self,
            "unsure_below",
            _check_float(
                "unsure_below", self.unsure_below, low=0.0, high=1.0, allowed="> 0 and < 1"
            ),
        )


@dataclass(frozen=True)
class ExploreParams(CommonParams):
    """Parameters of ``01_data_exploration``."""

    val_fraction: float = 0.15
    samples_per_class: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(
            self,
            "val_fraction",
            _check_float(
                "val_fraction", self.val_fraction, low=0.0, high=1.0, allowed="> 0 and < 1"
            ),
        )
        _check_int("samples_per_class", self.samples_per_class, minimum=1, maximum=50)
