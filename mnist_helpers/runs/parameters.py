"""The notebooks' parameters, validated in one place before any data is loaded.

Each notebook's ``parameters`` cell holds plain literals (papermill overrides them); the
notebook then builds one of these dataclasses with ``from_notebook(globals())``, which refuses
parameter names the notebook does not take, applies the environment overrides it prints, and
checks every value, naming the parameter at fault. The dataclasses' defaults are the one source
of the training defaults; other modules read them from here (``TrainParams.batch_size``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from mnist_helpers.errors import ParameterError, short_repr
from mnist_helpers.runs import notebook_params
from mnist_helpers.runs.layout import BEST_CHECKPOINT
from mnist_helpers.support.paths import ARTIFACTS_ENV, resolve_project_path

SMALL_RUN_ENV = "MNIST_SMALL_RUN"
# The recipes by name (runs/recipes.py defines them). Old names still resume old checkpoints.
RECIPES = ("default", "constant", "strong")
RECIPE_ALIASES = {"baseline": "default", "seed": "constant"}
# The small-run switch's sizes: enough to learn something, fast enough for CI.
SMALL_RUN_TRAIN = 4096
SMALL_RUN_EVAL = 1000
EVAL_BATCH_SIZE = 500
# Under this top probability an answer is "unsure" (predict.py reads the statuses).
DEFAULT_UNSURE_BELOW = 0.6
MNIST_TRAIN_IMAGES = 60_000
# The shuffle seeds each epoch with ``seed * 1_000_003 + epoch``; below 2**32 that stays far
# inside torch's 64-bit seed range (and NumPy's seeds are 32-bit anyway).
SEED_MAX = 2**32 - 1
# Parameters an environment variable may set when the notebook was not given them explicitly.
ENVIRONMENT_OVERRIDES = {"small_run": SMALL_RUN_ENV, "artifacts_dir": ARTIFACTS_ENV}

ParamsT = TypeVar("ParamsT", bound="CommonParams")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    upper = "" if maximum is None else f" and <= {maximum}"
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        raise ParameterError(
            f"{name} must be an integer >= {minimum}{upper}; got {short_repr(value)}"
        )
    return value


def _check_float(name: str, value: Any, *, low: float, high: float, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be a number {allowed}; got {short_repr(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        number = math.inf
    if not (math.isfinite(number) and low < number < high):
        raise ParameterError(f"{name} must be a number {allowed}; got {short_repr(value)}")
    return number


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float if it is a probability from 0 to 1; ParameterError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be a probability from 0 to 1; got {short_repr(value)}")
    if not (0 <= value <= 1):  # NaN fails too; a huge integer compares without overflow
        raise ParameterError(f"{name} must be a probability from 0 to 1; got {short_repr(value)}")
    return float(value)


def canonical_recipe(name: str) -> str:
    """The recipe's current name: an old name (``baseline``, ``seed``) gives its new one."""
    return RECIPE_ALIASES.get(name, name)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False; got {short_repr(value)}")
    return value


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {choices}; got {short_repr(value)}")
    return value


