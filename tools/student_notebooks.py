"""Copies of the notebooks to hand out: the answers and the cells that check them removed.

    python tools/student_notebooks.py [--into student]

An exercise's answer is the ``<details>`` block of its markdown and the code cells tagged
``answer``; both go, and so do all outputs, so the learner runs every cell themselves.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ANSWER = re.compile(r"\n*<details>.*?</details>\n*", re.S)


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` without answers, answer cells or outputs."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and "answer" in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            cell.source = ANSWER.sub("\n\n", cell.source).strip()
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    notebook.cells = cells
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=ROOT / "student")
    args = parser.parse_args(argv)
    args.into.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        copy = student_copy(nbformat.read(path, as_version=4))
        nbformat.write(copy, args.into / path.name)
        print(f"{args.into / path.name}: {len(copy.cells)} cells, no answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
