"""What is wrong with a path given as an input file, found with one ``stat`` and no read.

Opening a FIFO blocks until someone writes to it, and ``/dev/zero`` never ends, so inputs are
checked to be regular files before anything opens them.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def regular_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not a readable regular file (a short phrase), or None when it is one."""
    if "\0" in str(path):
        return "is not a usable path: it holds a NUL byte"
    path = Path(path)
    try:
        info = path.stat()  # follows symlinks, like open() would
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symlink loop (a link that leads back to itself), not a file"
        if error.errno == errno.ENOENT and path.is_symlink():
            return f"is a symlink to {os.readlink(path)}, which does not exist"
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return "no such file"
        if error.errno == errno.EACCES:
            return "permission denied (a folder on the way cannot be read)"
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a special file"
        )
        return f"is not a regular file: it is {kind}"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None
