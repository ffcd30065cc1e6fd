"""The project's own error types: each message says what was wrong and what to do."""


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
