"""How well 02's default model reads photos of handwriting: digits per condition, and numbers.

    python -m benchmarks.photos                      # seeds 0 1 2, 60 photos per condition
    python -m benchmarks.photos --per-condition 100 --numbers 60

The photos are generated (``mnist_helpers/images/photo_style.py``) from MNIST *test* digits, real
handwriting the model never trained on, written as pen ink on paper with the lighting, lines,
pens and camera effects of each condition, saved as JPEG and read back: never from the drawn or
non-digit evaluation sets of the other benchmarks. The photos are the same for every seed.

For each seed, 02's default run is trained (as ``benchmarks.not_a_digit`` trains it), then:

* **digits**, per condition: the share read right (status "digit", the right digit), the share
  unanswered (unsure, not a digit, or blank), the rest wrong;
* **numbers**: 4 digits with gaps, touching pairs (strokes that connect), and 2, 3, 5 and 6
  digits: the share read entirely right by ``Predictor.read_number`` (every digit sure and right);
* once: seconds to read a 12-megapixel photo (median of 5), and the peak memory it adds, in a
  fresh process.

Targets: digits 98 % right and at most 3 % unanswered over all conditions, every condition at
least 95 % right; 4-digit numbers 95 %, touching pairs 85 %; a 12-megapixel photo under 1 s.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.not_a_digit import answers, pct, train_default
from mnist_helpers.checkpoint import make_checkpoint, save_checkpoint
from mnist_helpers.data import MNIST_MEAN, MNIST_STD, load_mnist
from mnist_helpers.device import get_device
from mnist_helpers.errors import BlankImageError
from mnist_helpers.images.photo_style import CONDITIONS, photo_of_digits
from mnist_helpers.images.preprocess import preprocess_steps
from mnist_helpers.predict import DIGIT, Predictor
from mnist_helpers.support.atomic_files import write_bytes

RESULTS = Path(__file__).resolve().parent / "results" / "photos.md"
PHOTO_SEED = 3_003  # unlike the other benchmarks' evaluation seeds and any training seed
NUMBER_KINDS = {"4 digits": (4, "gaps"), "touching pair": (2, "touching")}
NUMBER_KINDS |= {f"{n} digits": (n, "gaps") for n in (2, 3, 5, 6)}


@dataclass
class DigitPhotos:
    """The preprocessed photos of one condition: tensors (None where refused as blank), labels."""

    tensors: list[torch.Tensor | None]
    labels: list[int]


def jpeg(image: np.ndarray, rng: np.random.Generator) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=int(rng.integers(70, 95)))
    return buffer.getvalue()


def read(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image


def digit_photos(per_condition: int) -> dict[str, DigitPhotos]:
    """Photos of single MNIST test digits, per condition, preprocessed once."""
    test = load_mnist(train=False)
    sets = {}
    for number, condition in enumerate(CONDITIONS):
        rng = np.random.default_rng([PHOTO_SEED, number])
        tensors: list[torch.Tensor | None] = []
        labels = []
        for index in rng.choice(len(test), size=per_condition, replace=False):
            photo = photo_of_digits([test.images[index].numpy()], rng, condition=condition)
            try:
                tensors.append(preprocess_steps(read(jpeg(photo.image, rng))).tensor)
            except BlankImageError:
                tensors.append(None)
            labels.append(test.labels[index].item())
        sets[condition] = DigitPhotos(tensors, labels)
    return sets


def number_photos(count: int) -> dict[str, list[tuple[bytes, str]]]:
    """JPEG photos of numbers with their true text, per kind (conditions chosen at random)."""
    test = load_mnist(train=False)
    photos: dict[str, list[tuple[bytes, str]]] = {}
    for number, (kind, (length, spacing)) in enumerate(NUMBER_KINDS.items()):
        rng = np.random.default_rng([PHOTO_SEED, 100 + number])
        photos[kind] = []
        while len(photos[kind]) < count:
            indices = rng.choice(len(test), size=length, replace=False)
            condition = str(rng.choice([c for c in CONDITIONS if c != "low_resolution"]))
            gap = rng.uniform(-0.6, -0.3) if spacing == "touching" else rng.uniform(0.1, 0.5)
            digits = [test.images[i].numpy() for i in indices]
            photo = photo_of_digits(digits, rng, condition=condition, gap=gap)
            if spacing == "touching" and not photo.touching:
                continue  # only pairs whose strokes really connect count as touching
            truth = "".join(str(test.labels[i].item()) for i in indices)
            photos[kind].append((jpeg(photo.image, rng), truth))
    return photos


def score_digits(model: torch.nn.Module, sets: dict[str, DigitPhotos]) -> dict[str, dict]:
    """Per condition: shares right, unanswered and wrong, as ``Predictor.predict`` answers."""
    rows = {}
    for condition, photos in sets.items():
        kept = [t for t in photos.tensors if t is not None]
        guesses, statuses = answers(model, torch.cat(kept)) if kept else (torch.tensor([]), [])
        outcome = iter(zip(guesses.tolist(), statuses, strict=True))
        right = unanswered = 0
        for tensor, label in zip(photos.tensors, photos.labels, strict=True):
            if tensor is None:
                unanswered += 1
                continue
            guess, status = next(outcome)
            if status != DIGIT:
                unanswered += 1
            elif guess == label:
                right += 1
        total = len(photos.labels)
        rows[condition] = {
            "right": right / total,
            "unanswered": unanswered / total,
            "wrong": (total - right - unanswered) / total,
        }
    return rows


def score_numbers(predictor: Predictor, photos: dict[str, list[tuple[bytes, str]]]) -> dict:
    """Per kind of number: the share read entirely right."""
    return {
        kind: statistics.mean(
            predictor.read_number(read(data)).text == truth for data, truth in items
        )
        for kind, items in photos.items()
    }


TIMING_SCRIPT = """
import json, sys, time
from pathlib import Path
from mnist_helpers.predict import Predictor

