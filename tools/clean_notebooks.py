"""Strip executed notebooks of run noise before committing them, so diffs show real changes.

Removes papermill and execution timing metadata, widget state and widget outputs, papermill's
injected-parameters cell; keeps only the final state of progress bars; fails on machine paths.

    python tools/clean_notebooks.py artifacts/notebooks/*.ipynb --into notebooks
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from mnist_helpers.support.atomic_files import atomic_write

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MACHINE_PATH = re.compile(r"(/home/|/Users/|/tmp/|/work/|/root/|[A-Z]:\\\\)")


def _final_line_state(text: str) -> str:
    """Keep what a terminal would show: the text after the last carriage return of each line."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``notebook`` without run noise (modified in place)."""
    for key in ("papermill", "widgets", "execution"):
        notebook.metadata.pop(key, None)
    notebook.cells = [
        cell
        for cell in notebook.cells
        if "injected-parameters" not in cell.metadata.get("tags", [])
    ]
    for cell in notebook.cells:
        for key in ("papermill", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            data = output.get("data", {})
            if WIDGET_MIME in data:
                continue  # a live widget: its text form is only an object repr
            output.get("metadata", {}).pop("papermill", None)
            previous = outputs[-1] if outputs else None
            if (
                output.get("output_type") == "stream"
                and previous is not None
                and previous.get("output_type") == "stream"
                and previous["name"] == output["name"]
            ):
                previous["text"] += output["text"]  # progress updates arrive as many outputs
                continue
            outputs.append(output)
        for output in outputs:
            if output.get("output_type") == "stream":
                text = _final_line_state(output["text"])
                output["text"] = re.sub(r"\n{2,}", "\n", text).lstrip("\n")
        outputs = [o for o in outputs if o.get("output_type") != "stream" or o["text"].strip()]
        cell.outputs = outputs
    return notebook


def machine_paths(notebook: nbformat.NotebookNode) -> list[str]:
    """Lines of text outputs that look like absolute paths of this machine."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            found += [line for line in text.splitlines() if MACHINE_PATH.search(line)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--into", type=Path, required=True, help="folder for the cleaned copies")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        notebook = clean(nbformat.read(path, as_version=4))
        leaks = machine_paths(notebook)
        if leaks:
            print(f"{path}: outputs hold machine paths, fix the notebook:\n  " + "\n  ".join(leaks))
            return 1
        target = args.into / path.name
        with atomic_write(target, "w") as file:  # a stopped run never leaves half a notebook
            nbformat.write(notebook, file)
        print(f"cleaned {path} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
