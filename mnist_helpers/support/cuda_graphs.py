"""The training step as one CUDA graph: a small network's step is launch-bound on a GPU.

Each step of the small CNN launches about a hundred tiny kernels (forward, backward, Adam), and
on a fast GPU the CPU's launching, not the arithmetic, sets the pace. A CUDA graph records the
whole step once and replays it with one launch. The numbers are those of the eager step: the
same kernels in the same order, fed the same batches (cuBLAS may pick other algorithms while
recording, so results agree to rounding, not bit for bit). The learning rate is read from
device memory, so a schedule still applies.

The first ``WARM_UP_STEPS`` steps of the first epoch run eagerly (libraries initialise their
workspaces, the optimizer creates its state), the next step is recorded and replayed, and every
later full-size batch replays the graph. A last, smaller batch runs eagerly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from mnist_helpers.errors import ParameterError
from mnist_helpers.support.progress import progress_bar

# The forward-and-backward of one batch, ``train.training_step``: passed in, so the step is
# written once and this module needs nothing from train.py.
StepFunction = Callable[..., tuple[torch.Tensor, torch.Tensor]]

STEP_MODES = ("auto", "eager", "cuda_graph")
WARM_UP_STEPS = 3
# Where a graph is kept between epochs: on the optimizer, whose state the graph holds.
_GRAPH_ATTRIBUTE = "_mnist_helpers_cuda_graph"


def resolve_step_mode(step_mode: str, device: torch.device) -> str:
    """``eager`` or ``cuda_graph``: ``auto`` records the step as a CUDA graph on CUDA devices."""
    if step_mode not in STEP_MODES:
        raise ParameterError(f"step_mode must be one of {STEP_MODES}; got {step_mode!r}")
    if step_mode == "auto":
        return "cuda_graph" if device.type == "cuda" else "eager"
    if step_mode == "cuda_graph" and device.type != "cuda":
        raise ParameterError(
            f"step_mode='cuda_graph' needs a CUDA device; the model is on {device}. "
            "Use step_mode='auto' or 'eager'."
        )
    return step_mode


def scheduler_cycles_beta1(scheduler: Any) -> bool:
    """Whether ``scheduler`` changes Adam's beta1 as it goes (OneCycleLR's cycle_momentum)."""
    return bool(getattr(scheduler, "cycle_momentum", False) and getattr(scheduler, "use_beta1", 0))


def optimizer_fits_in_graph(optimizer: torch.optim.Optimizer, scheduler: Any) -> bool:
    """Whether the optimizer step can be recorded too: fused Adam with a fixed beta1.

    Fused Adam reads the learning rate from device memory when given a tensor, so a schedule
    still applies; beta1 it reads as a number fixed at recording, so a cycling beta1 (the strong
    recipe's one-cycle schedule) keeps the optimizer step out of the graph.
    """
    return (
        isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW)
        and all(group.get("fused") for group in optimizer.param_groups)
        and not scheduler_cycles_beta1(scheduler)
    )


class GraphedStep:
    """One recorded training step for batches of one shape, with running loss and hit sums.

    The graph holds forward, loss, backward and the running sums, and the optimizer step too when
    ``optimizer_fits_in_graph``; otherwise the optimizer steps eagerly after each replay.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        autocast_dtype: torch.dtype | None,
        images: torch.Tensor,
        labels: torch.Tensor,
        step: StepFunction,
    ) -> None:
        self.model, self.optimizer, self.autocast_dtype = model, optimizer, autocast_dtype
        self.step = step
        device = images.device
        self.static_images, self.static_labels = images.clone(), labels.clone()
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.long, device=device)
        self.step_in_graph = optimizer_fits_in_graph(optimizer, scheduler)
        # The learning rate of each group as a device scalar, written before each replay.
        self.lrs = [torch.full((), float(g["lr"]), device=device) for g in optimizer.param_groups]
        self._shown = [float("nan")] * len(self.lrs)
        self.graph = torch.cuda.CUDAGraph()
        self._capture()
        self.fingerprint = self.current_fingerprint()

    def _body(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Forward, loss, backward, the optimizer step if recorded, running sums: no host sync."""
        # No autocast weight cache: a graph must not keep casts made during its recording.
        logits, loss = self.step(
            self.model, images, labels, self.autocast_dtype, autocast_cache=False
        )
        if self.step_in_graph:
            self.optimizer.step()
        self.loss_sum += loss.detach() * len(labels)
        self.correct += (logits.detach().argmax(1) == labels).sum()

    def _capture(self) -> None:
        """Record ``_body`` on the static batch (the learning rate read from device memory)."""
        saved = [dict(group) for group in self.optimizer.param_groups]
        if self.step_in_graph:
            for group, lr in zip(self.optimizer.param_groups, self.lrs, strict=True):
                group["lr"], group["capturable"] = lr, True
        self.optimizer.zero_grad(set_to_none=True)  # gradients then live in the graph's memory
        try:
            with torch.cuda.graph(self.graph):
                self._body(self.static_images, self.static_labels)
        finally:
            # Outside the graph the optimizer keeps its plain settings (checkpoints record them).
            for group, before in zip(self.optimizer.param_groups, saved, strict=True):
                group.update(before)

    def current_fingerprint(self) -> tuple[int, ...]:
        """Addresses of every tensor the graph reads or writes: a change means record again."""
        pointers = []
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                pointers.append(param.data_ptr())
                pointers.append(-1 if param.grad is None else param.grad.data_ptr())
                for value in self.optimizer.state.get(param, {}).values():
                    if isinstance(value, torch.Tensor):
                        pointers.append(value.data_ptr())
        return tuple(pointers)

    def replay(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """One training step on this batch (the shape recorded) by replaying the graph."""
        self.static_images.copy_(images)
        self.static_labels.copy_(labels)
        if self.step_in_graph:
            for index, group in enumerate(self.optimizer.param_groups):
                lr = float(group["lr"])
                if lr != self._shown[index]:  # a constant rate costs no launch at all
                    self.lrs[index].fill_(lr)
                    self._shown[index] = lr
        self.graph.replay()  # the graph overwrites the gradients: no zeroing needed
        if not self.step_in_graph:
            self.optimizer.step()

    def eager(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """One training step run normally, summed into the same running totals."""
        # Zeroed in place: the gradients must stay the tensors the graph writes.
        self.optimizer.zero_grad(set_to_none=False)
        self._body(images, labels)
        if not self.step_in_graph:
            self.optimizer.step()


def recorded_step(optimizer: torch.optim.Optimizer) -> GraphedStep | None:
    """The CUDA graph kept on ``optimizer`` by ``train_one_epoch_graphed``, if one was recorded."""
    return getattr(optimizer, _GRAPH_ATTRIBUTE, None)


def train_one_epoch_graphed(
    model: nn.Module,
    train_loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    *,
    step: StepFunction,
    scheduler: Any = None,
    autocast_dtype: torch.dtype | None = None,
    description: str = "train",
    show_progress: bool = True,
) -> dict[str, float]:
    """``train.train_one_epoch`` with ``step`` replayed as a CUDA graph; mean ``loss`` and ``acc``.

    The graph is kept on the optimizer and reused by later epochs while the model, its
    gradients and the optimizer's state stay the same tensors; otherwise it is recorded again.
    Sums stay on the device: an ``.item()`` per step would make the GPU wait.
    """
    model.train()
    batches = progress_bar(train_loader, description, enabled=show_progress)
    graphed = recorded_step(optimizer)
    if graphed is not None and graphed.current_fingerprint() != graphed.fingerprint:
        graphed = None
    device = next(model.parameters()).device
    # Totals of steps run before a graph exists (the warm-up steps of the first epoch).
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    if graphed is not None:
        graphed.loss_sum.zero_()
        graphed.correct.zero_()
    seen = eager_steps = 0
    first_shape = None
    side_stream = torch.cuda.Stream(device)
    for images, labels in batches:
        if first_shape is None:
            first_shape = images.shape
            if graphed is not None and first_shape != graphed.static_images.shape:
                graphed = None  # another batch size than recorded: record this one
        if graphed is not None and images.shape == graphed.static_images.shape:
            graphed.replay(images, labels)
        elif graphed is not None:
            graphed.eager(images, labels)  # a smaller last batch
        elif eager_steps < WARM_UP_STEPS or images.shape != first_shape:
            # Off the default stream, as CUDA asks of work that precedes a recording.
            side_stream.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side_stream):
                optimizer.zero_grad(set_to_none=True)
                logits, loss = step(model, images, labels, autocast_dtype)
                optimizer.step()
                loss_sum += loss.detach() * len(labels)
                correct += (logits.detach().argmax(1) == labels).sum()
            torch.cuda.current_stream(device).wait_stream(side_stream)
            eager_steps += 1
        else:
            graphed = GraphedStep(model, optimizer, scheduler, autocast_dtype, images, labels, step)
            setattr(optimizer, _GRAPH_ATTRIBUTE, graphed)
            graphed.replay(images, labels)  # recording ran nothing: this is the step itself
        if scheduler is not None:
            scheduler.step()
        seen += len(labels)
    if graphed is not None:
        loss_sum += graphed.loss_sum
        correct += graphed.correct
    if seen == 0:
        raise ParameterError(
            "train_loader gave no batches; pass a loader holding at least one image"
        )
    return {"loss": loss_sum.item() / seen, "acc": correct.item() / seen}