def status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

predictor = Predictor.from_checkpoint(sys.argv[1])
path = sys.argv[2]
predictor.predict(path)  # warms up caches and threads
before = status_kb("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from here
predictor.predict(path)
peak = status_kb("VmHWM")
seconds = []
for _ in range(5):
    started = time.perf_counter()
    predictor.predict(path)
    seconds.append(time.perf_counter() - started)
print(json.dumps({"seconds": sorted(seconds)[2], "peak_added_mb": (peak - before) / 1024}))
"""


def time_large_photo(checkpoint: Path, folder: Path) -> dict:
    """Seconds and peak memory to read a 12-megapixel (4,000 x 3,000) phone photo (Linux: the
    peak is read from /proc)."""
    test = load_mnist(train=False)
    rng = np.random.default_rng(PHOTO_SEED)
    photo = photo_of_digits([test.images[0].numpy()], rng, condition="shadow", size=(4000, 3000))
    path = folder / "twelve_megapixels.jpg"
    Image.fromarray(photo.image).save(path, quality=90)
    command = [sys.executable, "-c", TIMING_SCRIPT, str(checkpoint), str(path)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def markdown(runs: list[dict], sizes: dict, timing: dict, device: str) -> str:
    """The report: per-condition digits and numbers, mean over seeds with the range."""

    def spread(values: list[float]) -> str:
        return f"{pct(statistics.mean(values))} ({pct(min(values))} to {pct(max(values))})"

    seeds = ", ".join(str(run["seed"]) for run in runs)
    lines = [
        "# Photos of handwriting: digits and numbers",
        "",
        f"`python -m benchmarks.photos` on {device}: 02's default run trained with seeds {seeds}; "
        f"{sizes['per_condition']} photos per condition, {sizes['numbers']} per kind of number "
        "(MNIST test digits as pen ink on generated paper, JPEG, 1600 x 1200 unless stated). "
        "Mean over seeds, with the lowest and highest seed in brackets.",
        "",
        "| condition | read right | unanswered (unsure, not a digit, blank) | wrong |",
        "| --- | --- | --- | --- |",
    ]
    for condition in CONDITIONS:
        cells = [
            spread([run["digits"][condition][k] for run in runs])
            for k in ("right", "unanswered", "wrong")
        ]
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    overall = {
        k: [statistics.mean(run["digits"][c][k] for c in CONDITIONS) for run in runs]
        for k in ("right", "unanswered", "wrong")
    }
    lines.append("| **all** | **" + "** | **".join(spread(overall[k]) for k in overall) + "** |")
    lines += ["", "| number | read entirely right |", "| --- | --- |"]
    for kind in NUMBER_KINDS:
        lines.append(f"| {kind} | {spread([run['numbers'][kind] for run in runs])} |")
    lines += [
        "",
        "| seed | MNIST test acc |",
        "| --- | --- |",
        *[f"| {run['seed']} | {pct(run['test_acc'])} |" for run in runs],
        "",
        f"A 12-megapixel photo (4,000 x 3,000 JPEG) through `Predictor.predict`: "
        f"{timing['seconds']:.2f} s (median of 5), peak memory added "
        f"{timing['peak_added_mb']:.0f} MB.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Generate the photos, train each seed, score, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--per-condition", type=int, default=60)
    parser.add_argument("--numbers", type=int, default=40, help="photos per kind of number (40)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    device = get_device(args.device)
    started = time.perf_counter()
    digits = digit_photos(args.per_condition)
    numbers = number_photos(args.numbers)
    print(f"photos ready in {time.perf_counter() - started:.0f} s", flush=True)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            model, trained = train_default(seed, device, training="default")
            predictor = Predictor(model, mean=MNIST_MEAN, std=MNIST_STD)
            run = {"seed": seed, "test_acc": trained["test_acc"]}
            run["digits"] = score_digits(model, digits)
            run["numbers"] = score_numbers(predictor, numbers)
            runs.append(run)
            right = statistics.mean(r["right"] for r in run["digits"].values())
            print(
                f"seed {seed}: test acc {pct(run['test_acc'])}, photos read right "
                f"{pct(right)}, 4 digits {pct(run['numbers']['4 digits'])}, touching pairs "
                f"{pct(run['numbers']['touching pair'])}",
                flush=True,
            )
            if seed == args.seeds[0]:
                checkpoint = save_checkpoint(
                    make_checkpoint(model, seed=seed), Path(folder) / "model.pt"
                )
        timing = time_large_photo(checkpoint, Path(folder))
    sizes = {"per_condition": args.per_condition, "numbers": args.numbers}
    report = markdown(runs, sizes, timing, device.type)
    print(report)
    write_bytes(report.encode(), args.output)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
