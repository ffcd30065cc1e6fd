"""The test harness itself: each xdist worker's share of the cores, and why a kernel start
cannot lose its port (tests/ipc_kernels.py, notebook_runner.kernel_lost_its_port)."""

from __future__ import annotations

import os

import pytest

from tests.ipc_kernels import IpcKernelManager


def test_each_worker_takes_its_share_of_the_cores(monkeypatch):
    import torch

    import conftest

    before = torch.get_num_threads()
    monkeypatch.setattr(conftest.os, "sched_getaffinity", lambda pid: set(range(8)), False)
    monkeypatch.setenv("OMP_NUM_THREADS", "99")  # monkeypatch puts the variables back afterwards
    monkeypatch.setenv("MKL_NUM_THREADS", "99")
    try:
        conftest.share_the_cores(workers=4)
        assert torch.get_num_threads() == 2
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "2"
        conftest.share_the_cores(workers=16)  # more workers than cores: still one thread each
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_nbval_kernels_listen_on_socket_files_with_absolute_paths():
    manager = IpcKernelManager()
    assert manager.transport == "ipc"
    # The kernel starts in the notebook's folder, the client in pytest's: a relative path would
    # name two different files.
    assert manager.ip.startswith("/")
    assert IpcKernelManager().ip != manager.ip


@pytest.mark.parametrize("with_port_error", [True, False])
def test_a_kernel_that_lost_its_port_is_told_apart_from_other_failures(with_port_error):
    from mnist_helpers.runs.notebook_runner import kernel_lost_its_port

    # The ends of papermill's log from a run that hit the race in this suite.
    log = (
        "Input Notebook:  notebooks/02_train.ipynb\n"
        + (
            "zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:46145')\n"
            if with_port_error
            else "ModuleNotFoundError: No module named 'torch'\n"
        )
        + "RuntimeError: Kernel died before replying to kernel_info\n"
    )
    assert kernel_lost_its_port(1, log) is with_port_error
    assert kernel_lost_its_port(0, log) is False
