"""The project's own error types: each message says what was wrong and what to do."""

import reprlib
from typing import Any

# How a message shows a value it refuses: a few levels and items, never the whole of a structure
# that an untrusted file made huge.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 2, 4, 4, 4
_SHORT.maxstring = _SHORT.maxother = 60


def short_repr(value: Any, limit: int = 120) -> str:
    """``repr(value)`` cut to a few levels, items and at most ``limit`` characters."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class MnistHelpersError(Exception):
    """Base class for every error this package raises on purpose."""


class ParameterError(MnistHelpersError, ValueError):
    """A notebook or function parameter has a value outside its allowed range."""


class DataFileError(MnistHelpersError):
    """An MNIST data file is missing, truncated or corrupt."""


class CheckpointError(MnistHelpersError):
    """A checkpoint file cannot be read or does not describe a model of this project."""


class ImageInputError(MnistHelpersError, ValueError):
    """An input image cannot be turned into a 28 x 28 digit (not an image, wrong shape, ...)."""


class BlankImageError(ImageInputError):
    """The image holds no ink: there is no digit to classify."""


class MissingExtraError(MnistHelpersError, ImportError):
    """An optional dependency group (a pip "extra" such as ``export``) is not installed."""


class ArtifactWriteError(MnistHelpersError, OSError):
    """A file the project writes (checkpoint, JSON, export) could not be written; old one kept."""


class ExportError(MnistHelpersError, ValueError):
    """An ONNX file was not exported by this project (its metadata is missing)."""


class RunFolderBusyError(ParameterError):
    """Another training run holds the artifacts folder: two runs would mix their files."""


class ResumeError(ParameterError):
    """A checkpoint cannot be resumed with the parameters given (they would change the run)."""


class ArtifactReadError(MnistHelpersError, ValueError):
    """A file a run wrote (metrics, history) is missing fields or damaged; a new run rewrites it."""


class FontError(MnistHelpersError, RuntimeError):
    """No installed font can draw the symbols used for generated non-digit images."""


class TrainingDivergedError(MnistHelpersError, ArithmeticError):
    """The training loss became NaN or infinite: the weights are no longer numbers."""


class NonFiniteOutputError(MnistHelpersError, ArithmeticError):
    """A model gave logits that are not finite numbers."""


class RunFolderLostError(MnistHelpersError, OSError):
    """The run folder was deleted or replaced while a run was writing into it."""
