"""The one way this project writes a file: all of it or none of it.

A reader (another notebook, a resumed run, ``predict`` on the command line) must never see half a
checkpoint, so every file is written under a temporary name in the same folder, flushed to disk
and renamed over the target. ``os.replace`` is atomic on POSIX and Windows when both names are in
one folder, which is why the temporary file never lives anywhere else.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mnist_helpers.errors import ArtifactWriteError, ParameterError

TEMP_SUFFIX = ".tmp"


def temp_path_for(path: Path) -> Path:
    """The temporary name ``atomic_write`` uses for ``path``: hidden, same folder, unique."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _fsync_folder(folder: Path) -> None:
    # The rename itself lives in the folder's entry table; without this a power cut can undo it.
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _write_error(path: Path, error: OSError) -> ArtifactWriteError:
    if error.errno == errno.ENOSPC:
        reason = (
            "the disk is full; free some space and run again (a file is replaced only once its "
            "new copy is complete, so there must be room for both for a moment)"
        )
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "permission denied; choose a folder you can write to (-p artifacts_dir ...)"
    else:
        reason = f"{error.strerror or error}"
    return ArtifactWriteError(
        f"Could not write {path}: {reason}. The previous file, if any, is kept."
    )


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it onto ``path``.

    On any failure (an exception, Ctrl-C, a full disk) the temporary file is removed and ``path``
    keeps its previous content. ``OSError`` from the file system becomes ``ArtifactWriteError``.
    """
    if mode not in ("wb", "w"):
        raise ParameterError(f"atomic_write supports modes 'wb' and 'w'; got {mode!r}")
    path = Path(path)
    temporary = temp_path_for(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        # The folder itself may be the problem (not a folder, gone): clean-up must not mask it.
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise _write_error(path, error) from error
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_bytes(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as file:
        file.write(data)
    return Path(path)


def write_json(data: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    # Serialise first: a value JSON cannot hold then never leaves a temporary file behind.
    # NaN and infinity are not JSON: refused rather than written as tokens no parser reads.
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    with atomic_write(path, "w") as file:
        file.write(text)
    return Path(path)


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files that killed writers left in ``folder``; return what was removed.

    A temporary file's name carries its writer's process id; only files whose writer no longer
    runs are removed, so a live writer in another process is never disturbed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for candidate in folder.glob(f".*{TEMP_SUFFIX}"):
        if _writer_is_gone(candidate.name) and candidate.is_file():
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _writer_is_gone(name: str) -> bool:
    """Whether the process that named temporary file ``name`` (``temp_path_for``) has ended."""
    match = re.search(r"\.(\d+)-[0-9a-f]+" + re.escape(TEMP_SUFFIX) + "$", name)
    if match is None:
        return True  # not a name this project gives: a leftover of some other writer
    return process_is_gone(int(match.group(1)))


def process_is_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs on this machine (this process is never gone)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False  # it exists (another user's), or the number is no process id
    return False
