"""Command line: ``python -m mnist_helpers {predict,export,summary} ...``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnist_helpers.errors import (
    ArtifactReadError,
    ExportError,
    MnistHelpersError,
    ParameterError,
    short_repr,
)
from mnist_helpers.runs.layout import BEST_CHECKPOINT, METRICS_FILE, ONNX_FILE
from mnist_helpers.runs.parameters import check_probability
from mnist_helpers.support.file_checks import regular_file_problem

if TYPE_CHECKING:
    from mnist_helpers.predict import NumberReading

DEFAULT_CHECKPOINT = BEST_CHECKPOINT.as_posix()
DEFAULT_ONNX = ONNX_FILE.as_posix()
MAX_TOP = 10  # there are ten digits


def _default_checkpoint() -> Path:
    from mnist_helpers.support.paths import artifacts_dir

    return artifacts_dir() / DEFAULT_CHECKPOINT


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def top_count(text: str) -> int:
    """argparse type for ``--top``: a whole number from 1 to 10."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= MAX_TOP:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_TOP} (there are ten digits); got {text!r}"
        )
    return value


def probability(text: str) -> float:
    """argparse type for ``--unsure-below``: the parameters' own probability check."""
    try:
        return check_probability("--unsure-below", float(text))
    except (ValueError, OverflowError, ParameterError):
        raise argparse.ArgumentTypeError(
            f"must be a probability from 0 to 1; got {text!r}"
        ) from None


def output_path(text: str) -> Path:
    """argparse type for ``--onnx``: a file name, not empty."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"must name a file such as model.onnx; got {text!r}")
    return Path(text)


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify image files; one line (or JSON object) per image."""
    from mnist_helpers.predict import Predictor

    checkpoint = args.checkpoint or _default_checkpoint()
    try:
        predictor = Predictor.from_checkpoint(checkpoint, unsure_below=args.unsure_below)
    except MnistHelpersError as error:
        _error(str(error))
        return 2
    failures = 0
    for path in args.images:
        try:
            if args.number:
                _print_number(path, predictor.read_number(path), args)
                continue
            prediction = predictor.predict(path)
        except MnistHelpersError as error:
            failures += 1
            _error(str(error))
            if args.json:
                print(
                    json.dumps(
                        {
                            "path": path,
                            "digit": None,
                            "probabilities": [],
                            "status": "error",
                            "message": str(error),
                        }
                    )
                )
            continue
        if args.json:
            print(json.dumps({"path": path, **prediction.as_dict(args.top)}))
        elif prediction.digit is None:
            print(f"{path}: no digit ({prediction.message})")
        else:
            top = ", ".join(f"{d} {p:.1%}" for d, p in prediction.top(args.top))
            label = "unsure " if prediction.status == "unsure" else ""
            print(f"{path}: {label}{prediction.digit}  ({top})")
    return 1 if failures else 0


def _print_number(path: str, reading: NumberReading, args: argparse.Namespace) -> None:
    """One line (or JSON object) for an image read as a number."""
    if args.json:
        print(json.dumps({"path": path, **reading.as_dict(args.top)}))
    elif not reading.digits:
        print(f"{path}: no digit ({reading.message})")
    else:
        each = ", ".join(
            f"{d.guess} {max(d.probabilities):.1%}"
            + ("" if d.status == "digit" else f" {d.status}")
            for d in reading.digits
        )
        print(f"{path}: {reading.text}  ({each})")


def cmd_export(args: argparse.Namespace) -> int:
    """Export a checkpoint to ONNX and check onnxruntime against PyTorch on the MNIST test set."""
    from mnist_helpers.apps.export import LOGITS_TOLERANCE, export_onnx, refuse_overwriting_input
    from mnist_helpers.checkpoint import load_checkpoint
    from mnist_helpers.support.paths import artifacts_dir, display_path

    onnx_path = artifacts_dir() / DEFAULT_ONNX if args.onnx is None else args.onnx
    checkpoint_path = args.checkpoint or _default_checkpoint()
    try:
        refuse_overwriting_input(checkpoint_path, onnx_path)  # before anything else is checked
        checkpoint = load_checkpoint(checkpoint_path)
        onnx_path, report = export_onnx(checkpoint, onnx_path)
    except ExportError as error:  # the check failed: nothing was replaced
        _error(str(error))
        return 1
    except (MnistHelpersError, OSError) as error:  # OSError: the output folder is not writable
        _error(str(error))
        return 2
    print(f"exported {display_path(onnx_path)} ({onnx_path.stat().st_size / 1e6:.2f} MB)")
    print(
        f"verified with onnxruntime on {report['num_images']:,} MNIST test images: max abs logit "
        f"difference {report['max_abs_diff']:.1e} (limit {LOGITS_TOLERANCE:.0e}), predicted "
        f"classes agree on {report['num_agree']:,} of {report['num_images']:,}"
    )
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """Print what a run left under the artifacts folder."""
    from mnist_helpers.support.paths import artifacts_dir, display_path

    try:
        folder = artifacts_dir(args.artifacts)
    except MnistHelpersError as error:
        _error(str(error))
        return 2
    metrics_path = folder / METRICS_FILE
    problem = regular_file_problem(metrics_path)
    if problem == "no such file":
        _error(f"no metrics at {metrics_path}: run `make run` first")
        return 1
    try:
        if problem is not None:
            raise ArtifactReadError(problem)
        metrics = _read_metrics(metrics_path)
    except (ValueError, OSError, RecursionError) as error:  # JSON errors, nesting too deep
        _error(
            f"{metrics_path} cannot be read as the metrics of a run ({short_repr(str(error))}); "
            "run `make run` (or notebooks/03_evaluate.ipynb) again to rewrite it"
        )
        return 1
    print(
        f"test accuracy {metrics['acc']:.2%} on {metrics['num_images']:,} images "
        f"(loss {metrics['loss']:.4f}, epoch {metrics.get('epoch') or 'not recorded'})"
    )
    for path, size in _run_files(folder):
        print(f"  {display_path(path):<50} {size / 1e3:>9.1f} kB")
    return 0


