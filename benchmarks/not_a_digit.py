"""Does the default run know what is not a digit, and what does that cost? Over several seeds.

    python -m benchmarks.not_a_digit                     # seeds 0 1 2, the default run each
    python -m benchmarks.not_a_digit --seeds 0 1 2 3 4 --compare

For each seed: train 02_train's default run in-process, started as 02 starts it
(``start_training_run``: recipe, lr decay, 5 epochs, training images moved and mixed with
generated non-digits and typed digits: ``training_mix``), then answer,
as ``Predictor.predict`` does (preprocessing, model, status), on

- the 10,000 MNIST test digits as 03_evaluate feeds them: accuracy, and the shares flagged "not a
  digit" and "unsure" (``status_shares`` on the test logits);
- drawing-like digits never trained on (``drawn_digits``: MNIST test digits as drawings, digits
  typed in fonts that training never uses, pen strokes; four colour conventions): accuracy and
  the shares flagged;
- generated non-digits (``nondigits``: letters, symbols, shapes, scribbles, dots, line groups,
  zig-zags; other fonts, other code and other seeds than the non-digits trained on): the share
  flagged "not a digit" (a blank answer counts as flagged), per family.

``--compare`` also trains each seed without the typed digits, without the non-digits, and with
neither (everything else the same), to show what each costs in accuracy and what it buys. Writes
benchmarks/results/not_a_digit.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch

from mnist_helpers.augment import training_augmentation
from mnist_helpers.data import MNIST_MEAN, MNIST_STD, load_mnist
from mnist_helpers.device import get_device, set_seed
from mnist_helpers.errors import BlankImageError
from mnist_helpers.evaluate import predict_logits
from mnist_helpers.images.eval_drawn_digits import drawn_digit_set
from mnist_helpers.images.nondigit_shapes import nondigit_set
from mnist_helpers.images.preprocess import preprocess_steps
from mnist_helpers.images.training_mix import TrainingMix
from mnist_helpers.loaders import (
    Augmentation,
    TensorBatches,
    make_test_loader,
    make_train_val_loaders,
)
from mnist_helpers.predict import NOT_A_DIGIT, UNSURE, read_status, status_shares
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.start import start_training_run
from mnist_helpers.support.atomic_files import write_bytes

RESULTS = Path(__file__).resolve().parent / "results" / "not_a_digit.md"
# Seeds of the evaluation sets: fixed, and unlike any seed a training run uses for its non-digits.
DRAWN_SEED, NONDIGIT_SEED = 1_001, 2_002


@dataclass
class EvalSet:
    """Preprocessed images ``(N, 1, 28, 28)``, labels (-1: not a digit) and a group per image."""

    tensors: torch.Tensor
    labels: torch.Tensor
    groups: list[str]
    blank_groups: list[str]  # images refused as blank (no tensor)


def preprocess_all(images: list, labels: list[int], groups: list[str]) -> EvalSet:
    """Preprocess every image as ``Predictor.predict`` does; blanks are set aside."""
    tensors, kept_labels, kept_groups, blank = [], [], [], []
    for image, label, group in zip(images, labels, groups, strict=True):
        try:
            tensors.append(preprocess_steps(image).tensor)
        except BlankImageError:
            blank.append(group)
            continue
        kept_labels.append(label)
        kept_groups.append(group)
    return EvalSet(torch.cat(tensors), torch.tensor(kept_labels), kept_groups, blank)


def evaluation_sets(per_family: int, per_source: int) -> dict[str, EvalSet]:
    """Drawing-like digits and non-digits, preprocessed."""
    test = load_mnist(train=False)
    drawn = drawn_digit_set(test, per_source, seed=DRAWN_SEED)
    others = nondigit_set(per_family, seed=NONDIGIT_SEED)
    return {
        "drawn": preprocess_all(
            [d.image for d in drawn], [d.label for d in drawn], [d.source for d in drawn]
        ),
        "nondigit": preprocess_all(
            [n.image for n in others], [-1] * len(others), [n.family for n in others]
        ),
    }


# What --compare trains: the default, then mixes that each leave out one kind of stand-in, or
# both. The default is None: 02_train's own loaders, whose mix is TrainingMix at its defaults.
TRAININGS: dict[str, Callable[..., Augmentation] | None] = {
    "default": None,
    "without typed digits": partial(TrainingMix, typed_share=0.0),
    "without non-digits": partial(TrainingMix, nondigit_share=0.0),
    "moves only": lambda **norm: training_augmentation(norm["mean"], norm["std"]),
}


def train_default(
    seed: int, device: torch.device, *, training: str = "default"
) -> tuple[torch.nn.Module, dict]:
    """02_train's default run for ``seed``, started as 02 starts it (``start_training_run``), its
    training images mixed as TRAININGS[training]; in a temporary run folder."""
    with tempfile.TemporaryDirectory() as folder:
        params = TrainParams(seed=seed, artifacts_dir=folder)
        data = None
        mix = TRAININGS[training]
        if mix is not None:  # the same loaders, their training batches mixed another way
            set_seed(seed)
            data = make_train_val_loaders(
                batch_size=params.batch_size,
                val_fraction=params.val_fraction,
                seed=seed,
                device=device,
                augment=params.augment,
            )
            mixed = TensorBatches(
                data.train_loader.images,
                data.train_loader.labels,
                params.batch_size,
                shuffle=True,
                seed=seed,
                augment=mix(mean=MNIST_MEAN, std=MNIST_STD),
            )
            data = replace(data, train_loader=mixed)
        run = start_training_run(params, device=device, data=data)
        history = run.fit(show_progress=False)
    logits, labels = predict_logits(
        run.model, make_test_loader(device=device), autocast_dtype=run.autocast_dtype
    )
    shares = status_shares(logits)
    return run.model.eval(), {
        "test_acc": (logits.argmax(1) == labels).float().mean().item(),
        "mnist_not_a_digit": shares[NOT_A_DIGIT],
        "mnist_unsure": shares[UNSURE],
        "seconds_per_epoch": statistics.median(record["seconds"] for record in history),
    }


@torch.no_grad()
def answers(model: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
    """Most probable digit and status per preprocessed image, as ``Predictor.predict`` gives."""
    device = next(model.parameters()).device
    probs = torch.cat(
        [
            model(chunk.to(device).contiguous(memory_format=torch.channels_last)).float().softmax(1)
            for chunk in images.split(1000)
        ]
    ).cpu()
    return probs.argmax(1), [read_status(p) for p in probs.tolist()]


def share(flags: list[bool]) -> float:
    """Mean of a list of booleans (0 for an empty list)."""
    return sum(flags) / len(flags) if flags else 0.0


def score(model: torch.nn.Module, sets: dict[str, EvalSet]) -> dict[str, float]:
    """Accuracy and flagged shares on every evaluation set."""
    row: dict[str, float] = {}
    drawn = sets["drawn"]
    guess, status = answers(model, drawn.tensors)
    row["drawn_acc"] = (guess == drawn.labels).float().mean().item()
    row["drawn_not_a_digit"] = share([s == NOT_A_DIGIT for s in status])
    row["drawn_unsure"] = share([s == UNSURE for s in status])
    for source in sorted(set(drawn.groups)):
        right = (guess == drawn.labels).tolist()
        row[f"drawn_acc_{source}"] = share(
            [ok for ok, g in zip(right, drawn.groups, strict=True) if g == source]
        )
        row[f"drawn_not_a_digit_{source}"] = share(
            [s == NOT_A_DIGIT for s, g in zip(status, drawn.groups, strict=True) if g == source]
        )
    nondigit = sets["nondigit"]
    _, status = answers(model, nondigit.tensors)
    flagged = Counter(g for g, s in zip(nondigit.groups, status, strict=True) if s == NOT_A_DIGIT)
    flagged.update(nondigit.blank_groups)  # refused as blank: not answered as a digit either
    totals = Counter(nondigit.groups) + Counter(nondigit.blank_groups)
    row["nondigit_flagged"] = sum(flagged.values()) / sum(totals.values())
    for family in totals:
        row[f"nondigit_{family}"] = flagged[family] / totals[family]
    return row


def pct(value: float) -> str:
    """A share as a percentage with two decimals."""
    return f"{value:.2%}"


def markdown(rows: dict[str, list[dict[str, float]]], sets: dict[str, EvalSet], device: str) -> str:
    """The report: one table of the headline figures per run, then the per-family shares."""
    sizes = {name: len(s.labels) + len(s.blank_groups) for name, s in sets.items()}
    sizes["mnist"] = 10_000
    lines = [
        "# Not a digit: flagged shares and accuracy",
        "",
        f"`python -m benchmarks.not_a_digit` on {device}; evaluation sets: "
        f"{sizes['mnist']:,} MNIST test digits, {sizes['drawn']:,} drawing-like digits, "
        f"{sizes['nondigit']:,} non-digits. "
        "Statuses as `Predictor.predict` gives them, with the default thresholds.",
        "",
        "| training | seed | s / epoch | MNIST test acc | MNIST flagged not a digit | MNIST unsure "
        "| drawn acc | drawn flagged not a digit | drawn unsure | non-digits flagged |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for training, runs in rows.items():
        for run in runs:
            lines.append(
                f"| {training} | {run['seed']:.0f} | {run['seconds_per_epoch']:.1f} "
                f"| {pct(run['test_acc'])} | {pct(run['mnist_not_a_digit'])} "
                f"| {pct(run['mnist_unsure'])} | {pct(run['drawn_acc'])} "
                f"| {pct(run['drawn_not_a_digit'])} | {pct(run['drawn_unsure'])} "
                f"| {pct(run['nondigit_flagged'])} |"
            )
        mean = {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
        lines.append(
            f"| {training} | **mean** | {mean['seconds_per_epoch']:.1f} "
            f"| **{pct(mean['test_acc'])}** | **{pct(mean['mnist_not_a_digit'])}** "
            f"| {pct(mean['mnist_unsure'])} | **{pct(mean['drawn_acc'])}** "
            f"| **{pct(mean['drawn_not_a_digit'])}** | {pct(mean['drawn_unsure'])} "
            f"| **{pct(mean['nondigit_flagged'])}** |"
        )
    lines += ["", "Per family and source (mean over seeds):", ""]
    keys = sorted(
        k
        for k in next(iter(rows.values()))[0]
        if k.startswith(("nondigit_", "drawn_acc_", "drawn_not_a_digit_"))
    )
    lines += ["| training | " + " | ".join(keys) + " |", "| --- " * (len(keys) + 1) + "|"]
    for training, runs in rows.items():
        means = [pct(statistics.mean(r[k] for r in runs)) for k in keys]
        lines.append(f"| {training} | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Train, answer, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--per-family", type=int, default=60, help="non-digits per family (60)")
    parser.add_argument("--per-source", type=int, default=150, help="drawn digits per source (150)")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also train without typed digits, without non-digits, and with moves only",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    device = get_device(args.device)
    started = time.perf_counter()
    sets = evaluation_sets(args.per_family, args.per_source)
    print(f"evaluation sets ready in {time.perf_counter() - started:.0f} s", flush=True)
    trainings = list(TRAININGS) if args.compare else ["default"]
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in trainings}
    for seed in args.seeds:
        for name in trainings:
            model, trained = train_default(seed, device, training=name)
            row = {"seed": seed, **trained, **score(model, sets)}
            rows[name].append(row)
            print(
                f"{name}, seed {seed}: test acc {pct(row['test_acc'])}, MNIST flagged "
                f"{pct(row['mnist_not_a_digit'])}, drawn acc {pct(row['drawn_acc'])} flagged "
                f"{pct(row['drawn_not_a_digit'])}, non-digits flagged "
                f"{pct(row['nondigit_flagged'])}",
                flush=True,
            )
    report = markdown(rows, sets, device.type)
    print(report)
    write_bytes(report.encode(), args.output)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
