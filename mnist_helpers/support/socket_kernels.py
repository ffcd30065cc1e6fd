"""Jupyter kernels that listen on socket files instead of TCP ports.

A Jupyter client picks five free TCP ports and tells the kernel, which binds them a second or so
later. Any process that opens a port in between (another kernel, a browser, a server) can take
one first, and the kernel dies before its first cell (papermill issue #511, jupyter_client issue
#154). A socket file named for this kernel alone cannot be taken: the one guard against that race
for every kernel this project starts headless (the papermill runs of ``runs/notebook_runner``, and
the test suite's nbval and JupyterLab kernels).

Importing this module imports jupyter_client (the ``notebooks`` extra); only notebook runs do.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import zmq
from jupyter_client.manager import KernelManager
from traitlets import default

# The class as papermill and nbclient take it (``kernel_manager_class``), by its import path.
KERNEL_MANAGER_CLASS = f"{__name__}.SocketFileKernelManager"


def socket_files_work() -> bool:
    """Whether this machine's ZeroMQ can use socket files (not on older Windows builds)."""
    return bool(zmq.has("ipc"))


class SocketFileKernelManager(KernelManager):
    """A kernel manager whose kernels listen on socket files in the temporary folder."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc" if socket_files_work() else "tcp"

    @default("ip")
    def _default_ip(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        # An absolute path: the kernel runs in the notebook's folder, the client elsewhere, and a
        # relative name would mean two files. Short, as a socket path is limited to ~100 bytes.
        return str(Path(tempfile.gettempdir()) / f"kernel-{uuid.uuid4().hex[:16]}")