def _check_path(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(f"{name} must be a non-empty path string; got {short_repr(value)}")
    if "\0" in value:
        raise ParameterError(f"{name} holds a NUL byte, which no path may; got {short_repr(value)}")
    return value


def _check_split(val_fraction: float, batch_size: int, small_run: bool) -> None:
    """Refuse a ``val_fraction`` that leaves less than one batch for training or validation."""
    num_val = round(MNIST_TRAIN_IMAGES * val_fraction)  # as data.split_indices cuts
    num_train = MNIST_TRAIN_IMAGES - num_val
    if small_run:
        num_train, num_val = min(num_train, SMALL_RUN_TRAIN), min(num_val, SMALL_RUN_EVAL)
    if min(num_train, num_val) < batch_size:
        raise ParameterError(
            f"val_fraction={val_fraction} leaves {num_train:,} training and {num_val:,} "
            f"validation images; each side needs at least one batch ({batch_size}). "
            f"Choose a val_fraction between {batch_size / MNIST_TRAIN_IMAGES:.4f} and "
            f"{1 - batch_size / MNIST_TRAIN_IMAGES:.4f}."
        )


@dataclass(frozen=True)
class CommonParams:
    """Parameters every notebook shares."""

    NOTEBOOK: ClassVar[str] = ""

    seed: int = 42
    device: str = "auto"
    artifacts_dir: str = "artifacts"
    small_run: bool = False

    def __post_init__(self) -> None:
        _check_int("seed", self.seed, minimum=0, maximum=SEED_MAX)
        # Imported here, not at the top: importing the parameters (the command line's --help
        # does) must not import torch.
        from mnist_helpers.device import get_device

        get_device(self.device)  # raises ParameterError naming the device when it is absent
        _check_path("artifacts_dir", self.artifacts_dir)
        _check_bool("small_run", self.small_run)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict, for logs and checkpoints."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def artifacts(self) -> Path:
        """``artifacts_dir`` as an absolute path (relative paths start at the project root)."""
        return resolve_project_path(self.artifacts_dir)

    @classmethod
    def from_notebook(
        cls: type[ParamsT],
        namespace: Mapping[str, Any],
        *,
        environ: Mapping[str, str] | None = None,
    ) -> ParamsT:
        """The notebook's parameters from its globals: ``Params.from_notebook(globals())``.

        Refuses a name papermill injected that no notebook takes (a typo such as ``epoch``),
        listing the known ones; notes a name that belongs to another notebook. An environment
        override (``MNIST_SMALL_RUN``, ``MNIST_ARTIFACTS_DIR``) applies only to a parameter that
        was not given explicitly, and a line says so; an explicit value always wins.
        """
        given = notebook_params.injected_parameter_names(namespace)
        values = {name: namespace[name] for name in given if name in namespace}
        defaults = {f.name: namespace[f.name] for f in fields(cls) if f.name in namespace}
        params, notes = cls.from_values({**defaults, **values}, given=given, environ=environ)
        for note in notes:
            print(note)
        return params

    @classmethod
    def from_values(
        cls: type[ParamsT],
        values: Mapping[str, Any],
        *,
        given: set[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> tuple[ParamsT, list[str]]:
        """This notebook's parameters from ``values`` (which may hold other notebooks' too).

        ``given`` names the values set explicitly (all of them when None); the environment
        overrides apply to the others. Returns the parameters and the notes a run prints.
        """
        given = set(values) if given is None else given
        own = [f.name for f in fields(cls)]
        others = {
            f.name: other.NOTEBOOK
            for other in reversed(NOTEBOOK_PARAMS)
            if other is not cls
            for f in fields(other)
        }
        notes = notebook_params.check_parameter_names(given, own, others, cls.NOTEBOOK)
        mine = {name: value for name, value in values.items() if name in own}
        overrides, env_notes = notebook_params.environment_overrides(
            ENVIRONMENT_OVERRIDES, given, environ
        )
        return cls(**{**mine, **overrides}), notes + env_notes


@dataclass(frozen=True)
class TrainParams(CommonParams):
    """Parameters of ``02_train``: the default recipe's defaults."""

    NOTEBOOK: ClassVar[str] = "02_train"
    epochs: int = 5
    lr: float = 0.001
    batch_size: int = 64
    val_fraction: float = 0.15
    recipe: str = "default"
    augment: bool = True  # moves: every training digit rotated, scaled, shifted a little
    typed_digits: bool = True  # 3 in 100 training images become a typed digit, label kept
    # 1 in 10 training images become a generated non-digit that keeps the replaced digit's label,
    # an arbitrary one: the name says so because it changes what the labels mean.
    nondigits_with_arbitrary_labels: bool = True
    resume: str = ""
    deterministic: bool = False
    precision: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("epochs", self.epochs, minimum=1, maximum=1000)
        object.__setattr__(
            self, "lr", _check_float("lr", self.lr, low=0.0, high=10.0, allowed="> 0 and < 10")
        )
        _check_int("batch_size", self.batch_size, minimum=1, maximum=MNIST_TRAIN_IMAGES)
        object.__setattr__(
            self,
            "val_fraction",
            _check_float(
                "val_fraction", self.val_fraction, low=0.0, high=1.0, allowed="> 0 and < 1"
            ),
        )
        _check_split(self.val_fraction, self.batch_size, self.small_run)
        if isinstance(self.recipe, str):  # old names still work: baseline, seed
            object.__setattr__(self, "recipe", canonical_recipe(self.recipe))
        _check_choice("recipe", self.recipe, RECIPES)
        _check_bool("augment", self.augment)
        _check_bool("typed_digits", self.typed_digits)
        _check_bool("nondigits_with_arbitrary_labels", self.nondigits_with_arbitrary_labels)
        _check_bool("deterministic", self.deterministic)
        from mnist_helpers.device import PRECISION_CHOICES

        _check_choice("precision", self.precision, PRECISION_CHOICES)
        if not isinstance(self.resume, str):
            raise ParameterError(f"resume must be '' or a checkpoint path; got {self.resume!r}")
        if self.resume:
            _check_path("resume", self.resume)


@dataclass(frozen=True)
class EvaluateParams(CommonParams):
    """Parameters of ``03_evaluate``."""

    NOTEBOOK: ClassVar[str] = "03_evaluate"
    checkpoint: str = BEST_CHECKPOINT.as_posix()
    batch_size: int = EVAL_BATCH_SIZE

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_path("checkpoint", self.checkpoint)
        _check_int("batch_size", self.batch_size, minimum=1, maximum=MNIST_TRAIN_IMAGES)


@dataclass(frozen=True)
class InferenceParams(CommonParams):
    """Parameters of ``04_inference``."""

    NOTEBOOK: ClassVar[str] = "04_inference"
    checkpoint: str = BEST_CHECKPOINT.as_posix()
    image_path: str = ""
    unsure_below: float = DEFAULT_UNSURE_BELOW

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_path("checkpoint", self.checkpoint)
        if not isinstance(self.image_path, str):
            raise ParameterError(f"image_path must be '' or a path string; got {self.image_path!r}")
        object.__setattr__(
            self, "unsure_below", check_probability("unsure_below", self.unsure_below)
        )


@dataclass(frozen=True)
class ExploreParams(CommonParams):
    """Parameters of ``01_data_exploration``."""

    NOTEBOOK: ClassVar[str] = "01_data_exploration"
    val_fraction: float = TrainParams.val_fraction  # the split 02_train uses
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
        _check_split(self.val_fraction, 1, self.small_run)
        _check_int("samples_per_class", self.samples_per_class, minimum=1, maximum=50)


@dataclass(frozen=True)
class InsideParams(CommonParams):
    """Parameters of ``05_inside_the_network``."""

    NOTEBOOK: ClassVar[str] = "05_inside_the_network"
    checkpoint: str = BEST_CHECKPOINT.as_posix()
    unsure_below: float = DEFAULT_UNSURE_BELOW
    lr_steps: int = 300

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_path("checkpoint", self.checkpoint)
        object.__setattr__(
            self, "unsure_below", check_probability("unsure_below", self.unsure_below)
        )
        _check_int("lr_steps", self.lr_steps, minimum=10, maximum=5_000)


# Every notebook's parameters, in pipeline order: the names ``from_notebook`` accepts.
NOTEBOOK_PARAMS: tuple[type[CommonParams], ...] = (
    ExploreParams,
    TrainParams,
    EvaluateParams,
    InferenceParams,
    InsideParams,
)
