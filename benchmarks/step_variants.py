"""Which of the training path's speed choices pay on this device: one change at a time.

    .venv/bin/python -m benchmarks.step_variants               # this machine's default device
    .venv/bin/python -m benchmarks.step_variants --device cuda --steps 400
    .venv/bin/python -m benchmarks.step_variants --compile     # also torch.compile (slow)

Each variant is the project's baseline training step (``train_one_epoch`` on the default model,
in the precision ``precision="auto"`` picks) with exactly one choice undone or changed: ReLU before
the pool (the textbook order), contiguous NCHW instead of channels_last, multi-tensor instead of
fused Adam, the other precision (bf16 autocast or fp32); on CUDA cuDNN's autotuner and the eager
step instead of the CUDA graph; on a multi-core CPU one thread; with ``--compile``
``torch.compile``. The
variants take turns for ``--rounds`` rounds of ``--steps`` steps on real MNIST batches; the table
gives the median, as seconds per epoch of 51,000 images (797 steps of 64), and the ratio to the
project's path. Prints Markdown, and writes it with the raw numbers to artifacts/.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmarks.measure import load_average, log, machine_info, timed
from benchmarks.report import header_lines, markdown_table, write_report
from mnist_helpers.device import autocast_dtype, get_device, precision_label
from mnist_helpers.loaders import make_train_val_loaders
from mnist_helpers.model import MnistCNN, prepare_for_device
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.recipes import RECIPES, uses_fused_adam
from mnist_helpers.train import epoch_function

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = TrainParams.batch_size
STEPS_PER_EPOCH = 797  # ceil(51,000 / 64)
WARM_UP_STEPS = 20


@dataclass
class Variant:
    """One way to run the baseline training step."""

    name: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    autocast_dtype: torch.dtype | None = None
    cudnn_benchmark: bool = False
    step_mode: str = "auto"
    threads: int | None = None  # None: torch's default


def pool_before_relu(model: MnistCNN) -> MnistCNN:
    """A copy of ``model`` that max-pools before each block's last ReLU: the speed variant.

    It computes exactly the same outputs (ReLU keeps order: max(relu(x)) == relu(max(x))), and
    ReLU and its gradient touch a quarter of the values.
    """
    fast = copy.deepcopy(model)
    layers = list(fast.features)
    for index, layer in enumerate(layers):
        if isinstance(layer, nn.MaxPool2d) and isinstance(layers[index - 1], nn.ReLU):
            layers[index - 1], layers[index] = layer, layers[index - 1]
    fast.features = nn.Sequential(*layers)
    return fast


def make_variants(device: torch.device, seed: int, compile_step: bool = False) -> list[Variant]:
    """The project's path and one variant per choice, all from the same initial weights."""
    args = RECIPES["default"].model_args

    def build(
        *, textbook: bool = False, contiguous: bool = False, fused: bool | None = None
    ) -> tuple[nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(seed)
        model = MnistCNN(**args)
        if not textbook:
            model = pool_before_relu(model)
        model = model.to(device) if contiguous else prepare_for_device(model, device)
        fused = uses_fused_adam(device) if fused is None else fused
        return model, torch.optim.Adam(model.parameters(), lr=TrainParams.lr, fused=fused)

    auto = autocast_dtype("auto", device)
    precision = precision_label(auto)
    variants = [
        Variant(
            f"project path (pool -> ReLU, channels_last, fused Adam, {precision})",
            *build(),
            autocast_dtype=auto,
        ),
        Variant("ReLU -> pool (textbook order)", *build(textbook=True), autocast_dtype=auto),
        Variant("contiguous NCHW", *build(contiguous=True), autocast_dtype=auto),
        Variant("multi-tensor Adam", *build(fused=False), autocast_dtype=auto),
    ]
    if device.type in ("cpu", "cuda"):
        other = torch.bfloat16 if auto is None else None
        name = "bf16 autocast" if auto is None else "fp32 (no autocast)"
        variants.append(Variant(name, *build(), autocast_dtype=other))
    if device.type == "cuda":
        variants.append(
            Variant("cuDNN autotuner on", *build(), autocast_dtype=auto, cudnn_benchmark=True)
        )
        variants.append(
            Variant("eager step (no CUDA graph)", *build(), autocast_dtype=auto, step_mode="eager")
        )
    if device.type == "cpu" and torch.get_num_threads() > 1:
        variants.append(Variant("one thread", *build(), autocast_dtype=auto, threads=1))
    if compile_step:
        model, optimizer = build()
        # Inductor compiles on the first steps: the warm-up column shows what that costs.
        variants.append(Variant("torch.compile (inductor)", torch.compile(model), optimizer, auto))
    return variants


def run_steps(variant: Variant, batches: Callable[[], object]) -> None:
    """Train ``variant`` on the batches ``batches()`` gives."""
    torch.backends.cudnn.benchmark = variant.cudnn_benchmark
    threads = torch.get_num_threads()
    if variant.threads is not None:
        torch.set_num_threads(variant.threads)
    try:
        device = next(variant.model.parameters()).device
        epoch_function(variant.step_mode, device)(
            variant.model,
            batches(),
            variant.optimizer,
            show_progress=False,
            autocast_dtype=variant.autocast_dtype,
        )
    finally:
        torch.backends.cudnn.benchmark = False
        torch.set_num_threads(threads)


def main() -> None:
    """Time every variant, interleaved, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--compile", action="store_true", help="also time torch.compile (slow to compile)"
    )
    parser.add_argument("--output-dir", type=Path, default=ROOT / "artifacts")
    args = parser.parse_args()
    if args.steps < 1 or args.rounds < 1:
        raise SystemExit("--steps and --rounds must be at least 1")
    device = get_device(args.device)
    machine = machine_info(device)
    log(f"device {machine['device']}, torch {torch.__version__}")
    loader = make_train_val_loaders(
        batch_size=BATCH_SIZE,
        val_fraction=TrainParams.val_fraction,
        seed=args.seed,
        device=device,
        augment=False,
    ).train_loader
    loader.shuffle = True

    def batches(count: int) -> Callable[[], object]:
        return lambda: itertools.islice(iter(loader), count)

    variants = make_variants(device, args.seed, args.compile)
    warm_up = {}  # one-time costs: kernel choice, allocator, autotuning, graph recording, compiling
    for variant in variants:
        warm_up[variant.name] = timed(
            lambda v=variant: run_steps(v, batches(WARM_UP_STEPS)), device
        )
        log(f"  warm-up: {variant.name}: {warm_up[variant.name]:.1f} s")
    seconds: dict[str, list[float]] = {v.name: [] for v in variants}
    for round_number in range(1, args.rounds + 1):
        loader.set_epoch(round_number)
        for variant in variants:
            log(f"  round {round_number}/{args.rounds}: {variant.name}")
            elapsed = timed(lambda v=variant: run_steps(v, batches(args.steps)), device)
            seconds[variant.name].append(elapsed / args.steps * STEPS_PER_EPOCH)
            log(f"    {seconds[variant.name][-1]:.2f} s per epoch")
    reference = statistics.median(seconds[variants[0].name])
    rows = [
        [
            name,
            f"{statistics.median(values):.2f}",
            f"{min(values):.2f}",
            f"{max(values):.2f}",
            f"{reference / statistics.median(values):.2f}x",
            f"{warm_up[name]:.1f}",
        ]
        for name, values in seconds.items()
    ]
    machine["load_average_end"] = load_average()
    settings = {
        "steps": args.steps,
        "rounds": args.rounds,
        "seed": args.seed,
        "compile": args.compile,
    }
    lines = header_lines(machine, settings, "Training-step variants (baseline model, batch 64)")
    lines += [
        "",
        f"Seconds per epoch of 51,000 images, from {args.steps} steps per round, "
        f"median of {args.rounds} interleaved rounds; speed relative to the project's path. "
        f"Warm-up s: the first {WARM_UP_STEPS} steps, with one-time costs (compiling, recording).",
        "",
        *markdown_table(
            ["variant", "median s", "min s", "max s", "speed vs project", "warm-up s"], rows
        ),
    ]
    name = f"step_variants_{device.type}"
    raw = {"machine": machine, "settings": settings, "seconds": seconds, "warm_up": warm_up}
    write_report(name, lines, raw, args.output_dir)


if __name__ == "__main__":
    main()