def _run_files(folder: Path) -> list[tuple[Path, int]]:
    """The files a run left (no lock, owner record or temporary file), with their sizes.

    A run still training renames files as this lists them: one gone by its ``stat`` is skipped.
    """
    files = []
    for path in sorted(folder.rglob("*")):
        if path.name == "README.md" or path.name.startswith(".") or path.name.endswith(".tmp"):
            continue
        try:
            if path.is_file():
                files.append((path, path.stat().st_size))
        except OSError:
            continue
    return files


def _read_metrics(path: Path) -> dict[str, Any]:
    """``metrics.json`` checked for the fields summary prints; ArtifactReadError names a bad one."""
    metrics = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(metrics, dict):
        raise ArtifactReadError(f"it holds a JSON {type(metrics).__name__}, not an object")
    expected = {"acc": float, "loss": float, "num_images": int, "epoch": int}
    if metrics.get("epoch") is None:  # a checkpoint made outside training: no epoch recorded
        expected.pop("epoch")
    for key, kind in expected.items():
        value = metrics.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArtifactReadError(f"{key!r} is missing or not a number")
        if kind is int and value != int(value):
            raise ArtifactReadError(f"{key!r} is not a whole number")
    return metrics


def _checkpoint_option(parser: argparse.ArgumentParser, verb: str) -> None:
    help_text = f"checkpoint to {verb} (default: artifacts/{DEFAULT_CHECKPOINT})"
    parser.add_argument("--checkpoint", type=Path, default=None, help=help_text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all commands."""
    from mnist_helpers.runs.parameters import DEFAULT_UNSURE_BELOW

    parser = argparse.ArgumentParser(
        prog="python -m mnist_helpers",
        description="Use the trained MNIST model from the command line.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    predict = commands.add_parser(
        "predict",
        help="classify image files of handwritten digits",
        description="Classify image files through the same preprocessing as the drawing canvas.",
    )
    predict.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    _checkpoint_option(predict, "use")
    predict.add_argument("--json", action="store_true", help="print one JSON object per image")
    predict.add_argument(
        "--number",
        action="store_true",
        help="read every digit of each image, left to right (a number such as 2026); "
        "a digit that is unsure or not a digit shows as ?",
    )
    predict.add_argument(
        "--top", type=top_count, default=3, help="how many top digits to show, 1 to 10 (3)"
    )
    predict.add_argument(
        "--unsure-below",
        type=probability,
        default=DEFAULT_UNSURE_BELOW,
        help=f"label answers under this probability as unsure ({DEFAULT_UNSURE_BELOW})",
    )
    predict.set_defaults(handler=cmd_predict)

    export = commands.add_parser(
        "export",
        help="export the model to ONNX and verify it with onnxruntime",
        description="Export a checkpoint to ONNX (dynamic batch size; normalisation and class "
        "names in the file's metadata), then check that onnxruntime matches PyTorch on the 10,000 "
        'MNIST test images. Needs the export extra: pip install -e ".[export]".',
    )
    _checkpoint_option(export, "export")
    onnx_help = f"where to write the ONNX file (default: artifacts/{DEFAULT_ONNX})"
    export.add_argument("--onnx", type=output_path, default=None, help=onnx_help)
    export.set_defaults(handler=cmd_export)

    summary = commands.add_parser("summary", help="show the metrics and files of the last run")
    summary.add_argument(
        "--artifacts", default=None, help="artifacts folder ($MNIST_ARTIFACTS_DIR, else artifacts)"
    )
    summary.set_defaults(handler=cmd_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    # File names that are not UTF-8 must not stop the answers for the images after them.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    return args.handler(args)
