"""Choosing the training step's mode; the CUDA graph itself is tested in test_cuda.py."""

from __future__ import annotations

import pytest
import torch

from mnist_helpers.errors import ParameterError
from mnist_helpers.support.cuda_graphs import (
    STEP_MODES,
    optimizer_fits_in_graph,
    resolve_step_mode,
    scheduler_cycles_beta1,
)
from mnist_helpers.train import fit

CPU = torch.device("cpu")


def test_auto_runs_eagerly_off_cuda_and_graphs_on_cuda() -> None:
    assert resolve_step_mode("auto", CPU) == "eager"
    assert resolve_step_mode("auto", torch.device("cuda")) == "cuda_graph"
    assert resolve_step_mode("eager", torch.device("cuda")) == "eager"


def test_a_cuda_graph_off_cuda_or_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ParameterError, match="needs a CUDA device"):
        resolve_step_mode("cuda_graph", CPU)
    with pytest.raises(ParameterError, match=str(STEP_MODES[0])):
        resolve_step_mode("compiled", CPU)


def test_fit_checks_the_mode_before_training() -> None:
    model = torch.nn.Linear(4, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    batches = [(torch.randn(8, 4), torch.randint(0, 10, (8,)))]
    with pytest.raises(ParameterError, match="step_mode"):
        fit(model, optimizer, batches, batches, epochs=1, show_progress=False, step_mode="fast")
    assert torch.equal(model.weight, before)


def test_only_a_one_cycle_schedule_with_momentum_cycles_beta1() -> None:
    def adam() -> torch.optim.Adam:
        return torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)

    one_cycle = torch.optim.lr_scheduler.OneCycleLR(adam(), max_lr=5e-3, total_steps=10)
    flat = torch.optim.lr_scheduler.OneCycleLR(
        adam(), max_lr=5e-3, total_steps=10, cycle_momentum=False
    )
    lambda_lr = torch.optim.lr_scheduler.LambdaLR(adam(), lambda step: 1.0)
    assert scheduler_cycles_beta1(one_cycle) and not scheduler_cycles_beta1(flat)
    assert not scheduler_cycles_beta1(lambda_lr) and not scheduler_cycles_beta1(None)


def test_only_fused_adam_with_a_fixed_beta1_is_recorded_with_the_step() -> None:
    def params() -> list[torch.Tensor]:
        return [torch.zeros(3, requires_grad=True)]

    fused = torch.optim.Adam(params(), lr=1e-3, fused=True)
    lambda_lr = torch.optim.lr_scheduler.LambdaLR(fused, lambda step: 0.5)
    assert optimizer_fits_in_graph(fused, None) and optimizer_fits_in_graph(fused, lambda_lr)
    cycling = torch.optim.Adam(params(), lr=1e-3, fused=True)
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(cycling, max_lr=5e-3, total_steps=10)
    assert not optimizer_fits_in_graph(cycling, one_cycle)
    assert not optimizer_fits_in_graph(torch.optim.Adam(params(), lr=1e-3, fused=False), None)
    assert not optimizer_fits_in_graph(torch.optim.SGD(params(), lr=0.1), None)
