"""A kernel started as the project's runs start theirs listens on socket files, and answers."""

from __future__ import annotations

from pathlib import Path

from mnist_helpers.support.socket_kernels import SocketFileKernelManager


def test_a_kernel_in_another_folder_answers_over_socket_files(tmp_path: Path) -> None:
    manager = SocketFileKernelManager()
    assert manager.transport == "ipc"
    # The kernel runs in another folder than this client: the socket paths must be absolute.
    manager.start_kernel(cwd=str(tmp_path))
    try:
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("import os; print(os.getcwd())", timeout=60)
        assert reply["content"]["status"] == "ok"
        info = manager.get_connection_info()
        assert info["transport"] == "ipc" and Path(info["ip"]).is_absolute()
        assert Path(f"{info['ip']}-{info['shell_port']}").exists()  # the shell channel's socket
        assert not list(tmp_path.glob("kernel-*"))  # nothing relative landed in the kernel's folder
        client.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)
    assert not Path(f"{info['ip']}-{info['shell_port']}").exists()  # cleaned up after
