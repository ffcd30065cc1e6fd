"""The test harness itself: each xdist worker's share of the cores, and nbval's kernels on socket
files like every other kernel the suite starts (tests/slow/test_socket_kernels.py starts one)."""

from __future__ import annotations

import os

from mnist_helpers.support.socket_kernels import SocketFileKernelManager


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


def test_nbval_starts_its_kernels_on_socket_files():
    import nbval.kernel

    assert nbval.kernel.KernelManager is SocketFileKernelManager  # set by conftest.py
