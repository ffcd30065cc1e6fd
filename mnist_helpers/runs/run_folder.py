"""A run folder with one owner: a lock, leftovers cleaned, and files that describe one run.

``open_run_folder`` is called by 02_train before any data is loaded. It makes sure the artifacts
folder can be written, takes an exclusive lock on ``<folder>/.run.lock`` for as long as the
training process lives (so a second run into the same folder is refused at once instead of
mixing its checkpoints with the first), and removes temporary files that killed writers left.
When a run resumes, ``resume.repair_run_files`` makes ``best.pt`` and ``history.json`` agree
with the checkpoint being resumed before the first new epoch starts. Importing this module does
not import torch.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import socket
from pathlib import Path

from mnist_helpers.errors import (
    ParameterError,
    RunFolderBusyError,
    RunFolderLostError,
)
from mnist_helpers.runs.layout import WRITTEN_DIRS, RunFiles
from mnist_helpers.support.atomic_files import (
    process_is_gone,
    remove_stale_temps,
    write_bytes,
    write_json,
)
from mnist_helpers.support.paths import resolve_project_path

try:  # POSIX; Windows has no flock, and there the folder is not locked (see open_run_folder)
    import fcntl
except ImportError:  # pragma: no cover - not reached on Linux or macOS
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".run.lock"
OWNER_NAME = ".run.owner.json"
WRITE_PROBE = ".write-probe"

# Folders this process has locked: a notebook cell run twice in one kernel must not lock itself
# out (flock locks belong to an open file, so a second open in the same process would conflict).
_HELD: dict[Path, RunFolder] = {}


def prepare_artifacts_dir(folder: str | os.PathLike[str], parameter: str = "artifacts_dir") -> Path:
    """Create ``folder`` and prove it can be written (a real atomic write), before any work.

    Raises ParameterError naming ``parameter`` when it cannot: a path under ``/proc``, a
    read-only folder, a file in the way, a full disk. Temporary files that killed writers left
    in the run's folders are removed (those of live writers are kept).
    """
    return _prepare(folder, parameter)[0]


def _prepare(folder: str | os.PathLike[str], parameter: str) -> tuple[Path, list[Path]]:
    """``prepare_artifacts_dir``, also returning the leftovers it removed."""
    path = resolve_project_path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A name of this process's own: two processes preparing one folder never share a probe.
        probe = path / f"{WRITE_PROBE}.{os.getpid()}-{secrets.token_hex(4)}"
        write_bytes(b"ok\n", probe)  # temp file, fsync, rename: as every save
        probe.unlink()
    except OSError as error:  # ArtifactWriteError is an OSError too
        reason = error.strerror or str(error)
        raise ParameterError(
            f"{parameter}={str(folder)!r} cannot be written ({reason}: {path}). Choose a folder "
            f"you can write to, e.g. -p {parameter} ~/mnist-artifacts"
        ) from None
    removed = []
    for sub in WRITTEN_DIRS:
        if (path / sub).exists() and not (path / sub).is_dir():
            raise ParameterError(
                f"{parameter}={str(folder)!r} holds a file named {sub.as_posix()} where the run "
                f"keeps a folder of that name; move or delete {path / sub}, or choose another "
                f"folder with -p {parameter} PATH"
            )
        removed += remove_stale_temps(path / sub)  # only those whose writer is gone
    for probe in path.glob(f"{WRITE_PROBE}.*"):  # a probe whose process was killed mid-check
        if _writer_gone(probe.name):
            probe.unlink(missing_ok=True)
            removed.append(probe)
    return path, removed


class RunFolder(RunFiles):
    """An artifacts folder locked by this process for one training run."""

    def __init__(self, folder: Path, handle: int | None) -> None:
        self.folder = folder
        self._handle = handle
        self.removed_temps: list[Path] = []

    @property
    def locked(self) -> bool:
        """Whether this process still holds the folder's lock."""
        return self._handle is not None and _HELD.get(self.folder) is self

    def check_still_ours(self) -> None:
        """Raise RunFolderLostError if the folder was deleted or replaced since it was locked.

        A new folder at the same path has a new lock file that another run could take; this run
        must then stop writing there.
        """
        if self._handle is None:
            return
        try:
            same = os.fstat(self._handle).st_ino == os.stat(self.folder / LOCK_NAME).st_ino
        except OSError:
            same = False
        if not same:
            raise RunFolderLostError(
                f"{self.folder} was deleted or replaced while this run trained in it; the run "
                "stops so that it cannot mix its files with another run's. Start it again "
                "(into a folder nobody deletes)."
            )

    def release(self) -> None:
        """Give the folder up (also happens when the process ends, however it ends)."""
        if _HELD.get(self.folder) is self:
            del _HELD[self.folder]
        if self._handle is not None:
            os.close(self._handle)  # closing the file drops its flock
            self._handle = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _owner_text(folder: Path) -> str:
    try:
        owner = json.loads((folder / OWNER_NAME).read_text())
        return f" (process {owner['pid']} on {owner['host']}, started {owner['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def open_run_folder(folder: str | os.PathLike[str]) -> RunFolder:
    """Lock ``folder`` for this training run and clean what killed runs left behind.

    Raises RunFolderBusyError at once when another process holds it. The lock lasts until
    ``release()`` or the end of this process (a killed kernel frees it too). On file systems
    without ``flock`` (and on Windows) the folder is used unlocked, and a note says so.
    """
    path, removed = _prepare(folder, "artifacts_dir")
    path = path.resolve()  # one key however the folder is spelled
    held = _HELD.get(path)
    if held is not None:  # this process already owns it (a notebook cell run again)
        return held
    handle = None
    if fcntl is not None:
        # The lock file is never replaced (an atomic rename would give it a new inode and a
        # second lock), so it is opened in place rather than written through atomic_write.
        handle = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise RunFolderBusyError(
                f"artifacts_dir {path} is in use by another training run{_owner_text(path)}; "
                "two runs in one folder would mix their checkpoints. Wait for it to finish, or "
                "give this run its own folder: -p artifacts_dir PATH"
            ) from None
        except OSError:  # e.g. a network file system without locks
            os.close(handle)
            handle = None
            print(f"note: {path} cannot be locked here; do not start two runs in it at once")
    run = RunFolder(path, handle)
    _HELD[path] = run
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    with contextlib.suppress(OSError):  # the owner note only improves the busy message
        write_json(owner, path / OWNER_NAME)
    run.removed_temps = removed
    return run


def _writer_gone(probe_name: str) -> bool:
    """Whether the process named in a write probe's name has ended."""
    pid = probe_name.removeprefix(f"{WRITE_PROBE}.").partition("-")[0]
    return pid.isdigit() and process_is_gone(int(pid))
