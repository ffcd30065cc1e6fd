"""Where the project's files live, independent of the directory a notebook runs in."""

from __future__ import annotations

import os
from pathlib import Path

from mnist_helpers.errors import ParameterError

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # mnist_helpers/, above support/
# The repository root when the package is installed in editable mode (the normal case).
REPO_ROOT = PACKAGE_DIR.parent

ARTIFACTS_ENV = "MNIST_ARTIFACTS_DIR"
DATA_ENV = "MNIST_DATA_DIR"


def project_root() -> Path:
    """The repository root if the package sits in a checkout, else the current directory."""
    if (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "notebooks").is_dir():
        return REPO_ROOT
    return Path.cwd()


def resolve_project_path(path: str | os.PathLike[str]) -> Path:
    """Resolve a relative path against the project root, so notebooks work from any folder."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else project_root() / path


def artifacts_dir(requested: str | os.PathLike[str] | None = None) -> Path:
    """The artifacts folder: ``requested`` if given, else ``$MNIST_ARTIFACTS_DIR``, else artifacts.

    An explicit folder always wins over the environment variable; it may not be blank. The
    variable is read as the notebooks read it: blanks around it dropped, a blank value unset.
    """
    if requested is not None:
        if not str(requested).strip():
            raise ParameterError("the artifacts folder is blank; name a folder, e.g. artifacts")
        return resolve_project_path(requested)
    return resolve_project_path(os.environ.get(ARTIFACTS_ENV, "").strip() or "artifacts")


def data_dir() -> Path:
    """The folder holding ``mnist/*.gz``: ``$MNIST_DATA_DIR`` if set, else ``<root>/data``."""
    return resolve_project_path(os.environ.get(DATA_ENV) or "data")


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the project root when inside it, so outputs hold no machine paths."""
    path = Path(path).resolve()
    try:
        return path.relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return path.name if os.environ.get(ARTIFACTS_ENV) else str(path)


def artifact_path(artifacts: Path, path: str | os.PathLike[str]) -> Path:
    """A path given relative to the artifacts folder (absolute paths are kept)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else artifacts / path
