"""nbval's kernels over local socket files instead of TCP ports.

A Jupyter client picks five free TCP ports and tells the kernel, which binds them a second or so
later; under pytest-xdist other kernels, JupyterLab and Chromium open ports all the while, and one
of them can take a port in between (papermill issue #511, jupyter_client issue #154). The kernel
then dies and every cell of its notebook fails. Over IPC there are no ports to lose. The papermill
runs, which start in a process of their own, retry such a start instead
(``mnist_helpers.runs.notebook_runner.kernel_lost_its_port``).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from jupyter_client.manager import KernelManager
from traitlets import default


class IpcKernelManager(KernelManager):
    """A kernel manager whose kernels listen on socket files in the temporary folder."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # The default name is relative, and the kernel runs in the notebook's folder while the
        # client runs in pytest's: an absolute path means the same file to both.
        return str(Path(tempfile.gettempdir()) / f"nbval-kernel-{uuid.uuid4().hex}-ipc")


def use_ipc_for_nbval() -> None:
    """Make nbval start its kernels with ``IpcKernelManager``."""
    import nbval.kernel

    nbval.kernel.KernelManager = IpcKernelManager  # type: ignore[misc]
